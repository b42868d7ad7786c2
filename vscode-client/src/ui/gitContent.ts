/**
 * Read-only documents of git objects, for diff editors: `treelane-git:/<path>?<blob>` is the
 * blob's text, read with `git cat-file` in the repository (an absent blob is empty).
 */
import { execFile } from 'node:child_process';
import * as vscode from 'vscode';

export const GIT_SCHEME = 'treelane-git';

const BLOB = /^[0-9a-f]{7,64}$/;

/** The URI of `blob` shown as file `relativePath` (the path gives the editor its language). */
export function blobUri(relativePath: string, blob: string | null): vscode.Uri {
    return vscode.Uri.from({ scheme: GIT_SCHEME, path: `/${relativePath}`, query: blob ?? '' });
}

export class GitContentProvider implements vscode.TextDocumentContentProvider {
    /** `repository`: where `git cat-file` runs (the server's working directory). */
    constructor(private readonly repository: () => string | undefined) {}

    provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
        const blob = uri.query;
        const cwd = this.repository();
        if (!blob || cwd === undefined) {
            return Promise.resolve('');
        }
        if (!BLOB.test(blob)) {
            return Promise.reject(new Error(`not a git object id: ${blob}`));
        }
        return new Promise((resolve, reject) => {
            execFile('git', ['cat-file', 'blob', blob], { cwd, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, stdout) => {
                if (error !== null) {
                    reject(new Error(`git cat-file blob ${blob} failed: ${error.message}`));
                } else {
                    resolve(stdout);
                }
            });
        });
    }
}
