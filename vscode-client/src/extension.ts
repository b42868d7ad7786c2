/**
 * Entry point: wires the language client, the run model, the views and the
 * commands together.
 */
import * as vscode from 'vscode';
import { describeError } from './core/errors';
import { plural } from './core/format';
import { registerCommands } from './commands';
import { CLIENT_NAME, RUNS_VIEW_ID } from './common/constants';
import { createLogChannel, logError, logInfo } from './common/log';
import { onDidChangePythonInterpreter } from './common/python';
import { TreelaneServer } from './common/server';
import { affectsServer, getSettings } from './common/settings';
import { notifyRunFinished } from './ui/runNotifications';
import { RunOutputChannels } from './ui/runOutput';
import { RunsController } from './ui/runsController';
import { RunsTreeProvider } from './ui/runsTree';
import { StatusBarController } from './ui/statusBar';
import { TimelinePanels } from './ui/timelinePanel';
import { GIT_SCHEME, GitContentProvider } from './ui/gitContent';

let server: TreelaneServer | undefined;

export function activate(context: vscode.ExtensionContext): void {
    const log = createLogChannel(CLIENT_NAME);
    context.subscriptions.push(log);

    server = new TreelaneServer({ log, safeDirectory: context.extensionUri.fsPath });
    const srv = server;
    const runs = new RunsController(srv);
    const outputs = new RunOutputChannels(runs);
    const timelines = new TimelinePanels();
    const tree = new RunsTreeProvider(runs, () => srv.state === 'stopped');
    const view = vscode.window.createTreeView(RUNS_VIEW_ID, { treeDataProvider: tree, showCollapseAll: true });
    const statusBar = new StatusBarController(srv, runs);
    context.subscriptions.push(runs, outputs, timelines, tree, view, statusBar);

    const updateView = (): void => {
        const active = runs.store.activeCount();
        view.badge = active > 0 ? { value: active, tooltip: `${plural(active, 'run')} running` } : undefined;
    };
    context.subscriptions.push(
        runs.onDidChange(updateView),
        srv.onDidChangeState(() => {
            updateView();
            tree.refresh();
        }),
    );

    context.subscriptions.push(
        vscode.workspace.registerTextDocumentContentProvider(GIT_SCHEME, new GitContentProvider(() => srv.workingDirectory)),
    );
    context.subscriptions.push(...registerCommands({ server: srv, runs, outputs, timelines }));
    context.subscriptions.push(notifyRunFinished(runs));

    // Load the runs each time a server is up.
    context.subscriptions.push(
        srv.onDidStart(() => {
            runs.refresh().catch((e: unknown) => logError(`Could not load the runs: ${describeError(e)}`));
        }),
    );

    // Restart when what the server is started with changes.
    const restart = (why: string): void => {
        logInfo(`Restarting the server: ${why}`);
        runs.reset();
        srv.restart().catch((e: unknown) => logError('Restart failed', e));
    };
    context.subscriptions.push(
        vscode.workspace.onDidChangeConfiguration((e) => {
            if (affectsServer(e)) {
                restart('settings changed');
            }
        }),
        onDidChangePythonInterpreter(() => {
            if (!getSettings(vscode.workspace.workspaceFolders?.[0]?.uri).python.trim()) {
                restart('the Python extension selected another interpreter');
            }
        }),
        vscode.workspace.onDidGrantWorkspaceTrust(() => restart('the workspace is now trusted')),
    );

    srv.start().catch((e: unknown) => logError('Start failed', e));
}

export async function deactivate(): Promise<void> {
    const s = server;
    server = undefined;
    await s?.dispose();
}
