/**
 * A fake `vscode-languageclient/node` for the activation test: records how
 * the extension builds its client and lets the test play the server.
 */
export enum State {
    Stopped = 1,
    Starting = 3,
    Running = 2,
    StartFailed = 4,
}
export enum TransportKind {
    stdio = 0,
}
export enum RevealOutputChannelOn {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
    Never = 4,
}
export enum CloseAction {
    DoNotRestart = 1,
    Restart = 2,
}
export enum ErrorAction {
    Continue = 1,
    Shutdown = 2,
}
export const ExecuteCommandRequest = { type: { method: 'workspace/executeCommand' } };

export interface ExecutableLike {
    command: string;
    args?: string[];
    options?: { cwd?: string };
    transport?: TransportKind;
}

/** The extension's function-form server options, which carry the command line they spawn. */
export interface LaunchingServerOptions {
    (): Promise<unknown>;
    launch: { command: string; args: string[]; cwd: string };
}

/** What the real library would spawn: an Executable gets `--stdio` appended (stdio transport). */
export interface Spawned {
    command: string;
    args: string[];
    options: { cwd?: string };
}

function spawnedBy(options: ExecutableLike | LaunchingServerOptions): Spawned {
    if (typeof options === 'function') {
        const { command, args, cwd } = options.launch;
        return { command, args: [...args], options: { cwd } };
    }
    const args = [...(options.args ?? [])];
    if (options.transport === undefined || options.transport === TransportKind.stdio) {
        args.push('--stdio');
    }
    return { command: options.command, args, options: options.options ?? {} };
}

export interface ClientOptionsLike {
    initializationOptions?: unknown;
    documentSelector?: unknown;
    middleware?: {
        executeCommand?: (command: string, args: unknown[], next: (command: string, args: unknown[]) => unknown) => unknown;
    };
}

/** Answers `workspace/executeCommand`: the test sets it. */
export const server = {
    requests: [] as { command: string; argument: unknown }[],
    respond: (_command: string, _argument: unknown): unknown => ({}),
    clients: [] as LanguageClient[],
    reset(): void {
        this.requests = [];
        this.respond = () => ({});
        this.clients = [];
    },
};

type StateListener = (e: { oldState: State; newState: State }) => void;

export class LanguageClient {
    state: State = State.Stopped;
    disposed = false;
    readonly notificationHandlers = new Map<string, (params: unknown) => void>();
    private readonly stateListeners: StateListener[] = [];

    readonly features: unknown[] = [];
    /** The command line the real library would run for these server options. */
    readonly serverOptions: Spawned;

    constructor(
        readonly id: string,
        readonly name: string,
        options: ExecutableLike | LaunchingServerOptions,
        readonly clientOptions: ClientOptionsLike,
    ) {
        this.serverOptions = spawnedBy(options);
        server.clients.push(this);
    }

    registerFeature(feature: unknown): void {
        this.features.push(feature);
    }

    onDidChangeState(listener: StateListener): { dispose(): void } {
        this.stateListeners.push(listener);
        return { dispose: () => undefined };
    }

    onNotification(type: string | { method: string }, handler: (params: never) => void): { dispose(): void } {
        const method = typeof type === 'string' ? type : type.method;
        this.notificationHandlers.set(method, handler as (params: unknown) => void);
        return { dispose: () => this.notificationHandlers.delete(method) };
    }

    start(): Promise<void> {
        this.setState(State.Starting);
        this.setState(State.Running);
        return Promise.resolve();
    }

    dispose(): Promise<void> {
        this.disposed = true;
        this.setState(State.Stopped);
        return Promise.resolve();
    }

    sendRequest(_type: unknown, params: { command: string; arguments: unknown[] }): Promise<unknown> {
        server.requests.push({ command: params.command, argument: params.arguments[0] });
        try {
            return Promise.resolve(server.respond(params.command, params.arguments[0]));
        } catch (e) {
            return Promise.reject(e instanceof Error ? e : new Error(String(e)));
        }
    }

    /** Plays a server notification. */
    notify(method: string, params: unknown): void {
        this.notificationHandlers.get(method)?.(params);
    }

    private setState(newState: State): void {
        const oldState = this.state;
        this.state = newState;
        for (const l of this.stateListeners) {
            l({ oldState, newState });
        }
    }
}

export enum MessageType {
    Error = 1,
    Warning = 2,
    Info = 3,
    Log = 4,
}
export const ShowMessageNotification = { type: { method: 'window/showMessage' } };
export interface ShowMessageParams {
    type: MessageType;
    message: string;
}
