/**
 * Runs the real treelane server (`python -m treelane serve`) over stdio and
 * talks LSP to it, the way vscode-languageclient does, without VS Code.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import {
    createProtocolConnection,
    ConfigurationRequest,
    ExecuteCommandRequest,
    ExitNotification,
    InitializedNotification,
    InitializeRequest,
    RegistrationRequest,
    ShowMessageRequest,
    ShutdownRequest,
    UnregistrationRequest,
    WorkDoneProgress,
    WorkDoneProgressCreateRequest,
    WorkspaceFoldersRequest,
    type InitializeResult,
    type ProtocolConnection,
    type WorkDoneProgressBegin,
    type WorkDoneProgressEnd,
    type WorkDoneProgressReport,
} from 'vscode-languageserver-protocol/node';
import { TreelaneApi } from '../../src/core/api';
import { serverArgs } from '../../src/core/interpreter';

const CLIENT_DIR = path.resolve(__dirname, '..', '..');

/** TREELANE_PYTHON, else ../.venv/bin/python relative to vscode-client. */
export function pythonPath(): string {
    return process.env.TREELANE_PYTHON ?? path.resolve(CLIENT_DIR, '..', '.venv', 'bin', 'python');
}

/** Fails (does not skip) when the server cannot be run. */
export function assertServerAvailable(python: string): void {
    const probe = spawnSync(python, ['-m', 'treelane', 'serve', '--help'], { encoding: 'utf8', timeout: 60_000 });
    if (probe.error !== undefined || probe.status !== 0) {
        const why = probe.error?.message ?? (probe.stderr.trim().split('\n').slice(-3).join('\n') || `exit ${probe.status}`);
        throw new Error(
            `The treelane server is not available: "${python} -m treelane serve --help" failed:\n${why}\n` +
                'Install treelane into that interpreter or set TREELANE_PYTHON.',
        );
    }
}

function git(cwd: string, ...args: string[]): string {
    const result = spawnSync('git', args, { cwd, encoding: 'utf8' });
    if (result.status !== 0) {
        throw new Error(`git ${args.join(' ')} failed: ${result.stderr}`);
    }
    return result.stdout.trim();
}

export interface Repo {
    root: string;
    git(...args: string[]): string;
    dispose(): void;
}

/** A fresh git repository with the fixture treelane.toml committed on main. */
export function makeRepo(): Repo {
    const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'treelane-e2e-')));
    git(root, 'init', '--quiet', '--initial-branch=main');
    git(root, 'config', 'user.email', 'e2e@treelane.invalid');
    git(root, 'config', 'user.name', 'treelane e2e');
    git(root, 'config', 'commit.gpgsign', 'false');
    writeFileSync(path.join(root, 'treelane.toml'), fixtureToml());
    writeFileSync(path.join(root, 'README.md'), '# e2e fixture\n');
    git(root, 'add', '-A');
    git(root, 'commit', '--quiet', '-m', 'fixture');
    return {
        root,
        git: (...args: string[]) => git(root, ...args),
        dispose: () => rmSync(root, { recursive: true, force: true }),
    };
}

export function fixtureToml(): string {
    return readFileSync(path.join(__dirname, 'fixtures', 'treelane.toml'), 'utf8');
}

export type ProgressValue = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

/** Every notification the server sent, in order. */
export interface Received {
    method: string;
    params: unknown;
}

export class ServerSession {
    readonly api: TreelaneApi;
    readonly received: Received[] = [];
    readonly progress: { token: string | number; value: ProgressValue }[] = [];
    readonly progressTokens: (string | number)[] = [];
    private stderr = '';
    private readonly listeners = new Set<() => void>();
    private exited = false;

    private constructor(
        private readonly process: ChildProcessWithoutNullStreams,
        readonly connection: ProtocolConnection,
    ) {
        this.api = new TreelaneApi(async (command, argument) => {
            const plain: unknown = JSON.parse(JSON.stringify(argument));
            const result: unknown = await connection.sendRequest(ExecuteCommandRequest.type, {
                command,
                arguments: [plain as object],
            });
            return result;
        });
    }

