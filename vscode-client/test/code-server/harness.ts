/**
 * The extension inside a real VS Code: code-server (VS Code 1.100.3's web workbench over a
 * remote extension host) with the built .vsix installed, a generated repository, and
 * Debian's Chromium driven by playwright-core.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CLIENT_DIR = path.resolve(__dirname, '..', '..');
export const CODE_SERVER_VERSION = '4.100.3';
const CODE_SERVER_DIR = process.env.TREELANE_CODE_SERVER_DIR ?? path.join(CLIENT_DIR, '.code-server');
const ENTRY = path.join(CODE_SERVER_DIR, `code-server-${CODE_SERVER_VERSION}`, 'out', 'node', 'entry.js');
export const RESULTS_DIR = path.join(CLIENT_DIR, 'test', 'e2e-results');
const CHROMIUM = process.env.TREELANE_CHROMIUM ?? '/usr/bin/chromium';

/** TREELANE_PYTHON, else ../.venv/bin/python relative to vscode-client. */
export function pythonPath(): string {
    return process.env.TREELANE_PYTHON ?? path.resolve(CLIENT_DIR, '..', '.venv', 'bin', 'python');
}

let prepared: { vsix: string; extensionsDir: string; scratch: string } | undefined;

/**
 * Installs code-server (idempotent), packages the extension and installs the .vsix into a
 * fresh extensions folder shared by the sessions of this process.
 */
export function prepare(): { vsix: string; extensionsDir: string; scratch: string } {
    if (prepared !== undefined) {
        return prepared;
    }
    execFileSync('bash', [path.join(__dirname, 'install.sh'), CODE_SERVER_DIR], { stdio: 'inherit' });
    const scratch = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'treelane-code-server-')));
    const vsix = path.join(scratch, 'treelane.vsix');
    execFileSync('npx', ['--no-install', 'vsce', 'package', '--no-dependencies', '--out', vsix], {
        cwd: CLIENT_DIR,
        stdio: ['ignore', 'ignore', 'inherit'],
    });
    const extensionsDir = path.join(scratch, 'extensions');
    codeServerCli(['--extensions-dir', extensionsDir, '--user-data-dir', path.join(scratch, 'install-data'), '--install-extension', vsix]);
    prepared = { vsix, extensionsDir, scratch };
    return prepared;
}

function codeServerCli(args: string[]): string {
    const result = spawnSync(process.execPath, [ENTRY, ...args], {
        encoding: 'utf8',
        env: { ...process.env, XDG_CONFIG_HOME: path.join(os.tmpdir(), 'treelane-code-server-config') },
    });
    if (result.status !== 0) {
        throw new Error(`code-server ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
    }
    return result.stdout;
}

function git(cwd: string, ...args: string[]): string {
    const result = spawnSync('git', args, { cwd, encoding: 'utf8' });
    if (result.status !== 0) {
        throw new Error(`git ${args.join(' ')} failed: ${result.stderr}`);
    }
    return result.stdout.trim();
}

export const FIXTURE_TOML = `# Workflows of the VS Code end-to-end suite.

[workflows.diamond]
description = "a -> [b, c] -> d"

[workflows.diamond.tasks.a]
run = "echo a > a.txt"

[workflows.diamond.tasks.b]
run = "echo b > b.txt"
needs = ["a"]

[workflows.diamond.tasks.c]
run = "echo c > c.txt"
needs = ["a"]

[workflows.diamond.tasks.d]
run = "echo d > d.txt"
needs = ["b", "c"]

[workflows.slow]
description = "one task that takes a while (cancel me)"

[workflows.slow.tasks.wait]
run = "sleep 120"
`;

/** A fresh git repository with FIXTURE_TOML committed on main. */
export function makeRepo(toml = FIXTURE_TOML): { root: string; git(...args: string[]): string } {
    const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'treelane-vscode-')));
    git(root, 'init', '--quiet', '--initial-branch=main');
    git(root, 'config', 'user.email', 'e2e@treelane.invalid');
    git(root, 'config', 'user.name', 'treelane e2e');
    git(root, 'config', 'commit.gpgsign', 'false');
    writeFileSync(path.join(root, 'treelane.toml'), toml);
    writeFileSync(path.join(root, 'README.md'), '# e2e fixture\n');
    git(root, 'add', '-A');
    git(root, 'commit', '--quiet', '-m', 'fixture');
    return { root, git: (...args: string[]) => git(root, ...args) };
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const address = server.address();
            server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
        });
    });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 120_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await probe();
        if (value !== undefined) {
            return value;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what}`);
        }
        await new Promise((r) => setTimeout(r, 200));
    }
}

