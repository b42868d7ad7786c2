/**
 * "Show Changes": what a run or one of its tasks changed, in VS Code's multi-file diff editor
 * (`vscode.changes`), left and right sides read from git objects.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { plural } from '../core/format';
import type { DiffResult } from '../core/protocol';
import { runLabel } from '../core/presentation';
import { isTaskNode } from '../ui/runsTree';
import { blobUri } from '../ui/gitContent';
import { info, runFromNodeOrPick, withProgress, type CommandContext } from './context';

/** "3 files, +12 −4". */
export function diffSummary(diff: DiffResult): string {
    return `${plural(diff.files.length, 'file')}, +${diff.additions} \u2212${diff.deletions}`;
}

export async function showChanges(ctx: CommandContext, node: unknown): Promise<void> {
    const run = await runFromNodeOrPick(ctx, node, {
        title: 'Treelane: Show Changes',
        placeHolder: 'Pick a run to see what it changed',
        emptyMessage: 'no runs yet.',
    });
    if (run === undefined) {
        return;
    }
    const task = isTaskNode(node) && node.run === run.run ? node.task : undefined;
    const name = `${runLabel(run)} ${run.run}${task !== undefined ? ` / ${task}` : ''}`;
    const diff = await withProgress(`reading the changes of ${name}…`, () =>
        ctx.server.api.diff(run.run, task !== undefined ? { task } : {}),
    );
    await openChanges(ctx, diff, name);
}

/** Opens the multi-file diff of `diff` (or says there is nothing to show). */
export async function openChanges(ctx: CommandContext, diff: DiffResult, name: string): Promise<void> {
    if (diff.files.length === 0) {
        await info(`${name} changed no files.`);
        return;
    }
    const root = ctx.server.workingDirectory ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '';
    const resources = diff.files.map((f) => {
        const file = vscode.Uri.file(path.join(root, f.path));
        const left = f.status === 'A' ? undefined : blobUri(f.oldPath ?? f.path, f.oldBlob);
        const right = f.status === 'D' ? undefined : blobUri(f.path, f.newBlob);
        return [file, left, right] as const;
    });
    await vscode.commands.executeCommand('vscode.changes', `Treelane: ${name} (${diffSummary(diff)})`, resources);
}
