/**
 * End to end: the real treelane server, driven over stdio the way the
 * extension drives it, using the extension's own argument builders,
 * decoders, run model and worktree matching. No VS Code, no mocks.
 *
 *   npm run test:e2e        (TREELANE_PYTHON=/path/to/python to choose the interpreter)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ResponseError } from 'vscode-jsonrpc/node';
import { decodeOutputParams, decodeRunFinishedParams, decodeTaskStateParams } from '../../src/core/decode';
import { ServerCommand, ServerErrorCode, ServerNotification, type TaskStateParams, type Worktree } from '../../src/core/protocol';
import { RunStore } from '../../src/core/runStore';
import { findWorktree, worktreeForFile } from '../../src/core/worktrees';
import { reportArgs } from '../../src/core/interpreter';
import { assertServerAvailable, makeRepo, pythonPath, ServerSession, type Repo } from './harness';

describe('treelane server, end to end', () => {
    const python = pythonPath();
    let repo: Repo;
    let server: ServerSession;
    let run = '';
    const store = new RunStore();

    const taskStates = (): TaskStateParams[] =>
        server
            .notifications(ServerNotification.taskState)
            .map(decodeTaskStateParams)
            .filter((p) => p.run === run);

    before(async () => {
        assertServerAvailable(python);
        repo = makeRepo();
        server = ServerSession.start(python, repo.root);
        const init = await server.initialize(repo.root);
        const advertised = init.capabilities.executeCommandProvider?.commands ?? [];
        for (const command of Object.values(ServerCommand)) {
            assert.ok(advertised.includes(command), `the server advertises ${command} (got ${advertised.join(', ')})`);
        }
    });

    after(async () => {
        await server?.stop();
        repo?.dispose();
    });

    it('treelane.workflows lists the two workflows of the fixture for the palette', async () => {
        const { workflows } = await server.api.workflows();
        assert.deepEqual(
            workflows.map((w) => [w.name, w.tasks]),
            [
                ['diamond', ['a', 'b', 'c', 'd']],
                ['single', ['only']],
            ],
        );
    });

    it('answers an unknown workflow with a JSON-RPC error and a message', async () => {
        await assert.rejects(server.api.start('no-such-workflow'), (e: unknown) => {
            assert.ok(e instanceof ResponseError, `a ResponseError, got ${String(e)}`);
            assert.ok(
                e.code === ServerErrorCode.invalidParams || e.code === ServerErrorCode.requestFailed,
                `code -32602 or -32803, got ${e.code}`,
            );
            assert.ok(e.message.length > 0, 'a human message');
            return true;
        });
    });

    it('starts the diamond and runs it to success, in dependency order, with progress', async () => {
        const started = await server.api.start('diamond');
        run = started.run;
        assert.ok(run.length > 0);
        assert.equal(started.workflow, 'diamond');
        assert.deepEqual([...started.tasks].sort(), ['a', 'b', 'c', 'd']);
        store.applyStart(started, new Date());

        const finished = await server.waitFor('treelane/runFinished of the diamond', () =>
            server
                .notifications(ServerNotification.runFinished)
                .map(decodeRunFinishedParams)
                .find((p) => p.run === run),
        );
        assert.equal(finished.state, 'succeeded', `the run succeeded (counts ${JSON.stringify(finished.counts)})`);
        assert.equal(finished.workflow, 'diamond');

        // The notifications drive the run model to the same end.
        for (const params of taskStates()) {
            store.applyTaskState(params, new Date());
        }
        store.applyRunFinished(finished, new Date());
        assert.equal(store.get(run)?.state, 'succeeded');
        for (const task of store.get(run)?.tasks ?? []) {
            assert.ok(task.state === 'succeeded' || task.state === 'cached', `${task.name} ended ${task.state}`);
        }

        // a before b and c, both before d.
        const states = taskStates();
        const at = (task: string, state: string): number => states.findIndex((s) => s.task === task && s.state === state);
        for (const task of ['a', 'b', 'c', 'd']) {
            assert.ok(at(task, 'succeeded') >= 0, `a succeeded state for ${task}`);
        }
        for (const task of ['b', 'c']) {
            const running = at(task, 'running');
            assert.ok(running < 0 || running > at('a', 'succeeded'), `${task} ran after a succeeded`);
        }
        const dRunning = at('d', 'running');
        assert.ok(dRunning < 0 || (dRunning > at('b', 'succeeded') && dRunning > at('c', 'succeeded')), 'd ran after b and c');
        assert.ok(states.some((s) => s.state === 'queued'), 'queued states announce the run');

        // Output of task a.
        await server.waitFor('treelane/output of task a', () =>
            server
                .notifications(ServerNotification.output)
                .map(decodeOutputParams)
                .find((o) => o.run === run && o.task === 'a' && o.lines.some((l) => l.includes('hello from a'))),
        );

        // Server-initiated progress: created, begun and ended.
        assert.ok(server.progressTokens.length > 0, 'window/workDoneProgress/create was sent');
        await server.waitFor('$/progress end', () => server.progress.find((p) => p.value.kind === 'end'));
        const kinds = server.progress.map((p) => p.value.kind);
        assert.ok(kinds.includes('begin'), `a progress begin (got ${kinds.join(', ')})`);
    });

    it('reports the finished run in treelane.status', async () => {
        const one = await server.api.status(run);
        const status = one.runs.find((r) => r.run === run);
        assert.ok(status, 'status of the run');
        assert.equal(status.workflow, 'diamond');
        assert.equal(status.state, 'succeeded');
        assert.ok(status.started !== null && !Number.isNaN(Date.parse(status.started)), 'started is ISO-8601');
        assert.ok(status.finished !== null && !Number.isNaN(Date.parse(status.finished)), 'finished is ISO-8601');
        assert.deepEqual(status.tasks.map((t) => t.name).sort(), ['a', 'b', 'c', 'd']);
        for (const task of status.tasks) {
            assert.ok(task.state === 'succeeded' || task.state === 'cached', `${task.name}: ${task.state}`);
            assert.ok(task.attempt >= 1);
        }
        const all = await server.api.status();
        assert.ok(all.runs.some((r) => r.run === run), 'the run is in the status of all runs');
        assert.ok(all.pool !== null, 'pool is reported');
        assert.ok(all.concurrency !== null && all.concurrency.limit > 0, 'concurrency is reported');
        assert.equal(all.concurrency.running, 0);
    });

    let target: Worktree;

    it('lists the worktrees, the main one included', async () => {
        const { worktrees } = await server.api.worktrees();
        const main = worktrees.find((w) => w.id === 'main');
        assert.ok(main, 'the main worktree has id "main"');
        assert.equal(realpathSync(main.path), repo.root);
        assert.equal(worktreeForFile(worktrees, path.join(repo.root, 'README.md'))?.id, 'main');

        // Prefer the worktree task d ran in; else any of the run's; else main.
        const dWorktree = taskStates().find((s) => s.task === 'd' && s.worktree !== null)?.worktree;
        target =
            (dWorktree ? findWorktree(worktrees, dWorktree) : undefined) ??
            worktrees.find((w) => w.run === run) ??
            main;
        assert.equal(worktreeForFile(worktrees, path.join(target.path, 'notes.txt'))?.id, target.id);
    });

    it('checkpoints a worktree after an edit; undo restores the file, redo brings the edit back', async () => {
        const notes = path.join(target.path, 'notes.txt');
        writeFileSync(notes, 'first\n');
        const first = await server.api.checkpoint(target.id, 'first notes');
        assert.equal(first.worktree, target.id);
        assert.ok(first.checkpoint.length > 0);

        writeFileSync(notes, 'second\n');
        const second = await server.api.checkpoint(target.path, 'second notes');
        assert.equal(second.worktree, target.id, 'a worktree can be named by its path');
        assert.notEqual(second.checkpoint, first.checkpoint);
        assert.notEqual(second.commit, first.commit);

        const undone = await server.api.undo(target.id);
        assert.equal(undone.worktree, target.id);
        assert.equal(readFileSync(notes, 'utf8'), 'first\n', 'undo restored the file');

        const redone = await server.api.redo(target.id);
        assert.equal(redone.worktree, target.id);
        assert.equal(readFileSync(notes, 'utf8'), 'second\n', 'redo brought the edit back');
    });

    it('previews the merge of the run as clean, without touching main', async () => {
        const head = repo.git('rev-parse', 'HEAD');
        const preview = await server.api.merge(run, { preview: true });
        assert.equal(preview.clean, true, `clean (conflicts: ${JSON.stringify(preview.conflicts)})`);
        assert.deepEqual(preview.conflicts, []);
        assert.equal(preview.merged, false);
        assert.equal(repo.git('rev-parse', 'HEAD'), head, 'a preview does not move main');
    });

    it('exports the run as a Chrome trace', async () => {
        const trace = await server.api.trace(run);
        const events = Array.isArray(trace) ? trace : trace.traceEvents;
        assert.ok(Array.isArray(events) && events.length > 0, 'trace events');
    });

    it('makes a self-contained timeline page with `python -m treelane report` (Show Run Timeline)', () => {
        const output = path.join(os.tmpdir(), `treelane-e2e-report-${process.pid}.html`);
        try {
            const result = spawnSync(python, reportArgs(run, output), { cwd: repo.root, encoding: 'utf8', timeout: 120_000 });
            assert.equal(result.status, 0, `"python ${reportArgs(run, output).join(' ')}" failed:\n${result.stderr}`);
            assert.ok(existsSync(output), 'the report file was written');
            const html = readFileSync(output, 'utf8');
            assert.match(html, /<html/i);
            assert.match(html, /<script/i, 'the page has its scripts inline');
            assert.doesNotMatch(html, /<(script|link|img)[^>]+(src|href)=["']https?:/i, 'nothing is loaded from the network');
        } finally {
            rmSync(output, { force: true });
        }
    });
});
