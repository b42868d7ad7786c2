/**
 * The server process as the extension sees it: its command line, its stderr lines (logged
 * at their own level) and the message shown when it does not start.
 *
 * Pure module: must not import `vscode`.
 */

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface StderrLine {
    level: LogLevel;
    text: string;
    /** The Python logger's name, when the line has the server's log format. */
    logger: string | undefined;
}

/** `treelane LEVEL logger: message`, the format of `treelane serve`'s log lines. */
const LOG_LINE = /^treelane (DEBUG|INFO|WARNING|ERROR|CRITICAL) (\S+): /;

const LEVELS: Readonly<Record<string, LogLevel>> = {
    DEBUG: 'debug',
    INFO: 'info',
    WARNING: 'warn',
    ERROR: 'error',
    CRITICAL: 'error',
};

/**
 * Classifies stderr lines: a log line at its level; any other line (a traceback's, or a
 * message printed before logging was set up) at the level of the log line before it, else
 * as an error (a bare line on stderr is how Python reports a failure to start).
 */
export class StderrClassifier {
    private previous: LogLevel = 'error';

    classify(text: string): StderrLine {
        const match = LOG_LINE.exec(text);
        if (match !== null) {
            this.previous = LEVELS[match[1] ?? ''] ?? 'info';
            return { level: this.previous, text, logger: match[2] };
        }
        return { level: this.previous, text, logger: undefined };
    }
}

/**
 * Whether a stderr line also reaches the client as `window/logMessage` (the server forwards
 * its own `treelane.*` records at INFO and above once it is connected): then it is not
 * logged twice.
 */
export function forwardedToClient(line: StderrLine, connected: boolean): boolean {
    return (
        connected &&
        line.logger !== undefined &&
        (line.logger === 'treelane' || line.logger.startsWith('treelane.')) &&
        line.level !== 'debug' &&
        line.level !== 'trace'
    );
}

export interface StartFailure {
    /** The interpreter tried. */
    command: string;
    /** Where that interpreter came from (`setting`, `python-extension`, `default`). */
    source: string;
    exitCode: number | null;
    /** An OS error starting the process (ENOENT, EACCES). */
    spawnError: string | undefined;
    /** The first lines the process wrote to stderr. */
    stderr: readonly string[];
}

/** The most telling stderr line: the last line of a traceback, else the first line. */
export function keyStderrLine(stderr: readonly string[]): string | undefined {
    const lines = stderr.map((l) => l.trim()).filter((l) => l.length > 0);
    if (lines.length === 0) {
        return undefined;
    }
    if (lines[0]?.startsWith('Traceback')) {
        return lines.find((l) => /^\w+(\.\w+)*(Error|Exception|Exit)\b/.test(l)) ?? lines[lines.length - 1];
    }
    return lines[0];
}

const SOURCES: Readonly<Record<string, string>> = {
    setting: 'from the treelane.python setting',
    'python-extension': "selected in the Python extension",
    default: 'the default',
};

/** One sentence: what was tried, how it ended, and the server's own words. */
export function describeStartFailure(f: StartFailure): string {
    const tried = `"${f.command} -m treelane serve" (interpreter ${SOURCES[f.source] ?? f.source})`;
    let how: string;
    if (f.spawnError !== undefined) {
        how = `could not be run: ${f.spawnError}`;
    } else if (f.exitCode !== null) {
        how = `exited with code ${f.exitCode}`;
    } else {
        how = 'stopped while starting';
    }
    const line = keyStderrLine(f.stderr);
    const said = line !== undefined ? `: ${line}` : '';
    const hint = /No module named '?treelane/.test(line ?? '')
        ? ' Install treelane into that interpreter, or choose another one.'
        : '';
    return `Treelane: the server did not start. ${tried} ${how}${said}.${hint}`;
}

/** The server's notice that a run failed ("run r1 (ci) failed: lint"), which the extension
 * reports itself when `treelane/runFinished` arrives. */
export function isRunOutcomeNotice(message: string): boolean {
    return /^run \S+ \(.*\) failed: /.test(message);
}
