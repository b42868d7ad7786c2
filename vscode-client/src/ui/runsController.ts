/**
 * Owns the run model: loads it with `treelane.status`, keeps it live from
 * the server's notifications and tells the views when it changed.
 */
import * as vscode from 'vscode';
import type {
    OutputParams,
    ResourcesParams,
    RunFinishedParams,
    StartResult,
    StatusResult,
    TaskStateParams,
} from '../core/protocol';
import { RunStore } from '../core/runStore';
import { isFinalTaskState } from '../core/protocol';
import { describeError } from '../core/errors';
import type { TreelaneServer } from '../common/server';
import { logWarn } from '../common/log';

/** Coalesces bursts of notifications into one view update. */
const CHANGE_DELAY_MS = 50;
/** Waits for more unknown (or re-scored) runs before asking the server about them. */
const REFRESH_DELAY_MS = 200;

export class RunsController implements vscode.Disposable {
    readonly store = new RunStore();
    private lastResources: ResourcesParams | undefined;
    private lastStatus: StatusResult | undefined;
    private changeTimer: NodeJS.Timeout | undefined;
    private refreshTimer: NodeJS.Timeout | undefined;
    private readonly unknownRuns = new Set<string>();

    private readonly changeEmitter = new vscode.EventEmitter<void>();
    private readonly resourcesEmitter = new vscode.EventEmitter<ResourcesParams>();
    private readonly taskStateEmitter = new vscode.EventEmitter<TaskStateParams>();
    private readonly outputEmitter = new vscode.EventEmitter<OutputParams>();
    private readonly runFinishedEmitter = new vscode.EventEmitter<RunFinishedParams>();

    /** The run model changed. */
    readonly onDidChange = this.changeEmitter.event;
    readonly onDidReceiveResources = this.resourcesEmitter.event;
    readonly onDidChangeTaskState = this.taskStateEmitter.event;
    readonly onDidReceiveOutput = this.outputEmitter.event;
    readonly onDidFinishRun = this.runFinishedEmitter.event;

    private readonly subscriptions: vscode.Disposable[];

    constructor(private readonly server: TreelaneServer) {
        this.subscriptions = [
            server.onTaskState((p) => this.receiveTaskState(p)),
            server.onOutput((p) => this.outputEmitter.fire(p)),
            server.onResources((p) => this.receiveResources(p)),
            server.onRunFinished((p) => this.receiveRunFinished(p)),
        ];
    }

    get resources(): ResourcesParams | undefined {
        return this.lastResources;
    }

    get status(): StatusResult | undefined {
        return this.lastStatus;
    }

    /** Reloads all runs (or one) from the server. */
    async refresh(run?: string): Promise<StatusResult> {
        const result = await this.server.api.status(run);
        this.store.applyStatus(result, run === undefined);
        if (run === undefined) {
            this.lastStatus = result;
        }
        this.changed(true);
        return result;
    }

    /** Records a run this client started. */
    started(result: StartResult): void {
        this.store.applyStart(result, new Date());
        this.changed(true);
    }

    /** Forgets what the previous server said (after a restart). */
    reset(): void {
        this.lastResources = undefined;
        this.lastStatus = undefined;
        this.changed(true);
    }

    private receiveTaskState(params: TaskStateParams): void {
        const { unknownRun } = this.store.applyTaskState(params, new Date());
        // A new run; or a candidate or pick node that finished: scores and the pick are only in a status.
        const scored = isFinalTaskState(params.state) && (params.group !== undefined || this.isGroupOwner(params));
        if (unknownRun || scored) {
            this.unknownRuns.add(params.run);
            this.scheduleRefresh();
        }
        this.taskStateEmitter.fire(params);
        this.changed(false);
    }

    private isGroupOwner(params: TaskStateParams): boolean {
        return this.store.get(params.run)?.tasks.some((t) => t.group === params.task) ?? false;
    }

    private receiveResources(params: ResourcesParams): void {
        this.lastResources = params;
        this.resourcesEmitter.fire(params);
    }

    private receiveRunFinished(params: RunFinishedParams): void {
        this.store.applyRunFinished(params, new Date());
        this.changed(true);
        this.runFinishedEmitter.fire(params);
        // The tasks' result commits are only in a status.
        this.refresh(params.run).catch((e: unknown) => {
            logWarn(`Could not load the status of run ${params.run}: ${describeError(e)}`);
        });
    }

    dispose(): void {
        for (const s of this.subscriptions) {
            s.dispose();
        }
        clearTimeout(this.changeTimer);
        clearTimeout(this.refreshTimer);
        this.changeEmitter.dispose();
        this.resourcesEmitter.dispose();
        this.taskStateEmitter.dispose();
        this.outputEmitter.dispose();
        this.runFinishedEmitter.dispose();
    }

    private changed(now: boolean): void {
        if (now) {
            clearTimeout(this.changeTimer);
            this.changeTimer = undefined;
            this.changeEmitter.fire();
            return;
        }
        this.changeTimer ??= setTimeout(() => {
            this.changeTimer = undefined;
            this.changeEmitter.fire();
        }, CHANGE_DELAY_MS);
    }

    private scheduleRefresh(): void {
        this.refreshTimer ??= setTimeout(() => {
            this.refreshTimer = undefined;
            const runs = [...this.unknownRuns];
            this.unknownRuns.clear();
            for (const run of runs) {
                this.refresh(run).catch((e: unknown) => {
                    logWarn(`Could not load the status of run ${run}: ${describeError(e)}`);
                });
            }
        }, REFRESH_DELAY_MS);
    }
}
