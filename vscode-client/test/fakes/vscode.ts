/**
 * A small recording fake of the parts of the `vscode` API the extension uses,
 * so activation and command glue can run in plain Node. Tests script the
 * user's answers (quick picks, input boxes, message buttons) through `fake`.
 */
import * as path from 'node:path';

type Listener<T> = (value: T) => unknown;

export class Disposable {
    constructor(private readonly fn?: () => void) {}
    dispose(): void {
        this.fn?.();
    }
    static from(...items: { dispose(): unknown }[]): Disposable {
        return new Disposable(() => items.forEach((i) => i.dispose()));
    }
}

export class EventEmitter<T> {
    private readonly listeners = new Set<Listener<T>>();
    readonly event = (listener: Listener<T>): Disposable => {
        this.listeners.add(listener);
        return new Disposable(() => this.listeners.delete(listener));
    };
    fire(value: T): void {
        for (const l of [...this.listeners]) {
            l(value);
        }
    }
    dispose(): void {
        this.listeners.clear();
    }
}

export class Uri {
    private constructor(
        readonly scheme: string,
        readonly fsPath: string,
    ) {}
    static file(p: string): Uri {
        return new Uri('file', path.resolve(p));
    }
    static joinPath(base: Uri, ...parts: string[]): Uri {
        return new Uri(base.scheme, path.join(base.fsPath, ...parts));
    }
    get path(): string {
        return this.fsPath;
    }
    toString(): string {
        return `${this.scheme}://${this.fsPath}`;
    }
}

export class ThemeColor {
    constructor(readonly id: string) {}
}

export class ThemeIcon {
    constructor(
        readonly id: string,
        readonly color?: ThemeColor,
    ) {}
}

export class TreeItem {
    id?: string;
    description?: string;
    tooltip?: string;
    iconPath?: ThemeIcon;
    contextValue?: string;
    command?: { command: string; title: string; arguments?: unknown[] };
    constructor(
        readonly label: string,
        readonly collapsibleState = 0,
    ) {}
}

export class MarkdownString {
    supportThemeIcons = false;
    constructor(readonly value = '') {}
}

export class CancellationError extends Error {}

export const TreeItemCollapsibleState = { None: 0, Collapsed: 1, Expanded: 2 } as const;
export const StatusBarAlignment = { Left: 1, Right: 2 } as const;
export const ProgressLocation = { SourceControl: 1, Window: 10, Notification: 15 } as const;
export const QuickPickItemKind = { Separator: -1, Default: 0 } as const;
export const ViewColumn = { Active: -1, One: 1 } as const;

export interface Message {
    level: 'info' | 'warning' | 'error';
    text: string;
    modal: boolean;
    detail?: string;
}

export interface QuickPickCall {
    items: { label: string; description?: string; value?: unknown }[];
    title?: string;
}

export interface FakeTreeView {
    id: string;
    provider: {
        getChildren(element?: unknown): unknown[];
        getTreeItem(element: unknown): TreeItem;
    };
    badge: unknown;
    message: string | undefined;
}

export interface FakeStatusBarItem {
    text: string;
    tooltip: MarkdownString | undefined;
    command: string | undefined;
    visible: boolean;
}

/** What the extension did, and the scripted answers of the "user". */
export const fake = {
    trusted: true,
    folders: [] as { uri: Uri; name: string; index: number }[],
    files: new Map<string, string>(),
    config: new Map<string, unknown>(),
    commands: new Map<string, (...args: unknown[]) => unknown>(),
    executed: [] as { id: string; args: unknown[] }[],
    messages: [] as Message[],
    quickPicks: [] as QuickPickCall[],
    treeViews: [] as FakeTreeView[],
    statusBarItems: [] as FakeStatusBarItem[],
    outputChannels: [] as { name: string; text: string; shown: boolean }[],
    /** Picks an item per quick pick (index into the items); undefined cancels. */
    pick: (_call: QuickPickCall): number | undefined => undefined,
    /** Answers message boxes with buttons: which button, or undefined. */
    answer: (_message: Message, _buttons: string[]): string | undefined => undefined,
    inputBox: (): string | undefined => undefined,
    trustEmitter: new EventEmitter<void>(),
    configEmitter: new EventEmitter<{ affectsConfiguration(section: string): boolean }>(),
    reset(): void {
        this.trusted = true;
        this.folders = [];
        this.files.clear();
        this.config.clear();
        this.commands.clear();
        this.executed = [];
        this.messages = [];
        this.quickPicks = [];
        this.treeViews = [];
        this.statusBarItems = [];
        this.outputChannels = [];
        this.pick = () => undefined;
        this.answer = () => undefined;
        this.inputBox = () => undefined;
    },
};

function message(level: Message['level'], text: string, rest: unknown[]): Promise<string | undefined> {
    let modal = false;
    let detail: string | undefined;
    const buttons: string[] = [];
    for (const r of rest) {
        if (typeof r === 'string') {
            buttons.push(r);
        } else if (typeof r === 'object' && r !== null) {
            modal = (r as { modal?: unknown }).modal === true;
            const d = (r as { detail?: unknown }).detail;
            detail = typeof d === 'string' ? d : undefined;
        }
    }
    const m: Message = { level, text, modal, ...(detail !== undefined ? { detail } : {}) };
    fake.messages.push(m);
    return Promise.resolve(buttons.length > 0 ? fake.answer(m, buttons) : undefined);
}

