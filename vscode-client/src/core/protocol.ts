/**
 * The treelane server protocol: command ids, notification methods and the
 * shapes of arguments, results and notification payloads.
 *
 * Pure module: must not import `vscode`.
 */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = Record<string, JsonValue>;

/** Commands the server advertises and accepts via `workspace/executeCommand`. */
export const ServerCommand = {
    start: 'treelane.start',
    status: 'treelane.status',
    cancel: 'treelane.cancel',
    resume: 'treelane.resume',
    checkpoint: 'treelane.checkpoint',
    undo: 'treelane.undo',
    redo: 'treelane.redo',
    merge: 'treelane.merge',
    worktrees: 'treelane.worktrees',
    cleanup: 'treelane.cleanup',
    trace: 'treelane.trace',
    workflows: 'treelane.workflows',
    diff: 'treelane.diff',
    resolve: 'treelane.resolve',
} as const;
export type ServerCommandId = (typeof ServerCommand)[keyof typeof ServerCommand];

/** Server commands that change nothing; the only ones allowed in an untrusted workspace. */
const READ_ONLY: ReadonlySet<string> = new Set<string>([
    ServerCommand.status,
    ServerCommand.worktrees,
    ServerCommand.trace,
    ServerCommand.workflows,
]);

export function isReadOnlyCommand(command: string): boolean {
    return READ_ONLY.has(command);
}

/** Notifications sent by the server. */
export const ServerNotification = {
    taskState: 'treelane/taskState',
    output: 'treelane/output',
    resources: 'treelane/resources',
    runFinished: 'treelane/runFinished',
} as const;

/** JSON-RPC error codes the server uses. */
export const ServerErrorCode = {
    invalidParams: -32602,
    requestFailed: -32803,
} as const;

export const KNOWN_TASK_STATES = [
    'queued',
    'running',
    'succeeded',
    'failed',
    'cached',
    'skipped',
    'cancelled',
    'interrupted',
] as const;
export type KnownTaskState = (typeof KNOWN_TASK_STATES)[number];
/** A task state; unknown strings from a newer server are kept as they are. */
export type TaskState = KnownTaskState | (string & Record<never, never>);

