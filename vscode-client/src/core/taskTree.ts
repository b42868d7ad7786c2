/**
 * A run's tasks as a tree: matrix expansions and best-of-N candidates (`group`) under the task
 * they expand, tasks added at run time (`parent`) under their spawner. A matrix task has no
 * row of its own, so its node is made from its expansions; a best-of-N task's node is its pick
 * node (named like the task). The summary of a node's children ("3/4 succeeded") gives such a
 * node its state.
 *
 * Pure module: must not import `vscode`.
 */
import { isActiveTaskState, type TaskState } from './protocol';
import type { TaskRecord } from './runStore';

export interface TaskTreeNode {
    /** The task's name (for a matrix task without a row: the group's name). */
    readonly name: string;
    /** The task's own record; undefined for a matrix task made from its expansions. */
    readonly task: TaskRecord | undefined;
    readonly children: TaskTreeNode[];
}

interface Building {
    name: string;
    task: TaskRecord | undefined;
    children: Building[];
}

/** The tree of `tasks` (in their order; a node sits where its first task is listed). */
export function buildTaskTree(tasks: readonly TaskRecord[]): TaskTreeNode[] {
    const byName = new Map<string, Building>();
    for (const t of tasks) {
        if (!byName.has(t.name)) {
            byName.set(t.name, { name: t.name, task: t, children: [] });
        }
    }
    const roots: Building[] = [];
    const placed = new Set<Building>();
    /** Where the node of `name` goes: under its owner, or at the root. */
    const place = (node: Building, ownerName: string | undefined): void => {
        if (placed.has(node)) {
            return;
        }
        placed.add(node);
        const owner = ownerName !== undefined ? nodeOf(ownerName, node) : undefined;
        (owner?.children ?? roots).push(node);
    };
    /** The node of a group or parent name (a matrix group's node is made on first use). */
    const nodeOf = (name: string, child: Building): Building | undefined => {
        let owner = byName.get(name);
        if (owner === undefined) {
            // A matrix task: no row of its own. It belongs where its expansions' spawner is.
            owner = { name, task: undefined, children: [] };
            byName.set(name, owner);
            place(owner, child.task?.parent);
        } else if (!placed.has(owner) && owner.task !== undefined) {
            place(owner, ownerOf(owner.task));
        }
        return isAncestor(child, owner) ? undefined : owner;
    };
    for (const t of tasks) {
        const node = byName.get(t.name);
        if (node?.task === t) {
            place(node, ownerOf(t));
        }
    }
    return roots;
}

/** The name a task's node hangs under: its group, else its spawner. */
function ownerOf(task: TaskRecord): string | undefined {
    const owner = task.group ?? task.parent;
    return owner !== undefined && owner !== task.name ? owner : undefined;
}

/** Whether `node` is `other` or contains it (a cycle would hide tasks: put them at the root). */
function isAncestor(node: Building, other: Building): boolean {
    if (node === other) {
        return true;
    }
    return node.children.some((c) => isAncestor(c, other));
}

/** The node named `name` anywhere in `roots`. */
export function findTaskNode(roots: readonly TaskTreeNode[], name: string): TaskTreeNode | undefined {
    for (const n of roots) {
        if (n.name === name) {
            return n;
        }
        const found = findTaskNode(n.children, name);
        if (found !== undefined) {
            return found;
        }
    }
    return undefined;
}

/** The node that contains the node named `name` (undefined at the root or if unknown). */
export function findParentNode(roots: readonly TaskTreeNode[], name: string): TaskTreeNode | undefined {
    for (const n of roots) {
        if (n.children.some((c) => c.name === name)) {
            return n;
        }
        const found = findParentNode(n.children, name);
        if (found !== undefined) {
            return found;
        }
    }
    return undefined;
}

export interface ChildrenSummary {
    /** e.g. "3/4 succeeded · 1 failed", "1/4 succeeded · 2 running · 1 queued". */
    text: string;
    /** One state for them all: running while any runs, failed when any failed, ... */
    state: TaskState;
    total: number;
    succeeded: number;
}

const OK: ReadonlySet<string> = new Set(['succeeded', 'cached']);
/** The order other states are listed in, and their precedence for the summary state. */
const ORDER = ['running', 'queued', 'failed', 'interrupted', 'cancelled', 'skipped'];

export function summarizeChildren(children: readonly TaskTreeNode[]): ChildrenSummary {
    const states = children.map((c) => stateOf(c));
    const counts = new Map<string, number>();
    let succeeded = 0;
    for (const s of states) {
        if (OK.has(s)) {
            succeeded += 1;
        } else {
            counts.set(s, (counts.get(s) ?? 0) + 1);
        }
    }
    const parts = [`${succeeded}/${states.length} succeeded`];
    const known = ORDER.filter((s) => counts.has(s));
    const other = [...counts.keys()].filter((s) => !ORDER.includes(s)).sort();
    for (const s of [...known, ...other]) {
        parts.push(`${counts.get(s) ?? 0} ${s}`);
    }
    return { text: parts.join(' · '), state: combinedState(states), total: states.length, succeeded };
}

/** A node's state: its own task's, or (a matrix task) its children's combined. */
export function stateOf(node: TaskTreeNode): TaskState {
    if (node.task !== undefined) {
        return node.task.state;
    }
    return combinedState(node.children.map((c) => stateOf(c)));
}

function combinedState(states: readonly TaskState[]): TaskState {
    if (states.length === 0) {
        return 'queued';
    }
    const active = states.filter((s) => isActiveTaskState(s));
    if (active.length > 0) {
        // Some still queued after others started or finished: the group is under way.
        return active.length === states.length && active.every((s) => s === 'queued') ? 'queued' : 'running';
    }
    for (const s of ['failed', 'interrupted', 'cancelled']) {
        if (states.includes(s)) {
            return s;
        }
    }
    if (states.every((s) => OK.has(s))) {
        return states.every((s) => s === 'cached') ? 'cached' : 'succeeded';
    }
    return states.find((s) => !OK.has(s)) ?? 'succeeded';
}

/** "candidate=2" from "impl[candidate=2]": the part that tells group members apart. */
export function memberLabel(name: string, group: string): string {
    if (name.startsWith(`${group}[`) && name.endsWith(']')) {
        return name.slice(group.length + 1, -1);
    }
    return name;
}
