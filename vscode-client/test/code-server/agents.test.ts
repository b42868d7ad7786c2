/**
 * Conflicts and agent workflows in a real VS Code (code-server 4.100.3 = VS Code 1.100.3):
 * a run whose final tasks edit the same line fails; Resolve Conflicts opens VS Code's merge
 * editor on the conflicted file of the resolve worktree; resolved there (or with git in that
 * worktree), Resume Run carries the run on to success. And a matrix task's expansions show under it in the Runs
 * tree, its summary kept live from treelane/taskState.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeRepo, openSession, pythonPath, removeScratch, type Session } from './harness';
import { clickToastButton, errorNotifications, pick, runCommand, runsView, statusItem, toast, toasts, treeRow, waitUntil } from './workbench';

/** A file outside the repository whose existence lets the last matrix expansion finish. */
const gate = path.join(mkdtempSync(path.join(os.tmpdir(), 'treelane-gate-')), 'go');

const TOML = `[workflows.clash]
description = "two final tasks edit the same line"

[workflows.clash.tasks.left]
run = "printf 'left\\\\n' > f.txt"

[workflows.clash.tasks.right]
run = "printf 'right\\\\n' > f.txt"

[workflows.grid]
description = "a matrix of three, then one task that needs them all"

[workflows.grid.tasks.test]
matrix = { shard = ["1", "2", "3"] }
run = "if [ \\"$TREELANE_MATRIX_SHARD\\" = 3 ]; then while [ ! -e '${gate}' ]; do sleep 0.1; done; fi; echo $TREELANE_MATRIX_SHARD > shard-$TREELANE_MATRIX_SHARD.txt"

[workflows.grid.tasks.after]
needs = ["test"]
run = "ls shard-*.txt > shards.txt"
`;

async function assertNoErrors(session: Session): Promise<void> {
    assert.deepEqual(await errorNotifications(session.page), [], 'error notifications');
    const exthost = session
        .exthostLog()
        .split('\n')
        .filter((line) => line.includes('[error]') && /treelane/i.test(line));
    assert.deepEqual(exthost, [], 'extension host errors');
    assert.deepEqual(
        session
            .treelaneLog()
            .split('\n')
            .filter((line) => line.includes('[error]')),
        [],
        'errors in the Treelane log',
    );
}

/** The repository of these tests: f.txt committed, which both tasks of `clash` rewrite. */
function conflictRepo(): ReturnType<typeof makeRepo> {
    const repo = makeRepo(TOML);
    writeFileSync(path.join(repo.root, 'f.txt'), 'base\n');
    repo.git('add', 'f.txt');
    repo.git('commit', '--quiet', '-m', 'f.txt');
    return repo;
}

async function openIdle(folder: string, settings: Record<string, unknown> = {}): Promise<Session> {
    const session = await openSession({ folder, userSettings: { 'treelane.python': pythonPath(), ...settings } });
    await statusItem(session.page).filter({ hasText: 'Treelane idle' }).waitFor({ timeout: 120_000 });
    return session;
}

/** Start `clash` and wait for it to fail on its conflict: its row in the Runs tree and its id. */
async function failedClash(page: Session['page']): Promise<{ runRow: ReturnType<typeof treeRow>; run: string }> {
    await runCommand(page, 'Treelane: Start Workflow…');
    await pick(page, 'clash');
    const runRow = treeRow(await runsView(page), 'clash', 'failed');
    await runRow.waitFor({ timeout: 120_000 });
    const run = /^(r[0-9a-f]+) · failed/.exec(await runRow.locator('.label-description').first().innerText())?.[1];
    assert.ok(run !== undefined, 'the run id shows in the tree');
    return { runRow, run };
}

