import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDottedKey, readWorkflows } from '../../src/core/workflows';

const names = (text: string): string[] => readWorkflows(text).map((w) => w.name);

describe('treelane.toml workflow reader', () => {
    it('finds [workflows.NAME] tables with their tasks and description', () => {
        const text = `
# a comment
[settings]
concurrency = 4

[workflows.feature]
description = "Plan, build and test a feature"

[workflows.feature.tasks.plan]
run = "echo plan > plan.txt"

[workflows.feature.tasks.build]
run = "make"
needs = ["plan"]

[workflows.release]
[workflows.release.tasks.tag]
run = "git tag v1"
`;
        assert.deepEqual(readWorkflows(text), [
            { name: 'feature', description: 'Plan, build and test a feature', tasks: ['plan', 'build'] },
            { name: 'release', tasks: ['tag'] },
        ]);
    });

    it('accepts quoted names, spacing and trailing comments', () => {
        const text = `[ workflows . "my flow" ]  # the main one
[workflows.'lit.eral']
[workflows."esc\\"aped"]
`;
        assert.deepEqual(names(text), ['my flow', 'lit.eral', 'esc"aped']);
    });

    it('infers workflows from task tables only', () => {
        assert.deepEqual(readWorkflows('[workflows.ci.tasks.lint]\nrun = "ruff"\n'), [{ name: 'ci', tasks: ['lint'] }]);
    });

    it('reads array-of-tables tasks with a name key', () => {
        const text = `
[[workflows.pipeline.tasks]]
name = "fetch"
run = "curl"

[[workflows.pipeline.tasks]]
name = 'build'
`;
        assert.deepEqual(readWorkflows(text), [{ name: 'pipeline', tasks: ['fetch', 'build'] }]);
    });

    it('reads dotted keys and inline tables', () => {
        const text = `
workflows.inline = { tasks = { a = { run = "x" } } }
workflows.dotted.tasks.b.run = "y"

[workflows]
quick = { description = "q" }
"quoted one".tasks.c = { run = "z" }
`;
        assert.deepEqual(readWorkflows(text), [
            { name: 'inline', tasks: [] },
            { name: 'dotted', tasks: ['b'] },
            { name: 'quick', tasks: [] },
            { name: 'quoted one', tasks: ['c'] },
        ]);
    });

    it('ignores headers inside multi-line strings and arrays', () => {
        const text = `
[workflows.real]
description = """
[workflows.fake]
"""
script = '''
[workflows.fake2]
'''
needs = [
  ["not", "a", "header"],
  "x",
]
[workflows.after]
`;
        assert.deepEqual(names(text), ['real', 'after']);
    });

    it('ignores comments, other tables and garbage without throwing', () => {
        const text = `
# [workflows.commented]
[workflowsX.nope]
[tool.workflows.nope]
[[broken
= = =
[workflows.ok] # fine
key = "value # not a comment"
[workflows.]
`;
        assert.deepEqual(names(text), ['ok']);
        assert.deepEqual(readWorkflows(''), []);
        assert.deepEqual(readWorkflows('\uFEFF[workflows.bom]\r\n'), [{ name: 'bom', tasks: [] }]);
    });

    it('keeps the first order and no duplicates', () => {
        assert.deepEqual(names('[workflows.b]\n[workflows.a]\n[workflows.b.tasks.x]\n'), ['b', 'a']);
    });

    it('splits dotted keys', () => {
        assert.deepEqual(parseDottedKey('a.b.c'), ['a', 'b', 'c']);
        assert.deepEqual(parseDottedKey('a . "b.c" . \'d\''), ['a', 'b.c', 'd']);
        assert.equal(parseDottedKey('a..b'), null);
        assert.equal(parseDottedKey('"open'), null);
        assert.equal(parseDottedKey(''), null);
        assert.equal(parseDottedKey('a b'), null);
    });
});
