/**
 * A tolerant, TOML-lite reader of the workflow names in `treelane.toml`.
 * It understands exactly enough TOML to find
 *   [workflows.NAME]               (and [workflows."quoted name"])
 *   [workflows.NAME.tasks.TASK]    (task names)
 *   [[workflows.NAME.tasks]] with name = "TASK"
 *   [workflows] NAME = { ... }     and top-level  workflows.NAME = { ... }
 *   description = "..."            inside [workflows.NAME]
 * and never throws: what it does not understand it skips.
 *
 * Pure module: must not import `vscode`.
 */

export interface WorkflowInfo {
    name: string;
    description?: string;
    /** Task names, in the order they appear. */
    tasks: string[];
}

/** Splits a dotted TOML key (`a."b.c".'d'`) into its parts, or null if malformed. */
export function parseDottedKey(key: string): string[] | null {
    const parts: string[] = [];
    let i = 0;
    const s = key.trim();
    if (s.length === 0) {
        return null;
    }
    while (i < s.length) {
        while (s[i] === ' ' || s[i] === '\t') {
            i += 1;
        }
        const c = s[i];
        if (c === '"') {
            let out = '';
            i += 1;
            let closed = false;
            while (i < s.length) {
                const ch = s[i] ?? '';
                if (ch === '\\') {
                    const next = s[i + 1] ?? '';
                    out += next === 'n' ? '\n' : next === 't' ? '\t' : next;
                    i += 2;
                    continue;
                }
                if (ch === '"') {
                    closed = true;
                    i += 1;
                    break;
                }
                out += ch;
                i += 1;
            }
            if (!closed) {
                return null;
            }
            parts.push(out);
        } else if (c === "'") {
            const end = s.indexOf("'", i + 1);
            if (end < 0) {
                return null;
            }
            parts.push(s.slice(i + 1, end));
            i = end + 1;
        } else {
            const m = /^[A-Za-z0-9_-]+/.exec(s.slice(i));
            if (!m) {
                return null;
            }
            parts.push(m[0]);
            i += m[0].length;
        }
        while (s[i] === ' ' || s[i] === '\t') {
            i += 1;
        }
        if (i >= s.length) {
            break;
        }
        if (s[i] !== '.') {
            return null;
        }
        i += 1;
    }
    return parts;
}

/**
 * Calls `visit` with each character outside TOML strings (and its index) until it
 * returns true; returns that index, or -1.
 */
function scanOutsideQuotes(text: string, visit: (c: string, i: number) => boolean): number {
    let quote: string | null = null;
    for (let i = 0; i < text.length; i += 1) {
        const c = text[i];
        if (quote !== null) {
            if (c === '\\' && quote === '"') {
                i += 1;
            } else if (c === quote) {
                quote = null;
            }
        } else if (c === '"' || c === "'") {
            quote = c;
        } else if (c !== undefined && visit(c, i)) {
            return i;
        }
    }
    return -1;
}

function indexOutsideQuotes(line: string, target: string): number {
    return scanOutsideQuotes(line, (c) => c === target);
}

/** Removes a trailing `# comment` that is not inside a string. */
function stripComment(line: string): string {
    const at = indexOutsideQuotes(line, '#');
    return at < 0 ? line : line.slice(0, at);
}

/** Splits `key = value` at the first `=` outside quotes. */
function splitKeyValue(line: string): { key: string; value: string } | null {
    const at = indexOutsideQuotes(line, '=');
    return at < 0 ? null : { key: line.slice(0, at), value: line.slice(at + 1).trim() };
}

/** The content of a single-line basic or literal string value, else undefined. */
function stringValue(value: string): string | undefined {
    const basic = /^"((?:[^"\\]|\\.)*)"$/.exec(value);
    if (basic) {
        return (basic[1] ?? '').replace(/\\(.)/g, (_m, ch: string) => (ch === 'n' ? '\n' : ch === 't' ? '\t' : ch));
    }
    const literal = /^'([^']*)'$/.exec(value);
    return literal ? literal[1] : undefined;
}

/** Net count of `[` minus `]` outside strings. */
function bracketBalance(text: string): number {
    let depth = 0;
    scanOutsideQuotes(text, (c) => {
        depth += c === '[' ? 1 : c === ']' ? -1 : 0;
        return false;
    });
    return depth;
}

/** Counts unescaped occurrences of a multi-line string delimiter. */
function countDelimiter(line: string, delimiter: string): number {
    let n = 0;
    let i = line.indexOf(delimiter);
    while (i >= 0) {
        n += 1;
        i = line.indexOf(delimiter, i + delimiter.length);
    }
    return n;
}

export function readWorkflows(text: string): WorkflowInfo[] {
    const workflows = new Map<string, WorkflowInfo>();
    const ensure = (name: string): WorkflowInfo => {
        let w = workflows.get(name);
        if (w === undefined) {
            w = { name, tasks: [] };
            workflows.set(name, w);
        }
        return w;
    };
    const addTask = (workflow: string, task: string): void => {
        const w = ensure(workflow);
        if (!w.tasks.includes(task)) {
            w.tasks.push(task);
        }
    };

    /** The table the following key/value lines belong to. */
    let table: string[] = [];
    let arrayTable = false;
    /** Open multi-line string delimiter, if inside one. */
    let multiline: string | null = null;
    /** Open brackets of a multi-line array value. */
    let arrayDepth = 0;

    const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
    for (const raw of lines) {
        if (multiline !== null) {
            if (countDelimiter(raw, multiline) % 2 === 1) {
                multiline = null;
            }
            continue;
        }
        const line = stripComment(raw).trim();
        if (line.length === 0) {
            continue;
        }
        if (arrayDepth > 0) {
            arrayDepth = Math.max(0, arrayDepth + bracketBalance(line));
            continue;
        }
        const header = /^(\[\[?)\s*(.+?)\s*(\]\]?)$/.exec(line);
        if (header && (header[1] === '[[') === (header[3] === ']]')) {
            const path = parseDottedKey(header[2] ?? '');
            if (path === null) {
                continue;
            }
            table = path;
            arrayTable = header[1] === '[[';
            if (path[0] === 'workflows' && path[1] !== undefined) {
                ensure(path[1]);
                if (path[2] === 'tasks' && path[3] !== undefined && !arrayTable) {
                    addTask(path[1], path[3]);
                }
            }
            continue;
        }
        const kv = splitKeyValue(line);
        if (kv === null) {
            continue;
        }
        if (!kv.value.startsWith('"""') && !kv.value.startsWith("'''")) {
            arrayDepth = Math.max(0, bracketBalance(kv.value));
        }
        for (const delimiter of ['"""', "'''"]) {
            if (kv.value.startsWith(delimiter) && countDelimiter(kv.value, delimiter) % 2 === 1) {
                multiline = delimiter;
            }
        }
        const key = parseDottedKey(kv.key);
        if (key === null || key.length === 0) {
            continue;
        }
        const full = [...table, ...key];
        if (full[0] !== 'workflows' || full[1] === undefined) {
            continue;
        }
        const name = full[1];
        ensure(name);
        if (full.length === 3 && full[2] === 'description' && !arrayTable) {
            const description = stringValue(kv.value);
            if (description !== undefined) {
                ensure(name).description = description;
            }
        } else if (full[2] === 'tasks' && full[3] !== undefined && !arrayTable) {
            addTask(name, full[3]);
        } else if (arrayTable && table.length === 3 && table[2] === 'tasks' && key.length === 1 && key[0] === 'name') {
            const task = stringValue(kv.value);
            if (task !== undefined) {
                addTask(name, task);
            }
        }
    }
    return [...workflows.values()];
}
