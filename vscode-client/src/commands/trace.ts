/**
 * Commands about a run's trace: export it as Chrome Trace Event JSON, or
 * show its timeline (`python -m treelane report`) in a webview.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { safeFileName } from '../core/format';
import { reportArgs } from '../core/interpreter';
import { runLabel } from '../core/presentation';
import { describeError } from '../core/errors';
import { runProcess } from '../common/process';
import { info, runFromNodeOrPick, withProgress, type CommandContext } from './context';

const REPORT_TIMEOUT_MS = 120_000;

export async function exportTrace(ctx: CommandContext, node: unknown): Promise<void> {
    const run = await runFromNodeOrPick(ctx, node, {
        title: 'Treelane: Export Trace',
        placeHolder: 'Pick a run to export its trace',
        emptyMessage: 'no runs yet.',
    });
    if (run === undefined) {
        return;
    }
    // Outside the work tree: a trace is not part of the project (the OS temp folder).
    const fileName = `treelane-trace-${safeFileName(run.run)}.json`;
    const target = await vscode.window.showSaveDialog({
        title: `Export the trace of ${runLabel(run)} ${run.run}`,
        saveLabel: 'Export',
        defaultUri: vscode.Uri.file(path.join(os.tmpdir(), fileName)),
        filters: { 'Trace Event JSON': ['json'] },
    });
    if (target === undefined) {
        return;
    }
    const trace = await withProgress(`exporting the trace of run ${run.run}…`, () => ctx.server.api.trace(run.run));
    await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(JSON.stringify(trace)));
    const open = 'Open';
    const choice = await info(
        `trace of run ${run.run} written to ${path.basename(target.fsPath)} (open it in Perfetto or chrome://tracing).`,
        open,
    );
    if (choice === open) {
        await vscode.window.showTextDocument(target);
    }
}

export async function showTimeline(ctx: CommandContext, node: unknown): Promise<void> {
    const run = await runFromNodeOrPick(ctx, node, {
        title: 'Treelane: Show Run Timeline',
        placeHolder: 'Pick a run to show its timeline',
        emptyMessage: 'no runs yet.',
    });
    if (run === undefined) {
        return;
    }
    const interpreter = ctx.server.interpreter;
    if (interpreter === undefined) {
        throw new Error('the Treelane server has not been started, so no interpreter is known');
    }
    const title = `Timeline: ${runLabel(run)} ${run.run}`;
    const output = path.join(os.tmpdir(), `treelane-report-${safeFileName(run.run)}-${process.pid}-${Date.now()}.html`);
    const panel = ctx.timelines.open(run.run, title);
    try {
        await withProgress(`making the timeline of run ${run.run}…`, () =>
            runProcess(interpreter.command, reportArgs(run.run, output), {
                cwd: ctx.server.workingDirectory,
                timeoutMs: REPORT_TIMEOUT_MS,
            }),
        );
        const html = await fs.readFile(output, 'utf8');
        ctx.timelines.showReport(panel, html);
    } catch (e) {
        ctx.timelines.showError(panel, title, `The report could not be made: ${describeError(e)}`);
        throw e;
    } finally {
        await fs.rm(output, { force: true });
    }
}
