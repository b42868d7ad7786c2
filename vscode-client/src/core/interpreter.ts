/**
 * Choosing the Python interpreter and building the command lines that run
 * the treelane server and report.
 *
 * Pure module: must not import `vscode`.
 */
import * as path from 'node:path';

export type InterpreterSource = 'setting' | 'python-extension' | 'default';

export interface Interpreter {
    command: string;
    source: InterpreterSource;
}

export interface InterpreterInputs {
    /** The `treelane.python` setting (may contain ${workspaceFolder}, ${userHome}, ${env:X}, ~). */
    setting: string | undefined;
    /** The Python extension's selected interpreter, if the extension is there and has one. */
    pythonExtension: string | undefined;
    workspaceFolder: string | undefined;
    home: string;
    env: Readonly<Record<string, string | undefined>>;
}

export const DEFAULT_PYTHON = process.platform === 'win32' ? 'python' : 'python3';

/** Expands ${workspaceFolder}, ${userHome}, ${env:NAME} and a leading ~. */
export function expandVariables(
    value: string,
    context: Pick<InterpreterInputs, 'workspaceFolder' | 'home' | 'env'>,
): string {
    let out = value.replace(/\$\{(workspaceFolder|userHome|env:([A-Za-z_][A-Za-z0-9_]*))\}/g, (match, name: string, envName?: string) => {
        if (name === 'workspaceFolder') {
            return context.workspaceFolder ?? match;
        }
        if (name === 'userHome') {
            return context.home;
        }
        return envName !== undefined ? (context.env[envName] ?? '') : match;
    });
    if (out === '~' || out.startsWith('~/') || out.startsWith('~\\')) {
        out = path.join(context.home, out.slice(1));
    }
    return out;
}

/** The setting wins, then the Python extension's interpreter, then python3. */
export function resolveInterpreter(inputs: InterpreterInputs): Interpreter {
    const setting = inputs.setting?.trim();
    if (setting) {
        return { command: expandVariables(setting, inputs), source: 'setting' };
    }
    const fromExtension = inputs.pythonExtension?.trim();
    if (fromExtension) {
        return { command: fromExtension, source: 'python-extension' };
    }
    return { command: DEFAULT_PYTHON, source: 'default' };
}

/** `python -m treelane serve [extra...]`: the arguments after the interpreter. */
export function serverArgs(extra: readonly string[]): string[] {
    return ['-m', 'treelane', 'serve', ...extra.filter((a) => a.length > 0)];
}

/** `python -m treelane report RUN -o FILE`: the arguments after the interpreter. */
export function reportArgs(run: string, outputFile: string): string[] {
    return ['-m', 'treelane', 'report', run, '-o', outputFile];
}
