/**
 * The client-side model of runs and their tasks. It is fed by `treelane.status`
 * results and kept live by notifications; views read it.
 *
 * Pure module: must not import `vscode`.
 */
import { elapsedMs } from './format';
import {
    isActiveRunState,
    type RunConflict,
    type RunFinishedParams,
    type RunState,
    type RunStatus,
    type StartResult,
    type StatusResult,
    type TaskState,
    type TaskStateParams,
    type TaskTags,
} from './protocol';

export interface TaskRecord extends TaskTags {
    name: string;
    state: TaskState;
    attempt: number;
    worktree: string | null;
    exitCode: number | null;
    durationMs: number | null;
    error?: string;
    /** The result commit, once a status says (task notifications do not carry it). */
    result?: string | null;
}

export interface RunRecord {
    run: string;
    /** Empty until known (a run first seen through a notification). */
    workflow: string;
    state: RunState;
    started: string | null;
    finished: string | null;
    durationMs: number | null;
    tasks: TaskRecord[];
    /** Why the run failed (one line), null or absent when it did not or is not known yet. */
    reason?: string | null;
    /** The inputs that conflict, when it failed on a merge. */
    conflicts?: RunConflict[];
}

export interface TaskStateOutcome {
    /** The run was not known before: the caller should fetch its status. */
    unknownRun: boolean;
}

export class RunStore {
    private readonly runs = new Map<string, RunRecord>();
    /** Insertion counter, to order runs without a start time. */
    private readonly order = new Map<string, number>();
    private counter = 0;

    /** Runs, newest first. */
    list(): RunRecord[] {
        return [...this.runs.values()].sort((a, b) => {
            const ta = a.started ? Date.parse(a.started) : Number.NaN;
            const tb = b.started ? Date.parse(b.started) : Number.NaN;
            if (!Number.isNaN(ta) && !Number.isNaN(tb) && ta !== tb) {
                return tb - ta;
            }
            return (this.order.get(b.run) ?? 0) - (this.order.get(a.run) ?? 0);
        });
    }

    get(run: string): RunRecord | undefined {
        return this.runs.get(run);
    }

    task(run: string, task: string): TaskRecord | undefined {
        return this.runs.get(run)?.tasks.find((t) => t.name === task);
    }

    get size(): number {
        return this.runs.size;
    }

    /** Number of runs still running. */
    activeCount(): number {
        let n = 0;
        for (const r of this.runs.values()) {
            if (isActiveRunState(r.state)) {
                n += 1;
            }
        }
        return n;
    }

    /**
     * Applies a `treelane.status` result. With `complete` (a status of all
     * runs) runs the server no longer reports are dropped.
     */
    applyStatus(result: StatusResult, complete: boolean): void {
        if (complete) {
            const seen = new Set(result.runs.map((r) => r.run));
            for (const run of [...this.runs.keys()]) {
                if (!seen.has(run)) {
                    this.runs.delete(run);
                    this.order.delete(run);
                }
            }
        }
        for (const status of result.runs) {
            this.upsert(fromStatus(status));
        }
    }

    /** Records a run the user just started; its tasks are queued. */
    applyStart(result: StartResult, now: Date): void {
        if (this.runs.has(result.run)) {
            const existing = this.runs.get(result.run);
            if (existing?.workflow === '') {
                existing.workflow = result.workflow;
            }
            return;
        }
        this.upsert({
            run: result.run,
            workflow: result.workflow,
            state: 'running',
            started: now.toISOString(),
            finished: null,
            durationMs: null,
            reason: null,
            conflicts: [],
            tasks: result.tasks.map((name) => ({
                name,
                state: 'queued',
                attempt: 1,
                worktree: null,
                exitCode: null,
                durationMs: null,
            })),
        });
    }

    applyTaskState(params: TaskStateParams, now: Date): TaskStateOutcome {
        let record = this.runs.get(params.run);
        const unknownRun = record === undefined;
        if (record === undefined) {
            record = {
                run: params.run,
                workflow: '',
                state: 'running',
                started: now.toISOString(),
                finished: null,
                durationMs: null,
                tasks: [],
                reason: null,
                conflicts: [],
            };
            this.upsert(record);
        }
        const task: TaskRecord = {
            name: params.task,
            state: params.state,
            attempt: params.attempt,
            worktree: params.worktree,
            exitCode: params.exitCode,
            durationMs: params.durationMs,
        };
        if (params.error !== undefined) {
            task.error = params.error;
        }
        if (params.group !== undefined) {
            task.group = params.group;
        }
        if (params.parent !== undefined) {
            task.parent = params.parent;
        }
        const index = record.tasks.findIndex((t) => t.name === params.task);
        if (index >= 0) {
            const previous = record.tasks[index];
            // Keep what a sparse notification leaves out.
            task.worktree ??= previous?.worktree ?? null;
            if (previous?.result) {
                task.result = previous.result;
            }
            // Only a status carries these (a re-run task loses its old score).
            for (const key of ['group', 'parent', 'kind', 'picked'] as const) {
                if (task[key] === undefined && previous?.[key] !== undefined) {
                    Object.assign(task, { [key]: previous[key] });
                }
            }
            if (previous?.score !== undefined && !isActiveTaskStateName(params.state)) {
                task.score = previous.score;
            }
            record.tasks[index] = task;
        } else {
            record.tasks.push(task);
        }
        if (params.state === 'queued' || params.state === 'running') {
            // A resumed run comes back to life.
            if (!isActiveRunState(record.state)) {
                record.state = 'running';
                record.finished = null;
                record.durationMs = null;
                record.reason = null;
                record.conflicts = [];
            }
        }
        return { unknownRun };
    }

    applyRunFinished(params: RunFinishedParams, now: Date): void {
        const record = this.runs.get(params.run);
        if (record === undefined) {
            this.upsert({
                run: params.run,
                workflow: params.workflow,
                state: params.state,
                started: null,
                finished: now.toISOString(),
                durationMs: params.durationMs,
                tasks: [],
                reason: params.reason ?? null,
                conflicts: params.conflicts ?? [],
            });
            return;
        }
        record.state = params.state;
        record.reason = params.reason ?? null;
        record.conflicts = params.conflicts ?? [];
        record.finished ??= now.toISOString();
        record.durationMs = params.durationMs ?? elapsedMs(record.started, record.finished);
        if (params.workflow) {
            record.workflow = params.workflow;
        }
    }

    private upsert(record: RunRecord): void {
        if (!this.order.has(record.run)) {
            this.counter += 1;
            this.order.set(record.run, this.counter);
        }
        this.runs.set(record.run, record);
    }
}

function fromStatus(status: RunStatus): RunRecord {
    return {
        run: status.run,
        workflow: status.workflow,
        state: status.state,
        started: status.started,
        finished: status.finished,
        durationMs: elapsedMs(status.started, status.finished),
        tasks: status.tasks.map((t) => ({ ...t })),
        reason: status.reason ?? null,
        conflicts: (status.conflicts ?? []).map((c) => ({ ...c, tasks: [...c.tasks] })),
    };
}

function isActiveTaskStateName(state: TaskState): boolean {
    return state === 'queued' || state === 'running';
}

/** Task counts per state, e.g. { succeeded: 3, failed: 1 }. */
export function countTaskStates(tasks: readonly TaskRecord[]): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const t of tasks) {
        counts[t.state] = (counts[t.state] ?? 0) + 1;
    }
    return counts;
}
