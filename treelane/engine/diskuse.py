"""How much disk the pool's worktrees take, measured in the background.

A worktree's use is the space its files occupy (``st_blocks``, symlinks not followed,
so a linked ``.venv`` counts once, in the main worktree) plus its private git dir
(index and logs). :class:`DiskMeter` measures a worktree on one background thread when
it is released (a pre-warmed one: when it is ready), at most once per
:data:`MIN_INTERVAL_S` (a walk over every file is not free: a worktree released again
sooner is measured once the interval has passed), and records it in the store
(``worktrees.disk_bytes``), where ``status``, ``worktrees`` and ``pool_max_disk_mb``
read it.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from treelane.storage.db import Store

MIN_INTERVAL_S = 30.0


def tree_bytes(root: Path) -> int:
    """Bytes of disk under ``root`` (allocated blocks; symlinks are not followed)."""
    total = 0
    stack = [str(root)]
    while stack:
        top = stack.pop()
        with contextlib.suppress(OSError), os.scandir(top) as it:
            for entry in it:
                with contextlib.suppress(OSError):
                    st = entry.stat(follow_symlinks=False)
                    total += st.st_blocks * 512
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
    return total


def worktree_bytes(path: Path) -> int:
    """A worktree's files plus its private git dir (named by its ``.git`` file)."""
    total = tree_bytes(path)
    with contextlib.suppress(OSError, UnicodeDecodeError):
        first = (path / ".git").read_text().split("\n", 1)[0]
        if first.startswith("gitdir: "):
            total += tree_bytes(Path(first[len("gitdir: ") :].strip()))
    return total


class DiskMeter:
    """Measures worktrees one at a time on a daemon thread; ``then`` runs after each.

    A worktree measured less than ``interval`` seconds ago is measured again once that
    interval has passed (requests meanwhile are merged into that one)."""

    def __init__(
        self,
        store: Store,
        then: Callable[[], object] | None = None,
        interval: float = MIN_INTERVAL_S,
    ) -> None:
        self.store = store
        self.then = then
        self.interval = interval
        self._due: list[tuple[float, str, Path]] = []  # heap on when
        self._queued: set[str] = set()
        self._last: dict[str, float] = {}
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def later(self, wt_id: str, path: Path) -> None:
        with self._cv:
            if self._stopped or wt_id in self._queued:
                return
            when = max(time.monotonic(), self._last.get(wt_id, -1e9) + self.interval)
            self._queued.add(wt_id)
            heapq.heappush(self._due, (when, wt_id, path))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="treelane-disk", daemon=True
                )
                self._thread.start()
            self._cv.notify_all()

    def stop(self) -> None:
        """Drop what is queued and wait for a measurement in progress (before the store
        closes: a write on a closed connection from this thread is never safe)."""
        with self._cv:
            self._due.clear()
            self._queued.clear()
            self._stopped = True
            thread = self._thread
            self._cv.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(30)

    def measure_now(self, wt_id: str, path: Path) -> int:
        size = worktree_bytes(path) if path.is_dir() else 0
        with contextlib.suppress(Exception):  # (the store may be closing)
            self.store.execute("UPDATE worktrees SET disk_bytes = ? WHERE id = ?", (size, wt_id))
        with self._cv:
            self._last[wt_id] = time.monotonic()
        return size

    def _loop(self) -> None:
        while True:
            with self._cv:
                while True:
                    if self._stopped:
                        self._thread = None
                        return
                    if not self._due:
                        if not self._cv.wait(5) and not self._due:
                            self._thread = None
                            return
                        continue
                    wait = self._due[0][0] - time.monotonic()
                    if wait <= 0:
                        _, wt_id, path = heapq.heappop(self._due)
                        self._queued.discard(wt_id)
                        break
                    self._cv.wait(wait)
            self.measure_now(wt_id, path)
            if self.then is not None:
                with contextlib.suppress(Exception):
                    self.then()
