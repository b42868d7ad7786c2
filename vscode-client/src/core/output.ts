/**
 * Text written to the per-run output channels.
 *
 * Pure module: must not import `vscode`.
 */
import { formatDuration } from './format';
import type { OutputParams, RunFinishedParams, TaskStateParams } from './protocol';

/** "Treelane: <workflow> <run>". */
export function runChannelName(workflow: string, run: string): string {
    return workflow ? `Treelane: ${workflow} ${run}` : `Treelane: ${run}`;
}

/** Output lines prefixed with their task: "[build] compiling…". */
export function formatOutputLines(params: OutputParams): string[] {
    return params.lines.map((line) => `[${params.task}] ${line.replace(/\r?\n$/, '')}`);
}

/** A marker line for a task's state change, or undefined for states not worth a line. */
export function formatTaskStateLine(params: TaskStateParams): string | undefined {
    switch (params.state) {
        case 'queued':
            return undefined;
        case 'running':
            return params.attempt > 1
                ? `── ${params.task}: running (attempt ${params.attempt})`
                : `── ${params.task}: running`;
        default: {
            const details: string[] = [];
            if (params.durationMs !== null) {
                details.push(formatDuration(params.durationMs));
            }
            if (params.exitCode !== null) {
                details.push(`exit ${params.exitCode}`);
            }
            if (params.error) {
                details.push(params.error);
            }
            const suffix = details.length > 0 ? ` (${details.join(', ')})` : '';
            return `── ${params.task}: ${params.state}${suffix}`;
        }
    }
}

/** "══ run r1 succeeded in 12.3 s: 3 succeeded, 1 cached". */
export function formatRunFinishedLine(params: RunFinishedParams): string {
    const counts = Object.entries(params.counts)
        .filter(([, n]) => n > 0)
        .map(([state, n]) => `${n} ${state}`)
        .join(', ');
    const duration = params.durationMs !== null ? ` in ${formatDuration(params.durationMs)}` : '';
    return `══ run ${params.run} ${params.state}${duration}${counts ? `: ${counts}` : ''}`;
}
