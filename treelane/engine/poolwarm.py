"""Pre-warming: idle worktrees created in the background before tasks ask for them.

:meth:`Prewarmer.prewarm` starts one thread per missing worktree (up to the pool's
``size``, counting those there are and those being made); each creates a worktree
through the pool (so ``create_parallel`` bounds them too) under a lease whose task is
:data:`~treelane.engine.queries.PREWARM_TASK`, then makes it idle. An acquirer that finds
no idle worktree waits
for one being made, as long as there is one nobody else waits for
(:meth:`Prewarmer.await_warm`), instead of creating one more.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from treelane.storage.db import Store


class Made(NamedTuple):
    id: str
    path: Path


class Prewarmer:
    def __init__(
        self,
        store: Store,
        size: Callable[[], int],
        create: Callable[[str], Made],
        on_ready: Callable[[str, Path], None],
    ) -> None:
        self.store = store
        self.size = size  # the pool's current size setting
        self.create = create  # make a worktree at a commit, leased under PREWARM_TASK
        self.on_ready = on_ready
        self._cv = threading.Condition()
        self._warming = 0  # creations not yet finished
        self._warmed = 0  # creations finished (waiters watch it change)
        self._waiting = 0  # acquirers waiting for one
        self._threads: list[threading.Thread] = []
        self._stopped = False

    def prewarm(self, sha: str) -> int:
        """Start creating idle worktrees at ``sha``; how many it started."""
        row = self.store.one("SELECT COUNT(*) AS n FROM worktrees WHERE drift IS NULL")
        have = int(row["n"]) if row else 0
        with self._cv:
            if self._stopped:
                return 0
            n = self.size() - have - self._warming
            if n <= 0:
                return 0
            self._warming += n
            threads = [
                threading.Thread(target=self._warm_one, args=(sha,), daemon=True) for _ in range(n)
            ]
            self._threads = [t for t in self._threads if t.is_alive()] + threads
        for t in threads:
            t.start()
        return n

    def _warm_one(self, sha: str) -> None:
        try:
            if not self._stopped:
                made = self.create(sha)
                self.store.execute(
                    "UPDATE worktrees SET state = 'idle', owner_pid = NULL, owner_host = NULL, "
                    "owner_started = NULL, run = NULL, task = NULL, last_used = ? WHERE id = ?",
                    (time.time(), made.id),
                )
                self.on_ready(made.id, made.path)
        except Exception as exc:  # a task that needs one creates its own and reports errors
            with contextlib.suppress(Exception):
                self.store.event("worktree.prewarm_failed", reason=str(exc))
        finally:
            with self._cv:
                self._warming -= 1
                self._warmed += 1
                self._cv.notify_all()

    def await_warm(self) -> bool:
        """No idle worktree: wait for one being pre-warmed, if there is one nobody else waits
        for; True when one finished (lease again), False to create one now."""
        with self._cv:
            if self._warming <= self._waiting:
                return False
            self._waiting += 1
            try:
                seen = self._warmed
                self._cv.wait_for(lambda: self._warmed != seen or self._warming == 0, 3600)
            finally:
                self._waiting -= 1
            return True

    def stop(self, timeout: float = 600.0) -> None:
        """Start no more; wait for the ones being made (no half-made worktree is left)."""
        with self._cv:
            self._stopped = True
            threads = list(self._threads)
        deadline = time.monotonic() + timeout
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
