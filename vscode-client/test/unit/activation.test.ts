/**
 * Activation and command glue, run in plain Node: `vscode` and
 * `vscode-languageclient/node` are replaced by recording fakes (test/fakes),
 * the run model, views and commands are the real ones.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import * as os from 'node:os';
import Module from 'node:module';
import * as path from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import * as fakeClient from '../fakes/languageclient';
import * as fakeVscode from '../fakes/vscode';
import type * as ExtensionNamespace from '../../src/extension';

const { fake } = fakeVscode;
const { server } = fakeClient;

// Route the extension's imports of the two packages to the fakes.
const internals = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
const originalLoad = internals._load;
const replacements: Record<string, unknown> = { vscode: fakeVscode, 'vscode-languageclient/node': fakeClient };

type ExtensionModule = typeof ExtensionNamespace;
let extension: ExtensionModule;

const ROOT = '/home/user/fake-ws';
/** A real folder: the extension asks the interpreter there whether treelane imports. */
const EXT = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'treelane-ext-')));
/** `python3` is the project's virtualenv interpreter, which has treelane (as a user's would). */
const VENV_BIN = path.resolve(__dirname, '..', '..', '..', '.venv', 'bin');
process.env.PATH = `${VENV_BIN}${path.delimiter}${process.env.PATH ?? ''}`;
const TOML = '[workflows.diamond.tasks.a]\nrun = "true"\n[workflows.single.tasks.only]\nrun = "true"\n';

const runStatus = {
    run: 'r1',
    workflow: 'diamond',
    state: 'succeeded',
    started: '2026-01-01T10:00:00Z',
    finished: '2026-01-01T10:00:05Z',
    tasks: [{ name: 'a', state: 'succeeded', attempt: 1, worktree: 'wt-1', exit_code: 0, duration_ms: 1500 }],
};

function defaultResponses(command: string, argument: unknown): unknown {
    switch (command) {
        case 'treelane.status':
            return { runs: [runStatus], pool: { size: 2, idle: 2, busy: 0 }, concurrency: { limit: 2, running: 0 } };
        case 'treelane.start':
            return { run: 'r2', workflow: (argument as { workflow: string }).workflow, tasks: ['a'] };
        case 'treelane.merge':
            return { clean: true, conflicts: [], merged: !(argument as { preview: boolean }).preview, commit: 'abcdef0123' };
        case 'treelane.diff':
            return {
                base: 'b'.repeat(40),
                head: 'h'.repeat(40),
                files: [{ path: 'a.txt', status: 'A', additions: 1, deletions: 0, binary: false, new_blob: 'c'.repeat(40) }],
                commits: [],
            };
        case 'treelane.workflows':
            return {
                workflows: [
                    { name: 'diamond', description: 'a -> [b, c] -> d', tasks: ['a', 'b', 'c', 'd'], problems: [] },
                    { name: 'single', description: '', tasks: ['only'], problems: [] },
                ],
                problems: [],
            };
        case 'treelane.worktrees':
            return { worktrees: [{ id: 'main', path: ROOT, commit: 'x', state: 'idle', dirty: false, run: null, task: null }] };
        default:
            return {};
    }
}

interface Subscription {
    dispose(): unknown;
}

let subscriptions: Subscription[] = [];

async function activate(): Promise<void> {
    const context = { subscriptions, extensionUri: fakeVscode.Uri.file(EXT), extensionPath: EXT };
    const before = server.clients.length;
    extension.activate(context as unknown as Parameters<ExtensionModule['activate']>[0]);
    await until('a language client', () => server.clients.length > before);
    await settle();
}

function settle(ms = 10): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `done()` (the extension asks the real interpreter first, which takes a moment). */
async function until(what: string, done: () => boolean): Promise<void> {
    for (let i = 0; !done(); i++) {
        assert.ok(i < 1200, `timed out waiting for ${what}`);
        await settle(50);
    }
    await settle();
}

function client(): fakeClient.LanguageClient {
    const c = server.clients.at(-1);
    assert.ok(c, 'a language client was created');
    return c;
}

function tree(): fakeVscode.FakeTreeView {
    const view = fake.treeViews.find((v) => v.id === 'treelane.runs');
    assert.ok(view, 'the runs view was created');
    return view;
}

