/**
 * Webview panels showing a run's timeline: the self-contained HTML page made
 * by `python -m treelane report RUN -o FILE`.
 */
import * as vscode from 'vscode';
import { messagePage, withContentSecurityPolicy } from '../core/html';

export class TimelinePanels implements vscode.Disposable {
    private readonly panels = new Map<string, vscode.WebviewPanel>();

    /** Opens (or reveals) the panel of a run, showing a "making the report" page. */
    open(run: string, title: string): vscode.WebviewPanel {
        let panel = this.panels.get(run);
        if (panel === undefined) {
            panel = vscode.window.createWebviewPanel('treelane.timeline', title, vscode.ViewColumn.Active, {
                enableScripts: true,
                enableFindWidget: true,
                localResourceRoots: [],
            });
            panel.onDidDispose(() => this.panels.delete(run));
            this.panels.set(run, panel);
        } else {
            panel.title = title;
            panel.reveal();
        }
        panel.webview.html = messagePage(title, 'Making the report…');
        return panel;
    }

    /** Shows the report page: its own scripts run, nothing is loaded from outside. */
    showReport(panel: vscode.WebviewPanel, html: string): void {
        panel.webview.html = withContentSecurityPolicy(html);
    }

    showError(panel: vscode.WebviewPanel, title: string, message: string): void {
        panel.webview.html = messagePage(title, message);
    }

    dispose(): void {
        for (const p of this.panels.values()) {
            p.dispose();
        }
        this.panels.clear();
    }
}
