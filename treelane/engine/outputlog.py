"""One attempt's output: numbered, capped for the store, bounded in memory.

* Every line gets the next sequence number of its attempt; the store orders by it, so
  batches written by different threads cannot reorder lines.
* The store keeps the first half of ``cap`` bytes of an attempt's output and its last half;
  what lies between is dropped, replaced by one marker line saying how much.
* Memory is bounded: lines wait for the flusher in a queue of at most :data:`MAX_PENDING`
  lines (the task's reader then waits: back-pressure to the pipe), and the tail kept for
  the end is at most ``cap / 2`` bytes.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import NamedTuple

MAX_PENDING = 20_000  # lines waiting to be flushed before the reader waits
DEFAULT_CAP = 10 * 1024 * 1024


class Line(NamedTuple):
    seq: int
    time: float
    text: str


class Batch(NamedTuple):
    stored: list[Line]  # lines to write to the store, in order
    live: list[str]  # lines to send to listeners, in order


def dropped_marker(lines: int, size: int) -> str:
    mb = size / (1024 * 1024)
    return (
        f"[treelane: {lines:,} lines ({mb:,.1f} MB) of output not kept here; "
        "the first and last part of the output are (log_max_mb in treelane.toml)]"
    )


class OutputBuffer:
    """Lines of one attempt, flushed to the store and to listeners about ten times a second."""

    def __init__(
        self, run: str, task: str, attempt: int, cap: int = DEFAULT_CAP, *, wait: bool = True
    ) -> None:
        self.run, self.task, self.attempt = run, task, attempt
        self.head_cap = cap // 2
        self.tail_cap = cap - self.head_cap
        self.wait = wait  # back-pressure (off when nobody flushes concurrently, e.g. replay)
        self._seq = 0
        self._stored = 0  # bytes of head kept
        self._pending: list[Line] = []
        self._live: list[str] = []
        self._tail: deque[Line] = deque()
        self._tail_bytes = 0
        self._dropped_lines = 0
        self._dropped_bytes = 0
        self._first_dropped: int | None = None
        self._closed = False
        self.lock = threading.Lock()
        self._space = threading.Condition(self.lock)
        # Held while a batch is taken and written: batches reach the store and the
        # listeners in the order they were taken.
        self.write_lock = threading.Lock()

    def add(self, text: str) -> None:
        with self.lock:
            while self.wait and len(self._live) >= MAX_PENDING and not self._closed:
                self._space.wait(0.5)
            self._seq += 1
            line = Line(self._seq, time.time(), text)
            self._live.append(text)
            size = len(text.encode("utf-8", "replace")) + 1
            if self._tail_bytes == 0 and self._stored + size <= self.head_cap:
                self._stored += size
                self._pending.append(line)
                return
            self._tail.append(line)
            self._tail_bytes += size
            while self._tail_bytes > self.tail_cap and self._tail:
                old = self._tail.popleft()
                self._tail_bytes -= len(old.text.encode("utf-8", "replace")) + 1
                if self._first_dropped is None:
                    self._first_dropped = old.seq
                self._dropped_lines += 1
                self._dropped_bytes += len(old.text) + 1

    def take(self) -> Batch:
        """What waits to be written and sent (the tail stays until :meth:`close`)."""
        with self.lock:
            stored, self._pending = self._pending, []
            live, self._live = self._live, []
            self._space.notify_all()
        return Batch(stored, live)

    def close(self) -> None:
        """The attempt ended: the kept tail (after a marker, if lines were dropped) goes out."""
        with self.lock:
            self._closed = True
            if self._first_dropped is not None:
                marker = dropped_marker(self._dropped_lines, self._dropped_bytes)
                self._pending.append(Line(self._first_dropped, time.time(), marker))
            self._pending.extend(self._tail)
            self._tail.clear()
            self._tail_bytes = 0
            self._space.notify_all()

    @property
    def dropped(self) -> int:
        with self.lock:
            return self._dropped_lines
