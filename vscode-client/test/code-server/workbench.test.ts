/**
 * The extension in a real VS Code (code-server 4.100.3 = VS Code 1.100.3), installed from
 * its .vsix, with the real vscode-languageclient starting the real `python -m treelane
 * serve` (interpreter from the User settings.json), driven through Chromium.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeRepo, openSession, pythonPath, removeScratch, type Session } from './harness';
import {
    answerInput,
    clickToastButton,
    errorNotifications,
    pick,
    quickInput,
    runCommand,
    runsView,
    statusItem,
    toast,
    toasts,
    treeRow,
    waitUntil,
} from './workbench';

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
    });

    test('activates: the status bar item reports the server idle', async () => {
        const item = statusItem(session.page);
        await item.filter({ hasText: 'Treelane idle' }).waitFor({ timeout: 120_000 });
        assert.match(session.treelaneLog(), /Starting .*python -m treelane serve --stdio --clientProcessId=\d+ \(interpreter from the treelane\.python setting/);
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

    test('a run shows one progress notification; its Cancel button cancels the run', async () => {
        const { page } = session;
        await runCommand(page, 'Treelane: Start Workflow…');
        await pick(page, 'slow');
        const progress = await toast(page, /Treelane: slow/);
        await progress.locator('.monaco-progress-container').first().waitFor({ state: 'attached' });
        await session.screenshot('03-run-progress-notification');
        assert.equal(await toasts(page, /started/).count(), 0, '"started" is not a toast');
        await clickToastButton(progress, 'Cancel');
        const tree = await runsView(page);
        await treeRow(tree, 'slow', 'cancelled').waitFor({ timeout: 120_000 });
        const task = treeRow(tree, 'wait');
        await task.waitFor({ timeout: 120_000 });
        const text = await task.innerText();
        assert.match(text, /cancelled/);
        assert.doesNotMatch(text, /exit -15/);
        await waitUntil('the progress notification to close', async () => (await toasts(page, /Treelane: slow/).count()) === 0);
        await session.screenshot('04-run-cancelled');
        await assertNoErrors(session);
    });

    test("Show Changes opens the run's files in VS Code's multi-file diff editor", async () => {
        const { page } = session;
        await runCommand(page, 'Treelane: Show Changes');
        await pick(page, /diamond.*succeeded/);
        await page.locator('.tab', { hasText: /Treelane: diamond .*4 files, \+4 \u22120/ }).first().waitFor({ timeout: 120_000 });
        for (const name of ['a.txt', 'b.txt', 'c.txt', 'd.txt']) {
            await page.locator('.multiDiffEditor', { hasText: name }).first().waitFor({ timeout: 120_000 });
        }
        // the right side is the task's blob, read from git
        await page.locator('.multiDiffEditor .view-lines', { hasText: /^a$/ }).first().waitFor({ timeout: 120_000 });
        await session.screenshot('05-show-changes');
        await runCommand(page, 'View: Close All Editors');
        await assertNoErrors(session);
    });

    test('merges a run from the command palette; its files arrive on main', async () => {
        const { page } = session;
        await runCommand(page, 'Treelane: Merge Run…');
        await pick(page, /diamond.*succeeded/);
        const dialog = page.locator('.monaco-dialog-box');
        await dialog.waitFor({ timeout: 120_000 });
        const dialogText = await dialog.innerText();
        assert.match(dialogText, /Merge run diamond/);
        assert.match(dialogText, /4 files, \+4 \u22120/);
        assert.match(dialogText, /A a\.txt \+1 \u22120/);
        assert.equal(await dialog.locator('.monaco-button', { hasText: 'Show Changes' }).count(), 1);
        await session.screenshot('06-merge-confirmation');
        await dialog.locator('.monaco-button', { hasText: /^Merge$/ }).click();
        await toast(page, /merged diamond/);
        for (const name of ['a', 'b', 'c', 'd']) {
            assert.equal(readFileSync(path.join(repo.root, `${name}.txt`), 'utf8'), `${name}\n`);
        }
        assert.match(repo.git('log', '-1', '--format=%s'), /^treelane: /);
        await session.screenshot('07-merged');
        await assertNoErrors(session);
    });

    test('checkpoint, undo, redo on main change the files on disk', async () => {
        const { page } = session;
        const notes = path.join(repo.root, 'notes.txt');
        writeFileSync(notes, 'one\n');
        await runCommand(page, 'Treelane: Checkpoint Worktree…');
        await pick(page, 'main');
        await answerInput(page, 'first');
        await toast(page, /checkpoint \d+ of main saved/);
        writeFileSync(notes, 'two\n');
        await runCommand(page, 'Treelane: Undo…');
        await pick(page, 'main');
        await waitUntil('undo to restore notes.txt', () => Promise.resolve(readFileSync(notes, 'utf8') === 'one\n'));
        await runCommand(page, 'Treelane: Redo…');
        await pick(page, 'main');
        await waitUntil('redo to bring back notes.txt', () => Promise.resolve(readFileSync(notes, 'utf8') === 'two\n'));
        await session.screenshot('08-redo');
        // Undo twice: the second finds nothing to undo, an expected failure (a warning).
        await runCommand(page, 'Treelane: Undo…');
        await pick(page, 'main');
        await waitUntil('undo', () => Promise.resolve(readFileSync(notes, 'utf8') === 'one\n'));
        await runCommand(page, 'Treelane: Undo…');
        await pick(page, 'main');
        const warning = await toast(page, /nothing to undo/);
        assert.equal(await warning.locator('.codicon-warning').count(), 1, 'a warning, not an error');
        await session.screenshot('09-nothing-to-undo-warning');
        assert.doesNotMatch(session.treelaneLog(), /Traceback/);
        await assertNoErrors(session);
    });

    test('a treelane.toml problem shows in the Problems panel and its quick fix repairs it', async () => {
        const { page } = session;
        const toml = path.join(repo.root, 'treelane.toml');
        writeFileSync(toml, `[settings]\nmax_paralel = 2\n\n${readFileSync(toml, 'utf8')}`);
        await runCommand(page, 'Go to File...');
        await quickInput(page).locator('.quick-input-box input').fill('treelane.toml');
        await pick(page, 'treelane.toml');
        await page.locator('.monaco-editor .view-lines', { hasText: 'max_paralel' }).first().waitFor({ timeout: 120_000 });
        // The extension's file association: treelane.toml opens as TOML, highlighted.
        await page.locator('[id="status.editor.mode"]', { hasText: 'TOML' }).waitFor({ timeout: 120_000 });
        assert.ok((await page.locator('.monaco-editor .view-lines span[class*="mtk"]').count()) > 0);
        await runCommand(page, 'View: Focus Problems');
        const problem = page.locator('.markers-panel .monaco-list-row', { hasText: /max_paralel/ }).first();
        await problem.waitFor({ timeout: 120_000 });
        assert.match(await problem.innerText(), /did you mean 'max_parallel'/);
        await session.screenshot('10-problems-panel');
        await problem.click();
        await runCommand(page, 'Quick Fix...');
        const fix = page.locator('.action-widget .monaco-list-row', { hasText: "Did you mean 'max_parallel'?" }).first();
        await fix.waitFor({ timeout: 120_000 });
        await session.screenshot('11-quick-fix');
        // The action widget takes the keyboard: move to the fix, then Enter.
        const focused = page.locator('.action-widget .monaco-list-row.focused');
        for (let i = 0; i < 5 && !(await focused.innerText().catch(() => '')).includes("Did you mean 'max_parallel'?"); i++) {
            await page.keyboard.press('ArrowDown');
        }
        await page.keyboard.press('Enter');
        await runCommand(page, 'File: Save');
        await waitUntil('the fix on disk', () => Promise.resolve(/^max_parallel = 2$/m.test(readFileSync(toml, 'utf8'))));
        await waitUntil('the problem to go', async () => (await page.locator('.markers-panel .monaco-list-row', { hasText: /max_paralel/ }).count()) === 0);
        await assertNoErrors(session);
    });
});

describe('VS Code (code-server): Restricted Mode', () => {
    const repo = makeRepo();
    let session: Session;

    before(async () => {
        session = await openSession({ folder: repo.root, trusted: false, userSettings: { 'treelane.python': pythonPath() } });
    });

    after(async () => {
        await session?.close();
    });

    test('only read-only commands: status works, Start Workflow is not offered', async () => {
        const { page } = session;
        await statusItem(page).filter({ hasText: 'Treelane idle' }).waitFor({ timeout: 120_000 });
        await page.keyboard.press('F1');
        const input = quickInput(page).locator('.quick-input-box input');
        await input.fill('>Treelane:');
        const rows = quickInput(page).locator('.monaco-list-row');
        await rows.first().waitFor({ timeout: 120_000 });
        const labels = await rows.allInnerTexts();
        assert.ok(labels.some((l) => l.includes('Treelane: Show Status')), labels.join(' | '));
        for (const hidden of ['Start Workflow', 'Merge Run', 'Checkpoint Worktree', 'Undo…', 'Cleanup']) {
            assert.ok(!labels.some((l) => l.includes(hidden)), `${hidden} is not offered: ${labels.join(' | ')}`);
        }
        await session.screenshot('12-restricted-mode-palette');
        await page.keyboard.press('Escape');
        await runCommand(page, 'Treelane: Show Status');
        await toast(page, /no runs yet/);
        assert.match(session.treelaneLog(), /cwd (?!.*treelane-vscode)/, 'the server does not run in the untrusted folder');
        await assertNoErrors(session);
    });
});

describe('VS Code (code-server): a server that cannot start', () => {
    const repo = makeRepo();
    let session: Session;

    before(async () => {
        session = await openSession({ folder: repo.root, userSettings: { 'treelane.python': '/usr/bin/python3' } });
    });

    after(async () => {
        await session?.close();
        removeScratch();
    });

    test("says which interpreter failed, its exit code and stderr, with the extension's buttons", async () => {
        const { page } = session;
        const error = await toast(page, /the server did not start/);
        const text = await error.innerText();
        assert.match(text, /\/usr\/bin\/python3 -m treelane serve/);
        assert.match(text, /exited with code 1/);
        assert.match(text, /No module named 'treelane'/);
        for (const button of ['Select Interpreter…', 'Open Settings', 'Show Log']) {
            assert.equal(await error.locator('.monaco-button', { hasText: button }).count(), 1, button);
        }
        assert.equal(await toasts(page, /Pending response rejected/).count(), 0);
        assert.equal(await toasts(page).count(), 1, 'one notification');
        await session.screenshot('13-start-failure');
        const tree = await runsView(page);
        await treeRow(tree, 'The Treelane server is not running', 'Restart Server').waitFor({ timeout: 120_000 });
        await session.screenshot('14-runs-view-server-not-running');
    });
});
