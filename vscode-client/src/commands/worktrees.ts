/**
 * Commands about worktrees: checkpoint, undo, redo, open, cleanup.
 */
import * as vscode from 'vscode';
import { plural, shortSha } from '../core/format';
import type { Worktree } from '../core/protocol';
import { defaultFlavor, findWorktree, isInside } from '../core/worktrees';
import { isTaskNode } from '../ui/runsTree';
import { pickWorktree } from '../ui/pickers';
import { info, warn, withProgress, type CommandContext } from './context';

/** The worktree of the task node the command was run on, else one the user picks. */
async function chooseWorktree(ctx: CommandContext, node: unknown, title: string): Promise<Worktree | undefined> {
    if (isTaskNode(node)) {
        const id = ctx.runs.store.task(node.run, node.task)?.worktree;
        if (id) {
            const { worktrees } = await ctx.server.api.worktrees();
            const found = findWorktree(worktrees, id);
            if (found !== undefined) {
                return (await confirmStillTasks(found, node.run, node.task)) ? found : undefined;
            }
            await warn(`the worktree of task ${node.task} (${id}) is no longer managed.`);
            return undefined;
        }
    }
    return pickWorktree(ctx.server.api, { title, placeHolder: 'Pick a worktree' });
}

/**
 * Worktrees are pooled: once a task is done its worktree may go back to the
 * pool, or serve another task. Asks before acting on such a worktree.
 */
async function confirmStillTasks(worktree: Worktree, run: string, task: string): Promise<boolean> {
    if (worktree.run === run && worktree.task === task) {
        return true;
    }
    const owner =
        worktree.run !== null ? `now used by ${worktree.task ?? 'a task'} of run ${worktree.run}` : 'back in the worktree pool';
    const proceed = 'Continue';
    const choice = await vscode.window.showWarningMessage(
        `Worktree ${worktree.id} is ${owner}.`,
        { modal: true, detail: `It may no longer hold the files of task ${task} (run ${run}).` },
        proceed,
    );
    return choice === proceed;
}

function dirtyDocumentsIn(worktree: Worktree): vscode.TextDocument[] {
    return vscode.workspace.textDocuments.filter(
        (d) => d.isDirty && d.uri.scheme === 'file' && isInside(d.uri.fsPath, worktree.path, defaultFlavor()),
    );
}

async function saveAll(documents: readonly vscode.TextDocument[]): Promise<void> {
    for (const d of documents) {
        await d.save();
    }
}

export async function checkpointWorktree(ctx: CommandContext, node: unknown): Promise<void> {
    const worktree = await chooseWorktree(ctx, node, 'Treelane: Checkpoint Worktree');
    if (worktree === undefined) {
        return;
    }
    const message = await vscode.window.showInputBox({
        title: `Treelane: Checkpoint ${worktree.id}`,
        prompt: 'A message for the checkpoint (optional)',
        placeHolder: 'e.g. before refactoring',
    });
    if (message === undefined) {
        return;
    }
    // Unsaved edits would not be part of the checkpoint.
    await saveAll(dirtyDocumentsIn(worktree));
    const result = await ctx.server.api.checkpoint(worktree.id, message);
    await info(`checkpoint ${result.checkpoint} of ${result.worktree} saved (${shortSha(result.commit)}).`);
}

export function undoWorktree(ctx: CommandContext, node: unknown): Promise<void> {
    return moveWorktree(ctx, node, 'undo');
}

export function redoWorktree(ctx: CommandContext, node: unknown): Promise<void> {
    return moveWorktree(ctx, node, 'redo');
}

async function moveWorktree(ctx: CommandContext, node: unknown, direction: 'undo' | 'redo'): Promise<void> {
    const title = direction === 'undo' ? 'Treelane: Undo' : 'Treelane: Redo';
    const worktree = await chooseWorktree(ctx, node, title);
    if (worktree === undefined) {
        return;
    }
    const dirty = dirtyDocumentsIn(worktree);
    if (dirty.length > 0) {
        const save = 'Save and Continue';
        const discard = 'Continue Without Saving';
        const choice = await vscode.window.showWarningMessage(
            `${plural(dirty.length, 'editor')} in worktree ${worktree.id} ${dirty.length === 1 ? 'has' : 'have'} unsaved changes.`,
            { modal: true, detail: `${direction === 'undo' ? 'Undo' : 'Redo'} changes the files on disk.` },
            save,
            discard,
        );
        if (choice === undefined) {
            return;
        }
        if (choice === save) {
            await saveAll(dirty);
        }
    }
    const result =
        direction === 'undo' ? await ctx.server.api.undo(worktree.id) : await ctx.server.api.redo(worktree.id);
    await info(`worktree ${result.worktree} is at checkpoint ${result.checkpoint} (${shortSha(result.commit)}).`);
}

export async function openWorktree(ctx: CommandContext, node: unknown): Promise<void> {
    const worktree = await chooseWorktree(ctx, node, 'Treelane: Open Worktree in New Window');
    if (worktree === undefined) {
        return;
    }
    await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(worktree.path), {
        forceNewWindow: true,
    });
}

export async function cleanupWorktrees(ctx: CommandContext): Promise<void> {
    const first = await withProgress('cleaning up worktrees…', () => ctx.server.api.cleanup(false));
    const removed = first.removed.length > 0 ? `removed ${plural(first.removed.length, 'worktree')}` : 'removed nothing';
    if (first.kept.length === 0) {
        await info(`cleanup ${removed}.`);
        return;
    }
    const reasons = first.kept
        .slice(0, 8)
        .map((k) => (k.reason ? `${k.id}: ${k.reason}` : k.id))
        .join('\n');
    const more = first.kept.length > 8 ? `\n…and ${first.kept.length - 8} more` : '';
    const force = 'Force Remove';
    const choice = await vscode.window.showWarningMessage(
        `Treelane: cleanup ${removed} and kept ${plural(first.kept.length, 'worktree')}. Force-remove them?`,
        { modal: true, detail: `${reasons}${more}\n\nWork in them that was not merged is lost.` },
        force,
    );
    if (choice !== force) {
        return;
    }
    const second = await withProgress('force-removing worktrees…', () => ctx.server.api.cleanup(true));
    const kept = second.kept.length > 0 ? `; still kept ${second.kept.map((k) => k.id).join(', ')}` : '';
    await info(`removed ${plural(second.removed.length, 'worktree')}${kept}.`);
}
