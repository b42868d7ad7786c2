/**
 * Turning errors from requests into messages for people.
 *
 * Pure module: must not import `vscode`.
 */
import { ServerErrorCode } from './protocol';

/** JSON-RPC "connection inactive"/"pending response rejected" (vscode-jsonrpc). */
const CONNECTION_CODES: ReadonlySet<number> = new Set([-32096, -32097]);
/** LSP "request cancelled". */
const REQUEST_CANCELLED = -32800;

interface CodedError {
    code: number;
    message: string;
}

function isCodedError(e: unknown): e is CodedError {
    return (
        typeof e === 'object' &&
        e !== null &&
        typeof (e as { code?: unknown }).code === 'number' &&
        typeof (e as { message?: unknown }).message === 'string'
    );
}

/** Whether the error only says the user or the client cancelled. */
export function isCancellation(e: unknown): boolean {
    if (isCodedError(e) && e.code === REQUEST_CANCELLED) {
        return true;
    }
    return e instanceof Error && (e.name === 'Canceled' || e.name === 'CancellationError');
}

/** Whether the server refused a valid request that cannot be done now (-32803). */
export function isRequestFailed(e: unknown): boolean {
    return isCodedError(e) && e.code === ServerErrorCode.requestFailed;
}

/** A one-line message for an error from the server or the client. */
export function describeError(e: unknown): string {
    if (isCodedError(e)) {
        if (CONNECTION_CODES.has(e.code)) {
            return 'the Treelane server is not running (use "Treelane: Restart Server")';
        }
        if (e.code === ServerErrorCode.invalidParams) {
            return e.message ? `invalid arguments: ${e.message}` : 'invalid arguments';
        }
        return e.message || `error ${e.code}`;
    }
    if (e instanceof Error) {
        return e.message || e.name;
    }
    if (typeof e === 'string') {
        return e;
    }
    return 'unknown error';
}
