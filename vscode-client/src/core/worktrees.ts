/**
 * Matching files to managed worktrees, and related path logic.
 *
 * Pure module: must not import `vscode`.
 */
import * as path from 'node:path';
import type { Worktree } from './protocol';

export type PathFlavor = 'posix' | 'win32';

export function defaultFlavor(): PathFlavor {
    return process.platform === 'win32' ? 'win32' : 'posix';
}

function api(flavor: PathFlavor): path.PlatformPath {
    return flavor === 'win32' ? path.win32 : path.posix;
}

/** A normalized, absolute form of a path for comparisons (case-folded on Windows). */
export function comparablePath(p: string, flavor: PathFlavor): string {
    const a = api(flavor);
    let resolved = a.resolve(p);
    const root = a.parse(resolved).root;
    while (resolved.length > root.length && (resolved.endsWith('/') || resolved.endsWith(a.sep))) {
        resolved = resolved.slice(0, -1);
    }
    return flavor === 'win32' ? resolved.toLowerCase() : resolved;
}

/** Whether `file` is `dir` or inside it. */
export function isInside(file: string, dir: string, flavor: PathFlavor): boolean {
    const f = comparablePath(file, flavor);
    const d = comparablePath(dir, flavor);
    if (f === d) {
        return true;
    }
    const sep = api(flavor).sep;
    return f.startsWith(d.endsWith(sep) ? d : d + sep);
}

/**
 * The worktree that contains `file`: the one with the longest matching path,
 * so a task worktree nested inside the main worktree wins over "main".
 */
export function worktreeForFile(
    worktrees: readonly Worktree[],
    file: string,
    flavor: PathFlavor = defaultFlavor(),
): Worktree | undefined {
    let best: Worktree | undefined;
    let bestLength = -1;
    for (const w of worktrees) {
        if (isInside(file, w.path, flavor)) {
            const length = comparablePath(w.path, flavor).length;
            if (length > bestLength) {
                best = w;
                bestLength = length;
            }
        }
    }
    return best;
}

/** A worktree by id, or else by path. */
export function findWorktree(
    worktrees: readonly Worktree[],
    idOrPath: string,
    flavor: PathFlavor = defaultFlavor(),
): Worktree | undefined {
    return (
        worktrees.find((w) => w.id === idOrPath) ??
        worktrees.find((w) => comparablePath(w.path, flavor) === comparablePath(idOrPath, flavor))
    );
}

/**
 * Worktrees in the order a picker shows them: the preferred one (e.g. the
 * one holding the active editor's file) first, then "main", then the rest
 * grouped by run and task.
 */
export function orderForPick(worktrees: readonly Worktree[], preferredId: string | undefined): Worktree[] {
    const rank = (w: Worktree): number => (w.id === preferredId ? 0 : w.id === 'main' ? 1 : 2);
    return [...worktrees].sort((a, b) => {
        const byRank = rank(a) - rank(b);
        if (byRank !== 0) {
            return byRank;
        }
        const byRun = (a.run ?? '').localeCompare(b.run ?? '');
        if (byRun !== 0) {
            return byRun;
        }
        const byTask = (a.task ?? '').localeCompare(b.task ?? '');
        return byTask !== 0 ? byTask : a.id.localeCompare(b.id);
    });
}

/** One line describing a worktree for pickers: "run r1 · task build · dirty · idle". */
export function describeWorktree(w: Worktree): string {
    const parts: string[] = [];
    if (w.run) {
        parts.push(`run ${w.run}`);
    }
    if (w.task) {
        parts.push(`task ${w.task}`);
    }
    if (w.dirty) {
        parts.push('dirty');
    }
    if (w.state) {
        parts.push(w.state);
    }
    return parts.join(' · ');
}

/** The absolute path of a conflicting file: conflict paths are relative to the main worktree. */
export function resolveConflictPath(conflictPath: string, mainRoot: string, flavor: PathFlavor = defaultFlavor()): string {
    const a = api(flavor);
    return a.isAbsolute(conflictPath) ? a.normalize(conflictPath) : a.join(mainRoot, conflictPath);
}