export const KNOWN_RUN_STATES = ['running', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export type KnownRunState = (typeof KNOWN_RUN_STATES)[number];
export type RunState = KnownRunState | (string & Record<never, never>);

/** Task states after which a task will not change again (unless resumed). */
const FINAL_TASK_STATES: ReadonlySet<string> = new Set([
    'succeeded',
    'failed',
    'cached',
    'skipped',
    'cancelled',
    'interrupted',
]);

export function isFinalTaskState(state: TaskState): boolean {
    return FINAL_TASK_STATES.has(state);
}

export function isActiveTaskState(state: TaskState): boolean {
    return state === 'queued' || state === 'running';
}

export function isActiveRunState(state: RunState): boolean {
    return state === 'running';
}

// ---------------------------------------------------------------- arguments

export type StartArgs = { workflow: string | JsonObject; base?: string };
export type StatusArgs = { run?: string };
export type CancelArgs = { run: string; task?: string };
export type ResumeArgs = { run: string };
export type CheckpointArgs = { worktree: string; message?: string };
export type WorktreeArgs = { worktree: string };
export type MergeArgs = { run: string; into?: string; preview?: boolean };
export type WorktreesArgs = Record<string, never>;
export type CleanupArgs = { force?: boolean };
export type TraceArgs = { run: string };
export type ResolveArgs = { run: string; task?: string };

/** Maps every server command to the type of its single argument. */
export interface CommandArgs {
    'treelane.start': StartArgs;
    'treelane.status': StatusArgs;
    'treelane.cancel': CancelArgs;
    'treelane.resume': ResumeArgs;
    'treelane.checkpoint': CheckpointArgs;
    'treelane.undo': WorktreeArgs;
    'treelane.redo': WorktreeArgs;
    'treelane.merge': MergeArgs;
    'treelane.worktrees': WorktreesArgs;
    'treelane.cleanup': CleanupArgs;
    'treelane.trace': TraceArgs;
    'treelane.workflows': Record<string, never>;
    'treelane.diff': DiffArgs;
    'treelane.resolve': ResolveArgs;
}

// ------------------------------------------------------------------ results

export interface StartResult {
    run: string;
    workflow: string;
    tasks: string[];
}

export interface TaskStatus {
    name: string;
    state: TaskState;
    attempt: number;
    worktree: string | null;
    exitCode: number | null;
    durationMs: number | null;
    /** Why the task failed or was skipped, when the server says (not in the contract). */
    error?: string;
    /** The task's result commit (null until it succeeded). */
    result?: string | null;
    /** Agent workflows: see `TaskTags`. */
    group?: string;
    parent?: string;
    kind?: string;
    score?: number;
    picked?: string | null;
}

/**
 * Where an agent-workflow task belongs: `group` (a matrix expansion or a candidate: the task
 * it expands), `parent` (a task added at run time: its spawner), `kind` ("pick": the node that
 * picks among candidates), `score` (a scored candidate), `picked` (a pick node's winner).
 */
export type TaskTags = Pick<TaskStatus, 'group' | 'parent' | 'kind' | 'score' | 'picked'>;

/** Two inputs that conflict in a file (a failed run's `conflicts`). */
export interface RunConflict {
    path: string;
    kind: string;
    tasks: string[];
}

export interface RunStatus {
    run: string;
    workflow: string;
    state: RunState;
    started: string | null;
    finished: string | null;
    tasks: TaskStatus[];
    /** Why the run failed (one line), null when it did not. */
    reason?: string | null;
    conflicts?: RunConflict[];
}

export interface StatusResult {
    runs: RunStatus[];
    pool: { size: number; idle: number; busy: number } | null;
    concurrency: { limit: number; running: number } | null;
}

export interface CancelResult {
    cancelled: string[];
}

export interface ResumeResult {
    run: string;
    requeued: string[];
}

export interface CheckpointResult {
    checkpoint: string;
    commit: string;
    worktree: string;
}

export interface MergeConflict {
    path: string;
    kind: string;
}

export interface MergeResult {
    clean: boolean;
    conflicts: MergeConflict[];
    merged: boolean;
    commit: string | null;
}

export interface Worktree {
    id: string;
    path: string;
    commit: string | null;
    state: string;
    dirty: boolean;
    run: string | null;
    task: string | null;
}

export interface WorktreesResult {
    worktrees: Worktree[];
}

export interface DiffArgs {
    run: string;
    task?: string;
    against?: 'base' | 'input' | 'target';
}

export interface DiffFile {
    path: string;
    oldPath: string | null;
    /** A, M, D, R or T. */
    status: string;
    additions: number;
    deletions: number;
    binary: boolean;
    oldBlob: string | null;
    newBlob: string | null;
}

/** `treelane.diff`: what a run (or one task) changed. */
export interface DiffResult {
    base: string;
    head: string;
    files: DiffFile[];
    additions: number;
    deletions: number;
}

/** A problem of treelane.toml as `treelane.workflows` lists it. */
export interface WorkflowProblem {
    message: string;
    severity: string;
}

export interface WorkflowInfo {
    name: string;
    description: string;
    tasks: string[];
    problems: WorkflowProblem[];
}

/** `treelane.workflows`: the server's reading of treelane.toml (the only parser). */
export interface WorkflowsResult {
    workflows: WorkflowInfo[];
    /** Problems outside any workflow (syntax errors, [settings], [limits]). */
    problems: WorkflowProblem[];
}

export interface CleanupResult {
    removed: string[];
    kept: { id: string; reason: string }[];
}

/** `treelane.resolve`: the conflicting merge, checked out with markers and index stages. */
export interface ResolveResult {
    run: string;
    /** The task whose inputs conflict; null for the merge of the run's final tasks. */
    task: string | null;
    /** The worktree's id (`resolve/<run>-<task>`). */
    worktree: string;
    /** Its folder. */
    path: string;
    /** Paths (relative to `path`) with conflicts. */
    files: string[];
    conflicts: RunConflict[];
    ours: string[];
    theirs: string;
}

/** A Chrome Trace Event document (object form, or the bare array form). */
export type TraceResult = JsonObject | JsonValue[];

// ------------------------------------------------------------ notifications

export interface TaskStateParams {
    run: string;
    task: string;
    state: TaskState;
    attempt: number;
    worktree: string | null;
    exitCode: number | null;
    durationMs: number | null;
    /** Why the task failed or was skipped, when the server says (not in the contract). */
    error?: string;
    group?: string;
    parent?: string;
}

export interface OutputParams {
    run: string;
    task: string;
    lines: string[];
}

export interface TaskResources {
    run: string;
    task: string;
    pid: number | null;
    cpuPercent: number;
    rssMb: number;
    processes: number;
}

export interface ResourcesParams {
    time: string | null;
    system: { cpuPercent: number; memoryPercent: number; memoryAvailableMb: number };
    tasks: TaskResources[];
    concurrency: { limit: number; running: number };
}

export interface RunFinishedParams {
    run: string;
    workflow: string;
    state: RunState;
    durationMs: number | null;
    counts: Record<string, number>;
    reason?: string | null;
    conflicts?: RunConflict[];
}
