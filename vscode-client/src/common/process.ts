/**
 * Running a short-lived process (e.g. `python -m treelane report`).
 */
import { execFile } from 'node:child_process';

export interface ProcessOptions {
    cwd?: string;
    timeoutMs: number;
}

/** Runs a program to completion; rejects with the tail of stderr when it fails. */
export function runProcess(command: string, args: readonly string[], options: ProcessOptions): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile(
            command,
            [...args],
            {
                cwd: options.cwd,
                timeout: options.timeoutMs,
                maxBuffer: 16 * 1024 * 1024,
                env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONIOENCODING: 'utf-8' },
                windowsHide: true,
            },
            (error, stdout, stderr) => {
                if (error) {
                    const tail = stderr.trim().split(/\r?\n/).slice(-5).join('\n');
                    reject(new Error(tail ? `${error.message.split('\n')[0]}\n${tail}` : error.message));
                    return;
                }
                resolve(stdout);
            },
        );
    });
}
