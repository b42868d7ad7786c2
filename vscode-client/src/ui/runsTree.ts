/**
 * The "Runs" tree: runs, and under each its tasks; matrix expansions, best-of-N candidates and
 * tasks added at run time under the task they belong to (core/taskTree).
 */
import * as vscode from 'vscode';
import {
    groupContextValue,
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
import { isConflictedTask } from '../core/conflicts';
import { buildTaskTree, findParentNode, findTaskNode, stateOf, summarizeChildren, type TaskTreeNode } from '../core/taskTree';
import type { RunRecord } from '../core/runStore';
import type { RunsController } from './runsController';
import { UiCommand } from '../common/constants';
import { isActiveTaskState } from '../core/protocol';

export type RunNode = { readonly kind: 'run'; readonly run: string };
/** A task; or a matrix task (no row of its own), shown with its expansions under it. */
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

/** Leaves: none; a group or spawner: open while its children run or when one failed. */
function collapsibleState(node: TaskTreeNode | undefined): vscode.TreeItemCollapsibleState {
    if (node === undefined || node.children.length === 0) {
        return vscode.TreeItemCollapsibleState.None;
    }
    const open = node.children.some((c) => isActiveTaskState(stateOf(c)) || stateOf(c) === 'failed');
    return open ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed;
}

function childrenLine(task: { kind?: string }, text: string): string {
    return `${task.kind === 'pick' ? 'Candidates' : 'Added tasks'}: ${text}`;
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
    /** Each run's task tree, until the model changes. */
    private readonly trees = new Map<string, TaskTreeNode[]>();

    constructor(
        private readonly runs: RunsController,
        private readonly serverStopped: () => boolean = () => false,
    ) {
        this.subscription = runs.onDidChange(() => {
            this.trees.clear();
            this.changeEmitter.fire(undefined);
        });
    }

    private treeOf(run: RunRecord): TaskTreeNode[] {
        let tree = this.trees.get(run.run);
        if (tree === undefined) {
            tree = buildTaskTree(run.tasks);
            this.trees.set(run.run, tree);
        }
        return tree;
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
        if (element.kind === 'server') {
            return [];
        }
        const run = this.runs.store.get(element.run);
        if (run === undefined) {
            return [];
        }
        const tree = this.treeOf(run);
        const nodes = element.kind === 'run' ? tree : (findTaskNode(tree, element.task)?.children ?? []);
        return nodes.map((n) => this.taskNode(run.run, n.name));
    }

    getParent(element: RunsNode): RunsNode | undefined {
        if (element.kind !== 'task') {
            return undefined;
        }
        const run = this.runs.store.get(element.run);
        const parent = run !== undefined ? findParentNode(this.treeOf(run), element.task) : undefined;
        return parent !== undefined ? this.taskNode(element.run, parent.name) : this.runNode(element.run);
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
        const tree = this.treeOf(run);
        const node = findTaskNode(tree, element.task);
        const children = node?.children ?? [];
        const task = node?.task;
        const item = new vscode.TreeItem(element.task, collapsibleState(node));
        item.id = `task:${run.run}/${element.task}`;
        const summary = children.length > 0 ? summarizeChildren(children) : undefined;
        const parent = findParentNode(tree, element.task);
        const picked = parent?.task?.picked === element.task;
        if (task !== undefined) {
            const own = taskDescription(task);
            const parts = [picked ? 'picked' : '', summary?.text ?? '', own];
            item.description = parts.filter((p) => p.length > 0).join(' · ');
            item.tooltip = taskTooltip(run, task) + (summary !== undefined ? `\n${childrenLine(task, summary.text)}` : '');
            item.iconPath = themeIcon(taskIcon(task.state));
            item.contextValue = taskContextValue(task, isConflictedTask(run, task.name));
        } else if (summary !== undefined) {
            item.description = summary.text;
            item.tooltip = `${element.task} (${runLabel(run)} ${run.run})\nMatrix: ${summary.text}`;
            item.iconPath = themeIcon(taskIcon(summary.state));
            item.contextValue = groupContextValue(summary.state);
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
