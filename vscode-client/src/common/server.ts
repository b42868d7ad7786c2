/**
 * The language client's lifecycle: start `python -m treelane serve` over
 * stdio, restart it on demand, and send it commands.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import * as vscode from 'vscode';
import {
    CloseAction,
    ErrorAction,
    ExecuteCommandRequest,
    MessageType,
    ShowMessageNotification,
    type ShowMessageParams,
    LanguageClient,
    RevealOutputChannelOn,
    State,
    type CloseHandlerResult,
    type ErrorHandler,
    type ErrorHandlerResult,
    type LanguageClientOptions,
} from 'vscode-languageclient/node';
import { TreelaneApi } from '../core/api';
import {
    decodeOutputParams,
    decodeResourcesParams,
    decodeRunFinishedParams,
    decodeTaskStateMessage,
} from '../core/decode';
import { describeError } from '../core/errors';
import { describeStartFailure, forwardedToClient, isRunOutcomeNotice, StderrClassifier, type StartFailure } from '../core/serverProcess';
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
import { CLIENT_ID, CLIENT_NAME, CONFIG_FILE, CONFIG_SECTION, UiCommand } from './constants';
import { logError, logInfo, logWarn } from './log';
import { findInterpreter } from './python';
import { getSettings, type TreelaneSettings } from './settings';

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
        // --stdio and --clientProcessId as vscode-languageclient passes them for stdio servers:
        // the server exits when this extension host does.
        const args = [...serverArgs(settings.serverArgs), '--stdio', `--clientProcessId=${process.pid}`];
        this.current = interpreter;
        this.cwd = cwd;
        logInfo(
            `Starting ${interpreter.command} ${args.join(' ')} (interpreter ${describeSource(interpreter, settings)}, cwd ${cwd})`,
        );

        const launch: ServerLaunch = {
            command: interpreter.command,
            args,
            cwd,
            env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONIOENCODING: 'utf-8' },
        };
        // Ask the interpreter first: a missing or broken treelane is then reported once, by us,
        // instead of as the language client's generic "couldn't create connection" error.
        this.stateEmitter.fire('starting');
        const probe = await probeInterpreter({ ...launch, cwd: this.options.safeDirectory });
        if (probe !== undefined) {
            const message = describeStartFailure({ ...probe, command: interpreter.command, source: interpreter.source });
            logError(message);
            this.stateEmitter.fire('stopped');
            void this.reportStartFailure(message);
            return;
        }
        const started = new StartedProcess();
        let reachedRunning = false;
        const serverOptions = Object.assign(() => Promise.resolve(started.spawn(launch)), { launch });
        const client = new LanguageClient(
            CLIENT_ID,
            CLIENT_NAME,
            serverOptions,
            this.clientOptions(trusted, () => reachedRunning, started),
        );
        client.onDidChangeState((event) => {
            if (event.newState === State.Running) {
                reachedRunning = true;
            }
            if (this.client === client) {
                this.stateEmitter.fire(this.state);
            }
        });
        // The extension shows its own cancellable progress per run (ui/runProgress): without
        // this, the library would also show the server's work-done progress in the status bar.
        client.registerFeature({
            getState: () => ({ kind: 'static' }),
            fillClientCapabilities: (capabilities) => {
                capabilities.window = { ...capabilities.window, workDoneProgress: false };
            },
            initialize: () => undefined,
            clear: () => undefined,
        });
        this.registerNotifications(client);
        client.onNotification(ShowMessageNotification.type, (params) => showServerMessage(params));
        this.client = client;
        this.stateEmitter.fire('starting');
        try {
            await client.start();
        } catch (e) {
            const failure = await started.failure(interpreter, e);
            const message = describeStartFailure(failure);
            logError(message);
            this.stateEmitter.fire(this.state);
            void this.reportStartFailure(message);
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

    private clientOptions(trusted: boolean, reachedRunning: () => boolean, started: StartedProcess): LanguageClientOptions {
        return {
            documentSelector: [{ scheme: 'file', pattern: `**/${CONFIG_FILE}` }],
            // The server reloads treelane.toml on workspace/didChangeWatchedFiles.
            synchronize: { fileEvents: this.watcher },
            outputChannel: this.options.log,
            traceOutputChannel: this.options.log,
            revealOutputChannelOn: RevealOutputChannelOn.Never,
            // Batched taskState: a big matrix's changes in far fewer messages (both forms are decoded).
            initializationOptions: { trusted, client: 'vscode', batchTaskState: true },
            errorHandler: new RestartingErrorHandler(reachedRunning),
            // A failed start is reported once, by reportStartFailure (not the library's toast).
            initializationFailedHandler: () => false,
            stdioOptions: {
                stdout: (input) => input.resume(),
                stderr: (input, channel) => started.pipeStderr(input, channel, reachedRunning),
            },
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
        /** `decode` gives the events a message carries (a batch of taskState changes: several). */
        const on = <T>(method: string, decode: (value: unknown) => T[], emitter: vscode.EventEmitter<T>): void => {
            client.onNotification(method, (params: unknown) => {
                let decoded: T[];
                try {
                    decoded = decode(params);
                } catch (e) {
                    logWarn(`Ignoring a malformed ${method} notification: ${describeError(e)}`);
                    return;
                }
                if (this.client === client) {
                    for (const event of decoded) {
                        emitter.fire(event);
                    }
                }
            });
        };
        const one =
            <T>(decode: (value: unknown) => T) =>
            (value: unknown): T[] => [decode(value)];
        on(ServerNotification.taskState, decodeTaskStateMessage, this.taskStateEmitter);
        on(ServerNotification.output, one(decodeOutputParams), this.outputEmitter);
        on(ServerNotification.resources, one(decodeResourcesParams), this.resourcesEmitter);
        on(ServerNotification.runFinished, one(decodeRunFinishedParams), this.runFinishedEmitter);
    }

    private async reportStartFailure(message: string): Promise<void> {
        const selectInterpreter = 'Select Interpreter…';
        const openSettings = 'Open Settings';
        const showLog = 'Show Log';
        const choice = await vscode.window.showErrorMessage(message, selectInterpreter, openSettings, showLog);
        if (choice === selectInterpreter) {
            await vscode.commands.executeCommand(UiCommand.selectInterpreter);
        } else if (choice === openSettings) {
            await vscode.commands.executeCommand('workbench.action.openSettings', `${CONFIG_SECTION}.python`);
        } else if (choice === showLog) {
            this.options.log.show(true);
        }
    }
}

/**
 * `window/showMessage` from the server. A run's outcome is already one notification of the
 * extension's (runNotifications), so the server's "run … failed: …" notice only goes to the log.
 */
function showServerMessage(params: ShowMessageParams): void {
    if (isRunOutcomeNotice(params.message)) {
        logWarn(params.message);
        return;
    }
    const text = `Treelane: ${params.message}`;
    if (params.type === MessageType.Error) {
        void vscode.window.showErrorMessage(text);
    } else if (params.type === MessageType.Warning) {
        void vscode.window.showWarningMessage(text);
    } else {
        void vscode.window.showInformationMessage(text);
    }
}

/** Where the interpreter came from, for the log: the setting's scope, or the fallback. */
function describeSource(interpreter: Interpreter, settings: TreelaneSettings): string {
    if (interpreter.source === 'setting') {
        return `from the treelane.python setting (${settings.pythonScope ?? 'default'})`;
    }
    return interpreter.source === 'python-extension' ? 'from the Python extension' : 'default';
}

export interface ServerLaunch {
    command: string;
    args: string[];
    cwd: string;
    env: NodeJS.ProcessEnv;
}

/** The import a server needs; what a failed import said. */
const PROBE = 'import treelane.server.server';

function probeInterpreter(launch: ServerLaunch): Promise<Pick<StartFailure, 'exitCode' | 'spawnError' | 'stderr'> | undefined> {
    return new Promise((resolve) => {
        execFile(
            launch.command,
            ['-c', PROBE],
            { cwd: launch.cwd, env: launch.env, timeout: 60_000, encoding: 'utf8' },
            (error, _stdout, stderr) => {
                if (error === null) {
                    resolve(undefined);
                    return;
                }
                const code = (error as { code?: unknown }).code;
                resolve({
                    exitCode: typeof code === 'number' ? code : null,
                    spawnError: typeof code === 'string' ? `${code} (${error.message})` : undefined,
                    stderr: stderr.split(/\r?\n/).slice(0, 50),
                });
            },
        );
    });
}

/** The server's process: spawned for the language client, watched for a failed start. */
class StartedProcess {
    private child: ChildProcess | undefined;
    private spawnError: string | undefined;
    private readonly stderr: string[] = [];
    private exited: Promise<number | null> | undefined;

    spawn(launch: ServerLaunch): ChildProcess {
        const child = spawn(launch.command, launch.args, { cwd: launch.cwd, env: launch.env, stdio: 'pipe' });
        this.child = child;
        this.exited = new Promise((resolve) => {
            child.once('error', (e) => {
                this.spawnError = e.message;
                resolve(null);
            });
            child.once('exit', (code) => resolve(code));
        });
        return child;
    }

    /** Logs each stderr line at its level; keeps the first lines for a start failure. */
    pipeStderr(input: NodeJS.ReadableStream, channel: vscode.OutputChannel, connected: () => boolean): void {
        const classifier = new StderrClassifier();
        const log = channel as vscode.LogOutputChannel;
        createInterface({ input, crlfDelay: Infinity, terminal: false }).on('line', (text) => {
            if (this.stderr.length < 50) {
                this.stderr.push(text);
            }
            const line = classifier.classify(text);
            if (!forwardedToClient(line, connected())) {
                log[line.level](text);
            }
        });
    }

    /** What is known about a failed start (waits briefly for the exit code). */
    async failure(interpreter: Interpreter, error: unknown): Promise<StartFailure> {
        const exitCode = await Promise.race([
            this.exited ?? Promise.resolve(null),
            new Promise<null>((resolve) => setTimeout(() => resolve(null), 3000)),
        ]);
        if (exitCode === null && this.spawnError === undefined && this.child?.exitCode === null) {
            logWarn(`The server did not answer initialize: ${describeError(error)}`);
        }
        return {
            command: interpreter.command,
            source: interpreter.source,
            exitCode: exitCode ?? this.child?.exitCode ?? null,
            spawnError: this.spawnError,
            stderr: this.stderr,
        };
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
