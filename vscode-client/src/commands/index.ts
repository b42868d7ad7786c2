/**
 * Registers the extension's commands (`treelane.ui.*`). Every command is
 * wrapped: commands that change anything refuse to run in an untrusted
 * workspace, and errors are shown to the user.
 */
import * as vscode from 'vscode';
import { describeError, isCancellation, isRequestFailed } from '../core/errors';
import { READ_ONLY_UI_COMMANDS, UiCommand, type UiCommandId } from '../common/constants';
import { logError, logWarn } from '../common/log';
import { selectInterpreter } from '../common/python';
import type { CommandContext, CommandHandler } from './context';
import { cancelRun, cancelTask, mergeRun, refreshRuns, resumeRun, showOutput, showStatus, startWorkflow } from './runs';
import { checkpointWorktree, cleanupWorktrees, openWorktree, redoWorktree, undoWorktree } from './worktrees';
import { exportTrace, showTimeline } from './trace';
import { showChanges } from './changes';
import { resolveConflicts, Resolutions } from './resolve';

function handlers(ctx: CommandContext, resolutions: Resolutions): Record<UiCommandId, CommandHandler> {
    return {
        [UiCommand.start]: () => startWorkflow(ctx),
        [UiCommand.status]: () => showStatus(ctx),
        [UiCommand.cancel]: (node) => cancelRun(ctx, node),
        [UiCommand.cancelTask]: (node) => cancelTask(ctx, node),
        [UiCommand.resume]: (node) => resumeRun(ctx, node),
        [UiCommand.checkpoint]: (node) => checkpointWorktree(ctx, node),
        [UiCommand.undo]: (node) => undoWorktree(ctx, node),
        [UiCommand.redo]: (node) => redoWorktree(ctx, node),
        [UiCommand.merge]: (node) => mergeRun(ctx, node),
        [UiCommand.openWorktree]: (node) => openWorktree(ctx, node),
        [UiCommand.cleanup]: () => cleanupWorktrees(ctx),
        [UiCommand.exportTrace]: (node) => exportTrace(ctx, node),
        [UiCommand.timeline]: (node) => showTimeline(ctx, node),
        [UiCommand.showOutput]: (node) => showOutput(ctx, node),
        [UiCommand.refresh]: () => refreshRuns(ctx),
        [UiCommand.restart]: async () => {
            ctx.runs.reset();
            await ctx.server.restart();
        },
        [UiCommand.selectInterpreter]: () => selectInterpreter(),
        [UiCommand.showChanges]: (node) => showChanges(ctx, node),
        [UiCommand.resolveConflicts]: (node) => resolveConflicts(ctx, resolutions, node),
    };
}

function guarded(id: UiCommandId, handler: CommandHandler): CommandHandler {
    return async (...args: unknown[]) => {
        if (!vscode.workspace.isTrusted && !READ_ONLY_UI_COMMANDS.has(id)) {
            const manage = 'Manage Workspace Trust';
            const choice = await vscode.window.showWarningMessage(
                'Treelane: this workspace is not trusted, so Treelane only shows status, worktrees and traces. ' +
                    'Trust the workspace to run workflows.',
                manage,
            );
            if (choice === manage) {
                await vscode.commands.executeCommand('workbench.trust.manage');
            }
            return;
        }
        try {
            await handler(...args);
        } catch (e) {
            if (isCancellation(e)) {
                return;
            }
            if (isRequestFailed(e)) {
                // A request that is valid but cannot be done now ("nothing to undo"): expected.
                logWarn(`${id}: ${describeError(e)}`);
                void vscode.window.showWarningMessage(`Treelane: ${describeError(e)}`);
                return;
            }
            logError(`Command ${id} failed`, e);
            void vscode.window.showErrorMessage(`Treelane: ${describeError(e)}`);
        }
    };
}

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
    const resolutions = new Resolutions(ctx);
    const table = handlers(ctx, resolutions);
    return [resolutions, ...Object.values(UiCommand).map((id) => vscode.commands.registerCommand(id, guarded(id, table[id])))];
}
