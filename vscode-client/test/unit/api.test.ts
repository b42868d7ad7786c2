import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TreelaneApi, type SendCommand } from '../../src/core/api';
import { ServerCommand } from '../../src/core/protocol';

interface Call {
    command: string;
    argument: unknown;
}

/** An API whose transport records the calls and answers from a table. */
function recordingApi(answers: Record<string, unknown>): { api: TreelaneApi; calls: Call[] } {
    const calls: Call[] = [];
    const send: SendCommand = (command, argument) => {
        calls.push({ command, argument });
        return Promise.resolve(answers[command]);
    };
    return { api: new TreelaneApi(send), calls };
}

const checkpoint = { checkpoint: 'c1', commit: 'abc', worktree: 'wt-1' };

describe('TreelaneApi', () => {
    it('sends each server command with one JSON object and decodes the result', async () => {
        const { api, calls } = recordingApi({
            [ServerCommand.start]: { run: 'r1', workflow: 'feature', tasks: ['a'] },
            [ServerCommand.status]: { runs: [] },
            [ServerCommand.cancel]: { cancelled: ['a'] },
            [ServerCommand.resume]: { run: 'r1', requeued: ['a'] },
            [ServerCommand.checkpoint]: checkpoint,
            [ServerCommand.undo]: checkpoint,
            [ServerCommand.redo]: checkpoint,
            [ServerCommand.merge]: { clean: true, conflicts: [], merged: false, commit: null },
            [ServerCommand.worktrees]: { worktrees: [] },
            [ServerCommand.cleanup]: { removed: [], kept: [] },
            [ServerCommand.trace]: { traceEvents: [] },
            [ServerCommand.diff]: { base: 'b', head: 'h', files: [], commits: [] },
            [ServerCommand.resolve]: {
                run: 'r1',
                task: null,
                worktree: 'resolve/r1-_result',
                path: '/repo/.git/treelane/worktrees/resolve/r1-_result',
                files: ['f.txt'],
                conflicts: [{ path: 'f.txt', kind: 'content', tasks: ['left', 'right'] }],
                ours: ['left'],
                theirs: 'right',
            },
            [ServerCommand.workflows]: {
                workflows: [{ name: 'ci', description: 'd', tasks: ['a'], problems: [{ message: 'm', severity: 'warning' }] }],
                problems: [],
            },
        });
        assert.equal((await api.start('feature')).run, 'r1');
        await api.status();
        await api.status('r1');
        await api.cancel('r1', 'a');
        await api.resume('r1');
        await api.checkpoint('wt-1', 'msg');
        await api.undo('wt-1');
        await api.redo('wt-1');
        assert.equal((await api.merge('r1', { preview: true })).clean, true);
        await api.worktrees();
        await api.cleanup(true);
        assert.deepEqual(await api.trace('r1'), { traceEvents: [] });
        assert.deepEqual(await api.diff('r1', { task: 'a' }), { base: 'b', head: 'h', files: [], additions: 0, deletions: 0 });
        assert.deepEqual(await api.resolve('r1'), {
            run: 'r1',
            task: null,
            worktree: 'resolve/r1-_result',
            path: '/repo/.git/treelane/worktrees/resolve/r1-_result',
            files: ['f.txt'],
            conflicts: [{ path: 'f.txt', kind: 'content', tasks: ['left', 'right'] }],
            ours: ['left'],
            theirs: 'right',
        });
        await api.resolve('r1', 'join');
        assert.deepEqual(await api.workflows(), {
            workflows: [{ name: 'ci', description: 'd', tasks: ['a'], problems: [{ message: 'm', severity: 'warning' }] }],
            problems: [],
        });

        assert.deepEqual(calls, [
            { command: 'treelane.start', argument: { workflow: 'feature' } },
            { command: 'treelane.status', argument: {} },
            { command: 'treelane.status', argument: { run: 'r1' } },
            { command: 'treelane.cancel', argument: { run: 'r1', task: 'a' } },
            { command: 'treelane.resume', argument: { run: 'r1' } },
            { command: 'treelane.checkpoint', argument: { worktree: 'wt-1', message: 'msg' } },
            { command: 'treelane.undo', argument: { worktree: 'wt-1' } },
            { command: 'treelane.redo', argument: { worktree: 'wt-1' } },
            { command: 'treelane.merge', argument: { run: 'r1', preview: true } },
            { command: 'treelane.worktrees', argument: {} },
            { command: 'treelane.cleanup', argument: { force: true } },
            { command: 'treelane.trace', argument: { run: 'r1' } },
            { command: 'treelane.diff', argument: { run: 'r1', task: 'a' } },
            { command: 'treelane.resolve', argument: { run: 'r1' } },
            { command: 'treelane.resolve', argument: { run: 'r1', task: 'join' } },
            { command: 'treelane.workflows', argument: {} },
        ]);
        const used = new Set(calls.map((c) => c.command));
        assert.deepEqual([...used].sort(), Object.values(ServerCommand).sort(), 'every server command is covered');
    });

    it('passes transport errors through unchanged', async () => {
        const error = Object.assign(new Error('unknown workflow "nope"'), { code: -32602 });
        const api = new TreelaneApi(() => Promise.reject(error));
        await assert.rejects(api.start('nope'), (e) => e === error);
    });

    it('rejects a result that breaks the contract', async () => {
        const { api } = recordingApi({ [ServerCommand.merge]: { conflicts: [] } });
        await assert.rejects(api.merge('r1', { preview: true }), /merge\.clean/);
    });
});
