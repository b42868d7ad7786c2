import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
    decodeCancelResult,
    decodeCheckpointResult,
    decodeCleanupResult,
    decodeMergeResult,
    decodeOutputParams,
    decodeResolveResult,
    decodeResourcesParams,
    decodeResumeResult,
    decodeRunFinishedParams,
    decodeStartResult,
    decodeStatusResult,
    decodeTaskStateMessage,
    decodeTaskStateParams,
    decodeTraceResult,
    decodeWorktreesResult,
    ProtocolError,
} from '../../src/core/decode';

describe('decoding results', () => {
    it('start', () => {
        assert.deepEqual(decodeStartResult({ run: 'r1', workflow: 'feature', tasks: ['plan', 'build'] }), {
            run: 'r1',
            workflow: 'feature',
            tasks: ['plan', 'build'],
        });
        assert.throws(() => decodeStartResult({ workflow: 'feature' }), ProtocolError);
        assert.throws(() => decodeStartResult(null), ProtocolError);
    });

    it('status, as in the contract', () => {
        const result = decodeStatusResult({
            runs: [
                {
                    run: 'r1',
                    workflow: 'feature',
                    state: 'running',
                    started: '2026-01-01T10:00:00Z',
                    finished: null,
                    tasks: [
                        { name: 'plan', state: 'succeeded', attempt: 1, worktree: 'wt-1', exit_code: 0, duration_ms: 1200, result: 'c0ffee1' },
                        { name: 'build', state: 'running', attempt: 2, worktree: 'wt-2', exit_code: null, duration_ms: null },
                    ],
                },
            ],
            pool: { size: 4, idle: 2, busy: 2 },
            concurrency: { limit: 4, running: 1 },
        });
        assert.equal(result.runs.length, 1);
        assert.deepEqual(result.runs[0]?.tasks[0], {
            name: 'plan',
            state: 'succeeded',
            attempt: 1,
            worktree: 'wt-1',
            exitCode: 0,
            durationMs: 1200,
            result: 'c0ffee1',
        });
        assert.equal(result.runs[0]?.tasks[1]?.result, null, 'no result commit yet');
        assert.equal(result.runs[0]?.finished, null);
        assert.equal(result.runs[0]?.tasks[1]?.attempt, 2);
        assert.deepEqual(result.pool, { size: 4, idle: 2, busy: 2 });
        assert.deepEqual(result.concurrency, { limit: 4, running: 1 });
    });

    it('status tolerates missing optional parts and unknown fields', () => {
        const result = decodeStatusResult({ runs: [{ run: 7, state: 'queued?', tasks: [{ name: 'a', state: 'x' }] }], extra: 1 });
        assert.equal(result.runs[0]?.run, '7');
        assert.equal(result.runs[0]?.workflow, '');
        assert.equal(result.runs[0]?.tasks[0]?.attempt, 1);
        assert.equal(result.runs[0]?.tasks[0]?.worktree, null);
        assert.equal(result.pool, null);
        assert.equal(result.concurrency, null);
        assert.deepEqual(decodeStatusResult({}).runs, []);
    });

    it('status: agent-workflow fields of tasks, and why a run failed', () => {
        const result = decodeStatusResult({
            runs: [
                {
                    run: 'r9',
                    workflow: 'best',
                    state: 'failed',
                    started: null,
                    finished: null,
                    reason: 'task join failed: inputs a and b conflict in f.txt (content)',
                    conflicts: [{ path: 'f.txt', kind: 'content', tasks: ['a', 'b'] }],
                    tasks: [
                        { name: 'impl[candidate=1]', state: 'succeeded', group: 'impl', score: 2.5 },
                        { name: 'impl', state: 'succeeded', kind: 'pick', picked: 'impl[candidate=1]', candidates: [] },
                        { name: 'plan.a', state: 'queued', parent: 'plan' },
                        { name: 'impl2', state: 'running', kind: 'pick', picked: null },
                    ],
                },
            ],
        });
        const run = result.runs[0];
        assert.equal(run?.reason, 'task join failed: inputs a and b conflict in f.txt (content)');
        assert.deepEqual(run?.conflicts, [{ path: 'f.txt', kind: 'content', tasks: ['a', 'b'] }]);
        const [candidate, pick, spawned, undecided] = run?.tasks ?? [];
        assert.equal(candidate?.group, 'impl');
        assert.equal(candidate?.score, 2.5);
        assert.equal(pick?.kind, 'pick');
        assert.equal(pick?.picked, 'impl[candidate=1]');
        assert.equal(spawned?.parent, 'plan');
        assert.equal(spawned?.group, undefined);
        assert.equal(undecided?.picked, null);
        assert.equal(decodeStatusResult({ runs: [{ run: 'r', state: 'succeeded' }] }).runs[0]?.reason, null);
    });

    it('resolve result', () => {
        const r = decodeResolveResult({
            run: 'r1',
            task: 'join',
            worktree: 'resolve/r1-join',
            path: '/w/resolve/r1-join',
            files: ['f.txt'],
            conflicts: [{ path: 'f.txt', kind: 'content', tasks: ['a', 'b'] }],
            ours: ['a'],
            theirs: 'b',
        });
        assert.equal(r.task, 'join');
        assert.deepEqual(r.files, ['f.txt']);
        assert.throws(() => decodeResolveResult({ run: 'r1', worktree: 'w' }), /resolve\.path/);
    });

    it('status rejects a task without a name', () => {
        assert.throws(
            () => decodeStatusResult({ runs: [{ run: 'r', state: 'running', tasks: [{ state: 'running' }] }] }),
            /status\.runs\[0\]\.tasks\[0\]\.name/,
        );
    });

    it('cancel, resume, checkpoint', () => {
        assert.deepEqual(decodeCancelResult({ cancelled: ['a', 'b'] }), { cancelled: ['a', 'b'] });
        assert.deepEqual(decodeResumeResult({ run: 'r1', requeued: ['c'] }), { run: 'r1', requeued: ['c'] });
        assert.deepEqual(decodeCheckpointResult({ checkpoint: 3, commit: 'abc', worktree: 'wt-1' }), {
            checkpoint: '3',
            commit: 'abc',
            worktree: 'wt-1',
        });
    });

    it('merge', () => {
        assert.deepEqual(decodeMergeResult({ clean: true, conflicts: [], merged: false, commit: null }), {
            clean: true,
            conflicts: [],
            merged: false,
            commit: null,
        });
        const conflicted = decodeMergeResult({
            clean: false,
            conflicts: [{ path: 'src/a.py', kind: 'content' }, 'b.txt'],
            merged: false,
            commit: null,
        });
        assert.deepEqual(conflicted.conflicts, [
            { path: 'src/a.py', kind: 'content' },
            { path: 'b.txt', kind: 'conflict' },
        ]);
        assert.throws(() => decodeMergeResult({ conflicts: [] }), /merge\.clean/);
    });

    it('worktrees', () => {
        const result = decodeWorktreesResult({
            worktrees: [
                { id: 'main', path: '/repo', commit: 'abc', state: 'main', dirty: false, run: null, task: null },
                { id: 'wt-1', path: '/repo/.treelane/wt-1', commit: 'def', state: 'busy', dirty: true, run: 'r1', task: 'a' },
            ],
        });
        assert.equal(result.worktrees.length, 2);
        assert.equal(result.worktrees[1]?.dirty, true);
        assert.equal(result.worktrees[0]?.run, null);
    });

    it('cleanup', () => {
        assert.deepEqual(decodeCleanupResult({ removed: ['wt-1'], kept: [{ id: 'wt-2', reason: 'dirty' }] }), {
            removed: ['wt-1'],
            kept: [{ id: 'wt-2', reason: 'dirty' }],
        });
    });

    it('trace is any JSON object (or the array form)', () => {
        const trace = { traceEvents: [{ name: 'a', ph: 'X', ts: 0, dur: 5, pid: 1, tid: 1 }], displayTimeUnit: 'ms' };
        assert.deepEqual(decodeTraceResult(trace), trace);
        assert.deepEqual(decodeTraceResult([]), []);
        assert.throws(() => decodeTraceResult('nope'), ProtocolError);
    });
});