export interface SessionOptions {
    folder: string;
    /** Written to the User settings.json (merged over the suite's defaults). */
    userSettings?: Record<string, unknown>;
    /** false: Restricted Mode (workspace trust on, never asked). */
    trusted?: boolean;
}

export interface Session {
    page: Page;
    userDataDir: string;
    /** Every file under the session's logs folder whose name matches. */
    logFiles(pattern: RegExp): string[];
    /** The extension's "Treelane" log output channel, as written to disk. */
    treelaneLog(): string;
    /** The extension host's log. */
    exthostLog(): string;
    screenshot(name: string): Promise<string>;
    close(): Promise<void>;
}

function walk(dir: string): string[] {
    if (!existsSync(dir)) {
        return [];
    }
    return readdirSync(dir).flatMap((name) => {
        const full = path.join(dir, name);
        return statSync(full).isDirectory() ? walk(full) : [full];
    });
}

/** Starts code-server on a free 127.0.0.1 port, opens FOLDER in headless Chromium. */
export async function openSession(options: SessionOptions): Promise<Session> {
    const { extensionsDir, scratch } = prepare();
    const userDataDir = mkdtempSync(path.join(scratch, 'user-data-'));
    mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
    const trusted = options.trusted ?? true;
    const settings = {
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'workbench.welcomePage.walkthroughs.openOnInstall': false,
        'workbench.enableExperiments': false,
        'telemetry.telemetryLevel': 'off',
        'update.mode': 'none',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'extensions.ignoreRecommendations': true,
        'git.openRepositoryInParentFolders': 'never',
        'security.workspace.trust.enabled': true,
        'security.workspace.trust.startupPrompt': 'never',
        'security.workspace.trust.banner': 'never',
        ...options.userSettings,
    };
    writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(settings, null, 4));
    const port = await freePort();
    const args = [
        ENTRY,
        '--auth', 'none',
        '--bind-addr', `127.0.0.1:${port}`,
        '--user-data-dir', userDataDir,
        '--extensions-dir', extensionsDir,
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-getting-started-override',
        ...(trusted ? ['--disable-workspace-trust'] : []),
        options.folder,
    ];
    const serverLog: string[] = [];
    const proc: ChildProcess = spawn(process.execPath, args, {
        env: { ...process.env, XDG_CONFIG_HOME: path.join(userDataDir, 'config') },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout?.on('data', (d: Buffer) => serverLog.push(d.toString()));
    proc.stderr?.on('data', (d: Buffer) => serverLog.push(d.toString()));
    const url = `http://127.0.0.1:${port}/`;
    await waitFor(`code-server on ${url} (log: ${serverLog.join('')})`, async () => {
        if (proc.exitCode !== null) {
            throw new Error(`code-server exited ${proc.exitCode}: ${serverLog.join('')}`);
        }
        try {
            const response = await fetch(`${url}healthz`);
            return response.ok ? true : undefined;
        } catch {
            return undefined;
        }
    });

    const browser: Browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
            ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-default-apps',
            '--disable-dev-shm-usage',
            '--disable-gpu',
            '--disable-sync',
            '--no-first-run',
            '--password-store=basic',
        ],
    });
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${url}?folder=${encodeURIComponent(options.folder)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 120_000 });

    const logsDir = path.join(userDataDir, 'logs');
    const logFiles = (pattern: RegExp): string[] => walk(logsDir).filter((f) => pattern.test(path.basename(f)));
    const read = (files: string[]): string => files.map((f) => readFileSync(f, 'utf8')).join('\n');
    mkdirSync(RESULTS_DIR, { recursive: true });
    return {
        page,
        userDataDir,
        logFiles,
        treelaneLog: () => read(logFiles(/^\d*-?Treelane\.log$/)),
        exthostLog: () => read(logFiles(/exthost\.log$/)),
        screenshot: async (name: string) => {
            const file = path.join(RESULTS_DIR, `${name}.png`);
            await page.screenshot({ path: file });
            return file;
        },
        close: async () => {
            await browser.close().catch(() => undefined);
            proc.kill('SIGTERM');
            await new Promise<void>((resolve) => {
                if (proc.exitCode !== null) {
                    resolve();
                } else {
                    proc.once('exit', () => resolve());
                }
            });
        },
    };
}

export function removeScratch(): void {
    if (prepared !== undefined) {
        rmSync(prepared.scratch, { recursive: true, force: true });
        prepared = undefined;
    }
}
