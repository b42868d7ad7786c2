"""The output of running attempts: buffered per attempt, stored in batches, sent live.

The engine's flush thread calls :meth:`LiveOutput.flush_all` ten times a second; an
attempt's last lines go out when it ends (:meth:`LiveOutput.close`). A cache hit's output
is replayed through the same path, so the store and listeners see it as if it ran.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from treelane.engine.events import Event, Output
from treelane.engine.outputlog import OutputBuffer
from treelane.storage.db import Store


class LiveOutput:
    def __init__(self, store: Store, emit: Callable[[Event], None], cap: Callable[[], int]):
        self._store = store
        self._emit = emit
        self._cap = cap  # bytes of one attempt's output the store keeps (log_max_mb)
        self._buffers: dict[tuple[str, str], OutputBuffer] = {}
        self._lock = threading.Lock()

    def open(self, run_id: str, task: str, attempt: int) -> OutputBuffer:
        buf = OutputBuffer(run_id, task, attempt, self._cap())
        with self._lock:
            self._buffers[(run_id, task)] = buf
        return buf

    def close(self, run_id: str, task: str) -> None:
        """The attempt ended: its last lines are stored and sent."""
        with self._lock:
            buf = self._buffers.pop((run_id, task), None)
        if buf is not None:
            buf.close()
            self._write(buf)

    def replay(self, run_id: str, task: str, attempt: int, lines: list[str]) -> None:
        """A cache hit: store and send the output the cached run printed."""
        buf = OutputBuffer(run_id, task, attempt, 1 << 62, wait=False)
        for line in lines:
            buf.add(line)
        buf.close()
        self._write(buf)

    def flush_all(self) -> None:
        """What every running attempt printed since the last flush (one failing buffer does
        not keep the others back)."""
        with self._lock:
            bufs = list(self._buffers.values())
        for buf in bufs:
            with contextlib.suppress(Exception):
                self._write(buf)

    def _write(self, buf: OutputBuffer) -> None:
        with buf.write_lock:  # batches are stored and sent in the order they were taken
            batch = buf.take()
            if batch.stored:
                with self._store.write() as db:
                    db.table("output").insert_all(
                        {
                            "run": buf.run,
                            "task": buf.task,
                            "attempt": buf.attempt,
                            "seq": ln.seq,
                            "time": ln.time,
                            "line": ln.text,
                        }
                        for ln in batch.stored
                    )
            if batch.live:
                self._emit(Output(buf.run, buf.task, batch.live))
