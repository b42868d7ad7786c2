/**
 * The status-bar item: running/limit, system CPU and available memory while
 * tasks run, an idle text otherwise. Fed by `treelane/resources`.
 */
import * as vscode from 'vscode';
import { statusBarView } from '../core/statusText';
import type { TreelaneServer } from '../common/server';
import type { RunsController } from './runsController';
import { UiCommand } from '../common/constants';

export class StatusBarController implements vscode.Disposable {
    private readonly item: vscode.StatusBarItem;
    private readonly subscriptions: vscode.Disposable[] = [];

    constructor(
        private readonly server: TreelaneServer,
        private readonly runs: RunsController,
    ) {
        this.item = vscode.window.createStatusBarItem('treelane.status', vscode.StatusBarAlignment.Left, 10);
        this.item.name = 'Treelane';
        this.subscriptions.push(
            server.onDidChangeState(() => this.update()),
            runs.onDidReceiveResources(() => this.update()),
            runs.onDidChange(() => this.update()),
        );
        this.update();
        this.item.show();
    }

    update(): void {
        const view = statusBarView({
            server: this.server.state,
            resources: this.runs.resources,
            activeRuns: this.runs.store.activeCount(),
        });
        this.item.text = view.text;
        const tooltip = new vscode.MarkdownString(view.tooltip);
        tooltip.supportThemeIcons = true;
        this.item.tooltip = tooltip;
        this.item.command = this.server.state === 'stopped' ? UiCommand.restart : UiCommand.status;
    }

    dispose(): void {
        for (const s of this.subscriptions) {
            s.dispose();
        }
        this.item.dispose();
    }
}
