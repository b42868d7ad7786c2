import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
    elapsedMs,
    formatBytes,
    formatDuration,
    formatMegabytes,
    formatPercent,
    plural,
    safeFileName,
    shortSha,
} from '../../src/core/format';

describe('format', () => {
    it('durations', () => {
        assert.equal(formatDuration(0), '0 ms');
        assert.equal(formatDuration(850), '850 ms');
        assert.equal(formatDuration(1000), '1.0 s');
        assert.equal(formatDuration(12_345), '12.3 s');
        assert.equal(formatDuration(59_960), '1m 00s');
        assert.equal(formatDuration(245_000), '4m 05s');
        assert.equal(formatDuration(3_720_000), '1h 02m');
        assert.equal(formatDuration(-1), '');
        assert.equal(formatDuration(Number.NaN), '');
    });

    it('megabytes and bytes', () => {
        assert.equal(formatMegabytes(512), '512 MB');
        assert.equal(formatMegabytes(2150), '2.1 GB');
        assert.equal(formatMegabytes(1024), '1.0 GB');
        assert.equal(formatMegabytes(200 * 1024), '200 GB');
        assert.equal(formatBytes(980), '980 B');
        assert.equal(formatBytes(1536), '1.5 KB');
        assert.equal(formatBytes(3.2 * 1024 * 1024), '3.2 MB');
    });

    it('percent, sha, plural', () => {
        assert.equal(formatPercent(71.4), '71%');
        assert.equal(shortSha('0123456789abcdef'), '0123456');
        assert.equal(shortSha(null), '');
        assert.equal(plural(1, 'task'), '1 task');
        assert.equal(plural(3, 'task'), '3 tasks');
    });

    it('elapsed time between ISO timestamps', () => {
        assert.equal(elapsedMs('2026-01-01T10:00:00Z', '2026-01-01T10:00:01.500Z'), 1500);
        assert.equal(elapsedMs('2026-01-01T10:00:00Z', null), null);
        assert.equal(elapsedMs('garbage', '2026-01-01T10:00:00Z'), null);
    });

    it('safe file names', () => {
        assert.equal(safeFileName('run 1/2:3'), 'run_1_2_3');
        assert.equal(safeFileName('..hidden'), '_hidden');
        assert.equal(safeFileName(''), '_');
    });
});