describe('decoding notifications', () => {
    it('taskState', () => {
        assert.deepEqual(
            decodeTaskStateParams({
                run: 'r1',
                task: 'a',
                state: 'failed',
                attempt: 2,
                worktree: 'wt-1',
                exit_code: 1,
                duration_ms: 50,
            }),
            { run: 'r1', task: 'a', state: 'failed', attempt: 2, worktree: 'wt-1', exitCode: 1, durationMs: 50 },
        );
        assert.equal(
            decodeTaskStateParams({ run: 'r1', task: 'b', state: 'skipped', attempt: 0, error: 'a failed' }).error,
            'a failed',
        );
    });

    it('output', () => {
        assert.deepEqual(decodeOutputParams({ run: 'r1', task: 'a', lines: ['x', 'y'] }), {
            run: 'r1',
            task: 'a',
            lines: ['x', 'y'],
        });
        assert.throws(() => decodeOutputParams({ run: 'r1', task: 'a', lines: 'x' }), ProtocolError);
    });

    it('resources', () => {
        const r = decodeResourcesParams({
            time: '2026-01-01T10:00:00Z',
            system: { cpu_percent: 71.2, memory_percent: 40, memory_available_mb: 2150 },
            tasks: [{ run: 'r1', task: 'a', pid: 42, cpu_percent: 99, rss_mb: 120.5, processes: 3 }],
            concurrency: { limit: 4, running: 3 },
        });
        assert.deepEqual(r.system, { cpuPercent: 71.2, memoryPercent: 40, memoryAvailableMb: 2150 });
        assert.deepEqual(r.tasks[0], { run: 'r1', task: 'a', pid: 42, cpuPercent: 99, rssMb: 120.5, processes: 3 });
        assert.deepEqual(r.concurrency, { limit: 4, running: 3 });
    });

    it('runFinished keeps only numeric counts', () => {
        assert.deepEqual(
            decodeRunFinishedParams({
                run: 'r1',
                workflow: 'feature',
                state: 'succeeded',
                duration_ms: 1000,
                counts: { succeeded: 3, cached: 1, bogus: 'x' },
            }),
            { run: 'r1', workflow: 'feature', state: 'succeeded', durationMs: 1000, counts: { succeeded: 3, cached: 1 }, reason: null, conflicts: [] },
        );
    });

    it('runFinished of a failed run carries its reason and the inputs that conflict', () => {
        const r = decodeRunFinishedParams({
            run: 'r2',
            workflow: 'clash',
            state: 'failed',
            duration_ms: 300,
            counts: { succeeded: 2 },
            reason: 'final tasks left and right conflict in f.txt (content)',
            conflicts: [{ path: 'f.txt', kind: 'content', tasks: ['left', 'right'] }],
        });
        assert.equal(r.reason, 'final tasks left and right conflict in f.txt (content)');
        assert.deepEqual(r.conflicts, [{ path: 'f.txt', kind: 'content', tasks: ['left', 'right'] }]);
    });

    it('taskState: one change, or a batch of changes in order; group and parent kept', () => {
        const one = { run: 'r1', task: 'test[shard=1]', state: 'queued', attempt: 0, worktree: null, exit_code: null, duration_ms: null, group: 'test' };
        assert.deepEqual(decodeTaskStateMessage(one).map((p) => [p.task, p.state, p.group]), [['test[shard=1]', 'queued', 'test']]);
        const batch = decodeTaskStateMessage({
            changes: [
                one,
                { ...one, state: 'running', attempt: 1 },
                { run: 'r1', task: 'plan.a', state: 'running', attempt: 1, worktree: 'wt-2', exit_code: null, duration_ms: 0, parent: 'plan' },
            ],
        });
        assert.deepEqual(
            batch.map((p) => [p.task, p.state, p.group ?? p.parent]),
            [
                ['test[shard=1]', 'queued', 'test'],
                ['test[shard=1]', 'running', 'test'],
                ['plan.a', 'running', 'plan'],
            ],
        );
        assert.throws(() => decodeTaskStateMessage({ changes: [{ run: 'r1' }] }), /changes\[0\]\.task/);
    });
});
