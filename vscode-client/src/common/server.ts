/**
 * The language client's lifecycle: start `python -m treelane serve` over
 * stdio, restart it on demand, and send it commands.
 */
import * as vscode from 'vscode';
import {
    CloseAction,
    ErrorAction,
    ExecuteCommandRequest,
    LanguageClient,
    RevealOutputChannelOn,
    State,
    TransportKind,
    type CloseHandlerResult,
    type ErrorHandler,
    type ErrorHandlerResult,
    type Executable,
    type LanguageClientOptions,
} from 'vscode-languageclient/node';
import { TreelaneApi } from '../core/api';
import {
    decodeOutputParams,
    decodeResourcesParams,
    decodeRunFinishedParams,
    decodeTaskStateParams,
} from '../core/decode';
import { describeError } from '../core/errors';
import { serverArgs, type Interpreter } from '../core/interpreter';
import {
    isReadOnlyCommand,
    ServerNotification,
    type CommandArgs,
    type OutputParams,
    type ResourcesParams,
    type RunFinishedParams,
    type ServerCommandId,
    type TaskStateParams,
} from '../core/protocol';
import type { ServerState } from '../core/statusText';
import { CLIENT_ID, CLIENT_NAME, CONFIG_FILE, CONFIG_SECTION } from './constants';
import { logError, logInfo, logWarn } from './log';
import { findInterpreter } from './python';
import { getSettings } from './settings';

export interface ServerOptions {
    log: vscode.LogOutputChannel;
    /** Where to run the server when the workspace is not trusted. */
    safeDirectory: string;
}

/** Restarts allowed after a crash, within three minutes. */
const MAX_RESTARTS = 4;
const RESTART_WINDOW_MS = 3 * 60 * 1000;

export class TreelaneServer implements vscode.Disposable {
    readonly api: TreelaneApi;
    private client: LanguageClient | undefined;
    private current: Interpreter | undefined;
    private cwd: string | undefined;
    /** Serializes start, stop and restart. */
    private queue: Promise<void> = Promise.resolve();
    private readonly stateEmitter = new vscode.EventEmitter<ServerState>();
    private readonly startedEmitter = new vscode.EventEmitter<void>();
    private readonly taskStateEmitter = new vscode.EventEmitter<TaskStateParams>();
    private readonly outputEmitter = new vscode.EventEmitter<OutputParams>();
    private readonly resourcesEmitter = new vscode.EventEmitter<ResourcesParams>();
    private readonly runFinishedEmitter = new vscode.EventEmitter<RunFinishedParams>();
    private readonly watcher: vscode.FileSystemWatcher;
    private disposed = false;

    /** Fires when the server's state changes. */
    readonly onDidChangeState = this.stateEmitter.event;
    /** Fires each time a server has started and initialized. */
    readonly onDidStart = this.startedEmitter.event;
    /** `treelane/taskState`, decoded. */
    readonly onTaskState = this.taskStateEmitter.event;
    /** `treelane/output`, decoded. */
    readonly onOutput = this.outputEmitter.event;
    /** `treelane/resources`, decoded. */
    readonly onResources = this.resourcesEmitter.event;
    /** `treelane/runFinished`, decoded. */
    readonly onRunFinished = this.runFinishedEmitter.event;

    constructor(private readonly options: ServerOptions) {
        this.api = new TreelaneApi((command, argument) => this.send(command, argument));
        this.watcher = vscode.workspace.createFileSystemWatcher(`**/${CONFIG_FILE}`);
    }

    get state(): ServerState {
        switch (this.client?.state) {
            case State.Running:
                return 'running';
            case State.Starting:
                return 'starting';
            default:
                return 'stopped';
        }
    }

    /** The interpreter the server was last started with. */
    get interpreter(): Interpreter | undefined {
        return this.current;
    }

    /** The directory the server (and `treelane report`) runs in. */
    get workingDirectory(): string | undefined {
        return this.cwd;
    }

