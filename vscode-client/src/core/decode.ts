/**
 * Decoders that turn untyped JSON from the server into the typed shapes of
 * `protocol.ts`. They are strict about what the contract requires (ids, names,
 * states) and tolerant about what is optional or may be added later: unknown
 * fields are ignored, missing optional fields get neutral defaults.
 *
 * Pure module: must not import `vscode`.
 */
import type {
    CancelResult,
    CheckpointResult,
    CleanupResult,
    JsonValue,
    MergeConflict,
    MergeResult,
    OutputParams,
    ResourcesParams,
    ResolveResult,
    ResumeResult,
    RunConflict,
    RunFinishedParams,
    RunStatus,
    StartResult,
    StatusResult,
    TaskResources,
    TaskStateParams,
    TaskStatus,
    TaskTags,
    TraceResult,
    Worktree,
    DiffFile,
    DiffResult,
    WorkflowProblem,
    WorkflowsResult,
    WorktreesResult,
} from './protocol';

/** Raised when a server message does not match the protocol. */
export class ProtocolError extends Error {
    constructor(message: string) {
        super(message);
        this.name = 'ProtocolError';
    }
}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function object(value: unknown, where: string): Obj {
    if (!isObject(value)) {
        throw new ProtocolError(`${where}: expected an object, got ${describe(value)}`);
    }
    return value;
}

function describe(value: unknown): string {
    if (value === null) {
        return 'null';
    }
    if (Array.isArray(value)) {
        return 'an array';
    }
    return typeof value;
}

/** A required id or name; numbers are accepted and turned into strings. */
function id(o: Obj, key: string, where: string): string {
    const value = o[key];
    if (typeof value === 'string' && value.length > 0) {
        return value;
    }
    if (typeof value === 'number' && Number.isFinite(value)) {
        return String(value);
    }
    throw new ProtocolError(`${where}.${key}: expected a non-empty string, got ${describe(value)}`);
}

function optionalId(o: Obj, key: string): string | null {
    const value = o[key];
    if (typeof value === 'string' && value.length > 0) {
        return value;
    }
    if (typeof value === 'number' && Number.isFinite(value)) {
        return String(value);
    }
    return null;
}

function text(o: Obj, key: string, fallback = ''): string {
    const value = o[key];
    return typeof value === 'string' ? value : fallback;
}

/** An optional non-empty string member, as a spreadable partial. */
function optionalError(o: Obj): { error?: string } {
    const value = o.error;
    return typeof value === 'string' && value.length > 0 ? { error: value } : {};
}

