"""psutil sampler: system CPU and memory plus each running task's process tree.

Samples about once a second while any task runs and sleeps otherwise. Each
sample feeds "auto" concurrency and goes to listeners (the LSP server streams
them as ``treelane/resources``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import psutil

Sample = dict[str, Any]


class TaskProc:
    """A running task's root process, as the monitor tracks it."""

    def __init__(self, run: str, task: str, pid: int) -> None:
        self.run, self.task, self.pid = run, task, pid
        self._procs: dict[int, psutil.Process] = {}

    def measure(self) -> dict[str, Any] | None:
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return None
        cpu = rss = 0.0
        alive: dict[int, psutil.Process] = {}
        for p in procs:
            known = self._procs.get(p.pid, p)  # keep Process objects: cpu_percent needs history
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                cpu += known.cpu_percent(None)
                rss += known.memory_info().rss
                alive[p.pid] = known
        self._procs = alive
        return {
            "run": self.run,
            "task": self.task,
            "pid": self.pid,
            "cpu_percent": round(cpu, 1),
            "rss_mb": round(rss / 2**20, 1),
            "processes": len(alive),
        }


class Monitor:
    def __init__(
        self,
        on_sample: Callable[[Sample], None],
        concurrency: Callable[[], dict[str, int]],
        interval: float = 1.0,
    ) -> None:
        self.on_sample = on_sample
        self.concurrency = concurrency
        self.interval = interval
        self._tasks: dict[tuple[str, str], TaskProc] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last: Sample | None = None
        psutil.cpu_percent(None)  # prime the system counter

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="treelane-monitor", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def track(self, run: str, task: str, pid: int) -> None:
        with self._lock:
            self._tasks[(run, task)] = TaskProc(run, task, pid)
        self._wake.set()

    def untrack(self, run: str, task: str) -> None:
        with self._lock:
            self._tasks.pop((run, task), None)

    def active(self) -> bool:
        return bool(self._tasks) or self.concurrency().get("running", 0) > 0

    def sample(self) -> Sample:
        vm = psutil.virtual_memory()
        with self._lock:
            tasks = list(self._tasks.values())
        measured = [m for m in (t.measure() for t in tasks) if m is not None]
        s: Sample = {
            "time": time.time(),
            "system": {
                "cpu_percent": psutil.cpu_percent(None),
                "memory_percent": vm.percent,
                "memory_available_mb": round(vm.available / 2**20, 1),
            },
            "tasks": measured,
            "concurrency": self.concurrency(),
        }
        self.last = s
        return s

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not self.active():
                self._wake.wait()  # idle: no samples, no wake-ups
                self._wake.clear()
                continue
            with contextlib.suppress(Exception):
                self.on_sample(self.sample())
            self._stop.wait(self.interval)

    def wake(self) -> None:
        self._wake.set()


def memory_available_mb() -> float:
    return float(psutil.virtual_memory().available) / 2**20


def auto_limit(memory_per_task_mb: int, ceiling: int | None = None) -> int:
    """min(CPU count, available memory x 0.8 / memory per task, ceiling), at least 1."""
    cpus = psutil.cpu_count() or 1
    by_memory = int(memory_available_mb() * 0.8 // max(1, memory_per_task_mb))
    limit = min(cpus, by_memory)
    if ceiling is not None:
        limit = min(limit, ceiling)
    return max(1, limit)
