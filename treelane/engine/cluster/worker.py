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

from treelane.engine import attempt, git
from treelane.engine.cluster import bundles
from treelane.engine.executor import CancelToken, Job, LocalExecutor, kill_tree

WORKER_DIR_ENV = "TREELANE_WORKER_DIR"
HAVE_REFS = "refs/treelane/have"
OUT_REFS = "refs/treelane/out"
FLUSH_EVERY = 0.1  # seconds between batches of output lines
CANCEL_POLL = 0.25


class Answer(NamedTuple):
    result: attempt.AttemptResult
    commit: str | None  # the result commit on the worker (None: no change or no success)
    bundle: bytes | None  # the result commit minus the input
    incarnation: str  # this execution (a rescheduled attempt has another)


class _Repo:
    """A worker's clone of one repository and its idle worktrees."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.git_dir = root / "repo.git"
        self.lock = threading.Lock()
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
        with self.lock:
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
            shutil.rmtree(path, ignore_errors=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            git.out(["worktree", "add", "-q", "--detach", str(path), commit], self.git_dir)
            if setup:
                LocalExecutor().execute(
                    Job(setup, path, dict(os.environ)), lambda _l: None, CancelToken()
                )
        else:  # warm: only the paths that differ are written (ignored files are kept)
            git.out(["checkout", "-q", "-f", "--detach", commit], path)
            git.out(["clean", "-q", "-f", "-d"], path)
        return wid, path

    def release(self, wid: str, path: Path) -> None:
        with self.lock:
            self.idle.append((wid, path))


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

    worker = get_worker()
    base = Path(os.environ.get(WORKER_DIR_ENV) or worker.local_directory)
    repo = _repo(repo_key, base)
    repo.receive(spec.input_commit, bundle)
    inc = secrets.token_hex(4)
    io = _IO(worker.log_event, topic, inc)
    wid, path = repo.acquire(spec.input_commit, spec.setup)
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
        last_flush = 0.0
        while not stop.is_set():
            with contextlib.suppress(Exception):
                if unwanted() or cancel_event.is_set():
                    io.cancel.cancel()
            now = time.monotonic()
            if now - last_flush >= FLUSH_EVERY:
                io.flush()
                last_flush = now
            stop.wait(min(FLUSH_EVERY, CANCEL_POLL))

    watcher = threading.Thread(target=watch, name="treelane-attempt-watch", daemon=True)
    watcher.start()
    try:
        env = {**attempt.attempt_env(spec, path), WORKER_MARK: str(os.getpid())}
        res = attempt.execute(
            spec, path, LocalExecutor(), io, env, where=worker.address, worktree_id=wid
        )
    finally:
        stop.set()
        watcher.join()
    try:
        commit = data = None
        if res.tree is not None and res.tree != spec.input_tree:
            commit = git.commit_tree(repo.git_dir, res.tree, [spec.input_commit], spec.message)
            git.update_ref(repo.git_dir, f"{HAVE_REFS}/{commit}", commit)
            data = bundles.create(repo.git_dir, commit, [spec.input_commit])
        return Answer(res, commit, data, inc)
    finally:
        repo.release(wid, path)
