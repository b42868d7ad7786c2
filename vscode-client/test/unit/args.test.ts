import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
    ArgumentError,
    cancelArgs,
    checkpointArgs,
    cleanupArgs,
    mergeArgs,
    resumeArgs,
    startArgs,
    statusArgs,
    traceArgs,
    worktreeArgs,
    worktreesArgs,
} from '../../src/core/args';

describe('argument builders', () => {
    it('start: a workflow name, trimmed, with an optional base', () => {
        assert.deepEqual(startArgs(' feature '), { workflow: 'feature' });
        assert.deepEqual(startArgs('feature', 'main'), { workflow: 'feature', base: 'main' });
        assert.deepEqual(startArgs('feature', '  '), { workflow: 'feature' });
    });

    it('start: an inline definition is passed as is', () => {
        const inline = { tasks: { a: { run: 'echo a' } } };
        assert.deepEqual(startArgs(inline), { workflow: inline });
    });

    it('start: an empty workflow name is refused', () => {
        assert.throws(() => startArgs('  '), ArgumentError);
    });

    it('status: all runs or one', () => {
        assert.deepEqual(statusArgs(), {});
        assert.deepEqual(statusArgs(''), {});
        assert.deepEqual(statusArgs('r1'), { run: 'r1' });
    });

    it('cancel: a run, or one task of it', () => {
        assert.deepEqual(cancelArgs('r1'), { run: 'r1' });
        assert.deepEqual(cancelArgs('r1', 'build'), { run: 'r1', task: 'build' });
        assert.throws(() => cancelArgs(''), ArgumentError);
    });

    it('resume and trace need a run', () => {
        assert.deepEqual(resumeArgs('r1'), { run: 'r1' });
        assert.deepEqual(traceArgs('r1'), { run: 'r1' });
        assert.throws(() => resumeArgs(' '), ArgumentError);
        assert.throws(() => traceArgs(''), ArgumentError);
    });

    it('checkpoint: the message is optional and left out when blank', () => {
        assert.deepEqual(checkpointArgs('wt-1'), { worktree: 'wt-1' });
        assert.deepEqual(checkpointArgs('wt-1', ''), { worktree: 'wt-1' });
        assert.deepEqual(checkpointArgs('/tmp/wt', ' before refactor '), { worktree: '/tmp/wt', message: 'before refactor' });
        assert.throws(() => checkpointArgs(''), ArgumentError);
    });

    it('undo/redo take a worktree id or path', () => {
        assert.deepEqual(worktreeArgs('main'), { worktree: 'main' });
        assert.throws(() => worktreeArgs(''), ArgumentError);
    });

    it('merge: preview is always explicit, into only when given', () => {
        assert.deepEqual(mergeArgs('r1', { preview: true }), { run: 'r1', preview: true });
        assert.deepEqual(mergeArgs('r1', { preview: false, into: 'main' }), { run: 'r1', preview: false, into: 'main' });
        assert.deepEqual(mergeArgs('r1', { preview: false, into: '' }), { run: 'r1', preview: false });
    });

    it('worktrees and cleanup', () => {
        assert.deepEqual(worktreesArgs(), {});
        assert.deepEqual(cleanupArgs(false), {});
        assert.deepEqual(cleanupArgs(true), { force: true });
    });

    it('every argument is one plain JSON object', () => {
        const all: unknown[] = [
            startArgs('f', 'b'),
            statusArgs('r'),
            cancelArgs('r', 't'),
            resumeArgs('r'),
            checkpointArgs('w', 'm'),
            worktreeArgs('w'),
            mergeArgs('r', { preview: true, into: 'x' }),
            worktreesArgs(),
            cleanupArgs(true),
            traceArgs('r'),
        ];
        for (const a of all) {
            assert.equal(typeof a, 'object');
            assert.ok(!Array.isArray(a));
            assert.deepEqual(JSON.parse(JSON.stringify(a)), a, 'no undefined members');
        }
    });
});
