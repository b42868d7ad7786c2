import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
    comparablePath,
    describeWorktree,
    findWorktree,
    isInside,
    orderForPick,
    resolveConflictPath,
    worktreeForFile,
} from '../../src/core/worktrees';
import type { Worktree } from '../../src/core/protocol';

function wt(id: string, path: string, partial: Partial<Worktree> = {}): Worktree {
    return { id, path, commit: null, state: 'idle', dirty: false, run: null, task: null, ...partial };
}

const posix = [
    wt('main', '/repo'),
    wt('wt-1', '/repo/.treelane/worktrees/wt-1', { run: 'r1', task: 'b' }),
    wt('wt-2', '/tmp/treelane/wt-2/', { run: 'r1', task: 'a' }),
];

describe('worktree matching', () => {
    it('picks the innermost worktree that holds the file', () => {
        assert.equal(worktreeForFile(posix, '/repo/src/app.py', 'posix')?.id, 'main');
        assert.equal(worktreeForFile(posix, '/repo/.treelane/worktrees/wt-1/src/app.py', 'posix')?.id, 'wt-1');
        assert.equal(worktreeForFile(posix, '/tmp/treelane/wt-2/x', 'posix')?.id, 'wt-2', 'trailing slash in the path');
        assert.equal(worktreeForFile(posix, '/tmp/treelane/wt-2', 'posix')?.id, 'wt-2', 'the root itself');
        assert.equal(worktreeForFile(posix, '/elsewhere/file', 'posix'), undefined);
    });

    it('does not match a sibling with the same prefix', () => {
        assert.equal(isInside('/repo2/file', '/repo', 'posix'), false);
        assert.equal(worktreeForFile([wt('main', '/repo')], '/repository/x', 'posix'), undefined);
    });

    it('normalizes dots', () => {
        assert.equal(worktreeForFile(posix, '/repo/.treelane/worktrees/wt-1/../wt-1/a', 'posix')?.id, 'wt-1');
    });

    it('is case-insensitive and separator-agnostic on Windows', () => {
        const win = [wt('main', 'C:\\Repo'), wt('wt-1', 'c:/repo/.treelane/WT-1')];
        assert.equal(worktreeForFile(win, 'c:\\repo\\.treelane\\wt-1\\src\\a.py', 'win32')?.id, 'wt-1');
        assert.equal(worktreeForFile(win, 'C:\\REPO\\readme.md', 'win32')?.id, 'main');
        assert.equal(comparablePath('C:\\Repo\\', 'win32'), 'c:\\repo');
        assert.equal(comparablePath('/', 'posix'), '/');
    });

    it('finds a worktree by id or path', () => {
        assert.equal(findWorktree(posix, 'wt-2', 'posix')?.id, 'wt-2');
        assert.equal(findWorktree(posix, '/tmp/treelane/wt-2', 'posix')?.id, 'wt-2');
        assert.equal(findWorktree(posix, 'nope', 'posix'), undefined);
    });

    it('orders for the picker: preferred, main, then by run and task', () => {
        assert.deepEqual(orderForPick(posix, 'wt-1').map((w) => w.id), ['wt-1', 'main', 'wt-2']);
        assert.deepEqual(orderForPick(posix, undefined).map((w) => w.id), ['main', 'wt-2', 'wt-1']);
    });

    it('describes a worktree', () => {
        assert.equal(describeWorktree(wt('x', '/x', { run: 'r1', task: 'a', dirty: true, state: 'done' })), 'run r1 · task a · dirty · done');
    });

    it('resolves conflict paths against the main worktree', () => {
        assert.equal(resolveConflictPath('src/a.py', '/repo', 'posix'), '/repo/src/a.py');
        assert.equal(resolveConflictPath('/abs/b.py', '/repo', 'posix'), '/abs/b.py');
        assert.equal(resolveConflictPath('src/a.py', 'C:\\repo', 'win32'), 'C:\\repo\\src\\a.py');
    });
});
