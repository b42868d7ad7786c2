import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
    formatScore,
    groupContextValue,
    runContextValue,
    runDescription,
    runIcon,
    runLabel,
    runTooltip,
    taskContextValue,
    taskDescription,
    taskIcon,
    taskTooltip,
} from '../../src/core/presentation';
import { KNOWN_RUN_STATES, KNOWN_TASK_STATES } from '../../src/core/protocol';
import type { RunRecord, TaskRecord } from '../../src/core/runStore';

function task(partial: Partial<TaskRecord>): TaskRecord {
    return { name: 't', state: 'succeeded', attempt: 1, worktree: null, exitCode: null, durationMs: null, ...partial };
}

function run(partial: Partial<RunRecord>): RunRecord {
    return { run: 'r1', workflow: 'diamond', state: 'running', started: null, finished: null, durationMs: null, tasks: [], ...partial };
}

interface MenuEntry {
    command: string;
    when?: string;
}

/** The `viewItem =~ /…/` and `viewItem == …` tests of the context menu entries for a command. */
function menuMatchers(command: string): ((value: string) => boolean)[] {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
        contributes: { menus: { 'view/item/context': MenuEntry[] } };
    };
    return pkg.contributes.menus['view/item/context']
        .filter((m) => m.command === command)
        .map((m) => {
            const when = m.when ?? '';
            const regex = /viewItem =~ \/(.+?)\/(?= |$)/.exec(when);
            if (regex?.[1] !== undefined) {
                const re = new RegExp(regex[1].replace(/\\\\/g, '\\'));
                return (value: string) => re.test(value);
            }
            const equal = /viewItem == ([\w.]+)/.exec(when);
            const expected = equal?.[1];
            return (value: string) => value === expected;
        });
}

