/**
 * The "Runs" tree: runs, and under each its tasks.
 */
import * as vscode from 'vscode';
import {
    runContextValue,
    runDescription,
    runIcon,
    runLabel,
    runTooltip,
    taskContextValue,
    taskDescription,
    taskIcon,
    taskTooltip,
    type IconSpec,
} from '../core/presentation';
import type { RunsController } from './runsController';
import { UiCommand } from '../common/constants';

export type RunNode = { readonly kind: 'run'; readonly run: string };
export type TaskNode = { readonly kind: 'task'; readonly run: string; readonly task: string };
/** Shown first while the server is not running: click it to restart the server. */
export type ServerNode = { readonly kind: 'server' };
export type RunsNode = RunNode | TaskNode | ServerNode;

const SERVER_NODE: ServerNode = { kind: 'server' };

export function isRunNode(value: unknown): value is RunNode {
    return (
        typeof value === 'object' &&
        value !== null &&
        (value as { kind?: unknown }).kind === 'run' &&
        typeof (value as { run?: unknown }).run === 'string'
    );
}

export function isTaskNode(value: unknown): value is TaskNode {
    return (
        typeof value === 'object' &&
        value !== null &&
        (value as { kind?: unknown }).kind === 'task' &&
        typeof (value as { run?: unknown }).run === 'string' &&
        typeof (value as { task?: unknown }).task === 'string'
    );
}

function themeIcon(spec: IconSpec): vscode.ThemeIcon {
    return new vscode.ThemeIcon(spec.id, spec.color !== undefined ? new vscode.ThemeColor(spec.color) : undefined);
}

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
    private readonly changeEmitter = new vscode.EventEmitter<RunsNode | undefined>();
    readonly onDidChangeTreeData = this.changeEmitter.event;
    /** Stable node objects, so the tree keeps selection and expansion. */
    private readonly nodes = new Map<string, RunsNode>();
    private readonly subscription: vscode.Disposable;

    constructor(
        private readonly runs: RunsController,
        private readonly serverStopped: () => boolean = () => false,
    ) {
        this.subscription = runs.onDidChange(() => this.changeEmitter.fire(undefined));
    }

    /** Redraws the tree (the server's state changed). */
    refresh(): void {
        this.changeEmitter.fire(undefined);
    }

    getChildren(element?: RunsNode): RunsNode[] {
        if (element === undefined) {
            const runs: RunsNode[] = this.runs.store.list().map((r) => this.runNode(r.run));
            return this.serverStopped() ? [SERVER_NODE, ...runs] : runs;
        }
        if (element.kind === 'run') {
            const run = this.runs.store.get(element.run);
            return run ? run.tasks.map((t) => this.taskNode(run.run, t.name)) : [];
        }
        return [];
    }

    getParent(element: RunsNode): RunsNode | undefined {
        return element.kind === 'task' ? this.runNode(element.run) : undefined;
    }

    getTreeItem(element: RunsNode): vscode.TreeItem {
        if (element.kind === 'server') {
            const item = new vscode.TreeItem('The Treelane server is not running', vscode.TreeItemCollapsibleState.None);
            item.id = 'server';
            item.description = 'Restart Server';
            item.tooltip = 'Click to restart the server (its log: "Treelane" output).';
            item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
            item.contextValue = 'server.stopped';
            item.command = { command: UiCommand.restart, title: 'Restart Server' };
            return item;
        }
        const run = this.runs.store.get(element.run);
        if (run === undefined) {
            return new vscode.TreeItem(element.run);
        }
        if (element.kind === 'run') {
            const item = new vscode.TreeItem(
                runLabel(run),
                run.state === 'running'
                    ? vscode.TreeItemCollapsibleState.Expanded
                    : vscode.TreeItemCollapsibleState.Collapsed,
            );
            item.id = `run:${run.run}`;
            item.description = runDescription(run);
            item.tooltip = runTooltip(run);
            item.iconPath = themeIcon(runIcon(run.state));
            item.contextValue = runContextValue(run);
            return item;
        }
        const task = run.tasks.find((t) => t.name === element.task);
        const item = new vscode.TreeItem(element.task, vscode.TreeItemCollapsibleState.None);
        item.id = `task:${run.run}/${element.task}`;
        if (task !== undefined) {
            item.description = taskDescription(task);
            item.tooltip = taskTooltip(run, task);
            item.iconPath = themeIcon(taskIcon(task.state));
            item.contextValue = taskContextValue(task);
        }
        item.command = { command: UiCommand.showOutput, title: 'Show Output', arguments: [element] };
        return item;
    }

    dispose(): void {
        this.subscription.dispose();
        this.changeEmitter.dispose();
    }

    private runNode(run: string): RunNode {
        const key = `run:${run}`;
        let node = this.nodes.get(key);
        if (node === undefined) {
            node = { kind: 'run', run };
            this.nodes.set(key, node);
        }
        return node as RunNode;
    }

    private taskNode(run: string, task: string): TaskNode {
        const key = `task:${run}/${task}`;
        let node = this.nodes.get(key);
        if (node === undefined) {
            node = { kind: 'task', run, task };
            this.nodes.set(key, node);
        }
        return node as TaskNode;
    }
}
