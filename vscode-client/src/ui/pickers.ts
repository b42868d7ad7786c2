/**
 * Quick picks that gather the arguments of the palette commands.
 */
import * as vscode from 'vscode';
import { describeWorktree, orderForPick, worktreeForFile } from '../core/worktrees';
import { runDescription, runIcon, runLabel, taskDescription, taskIcon } from '../core/presentation';
import { plural } from '../core/format';
import type { RunRecord, TaskRecord } from '../core/runStore';
import type { Worktree } from '../core/protocol';
import type { TreelaneApi } from '../core/api';
import type { RunsController } from './runsController';
import { CONFIG_FILE } from '../common/constants';

interface ValueItem<T> extends vscode.QuickPickItem {
    value: T;
}

export interface RunPickOptions {
    title: string;
    placeHolder: string;
    /** Which runs to offer (all by default). */
    filter?: (run: RunRecord) => boolean;
    /** Shown instead of the pick when no run matches. */
    emptyMessage: string;
}

/** Refreshes the runs from the server, then lets the user pick one. */
export async function pickRun(runs: RunsController, options: RunPickOptions): Promise<RunRecord | undefined> {
    await runs.refresh();
    const candidates = runs.store.list().filter(options.filter ?? (() => true));
    if (candidates.length === 0) {
        void vscode.window.showInformationMessage(`Treelane: ${options.emptyMessage}`);
        return undefined;
    }
    const items: ValueItem<RunRecord>[] = candidates.map((r) => ({
        label: `$(${runIcon(r.state).id}) ${runLabel(r)}`,
        description: runDescription(r),
        detail: r.started ? `started ${new Date(r.started).toLocaleString()}` : undefined,
        value: r,
    }));
    const picked = await vscode.window.showQuickPick(items, {
        title: options.title,
        placeHolder: options.placeHolder,
        matchOnDescription: true,
    });
    return picked?.value;
}

/** Picks one of a run's tasks, or the whole run (undefined task). */
export async function pickRunOrTask(
    run: RunRecord,
    tasks: readonly TaskRecord[],
    options: { title: string; wholeRunLabel: string },
): Promise<{ task: string | undefined } | undefined> {
    if (tasks.length === 0) {
        return { task: undefined };
    }
    const items: ValueItem<string | undefined>[] = [
        { label: `$(${runIcon(run.state).id}) ${options.wholeRunLabel}`, description: runDescription(run), value: undefined },
        { label: 'Tasks', kind: vscode.QuickPickItemKind.Separator, value: undefined },
        ...tasks.map((t) => ({
            label: `$(${taskIcon(t.state).id}) ${t.name}`,
            description: taskDescription(t),
            value: t.name,
        })),
    ];
    const picked = await vscode.window.showQuickPick(items, { title: options.title });
    return picked === undefined ? undefined : { task: picked.value };
}

/** The file of the active editor, if it is a local file. */
function activeFile(): string | undefined {
    const uri = vscode.window.activeTextEditor?.document.uri;
    return uri?.scheme === 'file' ? uri.fsPath : undefined;
}

/**
 * Lets the user pick a managed worktree; the one containing the active
 * editor's file comes first and is marked.
 */
export async function pickWorktree(
    api: TreelaneApi,
    options: { title: string; placeHolder: string; filter?: (w: Worktree) => boolean },
): Promise<Worktree | undefined> {
    const { worktrees } = await api.worktrees();
    const candidates = worktrees.filter(options.filter ?? (() => true));
    if (candidates.length === 0) {
        void vscode.window.showInformationMessage('Treelane: there is no managed worktree.');
        return undefined;
    }
    const file = activeFile();
    const preferred = file !== undefined ? worktreeForFile(candidates, file) : undefined;
    const items: ValueItem<Worktree>[] = orderForPick(candidates, preferred?.id).map((w) => {
        const notes = [describeWorktree(w)];
        if (w.id === preferred?.id) {
            notes.push('active editor');
        }
        return {
            label: `$(${w.id === 'main' ? 'repo' : 'git-branch'}) ${w.id}`,
            description: notes.filter((n) => n.length > 0).join(' — '),
            detail: w.path,
            value: w,
        };
    });
    const picked = await vscode.window.showQuickPick(items, {
        title: options.title,
        placeHolder: options.placeHolder,
        matchOnDescription: true,
        matchOnDetail: true,
    });
    return picked?.value;
}

const OTHER = Symbol('other');

/** Lets the user pick a workflow (the server reads treelane.toml), or type a name. */
export async function pickWorkflow(api: TreelaneApi): Promise<string | undefined> {
    const { workflows, problems } = await api.workflows();
    if (workflows.length === 0 && problems.length === 0) {
        void vscode.window.showWarningMessage(`Treelane: no workflows found in ${CONFIG_FILE}.`);
    }
    const items: ValueItem<string | typeof OTHER>[] = workflows.map((w) => {
        const notes: string[] = [];
        if (w.problems.length > 0) {
            notes.push(`$(warning) ${w.problems[0]?.message ?? ''}${w.problems.length > 1 ? ` (+${w.problems.length - 1})` : ''}`);
        }
        if (w.tasks.length > 0) {
            notes.push(`${plural(w.tasks.length, 'task')}: ${w.tasks.join(', ')}`);
        }
        return {
            label: `$(run-all) ${w.name}`,
            description: w.description,
            detail: notes.length > 0 ? notes.join(' — ') : undefined,
            value: w.name,
        };
    });
    items.push({ label: '$(edit) Other workflow name…', value: OTHER, alwaysShow: true });
    const picked = await vscode.window.showQuickPick(items, {
        title: 'Treelane: Start Workflow',
        placeHolder:
            workflows.length > 0
                ? 'Pick a workflow to run'
                : `No workflows in ${CONFIG_FILE}${problems.length > 0 ? `: ${problems[0]?.message ?? ''}` : ''}`,
        matchOnDescription: true,
        matchOnDetail: true,
    });
    if (picked === undefined) {
        return undefined;
    }
    if (picked.value !== OTHER) {
        return picked.value;
    }
    const typed = await vscode.window.showInputBox({
        title: 'Treelane: Start Workflow',
        prompt: `A workflow name from ${CONFIG_FILE}`,
        validateInput: (value) => (value.trim().length === 0 ? 'Enter a workflow name' : undefined),
    });
    const name = typed?.trim();
    return name !== undefined && name.length > 0 ? name : undefined;
}