function optionalNumber(o: Obj, key: string): number | null {
    const value = o[key];
    return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function number(o: Obj, key: string, fallback = 0): number {
    return optionalNumber(o, key) ?? fallback;
}

function bool(o: Obj, key: string, where: string): boolean {
    const value = o[key];
    if (typeof value !== 'boolean') {
        throw new ProtocolError(`${where}.${key}: expected a boolean, got ${describe(value)}`);
    }
    return value;
}

function list<T>(o: Obj, key: string, where: string, item: (value: unknown, where: string) => T): T[] {
    const value = o[key];
    if (value === undefined || value === null) {
        return [];
    }
    if (!Array.isArray(value)) {
        throw new ProtocolError(`${where}.${key}: expected an array, got ${describe(value)}`);
    }
    return value.map((entry, index) => item(entry, `${where}.${key}[${index}]`));
}

function stringItem(value: unknown, where: string): string {
    if (typeof value === 'string') {
        return value;
    }
    if (typeof value === 'number') {
        return String(value);
    }
    throw new ProtocolError(`${where}: expected a string, got ${describe(value)}`);
}

function isJsonValue(value: unknown, depth = 0): value is JsonValue {
    if (depth > 64) {
        return false;
    }
    if (value === null || typeof value === 'string' || typeof value === 'boolean') {
        return true;
    }
    if (typeof value === 'number') {
        return Number.isFinite(value);
    }
    if (Array.isArray(value)) {
        return value.every((entry) => isJsonValue(entry, depth + 1));
    }
    if (isObject(value)) {
        return Object.values(value).every((entry) => isJsonValue(entry, depth + 1));
    }
    return false;
}

// ------------------------------------------------------------------ results

export function decodeStartResult(value: unknown): StartResult {
    const o = object(value, 'start');
    return {
        run: id(o, 'run', 'start'),
        workflow: text(o, 'workflow'),
        tasks: list(o, 'tasks', 'start', stringItem),
    };
}

/** The agent-workflow fields of a task entry, only those present. */
function tags(o: Obj): TaskTags {
    const out: TaskTags = {};
    const group = optionalId(o, 'group');
    if (group !== null) {
        out.group = group;
    }
    const parent = optionalId(o, 'parent');
    if (parent !== null) {
        out.parent = parent;
    }
    const kind = optionalId(o, 'kind');
    if (kind !== null) {
        out.kind = kind;
    }
    const score = optionalNumber(o, 'score');
    if (score !== null) {
        out.score = score;
    }
    if ('picked' in o) {
        out.picked = optionalId(o, 'picked');
    }
    return out;
}

function decodeTaskStatus(value: unknown, where: string): TaskStatus {
    const o = object(value, where);
    return {
        name: id(o, 'name', where),
        state: id(o, 'state', where),
        attempt: number(o, 'attempt', 1),
        worktree: optionalId(o, 'worktree'),
        exitCode: optionalNumber(o, 'exit_code'),
        durationMs: optionalNumber(o, 'duration_ms'),
        result: optionalId(o, 'result'),
        ...optionalError(o),
        ...tags(o),
    };
}

function decodeRunConflict(value: unknown, where: string): RunConflict {
    if (typeof value === 'string') {
        return { path: value, kind: 'conflict', tasks: [] };
    }
    const o = object(value, where);
    return { path: id(o, 'path', where), kind: text(o, 'kind', 'conflict'), tasks: list(o, 'tasks', where, stringItem) };
}

function reason(o: Obj): string | null {
    const value = o.reason;
    return typeof value === 'string' && value.length > 0 ? value : null;
}

function decodeRunStatus(value: unknown, where: string): RunStatus {
    const o = object(value, where);
    return {
        run: id(o, 'run', where),
        workflow: text(o, 'workflow'),
        state: id(o, 'state', where),
        started: optionalId(o, 'started'),
        finished: optionalId(o, 'finished'),
        tasks: list(o, 'tasks', where, decodeTaskStatus),
        reason: reason(o),
        conflicts: list(o, 'conflicts', where, decodeRunConflict),
    };
}

export function decodeStatusResult(value: unknown): StatusResult {
    const o = object(value, 'status');
    const pool = isObject(o.pool)
        ? { size: number(o.pool, 'size'), idle: number(o.pool, 'idle'), busy: number(o.pool, 'busy') }
        : null;
    const concurrency = isObject(o.concurrency)
        ? { limit: number(o.concurrency, 'limit'), running: number(o.concurrency, 'running') }
        : null;
    return { runs: list(o, 'runs', 'status', decodeRunStatus), pool, concurrency };
}

export function decodeCancelResult(value: unknown): CancelResult {
    const o = object(value, 'cancel');
    return { cancelled: list(o, 'cancelled', 'cancel', stringItem) };
}

export function decodeResumeResult(value: unknown): ResumeResult {
    const o = object(value, 'resume');
    return { run: id(o, 'run', 'resume'), requeued: list(o, 'requeued', 'resume', stringItem) };
}

export function decodeCheckpointResult(value: unknown): CheckpointResult {
    const o = object(value, 'checkpoint');
    return {
        checkpoint: id(o, 'checkpoint', 'checkpoint'),
        commit: text(o, 'commit'),
        worktree: id(o, 'worktree', 'checkpoint'),
    };
}

function decodeConflict(value: unknown, where: string): MergeConflict {
    if (typeof value === 'string') {
        return { path: value, kind: 'conflict' };
    }
    const o = object(value, where);
    return { path: id(o, 'path', where), kind: text(o, 'kind', 'conflict') };
}

export function decodeMergeResult(value: unknown): MergeResult {
    const o = object(value, 'merge');
    return {
        clean: bool(o, 'clean', 'merge'),
        conflicts: list(o, 'conflicts', 'merge', decodeConflict),
        merged: o.merged === true,
        commit: optionalId(o, 'commit'),
    };
}

function decodeWorktree(value: unknown, where: string): Worktree {
    const o = object(value, where);
    return {
        id: id(o, 'id', where),
        path: id(o, 'path', where),
        commit: optionalId(o, 'commit'),
        state: text(o, 'state'),
        dirty: o.dirty === true,
        run: optionalId(o, 'run'),
        task: optionalId(o, 'task'),
    };
}

export function decodeWorktreesResult(value: unknown): WorktreesResult {
    const o = object(value, 'worktrees');
    return { worktrees: list(o, 'worktrees', 'worktrees', decodeWorktree) };
}

export function decodeCleanupResult(value: unknown): CleanupResult {
    const o = object(value, 'cleanup');
    return {
        removed: list(o, 'removed', 'cleanup', stringItem),
        kept: list(o, 'kept', 'cleanup', (entry, where) => {
            if (typeof entry === 'string') {
                return { id: entry, reason: '' };
            }
            const k = object(entry, where);
            return { id: id(k, 'id', where), reason: text(k, 'reason') };
        }),
    };
}

export function decodeTraceResult(value: unknown): TraceResult {
    if (Array.isArray(value) && isJsonValue(value)) {
        return value;
    }
    if (isObject(value) && isJsonValue(value)) {
        return value;
    }
    throw new ProtocolError(`trace: expected a JSON object, got ${describe(value)}`);
}

// ------------------------------------------------------------ notifications

export function decodeTaskStateParams(value: unknown): TaskStateParams {
    return decodeTaskStateAt(value, 'taskState');
}

function decodeTaskStateAt(value: unknown, where: string): TaskStateParams {
    const o = object(value, where);
    const params: TaskStateParams = {
        run: id(o, 'run', where),
        task: id(o, 'task', where),
        state: id(o, 'state', where),
        attempt: number(o, 'attempt', 1),
        worktree: optionalId(o, 'worktree'),
        exitCode: optionalNumber(o, 'exit_code'),
        durationMs: optionalNumber(o, 'duration_ms'),
        ...optionalError(o),
    };
    const group = optionalId(o, 'group');
    if (group !== null) {
        params.group = group;
    }
    const parent = optionalId(o, 'parent');
    if (parent !== null) {
        params.parent = parent;
    }
    return params;
}

/**
 * A `treelane/taskState` message: one change, or (with `batchTaskState`) `{"changes": [...]}`,
 * the changes in order.
 */
export function decodeTaskStateMessage(value: unknown): TaskStateParams[] {
    const o = object(value, 'taskState');
    if ('changes' in o && !('task' in o)) {
        return list(o, 'changes', 'taskState', decodeTaskStateAt);
    }
    return [decodeTaskStateParams(o)];
}

export function decodeOutputParams(value: unknown): OutputParams {
    const o = object(value, 'output');
    return {
        run: id(o, 'run', 'output'),
        task: id(o, 'task', 'output'),
        lines: list(o, 'lines', 'output', stringItem),
    };
}

function decodeTaskResources(value: unknown, where: string): TaskResources {
    const o = object(value, where);
    return {
        run: id(o, 'run', where),
        task: id(o, 'task', where),
        pid: optionalNumber(o, 'pid'),
        cpuPercent: number(o, 'cpu_percent'),
        rssMb: number(o, 'rss_mb'),
        processes: number(o, 'processes', 1),
    };
}

export function decodeResourcesParams(value: unknown): ResourcesParams {
    const o = object(value, 'resources');
    const system = isObject(o.system) ? o.system : {};
    const concurrency = isObject(o.concurrency) ? o.concurrency : {};
    return {
        time: optionalId(o, 'time'),
        system: {
            cpuPercent: number(system, 'cpu_percent'),
            memoryPercent: number(system, 'memory_percent'),
            memoryAvailableMb: number(system, 'memory_available_mb'),
        },
        tasks: list(o, 'tasks', 'resources', decodeTaskResources),
        concurrency: { limit: number(concurrency, 'limit'), running: number(concurrency, 'running') },
    };
}

export function decodeRunFinishedParams(value: unknown): RunFinishedParams {
    const o = object(value, 'runFinished');
    const counts: Record<string, number> = {};
    if (isObject(o.counts)) {
        for (const [state, count] of Object.entries(o.counts)) {
            if (typeof count === 'number' && Number.isFinite(count)) {
                counts[state] = count;
            }
        }
    }
    return {
        run: id(o, 'run', 'runFinished'),
        workflow: text(o, 'workflow'),
        state: id(o, 'state', 'runFinished'),
        durationMs: optionalNumber(o, 'duration_ms'),
        counts,
        reason: reason(o),
        conflicts: list(o, 'conflicts', 'runFinished', decodeRunConflict),
    };
}

function decodeWorkflowProblem(value: unknown, where: string): WorkflowProblem {
    const o = object(value, where);
    return { message: text(o, 'message'), severity: text(o, 'severity', 'error') };
}

export function decodeWorkflowsResult(value: unknown): WorkflowsResult {
    const o = object(value, 'workflows');
    return {
        workflows: list(o, 'workflows', 'workflows', (entry, where) => {
            const w = object(entry, where);
            return {
                name: id(w, 'name', where),
                description: text(w, 'description'),
                tasks: list(w, 'tasks', where, stringItem),
                problems: o.problems === undefined && w.problems === undefined ? [] : list(w, 'problems', where, decodeWorkflowProblem),
            };
        }),
        problems: o.problems === undefined ? [] : list(o, 'problems', 'workflows', decodeWorkflowProblem),
    };
}

function decodeDiffFile(value: unknown, where: string): DiffFile {
    const o = object(value, where);
    return {
        path: id(o, 'path', where),
        oldPath: optionalId(o, 'old_path'),
        status: text(o, 'status', 'M'),
        additions: number(o, 'additions'),
        deletions: number(o, 'deletions'),
        binary: o.binary === true,
        oldBlob: optionalId(o, 'old_blob'),
        newBlob: optionalId(o, 'new_blob'),
    };
}

export function decodeDiffResult(value: unknown): DiffResult {
    const o = object(value, 'diff');
    const files = list(o, 'files', 'diff', decodeDiffFile);
    return {
        base: text(o, 'base'),
        head: text(o, 'head'),
        files,
        additions: typeof o.additions === 'number' ? o.additions : files.reduce((n, f) => n + f.additions, 0),
        deletions: typeof o.deletions === 'number' ? o.deletions : files.reduce((n, f) => n + f.deletions, 0),
    };
}

export function decodeResolveResult(value: unknown): ResolveResult {
    const o = object(value, 'resolve');
    return {
        run: id(o, 'run', 'resolve'),
        task: optionalId(o, 'task'),
        worktree: id(o, 'worktree', 'resolve'),
        path: id(o, 'path', 'resolve'),
        files: list(o, 'files', 'resolve', stringItem),
        conflicts: list(o, 'conflicts', 'resolve', decodeRunConflict),
        ours: list(o, 'ours', 'resolve', stringItem),
        theirs: text(o, 'theirs'),
    };
}
