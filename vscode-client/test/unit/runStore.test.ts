import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countTaskStates, RunStore } from '../../src/core/runStore';
import type { StatusResult, TaskStateParams } from '../../src/core/protocol';

const NOW = new Date('2026-01-01T12:00:00Z');

function taskState(partial: Partial<TaskStateParams> & Pick<TaskStateParams, 'run' | 'task' | 'state'>): TaskStateParams {
    return { attempt: 1, worktree: null, exitCode: null, durationMs: null, ...partial };
}

function status(...runs: StatusResult['runs']): StatusResult {
    return { runs, pool: null, concurrency: null };
}

describe('RunStore', () => {
    it('loads runs from status, newest first, with durations', () => {
        const store = new RunStore();
        store.applyStatus(
            status(
                { run: 'old', workflow: 'w', state: 'succeeded', started: '2026-01-01T10:00:00Z', finished: '2026-01-01T10:00:12Z', tasks: [] },
                { run: 'new', workflow: 'w', state: 'running', started: '2026-01-01T11:00:00Z', finished: null, tasks: [] },
            ),
            true,
        );
        assert.deepEqual(store.list().map((r) => r.run), ['new', 'old']);
        assert.equal(store.get('old')?.durationMs, 12_000);
        assert.equal(store.get('new')?.durationMs, null);
        assert.equal(store.activeCount(), 1);
    });

    it('a complete status drops runs the server forgot; a partial one does not', () => {
        const store = new RunStore();
        store.applyStatus(status({ run: 'a', workflow: 'w', state: 'succeeded', started: null, finished: null, tasks: [] }), true);
        store.applyStatus(status({ run: 'b', workflow: 'w', state: 'succeeded', started: null, finished: null, tasks: [] }), false);
        assert.equal(store.size, 2);
        store.applyStatus(status({ run: 'b', workflow: 'w', state: 'succeeded', started: null, finished: null, tasks: [] }), true);
        assert.deepEqual(store.list().map((r) => r.run), ['b']);
    });

    it('a started run has queued tasks', () => {
        const store = new RunStore();
        store.applyStart({ run: 'r1', workflow: 'diamond', tasks: ['a', 'b'] }, NOW);
        const run = store.get('r1');
        assert.equal(run?.state, 'running');
        assert.equal(run?.started, NOW.toISOString());
        assert.deepEqual(run?.tasks.map((t) => [t.name, t.state]), [
            ['a', 'queued'],
            ['b', 'queued'],
        ]);
    });

    it('task states update tasks and report runs it did not know', () => {
        const store = new RunStore();
        store.applyStart({ run: 'r1', workflow: 'diamond', tasks: ['a'] }, NOW);
        assert.deepEqual(store.applyTaskState(taskState({ run: 'r1', task: 'a', state: 'running', worktree: 'wt-1' }), NOW), {
            unknownRun: false,
        });
        assert.equal(store.task('r1', 'a')?.worktree, 'wt-1');
        // A later notification without the worktree keeps it.
        store.applyTaskState(taskState({ run: 'r1', task: 'a', state: 'succeeded', durationMs: 30, exitCode: 0 }), NOW);
        assert.deepEqual(store.task('r1', 'a'), {
            name: 'a',
            state: 'succeeded',
            attempt: 1,
            worktree: 'wt-1',
            exitCode: 0,
            durationMs: 30,
        });
        assert.deepEqual(store.applyTaskState(taskState({ run: 'r2', task: 'x', state: 'queued' }), NOW), { unknownRun: true });
        assert.equal(store.get('r2')?.workflow, '');
        assert.equal(store.get('r2')?.state, 'running');
        // The second notification of the same new run is no longer unknown.
        assert.deepEqual(store.applyTaskState(taskState({ run: 'r2', task: 'y', state: 'queued' }), NOW), { unknownRun: false });
        assert.deepEqual(store.get('r2')?.tasks.map((t) => t.name), ['x', 'y']);
    });

    it('runFinished ends a run; a requeued task revives it', () => {
        const store = new RunStore();
        store.applyStart({ run: 'r1', workflow: 'diamond', tasks: ['a'] }, new Date('2026-01-01T11:59:50Z'));
        store.applyRunFinished({ run: 'r1', workflow: 'diamond', state: 'failed', durationMs: null, counts: { failed: 1 } }, NOW);
        assert.equal(store.get('r1')?.state, 'failed');
        assert.equal(store.get('r1')?.durationMs, 10_000);
        assert.equal(store.activeCount(), 0);
        store.applyTaskState(taskState({ run: 'r1', task: 'a', state: 'queued', attempt: 2 }), NOW);
        assert.equal(store.get('r1')?.state, 'running');
        assert.equal(store.get('r1')?.finished, null);
        store.applyRunFinished({ run: 'r1', workflow: 'diamond', state: 'succeeded', durationMs: 5000, counts: {} }, NOW);
        assert.equal(store.get('r1')?.durationMs, 5000);
    });

    it('runFinished for an unknown run records it', () => {
        const store = new RunStore();
        store.applyRunFinished({ run: 'rx', workflow: 'w', state: 'succeeded', durationMs: 1, counts: {} }, NOW);
        assert.equal(store.get('rx')?.state, 'succeeded');
    });

    it('a start result does not overwrite what notifications already told', () => {
        const store = new RunStore();
        store.applyTaskState(taskState({ run: 'r1', task: 'a', state: 'running' }), NOW);
        store.applyStart({ run: 'r1', workflow: 'diamond', tasks: ['a', 'b'] }, NOW);
        assert.equal(store.get('r1')?.workflow, 'diamond');
        assert.equal(store.task('r1', 'a')?.state, 'running');
    });

    it('counts task states', () => {
        const store = new RunStore();
        store.applyStart({ run: 'r1', workflow: 'w', tasks: ['a', 'b', 'c'] }, NOW);
        store.applyTaskState(taskState({ run: 'r1', task: 'a', state: 'succeeded' }), NOW);
        assert.deepEqual(countTaskStates(store.get('r1')?.tasks ?? []), { succeeded: 1, queued: 2 });
    });
});
