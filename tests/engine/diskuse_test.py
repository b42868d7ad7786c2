"""Pool disk use: measured in the background, shown by stats and list, and bounded by
``max_disk_mb`` (idle worktrees evicted least recently used first, never one with
drift or unsaved work)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from enginekit import wait_for
from repokit import git

from treelane.commands.context import Context
from treelane.commands.worktrees import worktrees
from treelane.engine.diskuse import tree_bytes
from treelane.engine.pool import PoolConfig, WorktreePool
from treelane.engine.workspace import Workspace
from treelane.storage.db import Store

MB = 2**20


@pytest.fixture
def project(repo: Path) -> Path:
    (repo / ".gitignore").write_text("build/\n")
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "ignore build", cwd=repo)
    return repo


def measured(store: Store, n: int) -> bool:
    rows = store.query("SELECT disk_bytes FROM worktrees WHERE disk_bytes IS NOT NULL")
    return len(rows) >= n


def fill(path: Path, mb: float) -> None:
    (path / "build").mkdir(exist_ok=True)
    (path / "build" / "blob").write_bytes(os.urandom(int(mb * MB)))


def test_disk_use_is_measured_and_shown(ws: Workspace, store: Store, project: Path) -> None:
    pool = WorktreePool(ws, store, PoolConfig(size=2))
    lease = pool.acquire("HEAD")
    fill(lease.path, 0.5)  # an ignored build output: kept by the reset
    pool.release(lease.id)
    wait_for(lambda: (pool.stats()["disk_mb"] or 0) >= 0.5, 30, "the measurement")
    (info,) = pool.list()
    assert info.disk_mb is not None and info.disk_mb >= 0.5
    assert abs(info.disk_mb - tree_bytes(lease.path) / MB) < 0.2, "files plus the git dir"
    ctx = Context(project)
    try:
        out = worktrees(ctx, {})
        assert out["worktrees"][1]["disk_mb"] == info.disk_mb
        assert out["pool"]["disk_mb"] >= 0.5
    finally:
        ctx.close()


def test_max_disk_evicts_idle_worktrees_lru_but_never_drift(
    ws: Workspace, store: Store, project: Path
) -> None:
    pool = WorktreePool(ws, store, PoolConfig(size=4, max_disk_mb=2))
    leases = [pool.acquire("HEAD") for _ in range(3)]
    for lease in leases:
        fill(lease.path, 0.9)
    oldest, middle, newest = leases
    pool.release(oldest.id)
    pool.release(middle.id)
    wait_for(lambda: measured(store, 2), 30, "two measurements")
    # The middle one drifts: someone edits it by hand (unsaved work).
    (middle.path / "README.md").write_text("edited by hand\n")
    assert [w.drift for w in pool.list() if w.id == middle.id] != [None]
    pool.release(newest.id)
    wait_for(lambda: oldest.id not in {w.id for w in pool.list()}, 30, "an eviction")
    left = {w.id: w for w in pool.list()}
    assert set(left) == {middle.id, newest.id}, "the LRU clean one went, the drifted one stayed"
    assert (middle.path / "README.md").read_text() == "edited by hand\n"
    assert not oldest.path.exists()
    events = store.query("SELECT data FROM events WHERE kind = 'worktree.evicted'")
    assert len(events) == 1 and oldest.id in events[0]["data"]
