/**
 * A typed facade over the server's `workspace/executeCommand` commands.
 * The transport is injected, so the same class serves the extension (through
 * vscode-languageclient) and the end-to-end test (through a bare connection).
 *
 * Pure module: must not import `vscode`.
 */
import {
    cancelArgs,
    checkpointArgs,
    cleanupArgs,
    mergeArgs,
    resolveArgs,
    resumeArgs,
    startArgs,
    statusArgs,
    traceArgs,
    worktreeArgs,
    worktreesArgs,
} from './args';
import {
    decodeCancelResult,
    decodeCheckpointResult,
    decodeCleanupResult,
    decodeMergeResult,
    decodeResumeResult,
    decodeStartResult,
    decodeStatusResult,
    decodeTraceResult,
    decodeDiffResult,
    decodeResolveResult,
    decodeWorkflowsResult,
    decodeWorktreesResult,
} from './decode';
import {
    ServerCommand,
    type CancelResult,
    type CheckpointResult,
    type CleanupResult,
    type CommandArgs,
    type JsonObject,
    type MergeResult,
    type ResumeResult,
    type ServerCommandId,
    type StartResult,
    type StatusResult,
    type TraceResult,
    type DiffArgs,
    type DiffResult,
    type ResolveResult,
    type WorkflowsResult,
    type WorktreesResult,
} from './protocol';

/** Sends `workspace/executeCommand` with `arguments: [argument]` and resolves to the raw result. */
export type SendCommand = <C extends ServerCommandId>(command: C, argument: CommandArgs[C]) => Promise<unknown>;

export class TreelaneApi {
    constructor(private readonly send: SendCommand) {}

    async start(workflow: string | JsonObject, base?: string): Promise<StartResult> {
        return decodeStartResult(await this.send(ServerCommand.start, startArgs(workflow, base)));
    }

    async status(run?: string): Promise<StatusResult> {
        return decodeStatusResult(await this.send(ServerCommand.status, statusArgs(run)));
    }

    async cancel(run: string, task?: string): Promise<CancelResult> {
        return decodeCancelResult(await this.send(ServerCommand.cancel, cancelArgs(run, task)));
    }

    async resume(run: string): Promise<ResumeResult> {
        return decodeResumeResult(await this.send(ServerCommand.resume, resumeArgs(run)));
    }

    async checkpoint(worktree: string, message?: string): Promise<CheckpointResult> {
        return decodeCheckpointResult(await this.send(ServerCommand.checkpoint, checkpointArgs(worktree, message)));
    }

    async undo(worktree: string): Promise<CheckpointResult> {
        return decodeCheckpointResult(await this.send(ServerCommand.undo, worktreeArgs(worktree)));
    }

    async redo(worktree: string): Promise<CheckpointResult> {
        return decodeCheckpointResult(await this.send(ServerCommand.redo, worktreeArgs(worktree)));
    }

    async merge(run: string, options: { preview: boolean; into?: string }): Promise<MergeResult> {
        return decodeMergeResult(await this.send(ServerCommand.merge, mergeArgs(run, options)));
    }

    async worktrees(): Promise<WorktreesResult> {
        return decodeWorktreesResult(await this.send(ServerCommand.worktrees, worktreesArgs()));
    }

    async cleanup(force: boolean): Promise<CleanupResult> {
        return decodeCleanupResult(await this.send(ServerCommand.cleanup, cleanupArgs(force)));
    }

    /** What a run, or one of its tasks, changed (against its base by default). */
    async diff(run: string, options: Omit<DiffArgs, 'run'> = {}): Promise<DiffResult> {
        const args: DiffArgs = { run, ...options };
        return decodeDiffResult(await this.send(ServerCommand.diff, args));
    }

    /** The workflows of treelane.toml, as the server parses it. */
    async workflows(): Promise<WorkflowsResult> {
        return decodeWorkflowsResult(await this.send(ServerCommand.workflows, {}));
    }

    /** Checks out the conflicting merge of a failed run (or of one task's inputs) with markers. */
    async resolve(run: string, task?: string): Promise<ResolveResult> {
        return decodeResolveResult(await this.send(ServerCommand.resolve, resolveArgs(run, task)));
    }

    async trace(run: string): Promise<TraceResult> {
        return decodeTraceResult(await this.send(ServerCommand.trace, traceArgs(run)));
    }
}
