/**
 * "Resolve Conflicts": a run that failed because its final tasks (or one task's inputs)
 * conflict. `treelane.resolve` checks the conflicting merge out in a worktree of its own with
 * git's markers and index stages; each conflicted file opens in VS Code's merge editor (or, when
 * that is unavailable, as text with its markers). Once every file is resolved (no markers,
 * marked resolved in git's index), "Resume Run" (`treelane.resume`) carries the run on.
 */
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { describeTarget, filesWithMarkers, hasConflicts, isResolved, resolveTarget } from '../core/conflicts';
import { plural } from '../core/format';
import { runLabel } from '../core/presentation';
import type { ResolveResult } from '../core/protocol';
import type { RunRecord } from '../core/runStore';
import { describeError } from '../core/errors';
import { UiCommand } from '../common/constants';
import { logWarn } from '../common/log';
import { closeEditorsUnder, closeRepository, fileIn, openConflictedFile, openRepository } from '../ui/mergeEditor';
import { pickRunOrTask } from '../ui/pickers';
import { ResolutionWatch } from '../ui/resolutionWatch';
import type { RunNode } from '../ui/runsTree';
import { isTaskNode } from '../ui/runsTree';
import { info, runFromNodeOrPick, warn, withProgress, type CommandContext } from './context';

const RESUME = 'Resume Run';

interface OpenResolution {
    run: string;
    folder: string;
    watch: ResolutionWatch | undefined;
}

/**
 * The resolutions opened in this window: their watches, and, once the run is resumed (from
 * here, the tree, the palette or a terminal), closing their editors and the Git extension's
 * repository of the worktree that resume removed.
 */
export class Resolutions implements vscode.Disposable {
    private readonly open = new Map<string, OpenResolution>();
    private readonly subscription: vscode.Disposable;

    constructor(private readonly ctx: CommandContext) {
        this.subscription = ctx.runs.onDidChange(() => this.sweep());
    }

    /** Records (or replaces) the resolution of `result`, watching `watchFiles` when given. */
    add(result: ResolveResult, watch: ResolutionWatch | undefined): void {
        const key = `${result.run}/${result.task ?? ''}`;
        this.open.get(key)?.watch?.dispose();
        this.open.set(key, { run: result.run, folder: result.path, watch });
    }

    private sweep(): void {
        for (const [key, r] of [...this.open]) {
            const state = this.ctx.runs.store.get(r.run)?.state;
            if (state === 'running' || state === 'succeeded') {
                this.open.delete(key);
                r.watch?.dispose();
                void this.cleanUp(r.folder);
            }
        }
    }

    private async cleanUp(folder: string): Promise<void> {
        try {
            await closeEditorsUnder(folder);
            await closeRepository(folder);
        } catch (e) {
            logWarn(`Could not close the editors of ${folder}: ${describeError(e)}`);
        }
    }

    dispose(): void {
        this.subscription.dispose();
        for (const r of this.open.values()) {
            r.watch?.dispose();
        }
        this.open.clear();
    }
}

export async function resolveConflicts(ctx: CommandContext, resolutions: Resolutions, node: unknown): Promise<void> {
    const run = await runFromNodeOrPick(ctx, node, {
        title: 'Treelane: Resolve Conflicts',
        placeHolder: 'Pick a run that failed on a conflict',
        filter: hasConflicts,
        emptyMessage: 'no run failed on a conflict (nothing to resolve).',
    });
    if (run === undefined) {
        return;
    }
    const task = await targetTask(run, node);
    if (task === null) {
        return;
    }
    const name = `${runLabel(run)} ${run.run}`;
    // A run without a conflict: the server says why (a warning, as for any refused request).
    const result = await withProgress(`checking out the conflicts of ${name}…`, () => ctx.server.api.resolve(run.run, task));
    await openResolution(resolutions, run, result);
}

/** The task to resolve (undefined: the final merge), or null when the user cancelled. */
async function targetTask(run: RunRecord, node: unknown): Promise<string | undefined | null> {
    if (isTaskNode(node) && node.run === run.run) {
        return node.task;
    }
    const target = resolveTarget(run);
    if (target?.certain === true || node !== undefined) {
        return target?.task;
    }
    const failed = run.tasks.filter((t) => t.state === 'failed');
    const choice = await pickRunOrTask(run, failed, {
        title: `Treelane: Resolve Conflicts of ${runLabel(run)} ${run.run}`,
        wholeRunLabel: 'The final tasks (the run\u2019s result)',
    });
    return choice === undefined ? null : choice.task;
}

async function openResolution(resolutions: Resolutions, run: RunRecord, result: ResolveResult): Promise<void> {
    const name = `${runLabel(run)} ${run.run}`;
    const what = `${describeTarget(result.task)} of ${name}`;
    const marked = await filesWithMarkers(result.path, result.files);
    const offerResume = (message: string): void => {
        void info(message, RESUME).then(async (choice) => {
            if (choice === RESUME) {
                const runNode: RunNode = { kind: 'run', run: run.run };
                await vscode.commands.executeCommand(UiCommand.resume, runNode);
            }
        });
    };
    if (await isResolved(result.path, result.files)) {
        resolutions.add(result, undefined);
        offerResume(`${listFiles(result.files)} in ${result.path} are resolved already: resume ${name} to use the resolution.`);
        return;
    }
    const repositoryOpen = await openRepository(result.path).catch((e: unknown) => {
        logWarn(`The Git extension did not open ${result.path}: ${describeError(e)}`);
        return false;
    });
    const asText: string[] = [];
    for (const file of result.files) {
        const uri = fileIn(result.path, file);
        if (!marked.includes(file)) {
            // modify/delete and the like: no markers to merge; show what is there.
            if (existsSync(uri.fsPath)) {
                await vscode.window.showTextDocument(uri, { preview: false });
            }
            continue;
        }
        if ((await openConflictedFile(uri, repositoryOpen)) === 'text') {
            asText.push(file);
        }
    }
    const watch = new ResolutionWatch(result.path, result.files, () => {
        offerResume(`the conflicts of ${what} are resolved (${listFiles(result.files)}: no markers left, marked resolved).`);
    });
    resolutions.add(result, watch);
    const conflicts = result.conflicts.map((c) => `${c.path} (${c.kind}${c.tasks.length > 0 ? `: ${c.tasks.join(' and ')}` : ''})`);
    const where = conflicts.length > 0 ? conflicts.join(', ') : listFiles(result.files);
    if (asText.length === 0) {
        void info(
            `resolve ${what} in the merge editor: ${where}. Complete Merge in each file (or git add there); ` +
                'Resume Run is offered once all are resolved.',
        );
    } else {
        const why = repositoryOpen
            ? 'the merge editor did not open'
            : `the Git extension is disabled or did not open ${result.path}`;
        void warn(
            `${why}: ${listFiles(asText)} opened with git's conflict markers (${what}). ` +
                'Edit out the markers, save and git add them there; Resume Run is offered once all are resolved.',
        );
    }
    watch.check();
}

function listFiles(files: readonly string[], max = 5): string {
    const shown = files.slice(0, max);
    const more = files.length - shown.length;
    return files.length === 0 ? 'no files' : shown.join(', ') + (more > 0 ? ` and ${plural(more, 'more file')}` : '');
}