function outputChannel(name: string): Record<string, unknown> {
    const channel = { name, text: '', shown: false };
    fake.outputChannels.push(channel);
    const log = (line: string): void => {
        channel.text += `${line}\n`;
    };
    return {
        name,
        append: (t: string) => {
            channel.text += t;
        },
        appendLine: log,
        info: log,
        warn: log,
        error: (line: unknown) => log(String(line)),
        debug: log,
        trace: log,
        show: () => {
            channel.shown = true;
        },
        clear: () => {
            channel.text = '';
        },
        dispose: () => undefined,
        onDidChangeLogLevel: new EventEmitter<number>().event,
        logLevel: 2,
    };
}

export const window = {
    get activeTextEditor(): undefined {
        return undefined;
    },
    createOutputChannel: (name: string) => outputChannel(name),
    createTreeView: (id: string, options: { treeDataProvider: FakeTreeView['provider'] }) => {
        const view: FakeTreeView & { dispose(): void } = {
            id,
            provider: options.treeDataProvider,
            badge: undefined,
            message: undefined,
            dispose: () => undefined,
        };
        fake.treeViews.push(view);
        return view;
    },
    createStatusBarItem: () => {
        const item: FakeStatusBarItem & { show(): void; hide(): void; dispose(): void; name?: string } = {
            text: '',
            tooltip: undefined,
            command: undefined,
            visible: false,
            show() {
                this.visible = true;
            },
            hide() {
                this.visible = false;
            },
            dispose: () => undefined,
        };
        fake.statusBarItems.push(item);
        return item;
    },
    showInformationMessage: (text: string, ...rest: unknown[]) => message('info', text, rest),
    showWarningMessage: (text: string, ...rest: unknown[]) => message('warning', text, rest),
    showErrorMessage: (text: string, ...rest: unknown[]) => message('error', text, rest),
    showQuickPick: (items: QuickPickCall['items'], options?: { title?: string; canPickMany?: boolean }) => {
        const call: QuickPickCall = { items, title: options?.title };
        fake.quickPicks.push(call);
        const index = fake.pick(call);
        const item = index === undefined ? undefined : items[index];
        return Promise.resolve(options?.canPickMany ? (item ? [item] : undefined) : item);
    },
    showInputBox: () => Promise.resolve(fake.inputBox()),
    withProgress: <T>(_options: unknown, task: (progress: unknown, token: unknown) => Promise<T>) =>
        task({ report: () => undefined }, { isCancellationRequested: false, onCancellationRequested: () => new Disposable() }),
    showTextDocument: () => Promise.resolve(undefined),
    showSaveDialog: () => Promise.resolve(undefined),
    createWebviewPanel: () => ({
        webview: { html: '' },
        title: '',
        reveal: () => undefined,
        onDidDispose: () => new Disposable(),
        dispose: () => undefined,
    }),
};

export const workspace = {
    get isTrusted(): boolean {
        return fake.trusted;
    },
    get workspaceFolders(): typeof fake.folders | undefined {
        return fake.folders.length > 0 ? fake.folders : undefined;
    },
    textDocuments: [] as unknown[],
    getConfiguration: (section?: string) => ({
        get: <T>(key: string, fallback?: T): T | undefined =>
            (fake.config.get(section ? `${section}.${key}` : key) as T | undefined) ?? fallback,
        /** The fake's settings are User settings. */
        inspect: <T>(key: string): { key: string; globalValue?: T } => ({
            key,
            globalValue: fake.config.get(section ? `${section}.${key}` : key) as T | undefined,
        }),
    }),
    createFileSystemWatcher: () => ({
        onDidCreate: () => new Disposable(),
        onDidChange: () => new Disposable(),
        onDidDelete: () => new Disposable(),
        dispose: () => undefined,
    }),
    registerTextDocumentContentProvider: () => new Disposable(),
    onDidChangeConfiguration: fake.configEmitter.event,
    onDidGrantWorkspaceTrust: fake.trustEmitter.event,
    fs: {
        readFile: (uri: Uri): Promise<Uint8Array> => {
            const text = fake.files.get(uri.fsPath);
            return text === undefined ? Promise.reject(new Error(`ENOENT ${uri.fsPath}`)) : Promise.resolve(new TextEncoder().encode(text));
        },
        writeFile: (uri: Uri, data: Uint8Array): Promise<void> => {
            fake.files.set(uri.fsPath, new TextDecoder().decode(data));
            return Promise.resolve();
        },
    },
};

export const commands = {
    registerCommand: (id: string, fn: (...args: unknown[]) => unknown): Disposable => {
        if (fake.commands.has(id)) {
            throw new Error(`command '${id}' already exists`);
        }
        fake.commands.set(id, fn);
        return new Disposable(() => fake.commands.delete(id));
    },
    executeCommand: async (id: string, ...args: unknown[]): Promise<unknown> => {
        fake.executed.push({ id, args });
        const fn = fake.commands.get(id);
        return fn ? await fn(...args) : undefined;
    },
};

export const extensions = {
    getExtension: (): undefined => undefined,
};

export const env = {
    remoteName: undefined as string | undefined,
};
