/**
 * Commands about runs: start, status, cancel, resume, merge, output.
 */
import * as vscode from 'vscode';
import { plural, shortSha } from '../core/format';
import { isActiveTaskState, type MergeConflict } from '../core/protocol';
import { runDescription, runIcon, runLabel, taskDescription, taskIcon } from '../core/presentation';
import { resolveConflictPath } from '../core/worktrees';
import { isTaskNode } from '../ui/runsTree';
import { pickRunOrTask, pickWorkflow } from '../ui/pickers';
import { showRunProgress } from '../ui/runProgress';
import { describeError } from '../core/errors';
import { logWarn } from '../common/log';
import { diffSummary, openChanges } from './changes';

/** Files listed in the merge dialog (the rest: Show Changes). */
const MERGE_DIALOG_FILES = 12;
import { info, runFromNodeOrPick, warn, withProgress, type CommandContext } from './context';

export async function startWorkflow(ctx: CommandContext): Promise<void> {
    const workflow = await pickWorkflow(ctx.server.api);
    if (workflow === undefined) {
        return;
    }
    const result = await ctx.server.api.start(workflow);
    ctx.runs.started(result);
    // The progress notification says it started; the outcome is one notification at the end.
    showRunProgress(ctx.runs, ctx.server.api, result.run, `${result.workflow || workflow} ${result.run}`);
}

interface StatusItem extends vscode.QuickPickItem {
    run?: string;
}

export async function showStatus(ctx: CommandContext): Promise<void> {
    const status = await ctx.runs.refresh();
    const summary: string[] = [];
    if (status.concurrency) {
        summary.push(`${status.concurrency.running}/${status.concurrency.limit} tasks running`);
    }
    if (status.pool) {
        summary.push(`worktree pool: ${status.pool.busy} busy, ${status.pool.idle} idle of ${status.pool.size}`);
    }
    const runs = ctx.runs.store.list();
    if (runs.length === 0) {
        await info(`no runs yet${summary.length > 0 ? ` (${summary.join('; ')})` : ''}.`);
        return;
    }
    const items: StatusItem[] = [];
    for (const run of runs) {
        items.push({
            label: `$(${runIcon(run.state).id}) ${runLabel(run)}`,
            description: runDescription(run),
            run: run.run,
        });
        for (const task of run.tasks) {
            items.push({
                label: `$(${taskIcon(task.state).id}) ${task.name}`,
                description: [task.state, taskDescription(task)].filter((s) => s.length > 0).join(' · '),
                detail: undefined,
                run: run.run,
            });
        }
        items.push({ label: '', kind: vscode.QuickPickItemKind.Separator });
    }
    items.pop();
    const picked = await vscode.window.showQuickPick(items, {
        title: 'Treelane: Status',
        placeHolder: summary.length > 0 ? summary.join(' · ') : 'Pick a run or task to show its output',
        matchOnDescription: true,
    });
    if (picked?.run !== undefined) {
        ctx.outputs.show(picked.run);
    }
}

export async function cancelRun(ctx: CommandContext, node: unknown): Promise<void> {
    const run = await runFromNodeOrPick(ctx, node, {
        title: 'Treelane: Cancel Run',
        placeHolder: 'Pick a running run to cancel',
        filter: (r) => r.state === 'running',
        emptyMessage: 'no run is running.',
    });
    if (run === undefined) {
        return;
    }
    let task: string | undefined;
    if (node === undefined) {
        const choice = await pickRunOrTask(
            run,
            run.tasks.filter((t) => isActiveTaskState(t.state)),
            { title: `Treelane: Cancel ${runLabel(run)} ${run.run}`, wholeRunLabel: 'The whole run' },
        );
        if (choice === undefined) {
            return;
        }
        task = choice.task;
    }
    await cancel(ctx, run.run, task);
}

export async function cancelTask(ctx: CommandContext, node: unknown): Promise<void> {
    if (!isTaskNode(node)) {
        await cancelRun(ctx, undefined);
        return;
    }
    await cancel(ctx, node.run, node.task);
}

async function cancel(ctx: CommandContext, run: string, task: string | undefined): Promise<void> {
    const result = await ctx.server.api.cancel(run, task);
    await ctx.runs.refresh(run);
    if (result.cancelled.length === 0) {
        await info(`nothing left to cancel in run ${run}.`);
    } else {
        await info(`cancelled ${result.cancelled.join(', ')} (run ${run}).`);
    }
}

export async function resumeRun(ctx: CommandContext, node: unknown): Promise<void> {
    const run = await runFromNodeOrPick(ctx, node, {
        title: 'Treelane: Resume Run',
        placeHolder: 'Pick a failed, cancelled or interrupted run to resume',
        filter: (r) => r.state === 'failed' || r.state === 'cancelled' || r.state === 'interrupted',
        emptyMessage: 'no failed, cancelled or interrupted run to resume.',
    });
    if (run === undefined) {
        return;
    }
    const result = await ctx.server.api.resume(run.run);
    await ctx.runs.refresh(result.run);
    // A resolved conflict between final tasks re-runs none: the merge alone finishes the run.
    const now = ctx.runs.store.get(result.run)?.state;
    if (result.requeued.length === 0 && now !== 'succeeded' && now !== 'running') {
        await info(`run ${result.run} had nothing to resume.`);
    } else if (result.requeued.length > 0) {
        showRunProgress(ctx.runs, ctx.server.api, result.run, `${runLabel(run)} ${result.run} (resumed)`);
    }
}