describe('VS Code (code-server): conflicts and agent workflows', () => {
    const repo = conflictRepo();
    let session: Session;

    before(async () => {
        session = await openIdle(repo.root);
    });

    after(async () => {
        await session?.close();
        rmSync(path.dirname(gate), { recursive: true, force: true });
    });

    test('a run whose final tasks conflict: Resolve Conflicts opens the merge editor; resolved there, Resume Run succeeds', async () => {
        const { page } = session;
        const { runRow, run } = await failedClash(page);
        // The row offers Resolve Conflicts inline (context value run.done.conflicts, once the status says why).
        await runRow.hover();
        await runRow.locator('.action-label[aria-label="Resolve Conflicts"]').waitFor({ timeout: 120_000 });

        await runCommand(page, 'Treelane: Resolve Conflicts');
        await pick(page, /clash.*failed/, /failed on a conflict/);
        const mergeTab = page.locator('.tab', { hasText: 'Merging: f.txt' });
        await mergeTab.first().waitFor({ timeout: 120_000 });
        // Its two inputs are the conflicting tasks' sides, read from the index stages by the Git extension.
        const editor = page.locator('.merge-editor');
        await editor.locator('.view-lines', { hasText: /^left$/ }).first().waitFor({ timeout: 120_000 });
        await editor.locator('.view-lines', { hasText: /^right$/ }).first().waitFor({ timeout: 120_000 });
        await toast(page, /resolve the final tasks of clash .* in the merge editor: f\.txt \(content: left and right\)/);
        await session.screenshot('15-merge-editor');

        const worktree = path.join(repo.root, '.git', 'treelane', 'worktrees', 'resolve', `${run}-_result`);
        const file = path.join(worktree, 'f.txt');
        // Resolve as a user does: take both sides, then Complete Merge (saves the file, stages it).
        await runCommand(page, 'Notifications: Clear All Notifications');
        await editor.locator('a', { hasText: 'Accept Incoming' }).first().click();
        await editor.locator('a', { hasText: 'Accept Current' }).first().click();
        await editor.locator('.view-lines', { hasText: /^No Changes Accepted$/ }).waitFor({ state: 'detached', timeout: 120_000 }).catch(() => undefined);
        // Opening the merge editor may auto-save its half-done result (no markers): not resolved yet.
        assert.equal(await toasts(page, /are resolved/).count(), 0, 'not resolved before Complete Merge');
        await page.getByText('Complete Merge', { exact: true }).first().click();
        const resolved = await toast(page, /the conflicts of the final tasks of clash .* are resolved/);
        const merged = readFileSync(file, 'utf8');
        assert.doesNotMatch(merged, /^(<<<<<<<|>>>>>>>) /m);
        assert.ok(merged.includes('left') && merged.includes('right'), merged);
        await session.screenshot('16-conflicts-resolved');
        await clickToastButton(resolved, 'Resume Run');
        // (Complete Merge shows the Source Control view: back to the Runs view.)
        await treeRow(await runsView(page), 'clash', run, 'succeeded').waitFor({ timeout: 120_000 });
        await toast(page, new RegExp(`clash ${run} succeeded`));
        assert.equal(await toasts(page, /had nothing to resume/).count(), 0, 'the resolution was resumed');
        assert.equal(repo.git('show', `refs/treelane/results/${run}:f.txt`), merged.trim());
        assert.equal(repo.git('show', `refs/treelane/resolutions/${run}/_result:f.txt`), merged.trim());
        await waitUntil('the resolve worktree to go', () => Promise.resolve(!existsSync(worktree)));
        await waitUntil('the merge editor to close', async () => (await mergeTab.count()) === 0);
        await session.screenshot('17-resumed-after-resolve');
        // A run without conflicts (this one, now) does not offer Resolve Conflicts.
        await treeRow(await runsView(page), 'clash', run, 'succeeded').click({ button: 'right' });
        const menu = page.locator('.context-view .monaco-menu');
        await menu.waitFor({ timeout: 120_000 });
        assert.equal(await menu.locator('.action-label', { hasText: 'Resolve Conflicts' }).count(), 0, 'not offered on a run without conflicts');
        await page.keyboard.press('Escape');
        await assertNoErrors(session);
    });

    test("a matrix task's expansions show under it in the Runs tree, with a live summary", async () => {
        const { page } = session;
        await runCommand(page, 'Treelane: Start Workflow…');
        await pick(page, 'grid');
        const tree = await runsView(page);
        await treeRow(tree, 'grid', 'running').waitFor({ timeout: 120_000 });
        // Two expansions finish; the third waits for the gate: the summary says so while it runs.
        const group = tree.locator('.monaco-list-row[aria-level="2"]', { hasText: '2/3 succeeded · 1 running' });
        await group.first().waitFor({ timeout: 120_000 });
        for (const shard of ['1', '2', '3']) {
            const row = tree.locator('.monaco-list-row[aria-level="3"]', { hasText: `test[shard=${shard}]` });
            await row.first().waitFor({ timeout: 120_000 });
        }
        await session.screenshot('18-matrix-running');
        writeFileSync(gate, '');
        await treeRow(tree, 'grid', 'succeeded').waitFor({ timeout: 120_000 });
        await tree.locator('.monaco-list-row[aria-level="2"]', { hasText: '3/3 succeeded' }).first().waitFor({ timeout: 120_000 });
        const afterRow = tree.locator('.monaco-list-row[aria-level="2"]', { has: page.locator('.label-name', { hasText: /^after$/ }) });
        await afterRow.first().waitFor({ timeout: 120_000 });
        // The expansions are children of `test`, not of the run: they are listed right after it, one level deeper.
        const rowLocators = tree.locator('.monaco-list-row');
        const rows: [string | null, string][] = [];
        for (let i = 0; i < (await rowLocators.count()); i++) {
            const row = rowLocators.nth(i);
            rows.push([await row.getAttribute('aria-level'), await row.locator('.label-name').first().innerText()]);
        }
        const at = rows.findIndex(([level, label]) => level === '2' && label === 'test');
        assert.ok(at >= 0, JSON.stringify(rows));
        assert.deepEqual(
            rows.slice(at + 1, at + 4),
            [
                ['3', 'test[shard=1]'],
                ['3', 'test[shard=2]'],
                ['3', 'test[shard=3]'],
            ],
            JSON.stringify(rows),
        );
        await session.screenshot('19-matrix-grouped');
        await assertNoErrors(session);
    });
});

