/**
 * The extension in a real VS Code (code-server 4.100.3 = VS Code 1.100.3), installed from
 * its .vsix, with the real vscode-languageclient starting the real `python -m treelane
 * serve` (interpreter from the User settings.json), driven through Chromium.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeRepo, openSession, pythonPath, removeScratch, type Session } from './harness';
import { errorNotifications, pick, runCommand, runsView, statusItem, toast, treeRow } from './workbench';

/** Fails on error toasts and on errors the extension host logged for the extension. */
async function assertNoErrors(session: Session): Promise<void> {
    const errors = await errorNotifications(session.page);
    assert.deepEqual(errors, [], 'error notifications');
    const exthost = session
        .exthostLog()
        .split('\n')
        .filter((line) => line.includes('[error]') && /treelane/i.test(line));
    assert.deepEqual(exthost, [], 'extension host errors');
    const own = session
        .treelaneLog()
        .split('\n')
        .filter((line) => line.includes('[error]'));
    assert.deepEqual(own, [], 'errors in the Treelane log');
}

describe('VS Code (code-server): trusted workspace, treelane.python in User settings', () => {
    const repo = makeRepo();
    let session: Session;

    before(async () => {
        session = await openSession({ folder: repo.root, userSettings: { 'treelane.python': pythonPath() } });
    });

    after(async () => {
        await session?.close();
        removeScratch();
    });

    test('activates: the status bar item reports the server idle', async () => {
        const item = statusItem(session.page);
        await item.filter({ hasText: 'Treelane idle' }).waitFor({ timeout: 120_000 });
        assert.match(session.treelaneLog(), /Starting .*python -m treelane serve --stdio.*interpreter from setting/);
        await session.screenshot('01-activated-status-bar');
        await assertNoErrors(session);
    });

    test('runs a workflow from the command palette; it succeeds in the Runs tree', async () => {
        const { page } = session;
        await runCommand(page, 'Treelane: Start Workflow…');
        await pick(page, 'diamond');
        const tree = await runsView(page);
        const row = treeRow(tree, 'diamond', 'succeeded');
        await row.waitFor({ timeout: 120_000 });
        await toast(page, /diamond .* succeeded/);
        await session.screenshot('02-run-succeeded');
        assert.match(await row.innerText(), /4\/4/);
        await assertNoErrors(session);
    });
});
