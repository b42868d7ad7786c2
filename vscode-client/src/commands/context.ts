/**
 * What command handlers work with, and helpers they share.
 */
import * as vscode from 'vscode';
import type { RunRecord } from '../core/runStore';
import type { TreelaneServer } from '../common/server';
import type { RunsController } from '../ui/runsController';
import type { RunOutputChannels } from '../ui/runOutput';
import type { TimelinePanels } from '../ui/timelinePanel';
import { isRunNode, isTaskNode } from '../ui/runsTree';
import { pickRun, type RunPickOptions } from '../ui/pickers';

export interface CommandContext {
    server: TreelaneServer;
    runs: RunsController;
    outputs: RunOutputChannels;
    timelines: TimelinePanels;
}

/** A command handler; the first argument is a tree node when run from the "Runs" view. */
export type CommandHandler = (...args: unknown[]) => Promise<void>;

/** The run a tree node (run or task) points at. */
export function runIdOf(node: unknown): string | undefined {
    return isRunNode(node) || isTaskNode(node) ? node.run : undefined;
}

/** The run from the tree node the command was run on, else one the user picks. */
export async function runFromNodeOrPick(
    ctx: CommandContext,
    node: unknown,
    options: RunPickOptions,
): Promise<RunRecord | undefined> {
    const id = runIdOf(node);
    if (id !== undefined) {
        const known = ctx.runs.store.get(id);
        if (known !== undefined) {
            return known;
        }
        await ctx.runs.refresh(id);
        return ctx.runs.store.get(id);
    }
    return pickRun(ctx.runs, options);
}

export function info(message: string, ...actions: string[]): Thenable<string | undefined> {
    return vscode.window.showInformationMessage(`Treelane: ${message}`, ...actions);
}

export function warn(message: string, ...actions: string[]): Thenable<string | undefined> {
    return vscode.window.showWarningMessage(`Treelane: ${message}`, ...actions);
}

/** Runs `task` with a progress notification. */
export function withProgress<T>(title: string, task: () => Promise<T>): Thenable<T> {
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Treelane: ${title}` }, task);
}
