/**
 * One progress notification per run this window started or resumed (ProgressLocation per
 * `treelane.progressLocation`), fed by `treelane/taskState`; its Cancel button cancels the
 * run. It closes when `treelane/runFinished` arrives, and the outcome is then the one
 * notification about the run (runNotifications).
 */
import * as vscode from 'vscode';
import { describeError } from '../core/errors';
import { isActiveTaskState } from '../core/protocol';
import { logWarn } from '../common/log';
import { getSettings } from '../common/settings';
import type { TreelaneApi } from '../core/api';
import type { RunsController } from './runsController';

export function progressLocation(): vscode.ProgressLocation {
    const setting = getSettings(vscode.workspace.workspaceFolders?.[0]?.uri).progressLocation;
    return setting === 'window' ? vscode.ProgressLocation.Window : vscode.ProgressLocation.Notification;
}

/** A short line: "2/4 done · running b, c". */
export function progressMessage(tasks: readonly { name: string; state: string }[]): string {
    const done = tasks.filter((t) => !isActiveTaskState(t.state as never)).length;
    const running = tasks.filter((t) => t.state === 'running').map((t) => t.name);
    const parts = [`${done}/${tasks.length} done`];
    if (running.length > 0) {
        parts.push(`running ${running.join(', ')}`);
    }
    return parts.join(' · ');
}

export function showRunProgress(runs: RunsController, api: TreelaneApi, run: string, title: string): void {
    const location = progressLocation();
    void vscode.window.withProgress(
        { location, title: `Treelane: ${title}`, cancellable: location === vscode.ProgressLocation.Notification },
        (progress, token) =>
            new Promise<void>((resolve) => {
                let lastDone = 0;
                const update = (): void => {
                    const record = runs.store.get(run);
                    if (record === undefined) {
                        return;
                    }
                    if (!isActiveRun(record.state)) {
                        finish();
                        return;
                    }
                    const tasks = record.tasks;
                    const done = tasks.filter((t) => !isActiveTaskState(t.state)).length;
                    const increment = tasks.length > 0 ? ((done - lastDone) * 100) / tasks.length : undefined;
                    lastDone = done;
                    progress.report({ message: progressMessage(tasks), increment });
                };
                const subscriptions = [
                    runs.onDidChange(update),
                    runs.onDidFinishRun((p) => {
                        if (p.run === run) {
                            finish();
                        }
                    }),
                    token.onCancellationRequested(() => {
                        progress.report({ message: 'cancelling…' });
                        api.cancel(run).catch((e: unknown) => {
                            logWarn(`Could not cancel run ${run}: ${describeError(e)}`);
                            void vscode.window.showWarningMessage(`Treelane: could not cancel run ${run}: ${describeError(e)}`);
                        });
                        finish();
                    }),
                ];
                function finish(): void {
                    for (const s of subscriptions) {
                        s.dispose();
                    }
                    resolve();
                }
                update();
            }),
    );
}

function isActiveRun(state: string): boolean {
    return state === 'running' || state === 'queued';
}
