/**
 * Watches the conflicted files of a resolve worktree until they are resolved: no conflict
 * markers left on disk (what `treelane.resume` checks) and marked resolved in git's index
 * (Complete Merge in the merge editor, `git add`, or a commit there), then calls back once.
 */
import * as vscode from 'vscode';
import { isResolved } from '../core/conflicts';
import { defaultFlavor, isInside } from '../core/worktrees';

/** How often the files are read again when no save or file event came (tools outside VS Code). */
const POLL_MS = 1000;

export class ResolutionWatch implements vscode.Disposable {
    private readonly subscriptions: vscode.Disposable[] = [];
    private timer: NodeJS.Timeout | undefined;
    private checking = false;
    private again = false;
    private done = false;

    constructor(
        readonly folder: string,
        readonly files: readonly string[],
        private readonly onResolved: () => void,
    ) {
        const check = (): void => this.check();
        const inside = (uri: vscode.Uri): boolean => uri.scheme === 'file' && isInside(uri.fsPath, folder, defaultFlavor());
        this.subscriptions.push(
            vscode.workspace.onDidSaveTextDocument((d) => {
                if (inside(d.uri)) {
                    check();
                }
            }),
        );
        const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(folder), '**/*'));
        this.subscriptions.push(watcher, watcher.onDidChange(check), watcher.onDidCreate(check), watcher.onDidDelete(check));
        this.timer = setInterval(check, POLL_MS);
    }

    /** Reads the files again; calls back (once) when no markers are left. */
    check(): void {
        if (this.done) {
            return;
        }
        if (this.checking) {
            this.again = true;
            return;
        }
        this.checking = true;
        isResolved(this.folder, this.files)
            .then((resolved) => {
                if (resolved && !this.done) {
                    this.dispose();
                    this.onResolved();
                }
            })
            .catch(() => undefined)
            .finally(() => {
                this.checking = false;
                if (this.again) {
                    this.again = false;
                    this.check();
                }
            });
    }

    dispose(): void {
        this.done = true;
        clearInterval(this.timer);
        this.timer = undefined;
        for (const s of this.subscriptions.splice(0)) {
            s.dispose();
        }
    }
}
