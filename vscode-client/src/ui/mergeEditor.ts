/**
 * VS Code's merge editor on the files of a resolve worktree. The merge editor reads the three
 * sides from the index stages (1/2/3) through the built-in Git extension, so that extension
 * must have the worktree open as a repository: `git.openRepository` (the command, which also
 * reopens a repository closed before), then `git.openMergeEditor` on each file. When the Git
 * extension is missing or disabled, or does not open the folder, the file is opened as text with
 * its conflict markers instead.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isInside, defaultFlavor } from '../core/worktrees';

/** The part of the Git extension's API (`vscode.git`, API version 1) used here. */
interface GitApi {
    getRepository(uri: vscode.Uri): { rootUri: vscode.Uri } | null;
}

interface GitExtension {
    enabled: boolean;
    getAPI(version: 1): GitApi;
}

const GIT_EXTENSION = 'vscode.git';

async function gitApi(): Promise<GitApi | undefined> {
    const extension = vscode.extensions.getExtension<GitExtension>(GIT_EXTENSION);
    if (extension === undefined) {
        return undefined;
    }
    const exports = extension.isActive ? extension.exports : await extension.activate();
    return exports.enabled ? exports.getAPI(1) : undefined;
}

function sameFolder(a: string, b: string): boolean {
    return isInside(a, b, defaultFlavor()) && isInside(b, a, defaultFlavor());
}

/**
 * Opens `folder` as a repository in the Git extension; true when it is open (the repository
 * of a file in it is that folder, not the main repository around it).
 */
export async function openRepository(folder: string): Promise<boolean> {
    const api = await gitApi();
    if (api === undefined) {
        return false;
    }
    const probe = vscode.Uri.file(folder);
    const isOpen = (): boolean => {
        const repo = api.getRepository(probe);
        return repo !== null && sameFolder(repo.rootUri.fsPath, folder);
    };
    if (!isOpen()) {
        await vscode.commands.executeCommand('git.openRepository', folder);
    }
    return isOpen();
}

/** Closes the Git extension's repository of `folder` (after resume removed the worktree). */
export async function closeRepository(folder: string): Promise<void> {
    const api = await gitApi().catch(() => undefined);
    const uri = vscode.Uri.file(folder);
    const repo = api?.getRepository(uri) ?? null;
    if (repo !== null && sameFolder(repo.rootUri.fsPath, folder)) {
        await vscode.commands.executeCommand('git.close', uri);
    }
}

/**
 * The output file of a merge editor tab. The class of such inputs (`TabInputTextMerge`) is
 * still a proposed API, but the tabs of merge editors carry its fields: `base`, `input1`,
 * `input2` and `result`.
 */
function mergeResult(input: unknown): vscode.Uri | undefined {
    if (typeof input !== 'object' || input === null) {
        return undefined;
    }
    const { base, input1, input2, result } = input as Record<string, unknown>;
    const isUri = (v: unknown): v is vscode.Uri => v instanceof vscode.Uri;
    return isUri(base) && isUri(input1) && isUri(input2) && isUri(result) ? result : undefined;
}

function tabUris(tab: vscode.Tab): vscode.Uri[] {
    const merged = mergeResult(tab.input);
    if (merged !== undefined) {
        return [merged];
    }
    if (tab.input instanceof vscode.TabInputText) {
        return [tab.input.uri];
    }
    return [];
}

/** Whether a merge editor on `file` is open. */
export function isMergeEditorOpen(file: vscode.Uri): boolean {
    return vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => mergeResult(t.input)?.fsPath === file.fsPath));
}

export type OpenedAs = 'merge editor' | 'text';

/**
 * Opens `file` in the merge editor when `repositoryOpen`, else (or when the merge editor did
 * not open) as text, conflict markers and all.
 */
export async function openConflictedFile(file: vscode.Uri, repositoryOpen: boolean): Promise<OpenedAs> {
    if (repositoryOpen) {
        await vscode.commands.executeCommand('git.openMergeEditor', file);
        if (isMergeEditorOpen(file)) {
            return 'merge editor';
        }
    }
    await vscode.window.showTextDocument(file, { preview: false });
    return 'text';
}

/** Closes the editors (text or merge) of files inside `folder` that have no unsaved changes. */
export async function closeEditorsUnder(folder: string): Promise<void> {
    const tabs = vscode.window.tabGroups.all.flatMap((g) =>
        g.tabs.filter((t) => !t.isDirty && tabUris(t).some((u) => u.scheme === 'file' && isInside(u.fsPath, folder, defaultFlavor()))),
    );
    if (tabs.length > 0) {
        await vscode.window.tabGroups.close(tabs, true);
    }
}

/** The file URI of `relative` inside `folder`. */
export function fileIn(folder: string, relative: string): vscode.Uri {
    return vscode.Uri.file(path.join(folder, relative));
}
