import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildTaskTree, findParentNode, findTaskNode, memberLabel, stateOf, summarizeChildren, type TaskTreeNode } from '../../src/core/taskTree';
import type { TaskRecord } from '../../src/core/runStore';

function task(name: string, state: string, extra: Partial<TaskRecord> = {}): TaskRecord {
    return { name, state, attempt: 1, worktree: null, exitCode: null, durationMs: null, ...extra };
}

/** The tree as nested names, e.g. ['test', ['test[shard=1]', ...]]. */
function shape(nodes: readonly TaskTreeNode[]): unknown[] {
    return nodes.map((n) => (n.children.length > 0 ? [n.name, shape(n.children)] : n.name));
}

describe('the task tree of a run', () => {
    it('puts matrix expansions under a node of their task (which has no row of its own), where the first was listed', () => {
        const tree = buildTaskTree([
            task('lint', 'succeeded'),
            task('test[shard=1]', 'succeeded', { group: 'test' }),
            task('test[shard=2]', 'failed', { group: 'test' }),
            task('test[shard=3]', 'running', { group: 'test' }),
            task('after', 'queued'),
        ]);
        assert.deepEqual(shape(tree), ['lint', ['test', ['test[shard=1]', 'test[shard=2]', 'test[shard=3]']], 'after']);
        const group = findTaskNode(tree, 'test');
        assert.equal(group?.task, undefined, 'made from its expansions');
        assert.equal(findParentNode(tree, 'test[shard=2]')?.name, 'test');
        assert.equal(findParentNode(tree, 'test'), undefined, 'at the root');
        assert.equal(summarizeChildren(group?.children ?? []).text, '1/3 succeeded · 1 running · 1 failed');
        assert.equal(stateOf(group!), 'running');
    });

    it('puts candidates under their pick node (named like the task) and spawned tasks under their spawner, nested', () => {
        const tree = buildTaskTree([
            task('impl[candidate=1]', 'succeeded', { group: 'impl', score: 1 }),
            task('impl[candidate=2]', 'succeeded', { group: 'impl', score: 2 }),
            task('impl', 'succeeded', { kind: 'pick', picked: 'impl[candidate=2]' }),
            task('plan', 'succeeded'),
            task('plan.a', 'succeeded', { parent: 'plan' }),
            task('plan.a.deep', 'succeeded', { parent: 'plan.a' }),
            task('plan.b', 'failed', { parent: 'plan' }),
        ]);
        assert.deepEqual(shape(tree), [
            ['impl', ['impl[candidate=1]', 'impl[candidate=2]']],
            ['plan', [['plan.a', ['plan.a.deep']], 'plan.b']],
        ]);
        assert.equal(findTaskNode(tree, 'impl')?.task?.kind, 'pick');
        assert.equal(findParentNode(tree, 'plan.a.deep')?.name, 'plan.a');
        assert.equal(summarizeChildren(findTaskNode(tree, 'plan')?.children ?? []).text, '1/2 succeeded · 1 failed');
    });

    it('a spawned matrix task sits under its spawner; a child listed before its spawner still ends up under it', () => {
        const tree = buildTaskTree([
            task('plan.t[k=1]', 'succeeded', { group: 'plan.t', parent: 'plan' }),
            task('plan', 'succeeded'),
            task('plan.t[k=2]', 'succeeded', { group: 'plan.t', parent: 'plan' }),
        ]);
        assert.deepEqual(shape(tree), [['plan', [['plan.t', ['plan.t[k=1]', 'plan.t[k=2]']]]]]);
    });

    it('never loses a task: unknown owners and cycles fall back to the root', () => {
        const tree = buildTaskTree([
            task('a', 'succeeded', { parent: 'b' }),
            task('b', 'succeeded', { parent: 'a' }),
            task('self', 'succeeded', { parent: 'self' }),
        ]);
        const names: string[] = [];
        const walk = (nodes: readonly TaskTreeNode[]): void => {
            for (const n of nodes) {
                names.push(n.name);
                walk(n.children);
            }
        };
        walk(tree);
        assert.deepEqual(names.sort(), ['a', 'b', 'self']);
        assert.ok(tree.some((n) => n.name === 'self'));
    });

    it('summarises children: the state of a group follows its members', () => {
        const states = (list: string[]): string =>
            stateOf({ name: 'g', task: undefined, children: list.map((s, i) => ({ name: `g[${i}]`, task: task(`g[${i}]`, s), children: [] })) });
        assert.equal(states(['queued', 'queued']), 'queued');
        assert.equal(states(['succeeded', 'queued']), 'running');
        assert.equal(states(['succeeded', 'cached']), 'succeeded');
        assert.equal(states(['cached', 'cached']), 'cached');
        assert.equal(states(['succeeded', 'failed', 'cancelled']), 'failed');
        assert.equal(states(['succeeded', 'cancelled']), 'cancelled');
        assert.equal(states(['succeeded', 'skipped']), 'skipped');
        assert.equal(summarizeChildren([]).text, '0/0 succeeded');
        const s = summarizeChildren(
            ['succeeded', 'succeeded', 'cached', 'failed'].map((st, i) => ({ name: `t${i}`, task: task(`t${i}`, st), children: [] })),
        );
        assert.deepEqual([s.text, s.total, s.succeeded, s.state], ['3/4 succeeded · 1 failed', 4, 3, 'failed']);
    });

    it('labels a member by what tells it apart', () => {
        assert.equal(memberLabel('impl[candidate=2]', 'impl'), 'candidate=2');
        assert.equal(memberLabel('t[os=linux,py=3.12]', 't'), 'os=linux,py=3.12');
        assert.equal(memberLabel('plan.a', 'plan'), 'plan.a');
    });
});
