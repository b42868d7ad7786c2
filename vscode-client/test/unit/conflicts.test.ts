import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { describeTarget, filesWithMarkers, hasConflictMarkers, isResolved, unmergedFiles, hasConflicts, isConflictedTask, resolveTarget } from '../../src/core/conflicts';
import type { RunRecord, TaskRecord } from '../../src/core/runStore';

function run(partial: Partial<RunRecord>): RunRecord {
    return { run: 'r1', workflow: 'w', state: 'failed', started: null, finished: null, durationMs: null, tasks: [], ...partial };
}

function task(name: string, state: string, error?: string): TaskRecord {
    return { name, state, attempt: 1, worktree: null, exitCode: null, durationMs: null, ...(error !== undefined ? { error } : {}) };
}

describe('conflicts of a failed run', () => {
    it('the final tasks conflict: resolve the run (no task)', () => {
        const r = run({ reason: 'final tasks format and docstrings conflict in src/m.py (content)' });
        assert.deepEqual(resolveTarget(r), { task: undefined, certain: true });
        assert.ok(hasConflicts(r));
    });

    it("a task's inputs conflict: resolve that task", () => {
        const r = run({ reason: 'task check failed: inputs format and docstrings conflict in src/m.py (content)' });
        assert.deepEqual(resolveTarget(r), { task: 'check', certain: true });
        assert.ok(isConflictedTask(r, 'check'));
        assert.ok(!isConflictedTask(r, 'format'));
        const dotted = run({ reason: 'task plan.t[k=1] failed: inputs a and b conflict in x (content)' });
        assert.equal(resolveTarget(dotted)?.task, 'plan.t[k=1]');
    });

    it('a failed task whose error says its inputs conflict, when the reason does not say', () => {
        const r = run({ reason: null, tasks: [task('a', 'succeeded'), task('join', 'failed', 'inputs a and b conflict in f (content)')] });
        assert.deepEqual(resolveTarget(r), { task: 'join', certain: true });
    });

    it('conflicts without a reason that names the merge: ask', () => {
        const r = run({ reason: 'something else', conflicts: [{ path: 'f', kind: 'content', tasks: ['a', 'b'] }] });
        assert.deepEqual(resolveTarget(r), { task: undefined, certain: false });
    });

    it('nothing to resolve: a run that failed otherwise, or did not fail', () => {
        assert.equal(resolveTarget(run({ reason: 'task build failed: exit code 2' })), undefined);
        assert.equal(resolveTarget(run({ state: 'succeeded', reason: 'final tasks a and b conflict in f (content)' })), undefined);
        assert.equal(resolveTarget(run({ state: 'running' })), undefined);
        assert.ok(!hasConflicts(run({})));
    });

    it('conflict markers are found at the start of a line, as git writes them', () => {
        assert.ok(hasConflictMarkers('a\n<<<<<<< HEAD\nleft\n=======\nright\n>>>>>>> right\n'));
        assert.ok(hasConflictMarkers('x\n>>>>>>> theirs\n'));
        assert.ok(!hasConflictMarkers('left\n'));
        assert.ok(!hasConflictMarkers('  <<<<<<< indented is not a marker\n'));
        assert.ok(!hasConflictMarkers('=======\n'), 'a lone separator (a Markdown rule) is not a conflict');
    });

    it('names what is resolved', () => {
        assert.equal(describeTarget(undefined), 'the final tasks');
        assert.equal(describeTarget('join'), 'the inputs of task join');
    });
});

describe('files with markers on disk', () => {
    it('lists the files that still have markers; a deleted file has none', async () => {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'treelane-markers-'));
        writeFileSync(path.join(dir, 'a.txt'), '<<<<<<< ours\na\n=======\nb\n>>>>>>> theirs\n');
        writeFileSync(path.join(dir, 'b.txt'), 'resolved\n');
        assert.deepEqual(await filesWithMarkers(dir, ['a.txt', 'b.txt', 'gone.txt']), ['a.txt']);
    });
});

describe('resolved in git', () => {
    it('a file is resolved once it has no markers and git has it merged (git add); markers gone alone is not enough', async () => {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'treelane-unmerged-'));
        const git = (...args: string[]): string => execFileSync('git', args, { cwd: dir, encoding: 'utf8' });
        git('init', '--quiet', '--initial-branch=main');
        git('config', 'user.email', 't@treelane.invalid');
        git('config', 'user.name', 't');
        writeFileSync(path.join(dir, 'f.txt'), 'base\n');
        git('add', 'f.txt');
        git('commit', '--quiet', '-m', 'base');
        git('switch', '--quiet', '-c', 'other');
        writeFileSync(path.join(dir, 'f.txt'), 'right\n');
        git('commit', '--quiet', '-am', 'right');
        git('switch', '--quiet', 'main');
        writeFileSync(path.join(dir, 'f.txt'), 'left\n');
        git('commit', '--quiet', '-am', 'left');
        assert.throws(() => git('merge', '--no-commit', '--no-ff', 'other'));
        assert.deepEqual(await filesWithMarkers(dir, ['f.txt']), ['f.txt']);
        assert.deepEqual(await unmergedFiles(dir, ['f.txt']), ['f.txt']);
        assert.equal(await isResolved(dir, ['f.txt']), false);
        writeFileSync(path.join(dir, 'f.txt'), 'base\n'); // an auto-saved, half-done merge: no markers
        assert.equal(await isResolved(dir, ['f.txt']), false, 'still unmerged in the index');
        writeFileSync(path.join(dir, 'f.txt'), 'left and right\n');
        git('add', 'f.txt');
        assert.deepEqual(await unmergedFiles(dir, ['f.txt']), []);
        assert.equal(await isResolved(dir, ['f.txt']), true);
        await assert.rejects(unmergedFiles(path.join(dir, 'missing'), ['f.txt']), /git ls-files --unmerged failed/);
    });
});
