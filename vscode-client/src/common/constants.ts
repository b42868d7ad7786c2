/**
 * Ids shared by the manifest (package.json) and the code.
 * scripts/check-manifest.mjs checks that both agree.
 *
 * Pure module: must not import `vscode`.
 */

export const EXTENSION_ID = 'treelane.treelane';
export const CLIENT_ID = 'treelane';
export const CLIENT_NAME = 'Treelane';
export const CONFIG_SECTION = 'treelane';
export const CONFIG_FILE = 'treelane.toml';
export const RUNS_VIEW_ID = 'treelane.runs';
export const PYTHON_EXTENSION_ID = 'ms-python.python';

/**
 * The extension's own commands. Server commands (`treelane.start`, …) are
 * registered by vscode-languageclient under the server's ids, so ours live
 * under `treelane.ui.*`.
 */
export const UiCommand = {
    start: 'treelane.ui.start',
    status: 'treelane.ui.status',
    cancel: 'treelane.ui.cancel',
    cancelTask: 'treelane.ui.cancelTask',
    resume: 'treelane.ui.resume',
    checkpoint: 'treelane.ui.checkpoint',
    undo: 'treelane.ui.undo',
    redo: 'treelane.ui.redo',
    merge: 'treelane.ui.merge',
    openWorktree: 'treelane.ui.openWorktree',
    cleanup: 'treelane.ui.cleanup',
    exportTrace: 'treelane.ui.exportTrace',
    timeline: 'treelane.ui.timeline',
    showOutput: 'treelane.ui.showOutput',
    refresh: 'treelane.ui.refresh',
    restart: 'treelane.ui.restart',
    selectInterpreter: 'treelane.ui.selectInterpreter',
    showChanges: 'treelane.ui.showChanges',
    resolveConflicts: 'treelane.ui.resolveConflicts',
} as const;
export type UiCommandId = (typeof UiCommand)[keyof typeof UiCommand];

/** Commands that may run in an untrusted workspace: they only read. */
export const READ_ONLY_UI_COMMANDS: ReadonlySet<UiCommandId> = new Set<UiCommandId>([
    UiCommand.status,
    UiCommand.openWorktree,
    UiCommand.exportTrace,
    UiCommand.showOutput,
    UiCommand.refresh,
    UiCommand.restart,
    UiCommand.selectInterpreter,
]);

export const ConfigKey = {
    python: 'python',
    serverArgs: 'serverArgs',
    traceServer: 'trace.server',
    progressLocation: 'progressLocation',
} as const;
