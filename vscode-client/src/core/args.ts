/**
 * Builders for the single JSON-object argument of every server command.
 * They validate ids and leave out optional keys that are not set, so the
 * server only ever sees well-formed arguments.
 *
 * Pure module: must not import `vscode`.
 */
import type {
    CancelArgs,
    CheckpointArgs,
    CleanupArgs,
    JsonObject,
    MergeArgs,
    ResolveArgs,
    ResumeArgs,
    StartArgs,
    StatusArgs,
    TraceArgs,
    WorktreeArgs,
    WorktreesArgs,
} from './protocol';

/** Raised when an argument cannot be built from what the user gave. */
export class ArgumentError extends Error {
    constructor(message: string) {
        super(message);
        this.name = 'ArgumentError';
    }
}

function required(value: string, what: string): string {
    const trimmed = value.trim();
    if (trimmed.length === 0) {
        throw new ArgumentError(`${what} must not be empty`);
    }
    return trimmed;
}

function optional(value: string | undefined): string | undefined {
    const trimmed = value?.trim();
    return trimmed === undefined || trimmed.length === 0 ? undefined : trimmed;
}

/** `treelane.start`: a workflow name from treelane.toml or an inline definition. */
export function startArgs(workflow: string | JsonObject, base?: string): StartArgs {
    const args: StartArgs = {
        workflow: typeof workflow === 'string' ? required(workflow, 'workflow') : workflow,
    };
    const b = optional(base);
    if (b !== undefined) {
        args.base = b;
    }
    return args;
}

/** `treelane.status`: all runs, or one. */
export function statusArgs(run?: string): StatusArgs {
    const r = optional(run);
    return r === undefined ? {} : { run: r };
}

/** `treelane.cancel`: a whole run, or one task of it. */
export function cancelArgs(run: string, task?: string): CancelArgs {
    const args: CancelArgs = { run: required(run, 'run') };
    const t = optional(task);
    if (t !== undefined) {
        args.task = t;
    }
    return args;
}

/** `treelane.resolve`: the final merge of a run, or the inputs of one task. */
export function resolveArgs(run: string, task?: string): ResolveArgs {
    const args: ResolveArgs = { run: required(run, 'run') };
    const t = optional(task);
    if (t !== undefined) {
        args.task = t;
    }
    return args;
}

export function resumeArgs(run: string): ResumeArgs {
    return { run: required(run, 'run') };
}

export function checkpointArgs(worktree: string, message?: string): CheckpointArgs {
    const args: CheckpointArgs = { worktree: required(worktree, 'worktree') };
    const m = optional(message);
    if (m !== undefined) {
        args.message = m;
    }
    return args;
}

/** `treelane.undo` and `treelane.redo`. */
export function worktreeArgs(worktree: string): WorktreeArgs {
    return { worktree: required(worktree, 'worktree') };
}

export function mergeArgs(run: string, options: { preview: boolean; into?: string }): MergeArgs {
    const args: MergeArgs = { run: required(run, 'run'), preview: options.preview };
    const into = optional(options.into);
    if (into !== undefined) {
        args.into = into;
    }
    return args;
}

export function worktreesArgs(): WorktreesArgs {
    return {};
}

export function cleanupArgs(force: boolean): CleanupArgs {
    return force ? { force: true } : {};
}

export function traceArgs(run: string): TraceArgs {
    return { run: required(run, 'run') };
}
