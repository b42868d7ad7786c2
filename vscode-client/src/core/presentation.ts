/**
 * How runs and tasks look in the "Runs" tree: icon ids, colours, labels,
 * descriptions, tooltips and context values. The tree provider only turns
 * these into vscode objects.
 *
 * Pure module: must not import `vscode`.
 */
import { formatDuration, plural, shortSha } from './format';
import type { RunRecord, TaskRecord } from './runStore';
import { isActiveTaskState, KNOWN_RUN_STATES, type RunState, type TaskState } from './protocol';
import { hasConflicts } from './conflicts';

const KNOWN_RUN_STATES_SET: ReadonlySet<string> = new Set(KNOWN_RUN_STATES);

/** A codicon id and an optional theme colour id. */
export interface IconSpec {
    id: string;
    color?: string;
}

export function taskIcon(state: TaskState): IconSpec {
    switch (state) {
        case 'queued':
            return { id: 'clock', color: 'testing.iconQueued' };
        case 'running':
            return { id: 'sync~spin', color: 'charts.blue' };
        case 'succeeded':
            return { id: 'pass', color: 'testing.iconPassed' };
        case 'failed':
            return { id: 'error', color: 'testing.iconFailed' };
        case 'cached':
            return { id: 'check-all', color: 'testing.iconPassed' };
        case 'skipped':
            return { id: 'debug-step-over', color: 'testing.iconSkipped' };
        case 'cancelled':
            return { id: 'circle-slash', color: 'testing.iconSkipped' };
        case 'interrupted':
            return { id: 'debug-disconnect', color: 'charts.yellow' };
        default:
            return { id: 'question' };
    }
}

/** Run states are task-state words and look the same (`running`, `failed`, ...). */
export function runIcon(state: RunState): IconSpec {
    return KNOWN_RUN_STATES_SET.has(state) ? taskIcon(state) : { id: 'question' };
}

export function runLabel(run: RunRecord): string {
    return run.workflow || run.run;
}

/** e.g. "r-12 · succeeded · 12.3 s · 4/4". */
export function runDescription(run: RunRecord): string {
    const parts: string[] = [];
    if (run.workflow) {
        parts.push(run.run);
    }
    parts.push(run.state);
    if (run.durationMs !== null) {
        parts.push(formatDuration(run.durationMs));
    }
    if (run.tasks.length > 0) {
        const done = run.tasks.filter((t) => !isActiveTaskState(t.state)).length;
        parts.push(`${done}/${run.tasks.length}`);
    }
    return parts.join(' · ');
}

export function runTooltip(run: RunRecord): string {
    const lines = [`${runLabel(run)} — run ${run.run}`, `State: ${run.state}`];
    if (run.started) {
        lines.push(`Started: ${run.started}`);
    }
    if (run.finished) {
        lines.push(`Finished: ${run.finished}`);
    }
    if (run.durationMs !== null) {
        lines.push(`Duration: ${formatDuration(run.durationMs)}`);
    }
    lines.push(plural(run.tasks.length, 'task'));
    if (run.reason) {
        lines.push(`Reason: ${run.reason}`);
    }
    return lines.join('\n');
}

/** e.g. "1.2 s · attempt 2 · exit 1". */
export function taskDescription(task: TaskRecord): string {
    const parts: string[] = [];
    if (task.state === 'queued' || task.state === 'running' || task.state === 'cancelled') {
        parts.push(task.state);
    }
    if (task.durationMs !== null) {
        parts.push(formatDuration(task.durationMs));
    }
    if (task.attempt > 1) {
        parts.push(`attempt ${task.attempt}`);
    }
    if (task.score !== undefined) {
        parts.push(`score ${formatScore(task.score)}`);
    }
    // A cancelled task was stopped by a signal: its exit code (-15) says nothing more.
    if (task.exitCode !== null && task.exitCode !== 0 && task.state !== 'cancelled') {
        parts.push(`exit ${task.exitCode}`);
    }
    if (task.worktree) {
        parts.push(task.worktree);
    }
    if (task.result) {
        parts.push(shortSha(task.result));
    }
    return parts.join(' · ');
}

export function taskTooltip(run: RunRecord, task: TaskRecord): string {
    const lines = [`${task.name} (${runLabel(run)} ${run.run})`, `State: ${task.state}`, `Attempt: ${task.attempt}`];
    if (task.durationMs !== null) {
        lines.push(`Duration: ${formatDuration(task.durationMs)}`);
    }
    if (task.exitCode !== null && task.state !== 'cancelled') {
        lines.push(`Exit code: ${task.exitCode}`);
    }
    if (task.worktree) {
        lines.push(`Worktree: ${task.worktree}`);
    }
    if (task.result) {
        lines.push(`Result commit: ${task.result}`);
    }
    if (task.score !== undefined) {
        lines.push(`Score: ${formatScore(task.score)}`);
    }
    if (task.picked) {
        lines.push(`Picked: ${task.picked}`);
    }
    if (task.group !== undefined) {
        lines.push(`${task.kind === 'pick' ? 'Picks among' : 'Expands'}: ${task.group}`);
    }
    if (task.parent !== undefined) {
        lines.push(`Added by: ${task.parent}`);
    }
    if (task.error) {
        lines.push(`Error: ${task.error}`);
    }
    return lines.join('\n');
}

/** A candidate's score: "2", "0.75". */
export function formatScore(score: number): string {
    return Number.isInteger(score) ? String(score) : String(Math.round(score * 1000) / 1000);
}

/**
 * Context values for `view/item/context` menus:
 * "run.active" | "run.done" | "run.done.conflicts" (failed on a conflict: Resolve Conflicts),
 * "task.<state>.wt" | "task.<state>.nowt" (+ ".conflicts": its inputs conflict), and
 * "group.<state>" for a matrix task made from its expansions.
 */
export function runContextValue(run: RunRecord): string {
    if (run.state === 'running') {
        return 'run.active';
    }
    return hasConflicts(run) ? 'run.done.conflicts' : 'run.done';
}

export function taskContextValue(task: TaskRecord, conflicts = false): string {
    return `task.${stateWord(task.state)}.${task.worktree ? 'wt' : 'nowt'}${conflicts ? '.conflicts' : ''}`;
}

export function groupContextValue(state: TaskState): string {
    return `group.${stateWord(state)}`;
}

function stateWord(state: TaskState): string {
    return /^[a-z]+$/.test(state) ? state : 'unknown';
}
