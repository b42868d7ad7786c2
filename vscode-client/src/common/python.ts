/**
 * Finding the Python interpreter: the `treelane.python` setting, else the
 * interpreter selected in the Python extension (if it is installed), else
 * python3. Everything about the Python extension is guarded: it may be
 * missing, inactive, failing, or have a different API.
 */
import * as os from 'node:os';
import * as vscode from 'vscode';
import { resolveInterpreter, type Interpreter } from '../core/interpreter';
import { CONFIG_SECTION, ConfigKey, PYTHON_EXTENSION_ID } from './constants';
import { logWarn } from './log';
import type { TreelaneSettings } from './settings';

interface EnvironmentPath {
    id: string;
    path: string;
}

/** The part of the Python extension's `environments` API we use. */
interface PythonEnvironments {
    getActiveEnvironmentPath(resource?: vscode.Uri): EnvironmentPath;
    resolveEnvironment?(environment: EnvironmentPath | string): Promise<unknown>;
    onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
}

function hasFunction(value: object, name: string): boolean {
    return typeof (value as Record<string, unknown>)[name] === 'function';
}

function asEnvironments(exports: unknown): PythonEnvironments | undefined {
    if (typeof exports !== 'object' || exports === null) {
        return undefined;
    }
    const environments = (exports as { environments?: unknown }).environments;
    if (typeof environments !== 'object' || environments === null) {
        return undefined;
    }
    return hasFunction(environments, 'getActiveEnvironmentPath') ? (environments as PythonEnvironments) : undefined;
}

async function pythonEnvironments(): Promise<PythonEnvironments | undefined> {
    const extension = vscode.extensions.getExtension<unknown>(PYTHON_EXTENSION_ID);
    if (extension === undefined) {
        return undefined;
    }
    try {
        const exports: unknown = extension.isActive ? extension.exports : await extension.activate();
        return asEnvironments(exports);
    } catch (e) {
        logWarn(`Could not use the Python extension: ${String(e)}`);
        return undefined;
    }
}

/** The executable inside a resolved environment, if the API gave one. */
function executablePath(resolved: unknown): string | undefined {
    if (typeof resolved !== 'object' || resolved === null) {
        return undefined;
    }
    const executable = (resolved as { executable?: unknown }).executable;
    if (typeof executable !== 'object' || executable === null) {
        return undefined;
    }
    const uri = (executable as { uri?: unknown }).uri;
    return uri instanceof vscode.Uri ? uri.fsPath : undefined;
}

/** The Python extension's selected interpreter for `resource`, if any. */
export async function pythonExtensionInterpreter(resource?: vscode.Uri): Promise<string | undefined> {
    const environments = await pythonEnvironments();
    if (environments === undefined) {
        return undefined;
    }
    try {
        const active = environments.getActiveEnvironmentPath(resource);
        if (environments.resolveEnvironment !== undefined) {
            const resolved = executablePath(await environments.resolveEnvironment(active));
            if (resolved) {
                return resolved;
            }
        }
        return typeof active.path === 'string' && active.path.length > 0 ? active.path : undefined;
    } catch (e) {
        logWarn(`Could not get the interpreter from the Python extension: ${String(e)}`);
        return undefined;
    }
}

/** Calls `listener` when the Python extension's selected interpreter changes. */
export function onDidChangePythonInterpreter(listener: () => void): vscode.Disposable {
    let inner: vscode.Disposable | undefined;
    let disposed = false;
    void pythonEnvironments().then((environments) => {
        const event = environments?.onDidChangeActiveEnvironmentPath;
        if (disposed || typeof event !== 'function') {
            return;
        }
        try {
            inner = event(() => listener());
        } catch (e) {
            logWarn(`Could not watch the Python extension's interpreter: ${String(e)}`);
        }
    });
    return new vscode.Disposable(() => {
        disposed = true;
        inner?.dispose();
    });
}

/**
 * The interpreter to run treelane with. In an untrusted workspace the Python
 * extension is not asked: its interpreter may live inside the workspace.
 * (`treelane.python` is a restricted setting: there VS Code only returns the
 * user's own value.)
 */
export async function findInterpreter(
    settings: TreelaneSettings,
    folder: vscode.WorkspaceFolder | undefined,
    trusted: boolean,
): Promise<Interpreter> {
    const fromExtension = settings.python.trim() || !trusted ? undefined : await pythonExtensionInterpreter(folder?.uri);
    return resolveInterpreter({
        setting: settings.python,
        pythonExtension: fromExtension,
        workspaceFolder: folder?.uri.fsPath,
        home: os.homedir(),
        env: process.env,
    });
}

/**
 * "Select Interpreter…": the Python extension's picker when it is installed (treelane then
 * follows its choice unless treelane.python is set), else a file dialog whose choice is
 * written to treelane.python in the User settings.
 */
export async function selectInterpreter(): Promise<void> {
    if (vscode.extensions.getExtension(PYTHON_EXTENSION_ID) !== undefined) {
        await vscode.commands.executeCommand('python.setInterpreter');
        return;
    }
    const picked = await vscode.window.showOpenDialog({
        title: 'Treelane: the Python interpreter that has treelane installed',
        openLabel: 'Use This Interpreter',
        canSelectMany: false,
        canSelectFolders: false,
    });
    const file = picked?.[0];
    if (file !== undefined) {
        await vscode.workspace
            .getConfiguration(CONFIG_SECTION)
            .update(ConfigKey.python, file.fsPath, vscode.ConfigurationTarget.Global);
    }
}