    start(): Promise<void> {
        return this.enqueue(() => this.doStart());
    }

    restart(): Promise<void> {
        return this.enqueue(async () => {
            await this.doStop();
            await this.doStart();
        });
    }

    stop(): Promise<void> {
        return this.enqueue(() => this.doStop());
    }

    async dispose(): Promise<void> {
        this.disposed = true;
        await this.stop();
        this.watcher.dispose();
        for (const emitter of [
            this.stateEmitter,
            this.startedEmitter,
            this.taskStateEmitter,
            this.outputEmitter,
            this.resourcesEmitter,
            this.runFinishedEmitter,
        ]) {
            emitter.dispose();
        }
    }

    private enqueue(step: () => Promise<void>): Promise<void> {
        const next = this.queue.then(step, step);
        this.queue = next.catch(() => undefined);
        return next;
    }

    /** Sends one server command with its single JSON-object argument. */
    private async send<C extends ServerCommandId>(command: C, argument: CommandArgs[C]): Promise<unknown> {
        if (!vscode.workspace.isTrusted && !isReadOnlyCommand(command)) {
            throw new Error(`"${command}" is not available in an untrusted workspace`);
        }
        await this.queue;
        const client = this.client;
        if (client === undefined || (client.state !== State.Running && client.state !== State.Starting)) {
            throw new Error('the Treelane server is not running (use "Treelane: Restart Server")');
        }
        // A JSON round trip drops `undefined` members and proves the argument is plain JSON.
        const plain: unknown = JSON.parse(JSON.stringify(argument));
        const result: unknown = await client.sendRequest(ExecuteCommandRequest.type, {
            command,
            arguments: [plain as object],
        });
        return result;
    }

