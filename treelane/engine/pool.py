"""A pool of reusable, detached git worktrees with leases in the store.

* ``acquire(commit)`` hands out a clean worktree at ``commit``: a warm idle one
  when there is one (cost: a ``checkout`` of the paths that differ), else one that
  :meth:`~WorktreePool.prewarm` is creating, else a new ``git worktree add --detach``.
  Adds run concurrently, at most ``create_parallel`` at a time in this process
  (only picking the id and clearing debris is serialised across processes).
* ``prewarm(commit)`` creates idle worktrees in the background until the pool holds
  ``size`` of them (the engine calls it when it starts and when a run is queued).
* ``release(id)`` resets it (``reset --hard`` + ``clean -fd``, or ``-fdx`` in
  pristine mode) and keeps it warm; idle worktrees beyond ``size`` are trimmed.
* Leases name their owner (pid, host, process start time). A lease whose owner
  is dead is reclaimed; its worktree is saved and reset before reuse.
* Drift: an idle worktree whose HEAD or files changed behind treelane's back is
  reported (``drift``) and never reused or reset silently.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import psutil

from treelane.engine import diskfull, git, owners, snapshot
from treelane.engine import sparse as sparsity
from treelane.engine.diskuse import DiskMeter
from treelane.engine.poolupkeep import (
    SAVED_REFS,
    CleanupResult,
    PoolUpkeep,
    WorktreeInfo,
    owner_alive,
    worktree_status,
)
from treelane.engine.poolwarm import Made, Prewarmer
from treelane.engine.queries import PREWARM_TASK
from treelane.engine.workflow import SYSTEM_DIRS, SYSTEM_TREES
from treelane.engine.workspace import Workspace
from treelane.errors import RequestFailed
from treelane.storage.db import Store

_FULL_SHA = re.compile(r"[0-9a-f]{40}")
HOST = owners.HOST
__all__ = [
    "HOST",
    "SAVED_REFS",
    "CleanupResult",
    "Lease",
    "PoolConfig",
    "WorktreeInfo",
    "WorktreePool",
    "include_source",
    "owner_alive",
]


@dataclass(frozen=True)
class PoolConfig:
    size: int = 4  # idle worktrees kept warm
    include: tuple[str, ...] = ()  # ignored files/folders of the main worktree to bring along
    setup: str = ""  # command run once in each new worktree
    pristine: bool = False  # reset with ``clean -fdx`` (removes ignored files too)
    setup_timeout: float = 1800.0
    create_parallel: int = 4  # ``git worktree add`` processes at once (this process)
    max_disk_mb: int = 0  # evict idle worktrees (least recently used) above this; 0: no limit


class Lease(NamedTuple):
    id: str
    path: Path
    commit: str


@dataclass
class _Owner:
    pid: int = field(default_factory=os.getpid)
    host: str = HOST
    started: float = field(default_factory=lambda: psutil.Process().create_time())


class WorktreePool(PoolUpkeep):
    """Leases of worktrees (acquire, prepare, create, pre-warm, release and reset); their
    inspection, saving and removal are :class:`~treelane.engine.poolupkeep.PoolUpkeep`'s."""

    def __init__(self, ws: Workspace, store: Store, config: PoolConfig | None = None) -> None:
        self.ws = ws
        self.store = store
        self.config = config or PoolConfig()
        self.owner = _Owner()
        self._cv = threading.Condition()
        self._adding = 0  # `git worktree add` in flight here
        self.meter = DiskMeter(store, then=self.evict_for_disk)
        self.warmer = Prewarmer(
            store, lambda: self.config.size, self._create_warm, self.meter.later
        )

    # --- leasing ---------------------------------------------------------

    def acquire(
        self,
        commit: str,
        *,
        run: str | None = None,
        task: str | None = None,
        sparse: tuple[str, ...] = (),
    ) -> Lease:
        """A clean worktree checked out (detached) at ``commit``, leased to this process;
        with ``sparse``, only those folders (and top-level files) are checked out."""
        # A full sha (the scheduler's own commits) needs no lookup: checkout checks it.
        sha = commit if _FULL_SHA.fullmatch(commit) else git.resolve_commit(self.ws.root, commit)
        self.reclaim_dead()
        while True:
            row = self._lease_idle(sha, run, task, sparsity.key(sparse))
            if row is None:
                if self.warmer.await_warm():
                    continue
                return self._create(sha, run, task, sparse)
            path = Path(row["path"])
            try:
                if self._prepare(row, path, sha, sparse):
                    return Lease(row["id"], path, sha)
            except git.GitError as exc:
                if not git.object_exists(self.ws.root, sha):  # the caller's commit, not the tree
                    self.release(row["id"])
                    raise RequestFailed(f"unknown commit {sha}") from None
                self._mark_drift(row["id"], f"could not be reused: {exc}")

    def _lease_idle(
        self, sha: str, run: str | None, task: str | None, skey: str = ""
    ) -> dict[str, Any] | None:
        """Take the best idle worktree: one with the same sparse folders, at ``sha``, else
        the most recently used."""
        with self.store.write():
            row = self.store.one(
                "SELECT * FROM worktrees WHERE state = 'idle' AND drift IS NULL "
                "ORDER BY (COALESCE(sparse, '') = ?) DESC, (commit_sha = ?) DESC, "
                "last_used DESC LIMIT 1",
                (skey, sha),
            )
            if row is not None:
                self._set_busy(row["id"], run, task)
        return row

    def _set_busy(self, wt_id: str, run: str | None, task: str | None) -> None:
        o = self.owner
        self.store.execute(
            "UPDATE worktrees SET state = 'busy', owner_pid = ?, owner_host = ?, "
            "owner_started = ?, leased_at = ?, run = ?, task = ? WHERE id = ?",
            (o.pid, o.host, o.started, time.time(), run, task, wt_id),
        )

    def _prepare(
        self, row: dict[str, Any], path: Path, sha: str, sparse: tuple[str, ...] = ()
    ) -> bool:
        """Check a leased idle worktree for drift and move it to ``sha``; False if unusable."""
        if not path.is_dir():
            self._forget(row["id"])
            return False
        head, dirty = worktree_status(path)
        if row["needs_reset"]:
            if dirty:
                self.save(row["id"], path, "reclaimed from a dead owner")
            _clear_stale_lock(path)
            self._reset(path)
        elif head != row["commit_sha"] or dirty:
            what = "HEAD moved" if head != row["commit_sha"] else "files changed"
            self._mark_drift(row["id"], f"{what} outside treelane")
            return False
        skey = sparsity.key(sparse)
        if (row["sparse"] or "") != skey:
            sparsity.apply(path, sparse)
        if head != sha:
            git.run(["-c", "advice.detachedHead=false", "checkout", "-q", "--detach", sha], path)
        self.store.execute(
            "UPDATE worktrees SET commit_sha = ?, needs_reset = 0, sparse = ? WHERE id = ?",
            (sha, skey or None, row["id"]),
        )
        return True

    def _create(
        self, sha: str, run: str | None, task: str | None, sparse: tuple[str, ...] = ()
    ) -> Lease:
        with self._cv:
            self._cv.wait_for(lambda: self._adding < max(1, self.config.create_parallel))
            self._adding += 1
        try:
            wt_id, path = self._new_row(sha, run, task, sparsity.key(sparse))
            lazy = ["--no-checkout"] if sparse else []  # the cone first, then the files
            add = ["worktree", "add", "--detach", *lazy, "--end-of-options", str(path), sha]
            try:
                # Outside the lock: adds of different worktrees run side by side (git marks
                # one being made "initializing", so a concurrent prune leaves it alone).
                if git.run(add, self.ws.root, check=False).returncode != 0:
                    # A folder deleted by hand stays registered ("missing but already
                    # registered worktree") until pruned: prune, then try once more.
                    with self.ws.lock("worktree-add"):
                        git.run(["worktree", "prune"], self.ws.root)
                    git.run(add, self.ws.root)
                if sparse:
                    sparsity.apply(path, sparse)
                    sparsity.populate(path)
            except git.GitError:
                if sparse:
                    self._discard(wt_id, path)
                else:
                    self._forget(wt_id)
                raise
        finally:
            with self._cv:
                self._adding -= 1
                self._cv.notify_all()
        try:
            self._bootstrap(path)
        except BaseException:
            self._discard(wt_id, path)  # brand new: nothing in it is anyone's work
            raise
        return Lease(wt_id, path, sha)

    def _new_row(
        self, sha: str, run: str | None, task: str | None, skey: str = ""
    ) -> tuple[str, Path]:
        """Pick a free id and record the worktree (busy, ours) before git makes it."""
        with self.ws.lock("worktree-add"):
            with self.store.write():
                n = self.store.one("SELECT COUNT(*) AS n FROM worktrees")["n"]  # type: ignore[index]
                wt_id = f"wt-{n + 1}"
                while self.store.one("SELECT 1 FROM worktrees WHERE id = ?", (wt_id,)):
                    n += 1
                    wt_id = f"wt-{n + 1}"
                path = self.ws.worktrees_dir / wt_id
                o = self.owner
                self.store.db.table("worktrees").insert(
                    {
                        "id": wt_id,
                        "path": str(path),
                        "commit_sha": sha,
                        "state": "busy",
                        "owner_pid": o.pid,
                        "owner_host": o.host,
                        "owner_started": o.started,
                        "leased_at": time.time(),
                        "run": run,
                        "task": task,
                        "created": time.time(),
                        "last_used": time.time(),
                        "sparse": skey or None,
                    }
                )
            if path.exists():  # debris of a crashed add: git would refuse the folder
                git.run(["worktree", "remove", "--force", str(path)], self.ws.root, check=False)
                shutil.rmtree(path, ignore_errors=True)
                git.run(["worktree", "prune"], self.ws.root)
        return wt_id, path

    # --- pre-warming (treelane.engine.poolwarm) ---------------------------

    def prewarm(self, commit: str) -> int:
        """Start creating idle worktrees at ``commit`` in the background, up to ``size`` in
        all (counting those there are and those being made); how many it started."""
        sha = commit if _FULL_SHA.fullmatch(commit) else git.resolve_commit(self.ws.root, commit)
        return self.warmer.prewarm(sha)

    def stop_warming(self, timeout: float = 600.0) -> None:
        """Start no more pre-warm worktrees; wait for the ones being made."""
        self.warmer.stop(timeout)

    def _create_warm(self, sha: str) -> Made:
        lease = self._create(sha, None, PREWARM_TASK)
        return Made(lease.id, lease.path)

    def _bootstrap(self, path: Path) -> None:
        """Bring ``include`` files from the main worktree, then run ``setup`` once."""
        brought = []
        for rel in self.config.include:
            src = include_source(self.ws.root, rel, self.ws.git_dir)
            dst = path / Path(rel)
            if not src.exists() or os.path.lexists(dst):
                continue
            git.contained(dst.parent, path)  # no tracked symlink may lead the copy elsewhere
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                dst.symlink_to(src, target_is_directory=True)  # big folders (.venv): link
            else:
                shutil.copy2(src, dst)  # files (.env): copy, so a task may edit its own
            brought.append(dst.relative_to(path).as_posix())
        if brought:  # snapshots, status and reset leave these alone (see snapshot.included)
            _, gdir = snapshot._git_paths(path)
            (gdir / snapshot.INCLUDE_FILE).write_text("".join(f"{p}\n" for p in brought))
        if self.config.setup:
            try:
                proc = subprocess.run(
                    ["/bin/sh", "-c", self.config.setup],
                    cwd=path,
                    capture_output=True,
                    text=True,
                    timeout=self.config.setup_timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                raise RequestFailed(
                    f"setup command timed out after {self.config.setup_timeout:g} s in new worktree"
                ) from exc
            if proc.returncode != 0:
                tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
                raise RequestFailed(
                    f"setup command failed in new worktree (exit {proc.returncode}): "
                    + " | ".join(tail)
                )

    def release(self, wt_id: str, unchanged_at: str | None = None) -> None:
        """Reset a leased worktree and return it to the warm pool (or trim it).

        ``unchanged_at``: the caller saw that the worktree's files are those of this commit
        (a task's result tree equal to its input's): if HEAD is still there, the reset
        (two walks over every file) is skipped, unless the pool is pristine (ignored
        files go too).
        """
        row = self._row(wt_id)
        path = Path(row["path"])
        head = git.head_commit(path) if path.is_dir() else None
        if path.is_dir() and (self.config.pristine or unchanged_at is None or head != unchanged_at):
            self._reset(path)
            head = git.head_commit(path)
        self.store.execute(
            "UPDATE worktrees SET state = 'idle', owner_pid = NULL, owner_host = NULL, "
            "owner_started = NULL, run = NULL, task = NULL, commit_sha = ?, last_used = ? "
            "WHERE id = ?",
            (head, time.time(), wt_id),
        )
        self.trim()
        if path.is_dir():
            self.meter.later(wt_id, path)

    def _reset(self, path: Path) -> None:
        try:
            git.run(["reset", "-q", "--hard"], path)
        except git.GitError as exc:
            if not diskfull.is_no_space(exc):
                raise
            self._clean(path)  # the files the task made take the space: remove them first
            git.run(["reset", "-q", "--hard"], path)
        self._clean(path)

    def _clean(self, path: Path) -> None:
        # Included files stay (a linked folder such as .venv is not ignored by a ".venv/"
        # pattern: to git a symlink is a file), in pristine mode too.
        keep = [arg for rel in snapshot.included(path) for arg in ("-e", "/" + _glob_escape(rel))]
        git.run(["clean", "-q", "-fdx" if self.config.pristine else "-fd", *keep], path)


def _glob_escape(path: str) -> str:
    """``path`` as a gitignore pattern that matches only itself."""
    return "".join("\\" + ch if ch in "*?[]\\!# " else ch for ch in path)


def include_source(root: Path, rel: str, git_dir: Path) -> Path:
    """What ``include`` entry ``rel`` brings: the path itself, or where a symlink the user
    made in the main worktree points (a ``.venv`` kept elsewhere, say).

    The entry's own location must be inside the repository; a symlink's target may lie
    anywhere except a system directory or the git dir (a task could write there).
    """
    entry = root / rel
    parent = git.contained(entry.parent, root)  # no symlinked folder above the entry
    real = Path(os.path.realpath(parent / entry.name))
    top = "/" + real.parts[1] if len(real.parts) > 1 else "/"
    inside = root.resolve() in real.parents
    blocked = not inside and (str(real) in SYSTEM_DIRS or top in SYSTEM_TREES)
    git_real = Path(os.path.realpath(git_dir))
    if real == git_real or git_real in real.parents or blocked:
        raise RequestFailed(
            f"include {rel!r} is a symlink to {str(real)!r}, where a task must not write: "
            "point it at a folder of your own"
        )
    return real


def _clear_stale_lock(path: Path) -> None:
    """A git process killed mid-command leaves index.lock; its owner is gone (caller checked)."""
    lock = git.git_path(path, "index.lock")
    with contextlib.suppress(FileNotFoundError):
        lock.unlink()
