"""Checkpoints of a worktree as commits under ``refs/treelane/``, with undo and redo.

Each worktree has a linear stack of checkpoints and a pointer into it (in the
store). ``undo`` first checkpoints the present state if it differs from the
pointer, then restores the previous checkpoint; ``redo`` walks forward. A new
checkpoint after an undo drops the checkpoints ahead of the pointer (like every
editor's undo), but their commits stay reachable under
``refs/treelane/dropped/<worktree>/<id>``.

A checkpoint commit's tree is every file of the worktree (untracked ones too);
its first parent is HEAD; when the index held staged changes that are neither
HEAD's tree nor the files, a second parent records the index tree. Nothing here
touches the worktree's index or files except a restore.

Crash safety: a restore is journalled (``checkpoint_heads.pending``) before any
file is written, and the next operation on that worktree completes it, having
first saved whatever is there under ``refs/treelane/recovery/``.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, NamedTuple

from treelane.engine import git
from treelane.engine.snapshot import Session, Snapshot, session
from treelane.engine.staleness import clear_stale_index_lock
from treelane.engine.workspace import Workspace
from treelane.errors import RequestFailed
from treelane.storage.db import Store

CHECKPOINT_REFS = "refs/treelane/checkpoints"
DROPPED_REFS = "refs/treelane/dropped"
RECOVERY_REFS = "refs/treelane/recovery"


class Checkpoint(NamedTuple):
    id: int
    worktree: str
    commit: str
    tree: str
    index_tree: str
    head: str | None
    message: str
    created: float

    @property
    def ref(self) -> str:
        return f"{CHECKPOINT_REFS}/{self.worktree}/{self.id}"

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Checkpoint:
        return cls(
            row["id"],
            row["worktree"],
            row["commit_sha"],
            row["tree"],
            row["index_tree"],
            row["head"],
            row["message"],
            row["created"],
        )


class History(NamedTuple):
    checkpoints: list[Checkpoint]  # oldest first, dropped ones excluded
    current: int | None  # id the worktree was last checkpointed as or restored to
    pending: int | None  # a restore that did not finish


def _same(c: Checkpoint, s: Snapshot) -> bool:
    return c.tree == s.tree and c.index_tree == s.index_tree


class Checkpoints:
    """Checkpoint, undo and redo for any worktree of the repository (main one included)."""

    def __init__(self, ws: Workspace, store: Store) -> None:
        self.ws = ws
        self.store = store

    # --- queries ---------------------------------------------------------

    def history(self, wt_id: str) -> History:
        rows = self.store.query(
            "SELECT * FROM checkpoints WHERE worktree = ? AND dropped = 0 ORDER BY id", (wt_id,)
        )
        head = self.store.one("SELECT * FROM checkpoint_heads WHERE worktree = ?", (wt_id,))
        return History(
            [Checkpoint.from_row(r) for r in rows],
            head["current"] if head else None,
            head["pending"] if head else None,
        )

    # --- operations ------------------------------------------------------

    def checkpoint(self, wt_id: str, path: Path, message: str = "") -> Checkpoint:
        """Record the worktree's state; returns the existing checkpoint if nothing changed."""
        with self._lock(wt_id), session(path) as s:
            hist = self._recover(wt_id, s)
            snap = s.take()
            cur = _find(hist, hist.current)
            if cur is not None and _same(cur, snap):
                return cur
            return self._record(wt_id, snap, message or "checkpoint", hist)

    def undo(self, wt_id: str, path: Path) -> Checkpoint:
        """Return to the previous checkpoint, saving the present state first if it is new."""
        with self._lock(wt_id), session(path) as s:
            hist = self._recover(wt_id, s)
            if not hist.checkpoints:
                raise RequestFailed(f"nothing to undo: worktree {wt_id!r} has no checkpoints")
            snap = s.take()
            cur = _find(hist, hist.current)
            if cur is None or not _same(cur, snap):
                cur = self._record(wt_id, snap, "before undo", hist)
                hist = self.history(wt_id)
            ids = [c.id for c in hist.checkpoints]
            pos = ids.index(cur.id)
            if pos == 0:
                raise RequestFailed(
                    f"nothing to undo: worktree {wt_id!r} is at its oldest checkpoint ({cur.id})"
                )
            return self._restore(wt_id, s, hist.checkpoints[pos - 1])

    def redo(self, wt_id: str, path: Path) -> Checkpoint:
        """Walk forward to the checkpoint that the last undo left."""
        with self._lock(wt_id), session(path) as s:
            hist = self._recover(wt_id, s)
            cur = _find(hist, hist.current)
            later = [c for c in hist.checkpoints if cur is not None and c.id > cur.id]
            if cur is None or not later:
                raise RequestFailed(f"nothing to redo in worktree {wt_id!r}")
            if not _same(cur, s.take()):
                raise RequestFailed(
                    f"worktree {wt_id!r} has changed since checkpoint {cur.id}; checkpoint or "
                    "undo those changes before redo (a checkpoint drops the redo history)"
                )
            return self._restore(wt_id, s, later[0])

    # --- internals -------------------------------------------------------

    def _lock(self, wt_id: str) -> AbstractContextManager[None]:
        # The id names a lock file and refs: validate it before either exists.
        git.check_id(wt_id, what="worktree id")
        return self.ws.lock(f"checkpoint-{wt_id}")

    def _record(self, wt_id: str, snap: Snapshot, message: str, hist: History) -> Checkpoint:
        repo = self.ws.root
        parents = [snap.head] if snap.head else []
        if snap.index_tree not in (snap.tree, snap.head_tree):
            parents.append(git.commit_tree(repo, snap.index_tree, parents[:1], "treelane index"))
        commit = git.commit_tree(repo, snap.tree, parents, f"treelane checkpoint: {message}\n")
        now = time.time()
        cur = hist.current
        dropped = [c for c in hist.checkpoints if cur is not None and c.id > cur]
        with self.store.write() as db:
            new_id = (
                db.table("checkpoints")
                .insert(
                    {
                        "worktree": wt_id,
                        "commit_sha": commit,
                        "tree": snap.tree,
                        "index_tree": snap.index_tree,
                        "head": snap.head,
                        "message": message,
                        "created": now,
                    }
                )
                .last_pk
            )
            if dropped:
                marks = ",".join("?" * len(dropped))
                db.execute(
                    f"UPDATE checkpoints SET dropped = 1 WHERE id IN ({marks})",
                    [c.id for c in dropped],
                )
            self._set_head(new_id, wt_id, pending=None)
            # Refs are written inside the transaction (if git fails, the rows roll back) and
            # only ever added here: a crash after git but before COMMIT rolls the rows back
            # and leaves refs that the next attempt overwrites (``update``, not ``create``,
            # as the row id is reused), while every row's commit stays held by its ref.
            lines = [f"update {CHECKPOINT_REFS}/{wt_id}/{new_id} {commit}"]
            lines += [f"update {DROPPED_REFS}/{wt_id}/{c.id} {c.commit}" for c in dropped]
            _update_refs(repo, lines)
        if dropped:  # once the rows say so, the dropped ones leave the checkpoint refs
            _update_refs(repo, [f"delete {c.ref} {c.commit}" for c in dropped])
        return Checkpoint(
            int(new_id or 0), wt_id, commit, snap.tree, snap.index_tree, snap.head, message, now
        )

    def _set_head(self, current: int | None, wt_id: str, pending: int | None) -> None:
        self.store.execute(
            "INSERT INTO checkpoint_heads (worktree, current, pending) VALUES (?, ?, ?) "
            "ON CONFLICT(worktree) DO UPDATE SET current = excluded.current, "
            "pending = excluded.pending",
            (wt_id, current, pending),
        )

    def _restore(self, wt_id: str, s: Session, target: Checkpoint) -> Checkpoint:
        hist = self.history(wt_id)
        self._set_head(hist.current, wt_id, pending=target.id)  # journal before touching files
        s.restore(target.tree, target.index_tree)
        self._set_head(target.id, wt_id, pending=None)
        return target

    def pending(self, wt_id: str) -> int | None:
        """The checkpoint an interrupted restore was going to (None: no restore pending)."""
        return self.history(wt_id).pending

    def finish_pending(self, wt_id: str, path: Path) -> Checkpoint | None:
        """Complete an interrupted restore now; the checkpoint restored, or None."""
        with self._lock(wt_id), session(path) as s:
            hist = self.history(wt_id)
            target = _find(hist, hist.pending)
            if target is None:
                return None
            self._recover(wt_id, s)
            return target

    def _recover(self, wt_id: str, s: Session) -> History:
        """Finish a restore that a crash interrupted, saving whatever is there first."""
        hist = self.history(wt_id)
        target = _find(hist, hist.pending)
        if target is None:
            return hist
        clear_stale_index_lock(s.wt)  # the killed restore's git left it
        snap = s.take()
        known = [c for c in (target, _find(hist, hist.current)) if c is not None]
        if not any(_same(c, snap) for c in known):
            parents = [snap.head] if snap.head else []
            commit = git.commit_tree(self.ws.root, snap.tree, parents, "treelane recovery\n")
            git.update_ref(
                self.ws.root, f"{RECOVERY_REFS}/{wt_id}/{int(time.time() * 1000)}", commit
            )
        s.restore(target.tree, target.index_tree)
        self._set_head(target.id, wt_id, pending=None)
        return self.history(wt_id)


def _update_refs(repo: Path, lines: list[str]) -> None:
    """One atomic ``update-ref --stdin`` transaction."""
    git.run(["update-ref", "--stdin"], repo, input="\n".join(["start", *lines, "commit"]) + "\n")


def _find(hist: History, cid: int | None) -> Checkpoint | None:
    if cid is None:
        return None
    return next((c for c in hist.checkpoints if c.id == cid), None)
