/**
 * One output channel per run, "Treelane: <workflow> <run>", fed by
 * `treelane/output` (plus a line for each task state change).
 */
import * as vscode from 'vscode';
import { formatOutputLines, formatRunFinishedLine, formatTaskStateLine, runChannelName } from '../core/output';
import type { RunsController } from './runsController';

/** How long to wait for a run's workflow name before naming its channel without it. */
const NAME_WAIT_MS = 2000;

export class RunOutputChannels implements vscode.Disposable {
    private readonly channels = new Map<string, vscode.OutputChannel>();
    /** Lines held back while the run's workflow (part of the channel name) is not known. */
    private readonly pending = new Map<string, string[]>();
    private readonly subscriptions: vscode.Disposable[] = [];

    constructor(private readonly runs: RunsController) {
        this.subscriptions.push(
            runs.onDidReceiveOutput((p) => this.write(p.run, formatOutputLines(p))),
            runs.onDidChangeTaskState((p) => {
                const line = formatTaskStateLine(p);
                if (line !== undefined) {
                    this.write(p.run, [line]);
                }
            }),
            runs.onDidFinishRun((p) => this.write(p.run, [formatRunFinishedLine(p)])),
            runs.onDidChange(() => this.flushKnown()),
        );
    }

    /** Shows a run's channel (creating it if no output came yet). */
    show(run: string): void {
        this.channel(run, this.runs.store.get(run)?.workflow ?? '').show(true);
    }

    has(run: string): boolean {
        return this.channels.has(run);
    }

    dispose(): void {
        for (const s of this.subscriptions) {
            s.dispose();
        }
        for (const c of this.channels.values()) {
            c.dispose();
        }
        this.channels.clear();
        this.pending.clear();
    }

    private write(run: string, lines: string[]): void {
        if (lines.length === 0) {
            return;
        }
        const existing = this.channels.get(run);
        if (existing !== undefined) {
            existing.append(lines.join('\n') + '\n');
            return;
        }
        const workflow = this.runs.store.get(run)?.workflow ?? '';
        if (workflow) {
            this.channel(run, workflow).append(lines.join('\n') + '\n');
            return;
        }
        // The run's status is being fetched: hold the lines until the name is known.
        const held = this.pending.get(run);
        if (held !== undefined) {
            held.push(...lines);
            return;
        }
        this.pending.set(run, [...lines]);
        setTimeout(() => this.flush(run), NAME_WAIT_MS);
    }

    private flushKnown(): void {
        for (const run of [...this.pending.keys()]) {
            if (this.runs.store.get(run)?.workflow) {
                this.flush(run);
            }
        }
    }

    private flush(run: string): void {
        const held = this.pending.get(run);
        if (held === undefined) {
            return;
        }
        this.pending.delete(run);
        this.channel(run, this.runs.store.get(run)?.workflow ?? '').append(held.join('\n') + '\n');
    }

    private channel(run: string, workflow: string): vscode.OutputChannel {
        let channel = this.channels.get(run);
        if (channel === undefined) {
            channel = vscode.window.createOutputChannel(runChannelName(workflow, run));
            this.channels.set(run, channel);
            const held = this.pending.get(run);
            if (held !== undefined) {
                this.pending.delete(run);
                channel.append(held.join('\n') + '\n');
            }
        }
        return channel;
    }
}
