/**
 * The extension's log: one LogOutputChannel ("Treelane"), shared with
 * vscode-languageclient, which also writes the protocol trace into it.
 */
import * as vscode from 'vscode';
import { describeError } from '../core/errors';

let channel: vscode.LogOutputChannel | undefined;

export function createLogChannel(name: string): vscode.LogOutputChannel {
    channel = vscode.window.createOutputChannel(name, { log: true });
    return channel;
}

export function logInfo(message: string): void {
    channel?.info(message);
}

export function logWarn(message: string): void {
    channel?.warn(message);
}

export function logError(message: string, error?: unknown): void {
    if (error === undefined) {
        channel?.error(message);
    } else if (error instanceof Error) {
        channel?.error(message, error);
    } else {
        channel?.error(`${message}: ${describeError(error)}`);
    }
}

export function showLog(): void {
    channel?.show(true);
}
