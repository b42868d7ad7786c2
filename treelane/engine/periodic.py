"""Checkpoints while a task runs (``checkpoint_every``): its worktree, when it changed.

A thread per running task takes a snapshot every interval through a temporary
index (the task's own index and files are never touched) and records a
checkpoint of the worktree when its files differ from the last one; each is
listed with its run (``task_checkpoints``) and can be restored with undo.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import TYPE_CHECKING

from treelane.engine import snapshot
from treelane.engine.pool import Lease

if TYPE_CHECKING:
    from treelane.engine.host import EngineHost as Engine


class PeriodicCheckpoints:
    def __init__(self, engine: Engine, run: str, task: str, lease: Lease, interval: float) -> None:
        self.engine, self.run, self.task, self.lease = engine, run, task, lease
        self.interval = interval
        self.taken = 0
        self._stop = threading.Event()
        self._last: str | None = None
        self._started = time.time()
        self._thread = threading.Thread(
            target=self._loop, name=f"treelane-checkpoint-{task}", daemon=True
        )

    def __enter__(self) -> PeriodicCheckpoints:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(Exception):  # a failed checkpoint never fails the task
                self.take()

    def take(self) -> bool:
        """Checkpoint the worktree if its files changed since the last look; True if taken."""
        snap = snapshot.take(self.lease.path)
        last = self._last if self._last is not None else snap.head_tree
        if snap.tree == last:
            return False
        elapsed = time.time() - self._started
        cp = self.engine.checkpoints.checkpoint(
            self.lease.id, self.lease.path, f"{self.run}/{self.task} after {elapsed:.0f} s"
        )
        self._last = cp.tree
        self.engine.store.execute(
            "INSERT INTO task_checkpoints (run, task, checkpoint, worktree, created) "
            "VALUES (?, ?, ?, ?, ?)",
            (self.run, self.task, cp.id, self.lease.id, cp.created),
        )
        self.taken += 1
        return True
