/**
 * Reading the extension's settings.
 */
import * as vscode from 'vscode';
import { CONFIG_SECTION, ConfigKey } from './constants';

export interface TreelaneSettings {
    /** `treelane.python`: an interpreter path, or empty. */
    python: string;
    /** Which settings file `python` came from (for the log), undefined when unset. */
    pythonScope: string | undefined;
    /** `treelane.serverArgs`: appended to `python -m treelane serve`. */
    serverArgs: string[];
    /** `treelane.progressLocation`: where a run's progress shows. */
    progressLocation: 'notification' | 'window';
}

/**
 * The settings for `folder` (resource scope resolution: folder, workspace, then User and, in a
 * remote window, Remote settings). `treelane.python` and `treelane.serverArgs` are read
 * through inspect(): in an untrusted workspace only the User's (and Remote) value counts.
 */
export function getSettings(folder?: vscode.Uri): TreelaneSettings {
    const config = vscode.workspace.getConfiguration(CONFIG_SECTION, folder ?? null);
    const trusted = vscode.workspace.isTrusted;
    const python = resolve<unknown>(config, ConfigKey.python, trusted);
    const serverArgs = resolve<unknown>(config, ConfigKey.serverArgs, trusted);
    const location = config.get<unknown>(ConfigKey.progressLocation);
    const pythonValue = typeof python.value === 'string' ? python.value : '';
    return {
        python: pythonValue,
        pythonScope: pythonValue.trim() ? python.scope : undefined,
        serverArgs: Array.isArray(serverArgs.value)
            ? serverArgs.value.filter((a): a is string => typeof a === 'string')
            : [],
        progressLocation: location === 'window' ? 'window' : 'notification',
    };
}

function resolve<T>(config: vscode.WorkspaceConfiguration, key: string, trusted: boolean): { value: T | undefined; scope: string } {
    const info = config.inspect<T>(key);
    if (info !== undefined) {
        if (trusted && info.workspaceFolderValue !== undefined) {
            return { value: info.workspaceFolderValue, scope: 'folder settings' };
        }
        if (trusted && info.workspaceValue !== undefined) {
            return { value: info.workspaceValue, scope: 'workspace settings' };
        }
        if (info.globalValue !== undefined) {
            return { value: info.globalValue, scope: vscode.env.remoteName ? 'User or Remote settings' : 'User settings' };
        }
    }
    // Policy or other sources inspect() does not break down.
    return { value: config.get<T>(key), scope: 'default' };
}

/** Whether a configuration change needs a server restart (the trace level does not). */
export function affectsServer(event: vscode.ConfigurationChangeEvent): boolean {
    return (
        event.affectsConfiguration(`${CONFIG_SECTION}.${ConfigKey.python}`) ||
        event.affectsConfiguration(`${CONFIG_SECTION}.${ConfigKey.serverArgs}`)
    );
}
