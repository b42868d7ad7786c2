import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeError, isCancellation } from '../../src/core/errors';
import { escapeHtml, messagePage, REPORT_CSP, withContentSecurityPolicy } from '../../src/core/html';
import { formatOutputLines, formatRunFinishedLine, formatTaskStateLine, runChannelName } from '../../src/core/output';
import { isReadOnlyCommand, ServerCommand } from '../../src/core/protocol';

describe('errors', () => {
    it('shows the server message of JSON-RPC errors', () => {
        assert.equal(describeError({ code: -32803, message: 'run r9 not found' }), 'run r9 not found');
        assert.equal(describeError({ code: -32602, message: 'missing "run"' }), 'invalid arguments: missing "run"');
        assert.match(describeError({ code: -32097, message: 'Connection is closed.' }), /not running/);
        assert.equal(describeError(new Error('boom')), 'boom');
        assert.equal(describeError('text'), 'text');
        assert.equal(describeError(42), 'unknown error');
    });

    it('recognizes cancellation', () => {
        assert.equal(isCancellation({ code: -32800, message: 'cancelled' }), true);
        assert.equal(isCancellation(Object.assign(new Error('Canceled'), { name: 'Canceled' })), true);
        assert.equal(isCancellation(new Error('x')), false);
    });
});

describe('report html', () => {
    it('puts the CSP first in <head>', () => {
        const html = withContentSecurityPolicy('<!DOCTYPE html><html lang="en"><HEAD><title>t</title></HEAD><body><script>1</script></body></html>');
        assert.match(html, /<HEAD><meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline';[^"]*"><title>/);
    });

    it('adds a head when there is none', () => {
        assert.match(withContentSecurityPolicy('<html><body>x</body></html>'), /^<html><head><meta [^>]+><\/head><body>/);
        assert.match(withContentSecurityPolicy('just text'), /^<!DOCTYPE html><html><head><meta [^>]+><\/head><body>just text/);
    });

    it('forbids network access', () => {
        assert.match(REPORT_CSP, /default-src 'none'/);
        assert.doesNotMatch(REPORT_CSP, /https?:/);
    });

    it('escapes message pages', () => {
        assert.equal(escapeHtml('<a href="x">&\'</a>'), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
        assert.match(messagePage('T', '<b>'), /&lt;b&gt;/);
    });
});

describe('run output text', () => {
    it('names channels', () => {
        assert.equal(runChannelName('feature', 'r1'), 'Treelane: feature r1');
        assert.equal(runChannelName('', 'r1'), 'Treelane: r1');
    });

    it('prefixes lines with their task', () => {
        assert.deepEqual(formatOutputLines({ run: 'r1', task: 'b', lines: ['one', 'two\n'] }), ['[b] one', '[b] two']);
    });

    it('marks task state changes', () => {
        const base = { run: 'r1', task: 'b', attempt: 1, worktree: null, exitCode: null, durationMs: null };
        assert.equal(formatTaskStateLine({ ...base, state: 'queued' }), undefined);
        assert.equal(formatTaskStateLine({ ...base, state: 'running' }), '── b: running');
        assert.equal(formatTaskStateLine({ ...base, state: 'running', attempt: 2 }), '── b: running (attempt 2)');
        assert.equal(formatTaskStateLine({ ...base, state: 'failed', exitCode: 2, durationMs: 1500 }), '── b: failed (1.5 s, exit 2)');
        assert.equal(formatTaskStateLine({ ...base, state: 'skipped', error: 'a failed' }), '── b: skipped (a failed)');
    });

    it('summarizes a finished run', () => {
        assert.equal(
            formatRunFinishedLine({ run: 'r1', workflow: 'w', state: 'succeeded', durationMs: 12_300, counts: { succeeded: 3, cached: 1, failed: 0 } }),
            '══ run r1 succeeded in 12.3 s: 3 succeeded, 1 cached',
        );
    });
});

describe('protocol', () => {
    it('only status, worktrees, trace and workflows are read-only', () => {
        const readOnly = Object.values(ServerCommand).filter(isReadOnlyCommand).sort();
        assert.deepEqual(readOnly, ['treelane.status', 'treelane.trace', 'treelane.workflows', 'treelane.worktrees']);
    });
});