    private async doStart(): Promise<void> {
        if (this.disposed) {
            return;
        }
        const folder = vscode.workspace.workspaceFolders?.[0];
        const trusted = vscode.workspace.isTrusted;
        const settings = getSettings(folder?.uri);
        const interpreter = await findInterpreter(settings, folder, trusted);
        // In an untrusted workspace the server does not run inside it, so
        // `python -m treelane` cannot import a module planted there.
        const cwd = trusted && folder?.uri.scheme === 'file' ? folder.uri.fsPath : this.options.safeDirectory;
        const args = serverArgs(settings.serverArgs);
        this.current = interpreter;
        this.cwd = cwd;
        logInfo(`Starting ${interpreter.command} ${args.join(' ')} (interpreter from ${interpreter.source}, cwd ${cwd})`);

        const executable: Executable = {
            command: interpreter.command,
            args,
            transport: TransportKind.stdio,
            options: { cwd, env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONIOENCODING: 'utf-8' } },
        };
        let reachedRunning = false;
        const client = new LanguageClient(CLIENT_ID, CLIENT_NAME, executable, this.clientOptions(trusted, () => reachedRunning));
        client.onDidChangeState((event) => {
            if (event.newState === State.Running) {
                reachedRunning = true;
            }
            if (this.client === client) {
                this.stateEmitter.fire(this.state);
            }
        });
        this.registerNotifications(client);
        this.client = client;
        this.stateEmitter.fire('starting');
        try {
            await client.start();
        } catch (e) {
            logError('The Treelane server did not start', e);
            this.stateEmitter.fire(this.state);
            void this.reportStartFailure(interpreter, e);
            return;
        }
        this.stateEmitter.fire(this.state);
        this.startedEmitter.fire();
    }

    private async doStop(): Promise<void> {
        const client = this.client;
        this.client = undefined;
        if (client === undefined) {
            return;
        }
        try {
            // dispose() stops the server and unregisters the server's commands,
            // so the next client can register them again.
            await client.dispose(5000);
        } catch (e) {
            logWarn(`Stopping the Treelane server failed: ${describeError(e)}`);
        }
        this.stateEmitter.fire('stopped');
    }

    private clientOptions(trusted: boolean, reachedRunning: () => boolean): LanguageClientOptions {
        return {
            documentSelector: [{ scheme: 'file', pattern: `**/${CONFIG_FILE}` }],
            synchronize: { fileEvents: this.watcher },
            outputChannel: this.options.log,
            traceOutputChannel: this.options.log,
            revealOutputChannelOn: RevealOutputChannelOn.Never,
            initializationOptions: { trusted, client: 'vscode' },
            errorHandler: new RestartingErrorHandler(reachedRunning),
            middleware: {
                // The server's own commands (treelane.start, …) that
                // vscode-languageclient registers: no changes when untrusted.
                executeCommand: (command, args, next) => {
                    if (!vscode.workspace.isTrusted && !isReadOnlyCommand(command)) {
                        void vscode.window.showWarningMessage(
                            `Treelane: "${command}" is not available in an untrusted workspace.`,
                        );
                        return undefined;
                    }
                    const result: unknown = next(command, args);
                    return result;
                },
            },
        };
    }

    private registerNotifications(client: LanguageClient): void {
        const on = <T>(method: string, decode: (value: unknown) => T, emitter: vscode.EventEmitter<T>): void => {
            client.onNotification(method, (params: unknown) => {
                let decoded: T;
                try {
                    decoded = decode(params);
                } catch (e) {
                    logWarn(`Ignoring a malformed ${method} notification: ${describeError(e)}`);
                    return;
                }
                if (this.client === client) {
                    emitter.fire(decoded);
                }
            });
        };
        on(ServerNotification.taskState, decodeTaskStateParams, this.taskStateEmitter);
        on(ServerNotification.output, decodeOutputParams, this.outputEmitter);
        on(ServerNotification.resources, decodeResourcesParams, this.resourcesEmitter);
        on(ServerNotification.runFinished, decodeRunFinishedParams, this.runFinishedEmitter);
    }

    private async reportStartFailure(interpreter: Interpreter, error: unknown): Promise<void> {
        const openSettings = 'Open Settings';
        const showLog = 'Show Log';
        const choice = await vscode.window.showErrorMessage(
            `Treelane: could not start "${interpreter.command} -m treelane serve" ` +
                `(interpreter from ${interpreter.source}): ${describeError(error)}. ` +
                'Is treelane installed in that interpreter? Set "treelane.python" to choose another.',
            openSettings,
            showLog,
        );
        if (choice === openSettings) {
            await vscode.commands.executeCommand('workbench.action.openSettings', `${CONFIG_SECTION}.python`);
        } else if (choice === showLog) {
            this.options.log.show(true);
        }
    }
}

/**
 * Restarts a server that crashed after it was up (at most MAX_RESTARTS times
 * in RESTART_WINDOW_MS); a server that dies while starting is not restarted,
 * since the start failure is reported on its own.
 */
class RestartingErrorHandler implements ErrorHandler {
    private readonly restarts: number[] = [];

    constructor(private readonly reachedRunning: () => boolean) {}

    error(_error: Error, _message: unknown, count: number | undefined): ErrorHandlerResult {
        return { action: count !== undefined && count <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown };
    }

    closed(): CloseHandlerResult {
        if (!this.reachedRunning()) {
            return { action: CloseAction.DoNotRestart, handled: true };
        }
        const now = Date.now();
        this.restarts.push(now);
        while (this.restarts.length > 0 && now - (this.restarts[0] ?? now) > RESTART_WINDOW_MS) {
            this.restarts.shift();
        }
        if (this.restarts.length <= MAX_RESTARTS) {
            return { action: CloseAction.Restart };
        }
        return {
            action: CloseAction.DoNotRestart,
            message:
                `The Treelane server stopped ${this.restarts.length} times in the last 3 minutes ` +
                'and will not be restarted. See the "Treelane" output, then use "Treelane: Restart Server".',
        };
    }
}
