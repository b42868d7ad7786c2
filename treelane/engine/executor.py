"""Where and how one task's command runs: the one interface a remote backend replaces.

The scheduler hands an :class:`Executor` a :class:`Job` (command, folder, env,
time-out) and gets back an :class:`Outcome`. :class:`LocalExecutor` runs it here
through ``/bin/sh -c`` in its own process group; a distributed backend (for
example Dask: submit a function that does the same on a worker that has the
repository) implements the same ``execute`` and nothing else changes.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple, Protocol

import psutil

MAX_LINE = 4000  # characters kept of one output line
JOB_MARK = "TREELANE_JOB"  # environment variable that marks every process of one job


class Job(NamedTuple):
    command: str
    cwd: Path
    env: Mapping[str, str]
    timeout: float | None = None


class Outcome(NamedTuple):
    exit_code: int | None  # None when it never started
    timed_out: bool = False
    cancelled: bool = False
    error: str | None = None  # could not start, or why it ended


class Started(Protocol):
    def __call__(self, pid: int) -> None: ...


class CancelToken:
    """Set once; callbacks registered with :meth:`on_cancel` run when it is set."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []
        self._set = False

    def is_set(self) -> bool:
        return self._set

    def cancel(self) -> None:
        with self._lock:
            if self._set:
                return
            self._set = True
            callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            cb()

    def on_cancel(self, cb: Callable[[], None]) -> Callable[[], None]:
        """Register ``cb`` (run at once if already cancelled); returns an unregister function."""
        with self._lock:
            if not self._set:
                self._callbacks.append(cb)
                return lambda: self._discard(cb)
        cb()
        return lambda: None

    def _discard(self, cb: Callable[[], None]) -> None:
        with self._lock:
            if cb in self._callbacks:
                self._callbacks.remove(cb)


class Executor(Protocol):
    def execute(
        self,
        job: Job,
        on_line: Callable[[str], None],
        cancel: CancelToken,
        on_start: Started | None = None,
    ) -> Outcome: ...


class LocalExecutor:
    """Run jobs as local subprocesses; time-outs and cancellation end the whole tree."""

    def __init__(self, grace: float = 3.0) -> None:
        self.grace = grace

    def execute(
        self,
        job: Job,
        on_line: Callable[[str], None],
        cancel: CancelToken,
        on_start: Started | None = None,
    ) -> Outcome:
        if cancel.is_set():
            return Outcome(None, cancelled=True, error="cancelled")
        # Every process of the job inherits this mark, even one that leaves the tree
        # (``setsid cmd &`` from a shell that then exits): kill_tree finds it by the mark.
        mark = (JOB_MARK, secrets.token_hex(8))
        try:
            proc = subprocess.Popen(
                ["/bin/sh", "-c", job.command],
                cwd=job.cwd,
                env={**os.environ, **job.env, mark[0]: mark[1]},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: the whole tree can be signalled
            )
        except OSError as exc:
            return Outcome(None, error=f"could not start: {exc}")
        if on_start is not None:
            on_start(proc.pid)
        reader = threading.Thread(target=_pump, args=(proc, on_line), daemon=True)
        reader.start()
        unregister = cancel.on_cancel(lambda: kill_tree(proc.pid, self.grace, mark=mark))
        timed_out = False
        try:
            code = proc.wait(timeout=job.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_tree(proc.pid, self.grace, mark=mark)
            code = proc.wait()
        finally:
            unregister()
        # Whatever the command left running in its group (daemons, `cmd &`) ends with it.
        _signal_group(proc.pid, signal.SIGKILL)
        reader.join(timeout=0.5)
        if reader.is_alive():
            # Something that left the group (setsid) still holds the output open: it is
            # part of the job too, and would otherwise keep the reader (and us) waiting.
            kill_tree(proc.pid, self.grace, mark=mark)
            reader.join(timeout=5)
        if timed_out:
            return Outcome(code, timed_out=True, error=f"timed out after {job.timeout:g} s")
        if cancel.is_set():
            return Outcome(code, cancelled=True, error="cancelled")
        return Outcome(code)


def _pump(proc: subprocess.Popen[bytes], on_line: Callable[[str], None]) -> None:
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.decode(errors="replace").rstrip("\r\n")
        on_line(line[:MAX_LINE] + ("…" if len(line) > MAX_LINE else ""))
    proc.stdout.close()


def kill_tree(pid: int, grace: float = 3.0, *, mark: tuple[str, str] | None = None) -> None:
    """SIGTERM the process group of ``pid`` and every descendant, SIGKILL what survives.

    Descendants that moved to a group of their own (``setsid``) are found through
    psutil before anything is signalled, so no orphan is left behind; with ``mark``
    (an environment variable and its value) so is every process that carries it,
    which catches those whose parent already exited. Zombies count as ended, and
    ``pid`` itself is never reaped here, so its parent still gets its exit status.
    """
    procs: dict[int, psutil.Process] = {}
    with contextlib.suppress(psutil.NoSuchProcess):
        root = psutil.Process(pid)
        procs[pid] = root
        for p in root.children(recursive=True):
            procs[p.pid] = p
    if mark is not None:
        for p in marked(*mark):
            procs.setdefault(p.pid, p)
            with contextlib.suppress(psutil.Error):
                for c in p.children(recursive=True):
                    procs.setdefault(c.pid, c)
    _signal_group(pid, signal.SIGTERM)
    for p in procs.values():
        with contextlib.suppress(psutil.NoSuchProcess):
            p.send_signal(signal.SIGTERM)
    alive = _wait_gone(list(procs.values()), grace)
    _signal_group(pid, signal.SIGKILL)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    _wait_gone(alive, grace)


def marked(name: str, value: str) -> list[psutil.Process]:
    """Processes (of this user) whose environment has ``name=value``."""
    me = os.getpid()
    found = []
    for p in psutil.process_iter():
        if p.pid == me:
            continue
        try:
            if p.environ().get(name) == value:
                found.append(p)
        except (psutil.Error, OSError):
            continue
    return found


def _ended(p: psutil.Process) -> bool:
    try:
        return not p.is_running() or p.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:
        return False


def _wait_gone(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Poll until every process has ended (zombies included); those still alive.

    Polls rather than ``psutil.wait_procs``: that reaps our own children (stealing the
    exit status from ``subprocess``) and waits the whole time-out for zombies nobody reaps.
    """
    deadline = time.monotonic() + timeout
    alive = [p for p in procs if not _ended(p)]
    delay = 0.001
    while alive and time.monotonic() < deadline:
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
        alive = [p for p in alive if not _ended(p)]
    return alive


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
