"""Cold pools: worktrees created side by side (bounded), pre-warmed in the background, and
acquirers that take a worktree being pre-warmed instead of making one more.

A ``git`` on PATH that wraps the real one logs when each ``worktree add`` starts and ends
(and holds it a moment, so that adds that may overlap do): overlap is read from that
log, never from a clock limit.
"""

from __future__ import annotations

import os
import shutil
import stat
import threading
from pathlib import Path

import pytest
from enginekit import config, engines_fixture, max_overlap, run, run_state, wait_for
from repokit import git

from treelane.engine.pool import PREWARM_TASK, PoolConfig, WorktreePool
from treelane.engine.workspace import Workspace
from treelane.storage.db import Store

engines = engines_fixture()

WRAPPER = """#!/bin/sh
if [ "$1" = worktree ] && [ "$2" = add ]; then
    echo "start $$ $(date +%s.%N)" >> {log}
    sleep {hold}
    {git} "$@"; rc=$?
    echo "end $$ $(date +%s.%N)" >> {log}
    exit $rc
fi
exec {git} "$@"
"""


@pytest.fixture
def project(repo: Path) -> Path:
    (repo / "src").mkdir()
    (repo / "src" / "a.txt").write_text("a\n")
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "project", cwd=repo)
    return repo


@pytest.fixture
def add_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    real = shutil.which("git")
    assert real is not None
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "adds.log"
    script = bindir / "git"
    script.write_text(WRAPPER.format(log=log, git=real, hold=0.3))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return log


def adds(log: Path) -> list[tuple[float, float]]:
    starts: dict[str, float] = {}
    out = []
    for line in log.read_text().splitlines():
        kind, pid, t = line.split()
        if kind == "start":
            starts[pid] = float(t)
        else:
            out.append((starts.pop(pid), float(t)))
    return out


def acquire_at_once(pool: WorktreePool, sha: str, n: int) -> list[str]:
    barrier = threading.Barrier(n)
    got: list[str] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            barrier.wait()
            got.append(pool.acquire(sha).id)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    return got


def test_cold_pool_creates_worktrees_side_by_side(ws: Workspace, store: Store, project, add_log):
    pool = WorktreePool(ws, store, PoolConfig(size=4, create_parallel=4))
    sha = git("rev-parse", "HEAD", cwd=project)
    ids = acquire_at_once(pool, sha, 4)
    assert len(set(ids)) == 4
    assert max_overlap(adds(add_log)) >= 2, "adds ran one after another"
    listed = git("worktree", "list", "--porcelain", cwd=project)
    for wt in pool.list():
        assert wt.path in listed and wt.commit == sha and not wt.dirty
        assert (Path(wt.path) / "src" / "a.txt").read_text() == "a\n"


def test_create_parallel_bounds_the_adds(ws: Workspace, store: Store, project, add_log):
    pool = WorktreePool(ws, store, PoolConfig(size=3, create_parallel=1))
    sha = git("rev-parse", "HEAD", cwd=project)
    assert len(set(acquire_at_once(pool, sha, 3))) == 3
    spans = adds(add_log)
    assert len(spans) == 3 and max_overlap(spans) == 1


def test_prewarm_fills_the_pool_and_acquire_takes_from_it(ws: Workspace, store: Store, project):
    pool = WorktreePool(ws, store, PoolConfig(size=3))
    sha = git("rev-parse", "HEAD", cwd=project)
    assert pool.prewarm(sha) == 3
    assert pool.prewarm(sha) == 0, "the ones being made count"
    wait_for(lambda: pool.stats()["idle"] == 3, 60, "three idle worktrees")
    stats = pool.stats()
    assert (stats["size"], stats["idle"], stats["busy"], stats["warming"]) == (3, 3, 0, 0)
    lease = pool.acquire(sha)
    assert lease.id in {w.id for w in pool.list()} and len(pool.list()) == 3
    pool.release(lease.id)
    assert pool.prewarm(sha) == 0, "already full"


def test_acquire_waits_for_a_worktree_being_prewarmed(
    ws: Workspace, store: Store, project, add_log
):
    pool = WorktreePool(ws, store, PoolConfig(size=2))
    sha = git("rev-parse", "HEAD", cwd=project)
    assert pool.prewarm(sha) == 2
    wait_for(lambda: pool.stats()["warming"] == 2, 30, "pre-warm rows")
    first, second = acquire_at_once(pool, sha, 2)
    assert {first, second} == {w.id for w in pool.list()}, "no third worktree was made"
    assert len(adds(add_log)) == 2
    # A third acquirer has nothing to wait for: it makes its own at once.
    third = pool.acquire(sha)
    assert third.id not in (first, second) and len(adds(add_log)) == 3


def test_stop_warming_waits_for_adds_in_flight(ws: Workspace, store: Store, project, add_log):
    pool = WorktreePool(ws, store, PoolConfig(size=2))
    sha = git("rev-parse", "HEAD", cwd=project)
    pool.prewarm(sha)
    wait_for(lambda: add_log.exists(), 30, "an add to start")
    pool.stop_warming()
    assert pool.stats()["warming"] == 0
    assert all(w.state == "idle" and w.task is None for w in pool.list())
    assert pool.prewarm(sha) == 0, "a stopped pool starts no more"
    rows = store.query("SELECT task FROM worktrees")
    assert PREWARM_TASK not in [r["task"] for r in rows]


def test_engine_prewarms_when_a_run_is_queued(engines, project) -> None:
    wf = {"t": {"run": "true", "cache": False}}
    e = engines(config({"w": wf}, {"pool_size": 3, "max_parallel": 1}), prewarm=True)
    r = run(e, "w")
    assert run_state(e, r) == "succeeded"
    wait_for(lambda: e.pool.stats()["idle"] == 3, 60, "a full pool")
    used = e.store.one("SELECT worktree FROM tasks WHERE run = ?", (r,))
    assert used is not None and used["worktree"] in {w.id for w in e.pool.list()}


def test_release_after_an_unchanged_result_keeps_the_worktree_reusable(engines, project):
    """A task that changed no file skips the reset; one that moved HEAD still gets it."""
    moved = "git -c user.name=a -c user.email=b commit -q --allow-empty -m moved"
    wf = {
        "same": {"run": "true", "cache": False},
        "moves": {"run": moved, "cache": False, "needs": ["same"]},
        "dirty": {"run": "echo x > new.txt", "cache": False, "needs": ["moves"]},
    }
    e = engines(config({"w": wf}, {"pool_size": 1, "max_parallel": 1}))
    for _ in range(2):
        r = run(e, "w")
        assert run_state(e, r) == "succeeded"
        (wt,) = e.pool.list()
        assert wt.state == "idle" and wt.drift is None and not wt.dirty, wt
        assert not (Path(wt.path) / "new.txt").exists()
    used = {row["worktree"] for row in e.store.query("SELECT worktree FROM tasks")}
    assert used == {wt.id}, "one worktree served every task of both runs"
