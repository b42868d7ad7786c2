/**
 * A notification when a run finishes, with the next useful step.
 */
import * as vscode from 'vscode';
import { formatDuration } from '../core/format';
import type { RunFinishedParams } from '../core/protocol';
import { UiCommand } from '../common/constants';
import type { RunNode } from './runsTree';
import type { RunsController } from './runsController';

export function notifyRunFinished(runs: RunsController): vscode.Disposable {
    return runs.onDidFinishRun((params) => {
        void show(params);
    });
}

async function show(params: RunFinishedParams): Promise<void> {
    const node: RunNode = { kind: 'run', run: params.run };
    const name = `${params.workflow || 'run'} ${params.run}`;
    const duration = params.durationMs !== null ? ` in ${formatDuration(params.durationMs)}` : '';
    const showOutput = 'Show Output';
    if (params.state === 'succeeded') {
        const merge = 'Merge…';
        const choice = await vscode.window.showInformationMessage(
            `Treelane: ${name} succeeded${duration}.`,
            merge,
            showOutput,
        );
        if (choice === merge) {
            await vscode.commands.executeCommand(UiCommand.merge, node);
        } else if (choice === showOutput) {
            await vscode.commands.executeCommand(UiCommand.showOutput, node);
        }
        return;
    }
    if (params.state === 'failed' || params.state === 'interrupted') {
        const problems = 'Show Problems';
        const choice = await vscode.window.showWarningMessage(
            `Treelane: ${name} ${params.state}${duration}.`,
            showOutput,
            problems,
        );
        if (choice === showOutput) {
            await vscode.commands.executeCommand(UiCommand.showOutput, node);
        } else if (choice === problems) {
            await vscode.commands.executeCommand('workbench.actions.view.problems');
        }
    }
}
