"""A run always ends: finishing that raises writes 'failed' with a reason; trimming the pool
never removes a worktree a task of this process holds (the cause of runs that never ended).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from enginekit import config, engines_fixture, run_state
from repokit import git

from treelane.engine.events import RunFinished
from treelane.engine.pool import PoolConfig, WorktreePool
from treelane.engine.workspace import open_workspace
from treelane.storage.db import Store

engines = engines_fixture()


def test_trim_never_removes_a_worktree_leased_by_this_process(repo: Path) -> None:
    ws = open_workspace(repo)
    store = Store(ws.db_path)
    try:
        pool = WorktreePool(ws, store, PoolConfig(size=0))
        lease = pool.acquire("HEAD", run="r1", task="t")
        # What a trim (listing idle rows, then removing) does when a task leased the row
        # between the two steps: the removal must refuse.
        kept = pool.remove(lease.id, force=False)
        assert kept == "busy (run r1, task t)"
        assert lease.path.is_dir()
        pool.release(lease.id)  # and the lease is still there to give back
        assert not lease.path.exists()  # size 0: trimmed now that it is idle
    finally:
        store.close()


def test_an_error_while_finishing_ends_the_run_failed_with_the_reason(engines, repo) -> None:
    # A real fault: a ref named refs/treelane/results leaves no room for the run's result
    # ref refs/treelane/results/<run>, so git refuses to write it.
    git("update-ref", "refs/treelane/results", "HEAD", cwd=repo)
    engine = engines(config({"w": {"a": {"run": "echo a > a.txt", "cache": False}}}))
    started = engine.start(engine.workflow("w"))
    assert engine.wait(started.run, 60) == "failed"
    row = engine.store.one("SELECT error FROM runs WHERE id = ?", (started.run,))
    assert row is not None and row["error"]
    assert "internal error while finishing the run" in row["error"]
    assert "refs/treelane/results" in row["error"]
    finished = [e for e in engines.events(engine).of(RunFinished) if e.run == started.run]
    assert [e.state for e in finished] == ["failed"]
    assert run_state(engine, started.run) == "failed"
    assert started.run not in engine.scheduler.runs
