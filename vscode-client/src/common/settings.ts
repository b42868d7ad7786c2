/**
 * Reading the extension's settings.
 */
import * as vscode from 'vscode';
import { CONFIG_SECTION, ConfigKey } from './constants';

export interface TreelaneSettings {
    /** `treelane.python`: an interpreter path, or empty. */
    python: string;
    /** `treelane.serverArgs`: appended to `python -m treelane serve`. */
    serverArgs: string[];
}

export function getSettings(scope?: vscode.ConfigurationScope): TreelaneSettings {
    const config = vscode.workspace.getConfiguration(CONFIG_SECTION, scope);
    const python = config.get<unknown>(ConfigKey.python);
    const serverArgs = config.get<unknown>(ConfigKey.serverArgs);
    return {
        python: typeof python === 'string' ? python : '',
        serverArgs: Array.isArray(serverArgs) ? serverArgs.filter((a): a is string => typeof a === 'string') : [],
    };
}

/** Whether a configuration change needs a server restart (the trace level does not). */
export function affectsServer(event: vscode.ConfigurationChangeEvent): boolean {
    return (
        event.affectsConfiguration(`${CONFIG_SECTION}.${ConfigKey.python}`) ||
        event.affectsConfiguration(`${CONFIG_SECTION}.${ConfigKey.serverArgs}`)
    );
}