    static start(python: string, root: string): ServerSession {
        const child = spawn(python, serverArgs([]), {
            cwd: root,
            env: { ...process.env, PYTHONUNBUFFERED: '1' },
            stdio: 'pipe',
        });
        const connection = createProtocolConnection(
            new StreamMessageReader(child.stdout),
            new StreamMessageWriter(child.stdin),
        );
        const session = new ServerSession(child, connection);
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', (chunk: string) => {
            session.stderr = (session.stderr + chunk).slice(-20_000);
        });
        child.on('exit', () => {
            session.exited = true;
            session.notify();
        });

        // Server-initiated progress, as vscode-languageclient handles it.
        connection.onRequest(WorkDoneProgressCreateRequest.type, (params) => {
            session.progressTokens.push(params.token);
            connection.onProgress(WorkDoneProgress.type, params.token, (value) => {
                session.progress.push({ token: params.token, value });
                session.notify();
            });
        });
        // Other requests a server may send to its client.
        connection.onRequest(ConfigurationRequest.type, (params) => params.items.map(() => null));
        connection.onRequest(RegistrationRequest.type, () => undefined);
        connection.onRequest(UnregistrationRequest.type, () => undefined);
        connection.onRequest(WorkspaceFoldersRequest.type, () => [
            { uri: pathToFileURL(root).href, name: path.basename(root) },
        ]);
        connection.onRequest(ShowMessageRequest.type, () => null);
        // Every notification (none has its own handler).
        connection.onUnhandledNotification((message) => {
            session.received.push({ method: message.method, params: message.params });
            session.notify();
        });
        connection.listen();
        return session;
    }

    async initialize(root: string): Promise<InitializeResult> {
        const rootUri = pathToFileURL(root).href;
        const result = await this.connection.sendRequest(InitializeRequest.type, {
            processId: process.pid,
            clientInfo: { name: 'treelane-e2e' },
            rootUri,
            workspaceFolders: [{ uri: rootUri, name: path.basename(root) }],
            capabilities: {
                window: { workDoneProgress: true },
                workspace: { workspaceFolders: true, configuration: true, executeCommand: { dynamicRegistration: false } },
            },
            initializationOptions: { trusted: true, client: 'e2e' },
        });
        await this.connection.sendNotification(InitializedNotification.type, {});
        return result;
    }

    notifications(method: string): unknown[] {
        return this.received.filter((r) => r.method === method).map((r) => r.params);
    }

    /** Resolves once `probe` returns a value, checking after every message. */
    waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 120_000): Promise<T> {
        return new Promise((resolve, reject) => {
            const check = (): boolean => {
                const value = probe();
                if (value !== undefined) {
                    cleanup();
                    resolve(value);
                    return true;
                }
                if (this.exited) {
                    cleanup();
                    reject(new Error(`the server exited while waiting for ${what}\n--- server stderr ---\n${this.stderr}`));
                    return true;
                }
                return false;
            };
            const timer = setTimeout(() => {
                cleanup();
                reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n--- server stderr ---\n${this.stderr}`));
            }, timeoutMs);
            const listener = (): void => {
                check();
            };
            const cleanup = (): void => {
                clearTimeout(timer);
                this.listeners.delete(listener);
            };
            if (!check()) {
                this.listeners.add(listener);
            }
        });
    }

    get serverStderr(): string {
        return this.stderr;
    }

    /** shutdown + exit; kills the server if it does not exit in time. */
    async stop(): Promise<void> {
        if (!this.exited) {
            try {
                await Promise.race([
                    this.connection.sendRequest(ShutdownRequest.type),
                    new Promise((resolve) => setTimeout(resolve, 10_000)),
                ]);
                await this.connection.sendNotification(ExitNotification.type);
            } catch {
                // The server may already be gone.
            }
            await new Promise<void>((resolve) => {
                if (this.exited) {
                    resolve();
                    return;
                }
                const timer = setTimeout(() => {
                    this.process.kill('SIGKILL');
                    resolve();
                }, 10_000);
                this.process.once('exit', () => {
                    clearTimeout(timer);
                    resolve();
                });
            });
        }
        this.connection.dispose();
    }

    private notify(): void {
        for (const listener of [...this.listeners]) {
            listener();
        }
    }
}