function run(id: string, ...args: unknown[]): Promise<unknown> {
    return fakeVscode.commands.executeCommand(id, ...args);
}

describe('activation and commands (fake VS Code)', () => {
    before(() => {
        internals._load = function (request, parent, isMain) {
            return request in replacements ? replacements[request] : originalLoad.call(this, request, parent, isMain);
        };
        // Loaded only now, so its imports go through the replacements.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        extension = require('../../src/extension') as ExtensionModule;
    });

    after(() => {
        internals._load = originalLoad;
    });

    beforeEach(() => {
        fake.reset();
        server.reset();
        server.respond = defaultResponses;
        fake.folders = [{ uri: fakeVscode.Uri.file(ROOT), name: 'ws', index: 0 }];
        fake.files.set(path.join(ROOT, 'treelane.toml'), TOML);
        subscriptions = [];
    });

    afterEach(async () => {
        await extension.deactivate();
        for (const s of subscriptions) {
            s.dispose();
        }
    });

    it('registers every contributed command and starts `python3 -m treelane serve` in the workspace', async () => {
        fake.config.set('treelane.serverArgs', ['--log-level', 'DEBUG']);
        await activate();
        const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
            contributes: { commands: { command: string }[] };
        };
        assert.deepEqual(
            [...fake.commands.keys()].sort(),
            pkg.contributes.commands.map((c) => c.command).sort(),
        );
        const c = client();
        assert.equal(c.id, 'treelane');
        assert.equal(c.serverOptions.command, 'python3');
        assert.deepEqual(c.serverOptions.args, [
            '-m',
            'treelane',
            'serve',
            '--log-level',
            'DEBUG',
            '--stdio',
            `--clientProcessId=${process.pid}`,
        ]);
        assert.equal(c.serverOptions.options?.cwd, ROOT);
        assert.deepEqual(c.clientOptions.initializationOptions, { trusted: true, client: 'vscode', batchTaskState: true });
        for (const method of ['treelane/taskState', 'treelane/output', 'treelane/resources', 'treelane/runFinished']) {
            assert.ok(c.notificationHandlers.has(method), `handles ${method}`);
        }
    });

    it('the Runs tree groups matrix expansions and candidates under their task, live from batched taskState', async () => {
        await activate();
        const c = client();
        const change = (task: string, state: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
            run: 'r5', task, state, attempt: 1, worktree: null, exit_code: null, duration_ms: null, ...extra,
        });
        c.notify('treelane/taskState', {
            changes: [
                change('test[shard=1]', 'succeeded', { group: 'test' }),
                change('test[shard=2]', 'running', { group: 'test' }),
                change('test[shard=3]', 'failed', { group: 'test' }),
                change('plan', 'succeeded'),
                change('plan.x', 'queued', { parent: 'plan' }),
            ],
        });
        await settle(100);
        const view = tree();
        // r5 is not in the server's status (a run started elsewhere): its tasks come from the notifications.
        const runNode = view.provider.getChildren().find((n) => view.provider.getTreeItem(n).label === 'r5');
        const labels = (nodes: unknown[]): string[] => nodes.map((n) => view.provider.getTreeItem(n).label);
        const top = view.provider.getChildren(runNode);
        assert.deepEqual(labels(top), ['test', 'plan']);
        const group = top[0];
        const groupItem = view.provider.getTreeItem(group);
        assert.equal(groupItem.description, '1/3 succeeded · 1 running · 1 failed');
        assert.equal(groupItem.iconPath?.id, 'sync~spin');
        assert.equal(groupItem.contextValue, 'group.running');
        assert.equal(groupItem.collapsibleState, fakeVscode.TreeItemCollapsibleState.Expanded);
        const members = view.provider.getChildren(group);
        assert.deepEqual(labels(members), ['test[shard=1]', 'test[shard=2]', 'test[shard=3]']);
        const provider = view.provider as unknown as { getParent(n: unknown): unknown };
        assert.equal(provider.getParent(members[0]), group);
        assert.equal(provider.getParent(group), runNode);
        assert.deepEqual(labels(view.provider.getChildren(top[1])), ['plan.x']);
        assert.match(view.provider.getTreeItem(top[1]).description ?? '', /^0\/1 succeeded · 1 queued/);

        // The last expansion finishes: the summary follows (one change, the single form).
        c.notify('treelane/taskState', change('test[shard=2]', 'succeeded', { group: 'test' }));
        await settle(100);
        assert.equal(view.provider.getTreeItem(view.provider.getChildren(runNode)[0]).description, '2/3 succeeded · 1 failed');
        assert.equal(view.provider.getTreeItem(view.provider.getChildren(runNode)[0]).iconPath?.id, 'error');
    });

    it('the treelane.python setting wins', async () => {
        fake.config.set('treelane.python', '${workspaceFolder}/.venv/bin/python');
        const context = { subscriptions, extensionUri: fakeVscode.Uri.file(EXT), extensionPath: EXT };
        extension.activate(context as unknown as Parameters<ExtensionModule['activate']>[0]);
        // That interpreter does not exist: the extension says so itself and starts no client.
        const interpreter = path.join(ROOT, '.venv/bin/python');
        await until('the start failure', () => fake.messages.some((m) => m.level === 'error'));
        const error = fake.messages.find((m) => m.level === 'error');
        assert.ok(error?.text.includes(`"${interpreter} -m treelane serve" (interpreter from the treelane.python setting)`), error?.text);
        assert.ok(error?.text.includes('could not be run: ENOENT'), error?.text);
        assert.equal(server.clients.length, 0);
    });

    it('loads the runs with treelane.status and keeps the tree and status bar live', async () => {
        await activate();
        assert.deepEqual(server.requests[0], { command: 'treelane.status', argument: {} });
        const view = tree();
        const roots = view.provider.getChildren();
        assert.equal(roots.length, 1);
        const item = view.provider.getTreeItem(roots[0]);
        assert.equal(item.label, 'diamond');
        assert.equal(item.description, 'r1 · succeeded · 5.0 s · 1/1');
        assert.equal(item.contextValue, 'run.done');
        const task = view.provider.getTreeItem(view.provider.getChildren(roots[0])[0]);
        assert.equal(task.contextValue, 'task.succeeded.wt');
        assert.equal(task.iconPath?.id, 'pass');

        // A run started elsewhere shows up, then its status is fetched.
        client().notify('treelane/taskState', { run: 'r9', task: 'x', state: 'running', attempt: 1, worktree: 'wt-2', exit_code: null, duration_ms: null });
        client().notify('treelane/resources', {
            time: 0,
            system: { cpu_percent: 71, memory_percent: 50, memory_available_mb: 2150 },
            tasks: [{ run: 'r9', task: 'x', pid: 1, cpu_percent: 50, rss_mb: 100, processes: 1 }],
            concurrency: { limit: 4, running: 3 },
        });
        await settle(300);
        assert.equal(view.provider.getChildren().length, 2);
        assert.deepEqual(server.requests.at(-1), { command: 'treelane.status', argument: { run: 'r9' } });
        const bar = fake.statusBarItems[0];
        assert.ok(bar);
        assert.equal(bar.text, '$(sync~spin) 3/4 · CPU 71% · 2.1 GB');
        assert.deepEqual(view.badge, { value: 1, tooltip: '1 run running' });

        // Output goes to the run's channel.
        client().notify('treelane/output', { run: 'r1', task: 'a', lines: ['hello'] });
        await settle();
        const channel = fake.outputChannels.find((o) => o.name === 'Treelane: diamond r1');
        assert.ok(channel, 'a channel named after the workflow and run');
        assert.match(channel.text, /\[a\] hello/);

        // The run finishes: idle again, and the user is told.
        client().notify('treelane/runFinished', { run: 'r9', workflow: '', state: 'failed', duration_ms: 10, counts: { failed: 1 } });
        await settle(60);
        assert.equal(bar.text, '$(check) Treelane idle');
        assert.ok(fake.messages.some((m) => m.level === 'warning' && m.text.includes('r9 failed')));
    });

    it('Start Workflow… picks from the server\'s treelane.workflows and sends one JSON object', async () => {
        await activate();
        fake.pick = (call) => (call.items[0]?.label.includes('diamond') ? 0 : undefined);
        await run('treelane.ui.start');
        assert.deepEqual(fake.quickPicks[0]?.items.map((i) => i.label), [
            '$(run-all) diamond',
            '$(run-all) single',
            '$(edit) Other workflow name…',
        ]);
        assert.deepEqual(server.requests.at(-1), { command: 'treelane.start', argument: { workflow: 'diamond' } });
        assert.ok(!fake.messages.some((m) => m.text.includes('started')), 'starting is not a toast (the progress says it)');
        assert.equal(tree().provider.getChildren().length, 2, 'the new run is in the tree at once');
    });

    it('Merge Run… previews, asks, then merges', async () => {
        await activate();
        fake.answer = (_m, buttons) => (buttons.includes('Merge') ? 'Merge' : undefined);
        await run('treelane.ui.merge', { kind: 'run', run: 'r1' });
        const merges = server.requests.filter((r) => r.command === 'treelane.merge').map((r) => r.argument);
        assert.deepEqual(merges, [
            { run: 'r1', preview: true },
            { run: 'r1', preview: false },
        ]);
        const dialog = fake.messages.find((m) => m.modal && m.text.includes('Merge run diamond r1'));
        assert.ok(dialog?.detail?.includes('1 file, +1 \u22120:'), dialog?.detail);
        assert.ok(dialog?.detail?.includes('A a.txt +1 \u22120'), dialog?.detail);
        assert.ok(fake.messages.some((m) => m.modal && m.text.includes('Merge run diamond r1')));
        assert.ok(fake.messages.some((m) => m.text.includes('merged diamond r1 (commit abcdef0)')));
    });

    it('Merge Run… stops at conflicts and does not merge', async () => {
        await activate();
        server.respond = (command, argument) =>
            command === 'treelane.merge'
                ? { clean: false, conflicts: [{ path: 'src/a.py', kind: 'content' }], merged: false, commit: null }
                : defaultResponses(command, argument);
        await run('treelane.ui.merge', { kind: 'run', run: 'r1' });
        assert.equal(server.requests.filter((r) => r.command === 'treelane.merge').length, 1);
        assert.ok(fake.messages.some((m) => m.text.includes('conflict in 1 file: src/a.py')));
    });

    it('shows server errors to the user', async () => {
        await activate();
        server.respond = (command, argument) => {
            if (command === 'treelane.cancel') {
                throw Object.assign(new Error('run r1 is not running'), { code: -32803 });
            }
            return defaultResponses(command, argument);
        };
        await run('treelane.ui.cancel', { kind: 'run', run: 'r1' });
        assert.deepEqual(server.requests.at(-1), { command: 'treelane.cancel', argument: { run: 'r1' } });
        // -32803: a valid request that cannot be done now is a warning, not an error.
        assert.ok(fake.messages.some((m) => m.level === 'warning' && m.text === 'Treelane: run r1 is not running'));
        assert.ok(!fake.messages.some((m) => m.level === 'error'));
    });

    it('in an untrusted workspace: no workflow starts, read-only commands work', async () => {
        fake.trusted = false;
        fake.config.set('treelane.python', path.join(VENV_BIN, 'python'));
        await activate();
        const c = client();
        assert.equal(c.serverOptions.options?.cwd, EXT, 'the server does not run in the workspace');
        assert.deepEqual(c.clientOptions.initializationOptions, { trusted: false, client: 'vscode', batchTaskState: true });

        const before = server.requests.length;
        await run('treelane.ui.start');
        await run('treelane.ui.cleanup');
        assert.equal(server.requests.length, before, 'nothing was sent');
        assert.ok(fake.messages.some((m) => m.text.includes('not trusted')));

        await run('treelane.ui.refresh');
        assert.deepEqual(server.requests.at(-1), { command: 'treelane.status', argument: {} });

        // The server's own commands, as registered by vscode-languageclient.
        const middleware = c.clientOptions.middleware?.executeCommand;
        assert.ok(middleware);
        const passed: string[] = [];
        const next = (command: string): unknown => passed.push(command);
        await middleware('treelane.start', [{ workflow: 'diamond' }], next);
        await middleware('treelane.status', [{}], next);
        assert.deepEqual(passed, ['treelane.status']);
    });

    it('restarts when trust is granted, and stops on deactivate', async () => {
        fake.trusted = false;
        await activate();
        const first = client();
        fake.trusted = true;
        fake.trustEmitter.fire();
        await until('a second client', () => server.clients.length > 1);
        assert.equal(first.disposed, true);
        const second = client();
        assert.notEqual(second, first);
        assert.equal(second.serverOptions.options?.cwd, ROOT);
        await extension.deactivate();
        assert.equal(second.disposed, true);
    });
});
