/**
 * Small formatting helpers for durations, sizes and percentages.
 *
 * Pure module: must not import `vscode`.
 */

/** 850 ms, 12.3 s, 4m 05s, 1h 02m. */
export function formatDuration(ms: number): string {
    if (!Number.isFinite(ms) || ms < 0) {
        return '';
    }
    if (ms < 1000) {
        return `${Math.round(ms)} ms`;
    }
    const seconds = ms / 1000;
    if (seconds < 60) {
        // 59.96 s would round to "60.0 s": show it as a minute instead.
        const rounded = Math.round(seconds * 10) / 10;
        if (rounded < 60) {
            return `${rounded.toFixed(1)} s`;
        }
    }
    const totalSeconds = Math.round(seconds);
    if (totalSeconds < 3600) {
        const m = Math.floor(totalSeconds / 60);
        const s = totalSeconds % 60;
        return `${m}m ${String(s).padStart(2, '0')}s`;
    }
    const totalMinutes = Math.round(totalSeconds / 60);
    const h = Math.floor(totalMinutes / 60);
    const m = totalMinutes % 60;
    return `${h}h ${String(m).padStart(2, '0')}m`;
}

/** A size given in megabytes (MiB): 512 MB, 2.1 GB. */
export function formatMegabytes(mb: number): string {
    if (!Number.isFinite(mb) || mb < 0) {
        return '';
    }
    if (mb < 1024) {
        return `${Math.round(mb)} MB`;
    }
    const gb = mb / 1024;
    return gb < 100 ? `${gb.toFixed(1)} GB` : `${Math.round(gb)} GB`;
}

/** A size given in bytes: 0 B, 980 B, 1.5 KB, 3.2 MB, 2.1 GB. */
export function formatBytes(bytes: number): string {
    if (!Number.isFinite(bytes) || bytes < 0) {
        return '';
    }
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit += 1;
    }
    return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatPercent(percent: number): string {
    if (!Number.isFinite(percent)) {
        return '';
    }
    return `${Math.round(percent)}%`;
}

/** The first 7 characters of a commit id. */
export function shortSha(sha: string | null | undefined): string {
    return sha ? sha.slice(0, 7) : '';
}

/** Milliseconds between two ISO-8601 timestamps, or null if either is missing or invalid. */
export function elapsedMs(startedIso: string | null, finishedIso: string | null): number | null {
    if (!startedIso || !finishedIso) {
        return null;
    }
    const start = Date.parse(startedIso);
    const end = Date.parse(finishedIso);
    if (Number.isNaN(start) || Number.isNaN(end) || end < start) {
        return null;
    }
    return end - start;
}

/** "3 tasks", "1 task". */
export function plural(count: number, noun: string): string {
    return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** A string made safe for use in a file name. */
export function safeFileName(text: string): string {
    const safe = text.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[.]+/, '_');
    return safe.length > 0 ? safe.slice(0, 100) : '_';
}
