import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeMarkdown, statusBarView } from '../../src/core/statusText';
import type { ResourcesParams } from '../../src/core/protocol';

const busy: ResourcesParams = {
    time: '2026-01-01T10:00:00Z',
    system: { cpuPercent: 71.3, memoryPercent: 62, memoryAvailableMb: 2150 },
    tasks: [
        { run: 'r1', task: 'build', pid: 4242, cpuPercent: 98.6, rssMb: 310, processes: 3 },
        { run: 'r1', task: 'a|b', pid: null, cpuPercent: 0, rssMb: 12, processes: 1 },
    ],
    concurrency: { limit: 4, running: 3 },
};

describe('status bar', () => {
    it('shows running/limit, system CPU and available memory while tasks run', () => {
        const view = statusBarView({ server: 'running', resources: busy, activeRuns: 1 });
        assert.equal(view.text, '$(sync~spin) 3/4 · CPU 71% · 2.1 GB');
        assert.equal(view.busy, true);
        assert.match(view.tooltip, /3 of 4 task slots busy/);
        assert.match(view.tooltip, /\| r1 \| build \| 4242 \| 99% \| 310 MB \| 3 \|/);
        assert.match(view.tooltip, /a\\\|b/, 'task names are escaped in the table');
    });

    it('is idle when no run is active, even if the last sample was busy', () => {
        const view = statusBarView({ server: 'running', resources: busy, activeRuns: 0 });
        assert.equal(view.text, '$(check) Treelane idle');
        assert.equal(view.busy, false);
        assert.equal(statusBarView({ server: 'running', resources: undefined, activeRuns: 0 }).text, '$(check) Treelane idle');
    });

    it('shows active runs before the first resource sample', () => {
        const view = statusBarView({ server: 'running', resources: undefined, activeRuns: 2 });
        assert.equal(view.text, '$(sync~spin) Treelane · 2 runs');
        assert.equal(view.busy, true);
    });

    it('shows the server starting or stopped', () => {
        assert.match(statusBarView({ server: 'starting', resources: busy, activeRuns: 1 }).text, /loading~spin/);
        const stopped = statusBarView({ server: 'stopped', resources: busy, activeRuns: 1 });
        assert.match(stopped.text, /circle-slash/);
        assert.match(stopped.tooltip, /not running/);
    });

    it('leaves out an unknown limit', () => {
        const view = statusBarView({
            server: 'running',
            resources: { ...busy, concurrency: { limit: 0, running: 2 } },
            activeRuns: 1,
        });
        assert.equal(view.text, '$(sync~spin) 2 · CPU 71% · 2.1 GB');
    });

    it('escapes markdown', () => {
        assert.equal(escapeMarkdown('a|b*c_d\ne'), 'a\\|b\\*c\\_d e');
    });
});