export async function mergeRun(ctx: CommandContext, node: unknown): Promise<void> {
    const run = await runFromNodeOrPick(ctx, node, {
        title: 'Treelane: Merge Run',
        placeHolder: 'Pick a finished run to merge',
        filter: (r) => r.state !== 'running',
        emptyMessage: 'no finished run to merge.',
    });
    if (run === undefined) {
        return;
    }
    const name = `${runLabel(run)} ${run.run}`;
    const preview = await withProgress(`checking whether ${name} merges cleanly…`, () =>
        ctx.server.api.merge(run.run, { preview: true }),
    );
    const conflicts = preview.conflicts;
    if (!preview.clean || conflicts.length > 0) {
        const open = 'Open Conflicting Files';
        const anyway = 'Merge Anyway…';
        const choice = await warn(
            `merging ${name} would conflict in ${plural(conflicts.length, 'file')}: ${listPaths(conflicts)}`,
            open,
            anyway,
        );
        if (choice === open) {
            await openConflicts(ctx, conflicts);
            return;
        }
        if (choice !== anyway) {
            return;
        }
    }
    const merge = 'Merge';
    const changes = 'Show Changes';
    // What the run changed, for the dialog; a server without treelane.diff only loses the list.
    const diff = await ctx.server.api.diff(run.run).catch((e: unknown) => {
        logWarn(`Could not list the changes of ${name}: ${describeError(e)}`);
        return undefined;
    });
    const lines: string[] = [];
    if (diff !== undefined) {
        lines.push(`${diffSummary(diff)}:`);
        for (const f of diff.files.slice(0, MERGE_DIALOG_FILES)) {
            lines.push(`  ${f.status} ${f.path}${f.binary ? ' (binary)' : ` +${f.additions} \u2212${f.deletions}`}`);
        }
        if (diff.files.length > MERGE_DIALOG_FILES) {
            lines.push(`  … and ${diff.files.length - MERGE_DIALOG_FILES} more`);
        }
    }
    lines.push(
        conflicts.length > 0
            ? `${plural(conflicts.length, 'file')} will conflict: ${listPaths(conflicts)}`
            : 'The preview found no conflicts.',
    );
    const buttons = diff !== undefined && diff.files.length > 0 ? [merge, changes] : [merge];
    const confirmed = await vscode.window.showWarningMessage(
        `Merge run ${name} into the current branch?`,
        { modal: true, detail: lines.join('\n') },
        ...buttons,
    );
    if (confirmed === changes && diff !== undefined) {
        await openChanges(ctx, diff, name);
        return;
    }
    if (confirmed !== merge) {
        return;
    }
    const result = await withProgress(`merging ${name}…`, () => ctx.server.api.merge(run.run, { preview: false }));
    if (result.merged) {
        await info(`merged ${name}${result.commit ? ` (commit ${shortSha(result.commit)})` : ''}.`);
        return;
    }
    if (result.conflicts.length > 0) {
        const open = 'Open Conflicting Files';
        const choice = await warn(
            `${name} was not merged: ${plural(result.conflicts.length, 'conflict')} in ${listPaths(result.conflicts)}`,
            open,
        );
        if (choice === open) {
            await openConflicts(ctx, result.conflicts);
        }
        return;
    }
    await warn(`${name} was not merged.`);
}

function listPaths(conflicts: readonly MergeConflict[], max = 5): string {
    const shown = conflicts.slice(0, max).map((c) => c.path);
    const more = conflicts.length - shown.length;
    return shown.join(', ') + (more > 0 ? ` and ${more} more` : '');
}

/** Lets the user choose conflicting files (all preselected) and opens them. */
async function openConflicts(ctx: CommandContext, conflicts: readonly MergeConflict[]): Promise<void> {
    const { worktrees } = await ctx.server.api.worktrees();
    const root = worktrees.find((w) => w.id === 'main')?.path ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (root === undefined) {
        await warn('cannot tell where the main worktree is.');
        return;
    }
    const items = conflicts.map((c) => ({
        label: c.path,
        description: c.kind,
        picked: true,
        file: resolveConflictPath(c.path, root),
    }));
    const picked = await vscode.window.showQuickPick(items, {
        title: 'Treelane: Open Conflicting Files',
        canPickMany: true,
    });
    for (const item of picked ?? []) {
        try {
            await vscode.window.showTextDocument(vscode.Uri.file(item.file), { preview: false });
        } catch {
            void warn(`could not open ${item.label} (it may not exist in the main worktree).`);
        }
    }
}

export async function showOutput(ctx: CommandContext, node: unknown): Promise<void> {
    const run = await runFromNodeOrPick(ctx, node, {
        title: 'Treelane: Show Run Output',
        placeHolder: 'Pick a run',
        emptyMessage: 'no runs yet.',
    });
    if (run !== undefined) {
        ctx.outputs.show(run.run);
    }
}

export async function refreshRuns(ctx: CommandContext): Promise<void> {
    await ctx.runs.refresh();
}
