"""What runs on a Dask worker: one attempt in the worker's own clone and warm worktrees.

Nothing here reads the coordinator's files: the input arrives as a git bundle (or is
already in the worker's clone), the result leaves as a bundle of the result commit
minus the input. A worker keeps, per repository, a bare clone and a pool of worktrees
under ``$TREELANE_WORKER_DIR`` (default: the Dask worker's local directory)/treelane.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

import psutil

from treelane.engine import attempt, git, snapshot
from treelane.engine.cluster import bundles
from treelane.engine.executor import CancelToken, Job, LocalExecutor, kill_tree

WORKER_DIR_ENV = "TREELANE_WORKER_DIR"
HAVE_REFS = "refs/treelane/have"
OUT_REFS = "refs/treelane/out"
FLUSH_EVERY = 0.1  # seconds between batches of output lines
CANCEL_POLL = 0.5  # seconds a cancel may wait before the worker sees it


class Answer(NamedTuple):
    result: attempt.AttemptResult
    commit: str | None  # the result commit on the worker (None: no change or no success)
    bundle: bytes | None  # the result commit minus the input
    incarnation: str  # this execution (a rescheduled attempt has another)
    timings: tuple[tuple[str, float], ...] = ()  # (phase, seconds) on the worker, in order
    began: float = 0.0  # wall clock when the task started on the worker


class _Repo:
    """A worker's clone of one repository and its idle worktrees."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.git_dir = root / "repo.git"
        self.lock = threading.Lock()
        self.adding = threading.Lock()  # one ``git worktree add`` at a time
        self.receiving = threading.Lock()  # one fetch of a bundle at a time
        self.idle: list[tuple[str, Path]] = []
        self.made = 0
        if not (self.git_dir / "HEAD").exists():
            root.mkdir(parents=True, exist_ok=True)
            git.out(["init", "-q", "--bare", str(self.git_dir)], root)
        # A worktree left by a worker that died goes back to the pool.
        for wt in sorted((root / "wt").glob("w*")) if (root / "wt").is_dir() else []:
            if (wt / ".git").exists():
                self.idle.append((wt.name, wt))
                self.made = max(self.made, int(wt.name[1:] or 0) + 1)
            else:
                shutil.rmtree(wt, ignore_errors=True)
        git.run(["worktree", "prune"], self.git_dir, check=False)

    def receive(self, commit: str, bundle: bytes | None) -> None:
        with self.receiving:  # (not self.lock: other slots take worktrees meanwhile)
            if bundles.has_commit(self.git_dir, commit):
                return
            if bundle is None:
                raise bundles.MissingObjects(f"this worker lacks {commit[:12]}")
            bundles.fetch(self.git_dir, bundle, commit, f"{HAVE_REFS}/{commit}")

    def acquire(self, commit: str, setup: str) -> tuple[str, Path]:
        with self.lock:
            if self.idle:
                wid, path = self.idle.pop()
                fresh = False
            else:
                wid, path = f"w{self.made}", self.root / "wt" / f"w{self.made}"
                self.made += 1
                fresh = True
        if fresh:
            self._add(path, commit, setup)
        else:  # warm: only the paths that differ are written (ignored files are kept)
            git.out(["checkout", "-q", "-f", "--detach", commit], path)
            git.out(["clean", "-q", "-f", "-d"], path)
        return wid, path

    def _add(self, path: Path, commit: str, setup: str) -> None:
        """A new worktree at ``commit`` (then ``setup`` in it).

        One ``worktree add`` at a time per clone: git reads the other worktrees' admin
        folders while it adds one, and fails on one that is half made beside it.
        """
        with self.adding:
            shutil.rmtree(path, ignore_errors=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            add = ["worktree", "add", "-q", "--detach", str(path), commit]
            if git.run(add, self.git_dir, check=False).returncode != 0:
                git.run(["worktree", "prune"], self.git_dir, check=False)  # a stale entry
                shutil.rmtree(path, ignore_errors=True)
                git.out(add, self.git_dir)
        if setup:
            LocalExecutor().execute(
                Job(setup, path, dict(os.environ)), lambda _l: None, CancelToken()
            )

    def warm(self, commit: str, setup: str, count: int) -> int:
        """Make idle worktrees at ``commit`` until there are ``count``; how many were made."""
        made = 0
        while True:
            with self.lock:
                if len(self.idle) >= count:
                    return made
                wid, path = f"w{self.made}", self.root / "wt" / f"w{self.made}"
                self.made += 1
            try:
                self._add(path, commit, setup)
            except BaseException:
                shutil.rmtree(path, ignore_errors=True)
                raise
            self.release(wid, path)
            made += 1

    def release(self, wid: str, path: Path) -> None:
        with self.lock:
            self.idle.append((wid, path))


class _Clock:
    """Phase timings of one attempt on the worker; ``began``: the wall clock it started."""

    def __init__(self) -> None:
        self.began = time.time()
        self._t = time.perf_counter()
        self._laps: list[tuple[str, float]] = []

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self._laps.append((phase, now - self._t))
        self._t = now

    def laps(self) -> tuple[tuple[str, float], ...]:
        return tuple(self._laps)


_repos: dict[Path, _Repo] = {}
_repos_lock = threading.Lock()
WORKER_MARK = "TREELANE_WORKER_PID"  # on every attempt's processes: the worker that ran it


def _reap_orphans() -> None:
    """Processes of attempts whose worker was killed (SIGKILL leaves them behind) end."""
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError, ValueError):
            owner = proc.environ().get(WORKER_MARK)
            if owner and not psutil.pid_exists(int(owner)):
                kill_tree(proc.pid, grace=1.0)


