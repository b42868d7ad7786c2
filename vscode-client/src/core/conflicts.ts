/**
 * Conflicts of a failed run: which merge to resolve (the run's final tasks, or one task's
 * inputs), and whether a file still has git's conflict markers.
 *
 * Pure module: must not import `vscode`.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { RunRecord } from './runStore';

/** What `treelane.resolve` is asked for: `task` undefined is the merge of the final tasks. */
export interface ResolveTarget {
    task: string | undefined;
    /** false: the run's reason does not say which merge conflicted (ask the user). */
    certain: boolean;
}

const FINAL = /^final tasks .* conflict/;
const TASK_INPUTS = /^task (.+?) failed: inputs .* conflict/;

/**
 * The merge that made `run` fail, from its `reason` (`final tasks a and b conflict in ...`,
 * `task join failed: inputs a and b conflict in ...`); undefined when it did not fail on a
 * conflict (or a failed task whose error says its inputs conflict). A failed run with
 * `conflicts` but a reason of another form is `certain: false`.
 */
export function resolveTarget(run: RunRecord): ResolveTarget | undefined {
    if (run.state !== 'failed') {
        return undefined;
    }
    const reason = run.reason ?? '';
    if (FINAL.test(reason)) {
        return { task: undefined, certain: true };
    }
    const inputs = TASK_INPUTS.exec(reason);
    if (inputs !== null) {
        return { task: inputs[1], certain: true };
    }
    const conflicted = run.tasks.find((t) => t.state === 'failed' && /inputs .* conflict/.test(t.error ?? ''));
    if (conflicted !== undefined) {
        return { task: conflicted.name, certain: true };
    }
    return (run.conflicts ?? []).length > 0 ? { task: undefined, certain: false } : undefined;
}

/** Whether `task` of `run` is the task whose inputs conflict. */
export function isConflictedTask(run: RunRecord, task: string): boolean {
    return resolveTarget(run)?.task === task;
}

/** A run that failed on a conflict (its final tasks', or a task's inputs'). */
export function hasConflicts(run: RunRecord): boolean {
    return resolveTarget(run) !== undefined;
}

/** git's markers at the start of a line, as the server checks them before it resumes. */
const MARKER = /^(<<<<<<<|>>>>>>>) /m;

export function hasConflictMarkers(text: string): boolean {
    return MARKER.test(text);
}

/** "the final tasks" / "the inputs of task join", for messages. */
export function describeTarget(task: string | undefined | null): string {
    return task ? `the inputs of task ${task}` : 'the final tasks';
}

/** Paths among `files` (relative to `folder`) that still have markers; a missing file has none. */
export async function filesWithMarkers(folder: string, files: readonly string[]): Promise<string[]> {
    const left: string[] = [];
    for (const f of files) {
        let text: string;
        try {
            text = await readFile(path.join(folder, f), 'utf8');
        } catch {
            continue;
        }
        if (hasConflictMarkers(text)) {
            left.push(f);
        }
    }
    return left;
}

/**
 * Paths among `files` that git still has as unmerged in `folder`'s index (stages 1/2/3): not
 * yet marked resolved with `git add`, Complete Merge in VS Code's merge editor, or a commit.
 */
export function unmergedFiles(folder: string, files: readonly string[]): Promise<string[]> {
    if (files.length === 0) {
        return Promise.resolve([]);
    }
    return new Promise((resolve, reject) => {
        execFile('git', ['ls-files', '--unmerged', '-z', '--', ...files], { cwd: folder, encoding: 'utf8' }, (error, stdout) => {
            if (error !== null) {
                reject(new Error(`git ls-files --unmerged failed in ${folder}: ${error.message}`));
                return;
            }
            // "<mode> <object> <stage>\t<path>\0" per stage
            const paths = new Set(stdout.split('\0').filter((e) => e.includes('\t')).map((e) => e.slice(e.indexOf('\t') + 1)));
            resolve(files.filter((f) => paths.has(f)));
        });
    });
}

/**
 * Whether the conflicts in `folder` are resolved: no file has markers and git has none unmerged.
 * Markers gone alone is not enough: an editor that saves a half-done merge (auto save of the
 * merge editor's result) removes them too.
 */
export async function isResolved(folder: string, files: readonly string[]): Promise<boolean> {
    if ((await filesWithMarkers(folder, files)).length > 0) {
        return false;
    }
    return (await unmergedFiles(folder, files)).length === 0;
}
