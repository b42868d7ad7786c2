"""The worktrees of ``isolation = "shared"`` tasks: one per run and input commit.

Shared tasks of a run that start from the same commit use one worktree from the pool, taken
by the first of them (:func:`lease`). When the run ends the worktree goes back
(:func:`release`); files a shared task changed are discarded then, with a warning that
names the tasks and files (shared tasks must not change files).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from treelane.engine import git
from treelane.engine.events import Notice
from treelane.engine.pool import Lease
from treelane.engine.scheduler import RunRec, TaskRec

if TYPE_CHECKING:
    from treelane.engine.host import EngineHost as Engine


@dataclass
class SharedTree:
    """A worktree that a run's shared tasks at one commit use together."""

    lease: Lease | None = None
    tasks: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class SharedTrees:
    """The shared trees of live runs, by (run, commit)."""

    def __init__(self) -> None:
        self._trees: dict[tuple[str, str], SharedTree] = {}
        self._lock = threading.Lock()

    def get(self, run_id: str, commit: str) -> SharedTree:
        with self._lock:
            return self._trees.setdefault((run_id, commit), SharedTree())

    def take(self, run_id: str) -> list[SharedTree]:
        """Forget the run's trees and return them (to give their worktrees back)."""
        with self._lock:
            mine = [k for k in self._trees if k[0] == run_id]
            return [self._trees.pop(k) for k in mine]


def lease(engine: Engine, run: RunRec, t: TaskRec, commit: str) -> Lease:
    """The run's shared worktree at ``commit``, taken from the pool by the first task."""
    shared = engine.shared_tree(run, commit)
    with shared.lock:
        if shared.lease is None:
            shared.lease = engine.pool.acquire(commit, run=run.id, task="(shared)")
        shared.tasks.append(t.spec.name)
        return shared.lease


def release(engine: Engine, run: RunRec, trees: list[SharedTree]) -> None:
    """Give the run's shared worktrees back, warning about files its tasks changed."""
    for shared in trees:
        if shared.lease is None:
            continue
        dirty = git.out(["status", "--porcelain"], shared.lease.path)
        if dirty:
            engine.emit(
                Notice(
                    "warning",
                    f"run {run.id}: shared tasks changed files, which were discarded "
                    f"(tasks: {', '.join(shared.tasks)}; files: "
                    f"{', '.join(line[3:] for line in dirty.splitlines()[:5])})",
                    run.id,
                )
            )
        engine.pool.release(shared.lease.id)