def _repo(key: str, base: Path) -> _Repo:
    root = base / "treelane" / key
    with _repos_lock:
        if not _repos:  # this worker process's first attempt
            threading.Thread(target=_reap_orphans, name="treelane-reap", daemon=True).start()
        repo = _repos.get(root)
        if repo is None:
            repo = _repos[root] = _Repo(root)
        return repo


class _IO:
    """Output in batches to the coordinator's topic; cancel from the attempt's Event."""

    def __init__(self, send: Any, topic: str, incarnation: str) -> None:
        self.cancel = CancelToken()
        self._send, self._topic, self._inc = send, topic, incarnation
        self._lines: list[str] = []
        self._sent = 0
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        with self._lock:
            self._lines.append(text)

    def started(self, pid: int) -> None:
        return None

    def flush(self) -> None:
        with self._lock:
            start, batch = self._sent, self._lines[self._sent :]
            self._sent = len(self._lines)
        if batch:
            with contextlib.suppress(Exception):
                self._send(self._topic, {"inc": self._inc, "i": start, "lines": batch})


def prepare(repo_key: str, commit: str, bundle: bytes | None, worktrees: int, setup: str) -> int:
    """The Dask task that readies a worker once: its clone gets ``commit`` (the whole
    history the first time) and ``worktrees`` idle worktrees at it (its slots).

    Returns how many worktrees it made. Run pinned to one worker, before its first attempt.
    """
    import distributed

    dd: Any = distributed
    worker = dd.get_worker()
    base = Path(os.environ.get(WORKER_DIR_ENV) or worker.local_directory)
    repo = _repo(repo_key, base)
    repo.receive(commit, bundle)
    return repo.warm(commit, setup, worktrees)


def run_attempt(
    spec: attempt.AttemptSpec,
    repo_key: str,
    bundle: bytes | None,
    topic: str,
    cancel_name: str,
) -> Answer:
    """The Dask task: receive the input, run the attempt, bundle the result."""
    import distributed  # the worker has the extra installed

    dd: Any = distributed
    Event, get_worker = dd.Event, dd.get_worker

    clock = _Clock()
    worker = get_worker()
    base = Path(os.environ.get(WORKER_DIR_ENV) or worker.local_directory)
    repo = _repo(repo_key, base)
    repo.receive(spec.input_commit, bundle)
    clock.lap("receive")
    inc = secrets.token_hex(4)
    io = _IO(worker.log_event, topic, inc)
    wid, path = repo.acquire(spec.input_commit, spec.setup)
    clock.lap("acquire")
    worker.log_event(topic, {"inc": inc, "on": worker.address, "worktree": wid})
    stop = threading.Event()
    key = worker.get_current_task()

    def unwanted() -> bool:
        """The scheduler let the task go (its client, the coordinator, is gone)."""
        ts = worker.state.tasks.get(key)
        return ts is None or ts.state in ("cancelled", "released", "forgotten")

    # Made here, in the task's thread, where the worker's client is found.
    cancel_event = Event(cancel_name, client=dd.get_client())

    def watch() -> None:
        """Output in batches; a task the scheduler let go is cancelled (both local checks)."""
        while not stop.is_set():
            with contextlib.suppress(Exception):
                if unwanted():
                    io.cancel.cancel()
            io.flush()
            stop.wait(FLUSH_EVERY)

    def wait_cancel() -> None:
        """The attempt's Event, by a long poll at the scheduler (one request per
        CANCEL_POLL, not one per output batch: the scheduler serves every worker)."""
        while not stop.is_set():
            try:
                if cancel_event.wait(timeout=CANCEL_POLL):
                    io.cancel.cancel()
                    return
            except Exception:
                stop.wait(CANCEL_POLL)

    watcher = threading.Thread(target=watch, name="treelane-attempt-watch", daemon=True)
    watcher.start()
    canceller = threading.Thread(target=wait_cancel, name="treelane-attempt-cancel", daemon=True)
    canceller.start()
    try:
        env = {**attempt.attempt_env(spec, path), WORKER_MARK: str(os.getpid())}
        res = attempt.execute(
            spec,
            path,
            LocalExecutor(),
            io,
            env,
            snapshot_tree=False,
            where=worker.address,
            worktree_id=wid,
        )
        clock.lap("command")
        if res.error is None:
            res = res._replace(tree=snapshot.files_tree(path), finished=time.time())
        clock.lap("snapshot")
    finally:
        stop.set()
        watcher.join()
    try:
        commit = data = None
        if res.tree is not None and res.tree != spec.input_tree:
            commit = git.commit_tree(repo.git_dir, res.tree, [spec.input_commit], spec.message)
            git.update_ref(repo.git_dir, f"{HAVE_REFS}/{commit}", commit)
            data = bundles.create(repo.git_dir, commit, [spec.input_commit])
        clock.lap("result_bundle")
        return Answer(res, commit, data, inc, clock.laps(), clock.began)
    finally:
        repo.release(wid, path)