describe('tree presentation', () => {
    it('every known state has its own icon', () => {
        const taskIcons = KNOWN_TASK_STATES.map((s) => taskIcon(s).id);
        assert.equal(new Set(taskIcons).size, KNOWN_TASK_STATES.length);
        assert.ok(!taskIcons.includes('question'));
        for (const s of KNOWN_RUN_STATES) {
            assert.notEqual(runIcon(s).id, 'question');
        }
        assert.equal(taskIcon('mystery').id, 'question');
        assert.equal(taskIcon('running').id, 'sync~spin');
    });

    it('task descriptions show duration, attempt and a failing exit code', () => {
        assert.equal(taskDescription(task({ durationMs: 1234 })), '1.2 s');
        assert.equal(taskDescription(task({ durationMs: 1234, attempt: 2, state: 'failed', exitCode: 3 })), '1.2 s · attempt 2 · exit 3');
        assert.equal(taskDescription(task({ state: 'running', attempt: 2 })), 'running · attempt 2');
        assert.equal(taskDescription(task({ exitCode: 0 })), '');
        // a cancelled task says so; its signal exit code says nothing more
        assert.equal(taskDescription(task({ state: 'cancelled', exitCode: -15, durationMs: 500 })), 'cancelled · 500 ms');
        assert.equal(
            taskDescription(task({ state: 'succeeded', worktree: 'wt-2', result: '0123456789abcdef', durationMs: 1000 })),
            '1.0 s · wt-2 · 0123456',
        );
        assert.match(taskTooltip(run({}), task({ state: 'skipped', error: 'a failed' })), /Error: a failed/);
    });

    it('run labels and descriptions', () => {
        const r = run({
            state: 'succeeded',
            durationMs: 12_300,
            tasks: [task({ name: 'a' }), task({ name: 'b', state: 'cached' })],
        });
        assert.equal(runLabel(r), 'diamond');
        assert.equal(runDescription(r), 'r1 · succeeded · 12.3 s · 2/2');
        assert.equal(runLabel(run({ workflow: '' })), 'r1');
        assert.equal(runDescription(run({ tasks: [task({ state: 'running' }), task({ state: 'succeeded' })] })), 'r1 · running · 1/2');
    });

    it('context values drive the package.json context menus', () => {
        const cancelTask = menuMatchers('treelane.ui.cancelTask');
        const checkpoint = menuMatchers('treelane.ui.checkpoint');
        const cancelRun = menuMatchers('treelane.ui.cancel');
        const merge = menuMatchers('treelane.ui.merge');
        const output = menuMatchers('treelane.ui.showOutput');
        assert.ok(cancelTask.length > 0 && checkpoint.length > 0 && cancelRun.length > 0);

        const running = taskContextValue(task({ state: 'running', worktree: 'wt-1' }));
        const done = taskContextValue(task({ state: 'succeeded', worktree: 'wt-1' }));
        const queued = taskContextValue(task({ state: 'queued' }));
        assert.equal(running, 'task.running.wt');
        assert.equal(queued, 'task.queued.nowt');
        assert.ok(cancelTask.every((m) => m(running) && m(queued) && !m(done)));
        assert.ok(checkpoint.every((m) => m(running) && m(done) && !m(queued)));
        assert.ok(output.every((m) => m(running) && m(runContextValue(run({})))));

        const active = runContextValue(run({ state: 'running' }));
        const finished = runContextValue(run({ state: 'failed' }));
        assert.ok(cancelRun.every((m) => m(active) && !m(finished)));
        assert.ok(merge.every((m) => m(finished) && !m(active)));
        assert.equal(taskContextValue(task({ state: 'Weird State!' })), 'task.unknown.nowt');
    });

    it('Resolve Conflicts is offered on a run or task that failed on a conflict, and only there', () => {
        const resolve = menuMatchers('treelane.ui.resolveConflicts');
        const resume = menuMatchers('treelane.ui.resume');
        const merge = menuMatchers('treelane.ui.merge');
        assert.ok(resolve.length > 0);
        const final = runContextValue(run({ state: 'failed', reason: 'final tasks a and b conflict in f.txt (content)' }));
        const inputs = run({
            state: 'failed',
            reason: 'task join failed: inputs a and b conflict in f.txt (content)',
            tasks: [task({ name: 'join', state: 'failed' })],
        });
        const plain = runContextValue(run({ state: 'failed', reason: 'task build failed: exit code 2' }));
        assert.equal(final, 'run.done.conflicts');
        assert.equal(runContextValue(inputs), 'run.done.conflicts');
        assert.equal(plain, 'run.done');
        assert.ok(resolve.every((m) => m(final) && !m(plain) && !m(runContextValue(run({ state: 'running' })))));
        // The run's other actions stay on a run that failed on a conflict.
        assert.ok(resume.every((m) => m(final) && m(plain)));
        assert.ok(merge.every((m) => m(final)));
        const joinTask = taskContextValue(task({ name: 'join', state: 'failed' }), true);
        assert.equal(joinTask, 'task.failed.nowt.conflicts');
        assert.ok(resolve.every((m) => m(joinTask) && !m(taskContextValue(task({ state: 'failed' })))));
        assert.ok(resolve.every((m) => !m(groupContextValue('failed'))));
    });

    it('a candidate shows its score; a task of an agent workflow says where it belongs', () => {
        assert.equal(taskDescription(task({ score: 2, durationMs: 1000 })), '1.0 s · score 2');
        assert.equal(taskDescription(task({ score: 0.12345 })), 'score 0.123');
        assert.equal(formatScore(3), '3');
        const tip = taskTooltip(run({}), task({ name: 'impl', kind: 'pick', group: 'impl', picked: 'impl[candidate=2]' }));
        assert.match(tip, /Picked: impl\[candidate=2\]/);
        assert.match(taskTooltip(run({}), task({ name: 'plan.a', parent: 'plan' })), /Added by: plan/);
        assert.match(taskTooltip(run({}), task({ name: 'test[shard=1]', group: 'test' })), /Expands: test/);
        assert.match(runTooltip(run({ state: 'failed', reason: 'final tasks a and b conflict in f.txt (content)' })), /Reason: final tasks a and b/);
    });
});
