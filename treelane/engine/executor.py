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
import select
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
    """Run jobs as local subprocesses; time-outs and cancellation end the whole tree.

    On Linux one thread does everything for a job: it waits on the output pipe and on
    a pidfd of the shell (process exit) together, so no reader thread, no timer and no
    polling are needed (less latency per task). Elsewhere a reader thread and a timer
    do the same.
    """

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
                env=_environment(job.env, mark),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: the whole tree can be signalled
            )
        except OSError as exc:
            return Outcome(None, error=f"could not start: {exc}")
        if on_start is not None:
            on_start(proc.pid)
        unregister = cancel.on_cancel(lambda: kill_tree(proc.pid, self.grace, mark=mark))
        try:
            pidfd = _pidfd(proc.pid)
            if pidfd is not None:
                try:
                    code, timed_out = self._select(proc, pidfd, job, on_line, mark)
                finally:
                    os.close(pidfd)
            else:
                code, timed_out = self._threaded(proc, job, on_line, mark)
        finally:
            unregister()
        if cancel.is_set() and not timed_out:
            # The cancel's kill runs on the cancelling thread and may still be under way:
            # end the tree here too, so that nothing of the job outlives this call.
            kill_tree(proc.pid, self.grace, mark=mark)
        if timed_out:
            return Outcome(code, timed_out=True, error=f"timed out after {job.timeout:g} s")
        if cancel.is_set():
            return Outcome(code, cancelled=True, error="cancelled")
        return Outcome(code)

    def _select(
        self,
        proc: subprocess.Popen[bytes],
        pidfd: int,
        job: Job,
        on_line: Callable[[str], None],
        mark: tuple[str, str],
    ) -> tuple[int, bool]:
        """Read output and wait for the exit (pidfd) in this thread; (exit code, timed out)."""
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        os.set_blocking(fd, False)
        lines = _Lines(on_line)
        deadline = None if job.timeout is None else time.monotonic() + job.timeout
        timed_out = exited = False
        drain_until = 0.0
        swept = False
        # poll(2), not a selector object: nothing to create and close per task.
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        poller.register(pidfd, select.POLLIN)
        eof = False
        while not (eof and exited):
            now = time.monotonic()
            if exited:
                wait: float | None = max(0.0, drain_until - now)
            elif deadline is not None and not timed_out:
                wait = max(0.0, deadline - now)
            else:
                wait = None
            events = poller.poll(None if wait is None else wait * 1000)
            if not events:
                if not exited:
                    timed_out = True  # the time-out: end the tree; the exit follows
                    kill_tree(proc.pid, self.grace, mark=mark)
                elif not swept:
                    # Something that left the group (setsid) still holds the output
                    # open: it is part of the job too, and would keep us waiting.
                    swept = True
                    kill_tree(proc.pid, self.grace, mark=mark)
                    drain_until = time.monotonic() + 5
                else:
                    break  # give up on the rest of the output
                continue
            for ready, _ in events:
                if ready == pidfd:
                    exited = True
                    poller.unregister(pidfd)
                    # The shell is a zombie until reaped below, so its group id cannot
                    # be reused: whatever it left running in the group ends with it.
                    _signal_group(proc.pid, signal.SIGKILL)
                    drain_until = time.monotonic() + 0.5
                    continue
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if chunk:
                    lines.feed(chunk)
                else:
                    eof = True  # the exit (and its time-out) is still waited for
                    poller.unregister(fd)
        lines.close()
        proc.stdout.close()
        code = proc.wait()
        _signal_group(proc.pid, signal.SIGKILL)
        return code, timed_out

    def _threaded(
        self,
        proc: subprocess.Popen[bytes],
        job: Job,
        on_line: Callable[[str], None],
        mark: tuple[str, str],
    ) -> tuple[int, bool]:
        """Without pidfds: a reader thread, a blocking wait and a timer for the time-out."""
        reader = threading.Thread(target=_pump, args=(proc, on_line), daemon=True)
        reader.start()
        expired = threading.Event()
        timer = None
        if job.timeout is not None:

            def expire() -> None:
                expired.set()
                kill_tree(proc.pid, self.grace, mark=mark)

            timer = threading.Timer(job.timeout, expire)
            timer.daemon = True
            timer.start()
        try:
            code = proc.wait()
        finally:
            if timer is not None:
                timer.cancel()
                if expired.is_set():
                    timer.join()  # the tree is gone before we report the time-out
        # Whatever the command left running in its group (daemons, `cmd &`) ends with it.
        _signal_group(proc.pid, signal.SIGKILL)
        reader.join(timeout=0.5)
        if reader.is_alive():
            # Something that left the group (setsid) still holds the output open.
            kill_tree(proc.pid, self.grace, mark=mark)
            reader.join(timeout=5)
        return code, expired.is_set()


def _environment(extra: Mapping[str, str], mark: tuple[str, str]) -> dict[bytes, bytes]:
    """This process's environment with ``extra`` and the job's mark, encoded once here
    (subprocess would encode every inherited variable again for each task)."""
    env = os.environb.copy()
    for key, value in extra.items():
        env[os.fsencode(key)] = os.fsencode(value)
    env[os.fsencode(mark[0])] = os.fsencode(mark[1])
    return env


def _pidfd(pid: int) -> int | None:
    """A pidfd for ``pid`` (Linux >= 5.3), or None where there is none."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        return int(opener(pid))
    except OSError:
        return None


def _line(raw: bytes) -> str:
    line = raw.decode(errors="replace").rstrip("\r\n")
    return line[:MAX_LINE] + ("…" if len(line) > MAX_LINE else "")


class _Lines:
    """Splits output chunks into lines; keeps at most what a capped line can show."""

    LIMIT = MAX_LINE * 4 + 4  # bytes: more than MAX_LINE characters in any encoding

    def __init__(self, on_line: Callable[[str], None]) -> None:
        self.on_line = on_line
        self.pending = bytearray()
        self.overlong = False

    def feed(self, chunk: bytes) -> None:
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            if nl < 0:
                self._keep(chunk[start:])
                return
            self._keep(chunk[start:nl])
            self._emit()
            start = nl + 1

    def _keep(self, part: bytes) -> None:
        room = self.LIMIT - len(self.pending)
        if len(part) > room:
            self.pending += part[: max(room, 0)]
            self.overlong = True
        else:
            self.pending += part

    def _emit(self) -> None:
        line = _line(bytes(self.pending))
        if self.overlong and not line.endswith("…"):
            line = line[:MAX_LINE] + "…"
        self.on_line(line)
        self.pending.clear()
        self.overlong = False

    def close(self) -> None:
        if self.pending or self.overlong:
            self._emit()


def _pump(proc: subprocess.Popen[bytes], on_line: Callable[[str], None]) -> None:
    assert proc.stdout is not None
    for raw in proc.stdout:
        on_line(_line(raw))
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