describe('VS Code (code-server): conflicts without the Git extension (git.enabled: false)', () => {
    const repo = conflictRepo();
    let session: Session;

    before(async () => {
        session = await openIdle(repo.root, { 'git.enabled': false });
    });

    after(async () => {
        await session?.close();
        removeScratch();
    });

    test('without the Git extension: the file opens with its markers; resolved with git there; Resume before that is refused as a warning', async () => {
        const { page } = session;
        const { runRow, run } = await failedClash(page);
        // Without the Git extension there is no merge editor: the file opens with its markers, and a warning says why.
        // From the run's row this time (its inline action).
        await runRow.hover();
        await runRow.locator('.action-label[aria-label="Resolve Conflicts"]').click();
        const fallback = await toast(page, /the Git extension is disabled or did not open .*: f\.txt opened with git's conflict markers/);
        assert.equal(await fallback.locator('.codicon-warning').count(), 1, 'a warning');
        await page.locator('.monaco-editor .view-lines', { hasText: '<<<<<<<' }).first().waitFor({ timeout: 120_000 });
        assert.equal(await page.locator('.tab', { hasText: 'Merging: f.txt' }).count(), 0);
        await session.screenshot('20-resolve-without-merge-editor');
        await runCommand(page, 'Notifications: Clear All Notifications');
        const worktree = path.join(repo.root, '.git', 'treelane', 'worktrees', 'resolve', `${run}-_result`);

        await runCommand(page, 'Treelane: Resume Run…');
        await pick(page, /clash.*failed/);
        const warning = await toast(page, /not resolved yet: markers left in f\.txt/);
        assert.equal(await warning.locator('.codicon-warning').count(), 1, 'a warning, not an error');

        execFileSync('git', ['checkout', '--theirs', '--', 'f.txt'], { cwd: worktree });
        execFileSync('git', ['add', 'f.txt'], { cwd: worktree });
        const resolved = await toast(page, /the conflicts of the final tasks of clash .* are resolved/);
        await clickToastButton(resolved, 'Resume Run');
        await treeRow(await runsView(page), 'clash', run, 'succeeded').waitFor({ timeout: 120_000 });
        assert.equal(repo.git('show', `refs/treelane/results/${run}:f.txt`), 'right');
        await assertNoErrors(session);
    });

});
