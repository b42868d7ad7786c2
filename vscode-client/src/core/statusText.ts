/**
 * The status-bar item's text and tooltip, from the last `treelane/resources`
 * notification and the server's state.
 *
 * Pure module: must not import `vscode`.
 */
import { formatMegabytes, formatPercent } from './format';
import type { ResourcesParams } from './protocol';

export type ServerState = 'starting' | 'running' | 'stopped';

export interface StatusBarInput {
    server: ServerState;
    /** The last resources notification, if any. */
    resources: ResourcesParams | undefined;
    /** Runs the run model knows to be running. */
    activeRuns: number;
}

export interface StatusBarView {
    text: string;
    /** Markdown. */
    tooltip: string;
    busy: boolean;
}

/** Escapes text for a Markdown table cell or paragraph. */
export function escapeMarkdown(text: string): string {
    return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

export function statusBarView(input: StatusBarInput): StatusBarView {
    if (input.server === 'starting') {
        return { text: '$(loading~spin) Treelane', tooltip: 'Treelane: starting the server…', busy: false };
    }
    if (input.server === 'stopped') {
        return {
            text: '$(circle-slash) Treelane',
            tooltip: 'Treelane: the server is not running. Click to restart.',
            busy: false,
        };
    }
    const r = input.resources;
    // The run model decides whether anything runs: the last resources
    // notification may be stale once the last run has finished.
    if (input.activeRuns === 0) {
        return { text: '$(check) Treelane idle', tooltip: idleTooltip(r, 0), busy: false };
    }
    if (r === undefined || r.concurrency.running === 0) {
        const text = `$(sync~spin) Treelane · ${input.activeRuns} ${input.activeRuns === 1 ? 'run' : 'runs'}`;
        return { text, tooltip: idleTooltip(r, input.activeRuns), busy: true };
    }
    const limit = r.concurrency.limit > 0 ? `/${r.concurrency.limit}` : '';
    const text =
        `$(sync~spin) ${r.concurrency.running}${limit}` +
        ` · CPU ${formatPercent(r.system.cpuPercent)}` +
        ` · ${formatMegabytes(r.system.memoryAvailableMb)}`;
    return { text, tooltip: busyTooltip(r), busy: true };
}

function systemLine(r: ResourcesParams): string {
    return (
        `System: CPU ${formatPercent(r.system.cpuPercent)} · ` +
        `memory ${formatPercent(r.system.memoryPercent)} used, ` +
        `${formatMegabytes(r.system.memoryAvailableMb)} available`
    );
}

function idleTooltip(r: ResourcesParams | undefined, activeRuns: number): string {
    const lines = [
        activeRuns > 0 ? `**Treelane** — ${activeRuns} active, no task running yet` : '**Treelane** — no task is running',
    ];
    if (r !== undefined) {
        lines.push('', systemLine(r));
    }
    lines.push('', 'Click to show the status of all runs.');
    return lines.join('\n');
}

function busyTooltip(r: ResourcesParams): string {
    const limit = r.concurrency.limit > 0 ? ` of ${r.concurrency.limit}` : '';
    const lines = [`**Treelane** — ${r.concurrency.running}${limit} task slots busy`, '', systemLine(r)];
    if (r.tasks.length > 0) {
        lines.push('', '| Run | Task | PID | CPU | Memory | Processes |', '|---|---|---:|---:|---:|---:|');
        for (const t of r.tasks) {
            lines.push(
                `| ${escapeMarkdown(t.run)} | ${escapeMarkdown(t.task)} | ${t.pid ?? ''} | ` +
                    `${formatPercent(t.cpuPercent)} | ${formatMegabytes(t.rssMb)} | ${t.processes} |`,
            );
        }
    }
    return lines.join('\n');
}
