"""Landing a run's (or one task's) result on a branch: plan, journal, apply, recover.

Styles: ``squash`` (default) puts one commit on the target with the merged tree; ``merge``
(``squash: false``) one merge commit with the result as second parent; ``fast-forward``
when the result is a single commit on top of the target. Nothing else lands: treelane's
internal input merges never reach the branch.

A branch checked out nowhere moves with one atomic ``update-ref``. A branch checked out in a
worktree (the user's, usually) is updated in steps that are journalled in the store first
(``merges``: before/after of the branch, of the files and of the index): the files and the
index are rewritten only where the merge changes them (uncommitted edits elsewhere stay
as they are), then the branch moves. If the process dies in between, the next treelane
process (:func:`recover`) completes the update from the journal, after saving whatever the
worktree then holds under ``refs/treelane/recovery/``, and removes an ``index.lock`` left by
the git process it had started (recorded by pid and start time) once that process is gone.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import psutil

from treelane.engine import diff, git, merge, results, snapshot
from treelane.engine.merge import Conflict
from treelane.engine.worktree_base import WORKTREE
from treelane.errors import RequestFailed

if TYPE_CHECKING:
    from treelane.engine.host import EngineHost as Engine

WORKTREE_BASE = WORKTREE  # runs.base_rev of a run started from the main worktree's files
RECOVERY_REFS = "refs/treelane/recovery"


class Plan(NamedTuple):
    run: str
    task: str | None
    into: str
    style: str  # squash | merge | fast-forward | none (already merged)
    source: str
    before: str  # the target's tip
    after: str | None  # the new tip (None: conflicts, or nothing to do)
    tree: str
    conflicts: list[Conflict]
    files: diff.Diff | None
    already: bool
    worktree: Path | None  # where the target is checked out
    blocked: list[str]  # uncommitted changes there that the merge would overwrite
    message: str

    def refusal(self) -> str | None:
        what = f"run {self.run}" + (f" task {self.task}" if self.task else "")
        if self.conflicts:
            names = ", ".join(c.path for c in self.conflicts)
            return f"cannot merge {what} into {self.into}: conflicts in {names}"
        if self.blocked:
            return (
                f"cannot merge {what} into {self.into}: uncommitted changes in "
                f"{', '.join(self.blocked)} (in {self.worktree}); commit, stash or checkpoint "
                "them first"
            )
        return None

    def to_dict(self, merged: bool, commit: str | None) -> dict[str, Any]:
        d: dict[str, Any] = {
            "clean": not self.conflicts,
            "conflicts": [c._asdict() for c in self.conflicts],
            "merged": merged,
            "already": self.already,
            "commit": commit,
            "into": self.into,
            "style": self.style,
            "before": self.before,
            "uncommitted": self.blocked,
        }
        if self.worktree is not None:
            d["worktree"] = str(self.worktree)
        if self.files is not None:
            d["files"] = [f.to_dict() for f in self.files.files]
            d["additions"], d["deletions"] = self.files.additions, self.files.deletions
            d["summary"] = self.files.summary()
        return d


def plan(engine: Engine, run_id: str, task: str | None, into: str, squash: bool = True) -> Plan:
    """Everything the merge would do or refuse; touches nothing (objects aside)."""
    repo = engine.ws.root
    run = results.run_info(engine.store, run_id)
    source = results.head_of(engine.store, run, task)
    ref = f"refs/heads/{git.check_ref_name(into)}"
    res = git.run(["rev-parse", "--verify", "--quiet", ref], repo, check=False)
    if res.returncode != 0:
        raise RequestFailed(f"no branch {into!r} in this repository")
    before = res.stdout.strip()
    message = results.describe(run, task)
    wt = merge.checked_out_in(repo, ref)
    already = merge.is_ancestor(repo, source, before) or _merged_before(
        engine, run_id, task, into, before
    )
    if already:
        tree = git.tree_of(repo, before)
        return Plan(run_id, task, into, "none", source, before, None, tree, [], None, True,
                    wt, [], message)  # fmt: skip
    worktree_run = _base_rev(engine, run_id) == WORKTREE_BASE
    p = merge.preview(repo, source, before)
    if not p.clean:
        return Plan(run_id, task, into, "squash" if squash else "merge", source, before, None,
                    p.tree, p.conflicts, None, False, wt, [], message)  # fmt: skip
    parents = git.out(["rev-list", "--parents", "-n", "1", source], repo).split()[1:]
    if parents == [before]:
        style, after = "fast-forward", source
    elif squash:
        style = "squash"
        after = git.commit_tree(repo, p.tree, [before], message)
    else:
        style = "merge"
        after = git.commit_tree(repo, p.tree, [before, source], message)
    changes = diff.compare(repo, before, after)
    blocked: list[str] = []
    if wt is not None:
        base_tree = git.tree_of(repo, run.base) if worktree_run else None
        blocked = _blocking(repo, wt, changes.files, after, base_tree)
    return Plan(run_id, task, into, style, source, before, after, p.tree, [], changes, False,
                wt, blocked, message)  # fmt: skip


def apply(engine: Engine, p: Plan) -> str:
    """Land a clean plan (RequestFailed if it is not); the new tip of the branch."""
    if p.already or p.after is None:
        raise RequestFailed(p.refusal() or f"run {p.run} is merged into {p.into} already")
    why = p.refusal()
    if why:
        raise RequestFailed(why)
    repo = engine.ws.root
    with engine.ws.lock("merge"):
        recover(engine)
        if p.worktree is None:
            mid = _journal(engine, p, None, None)
            _recorded_git(engine, mid, _update_ref_args(p), repo)
            _done(engine, mid)
            return p.after
        wt = p.worktree
        with snapshot.session(wt) as s:
            snap = s.take()
            if snap.head != p.before:
                raise RequestFailed(f"{p.into} moved while merging; try again")
            files_after = _apply_changes(wt, snap.tree, p)
            index_after = _apply_changes(wt, snap.index_tree, p)
            mid = _journal(engine, p, snap, (files_after, index_after))
            try:
                _update_worktree(engine, mid, s, files_after, index_after)
                _recorded_git(engine, mid, _update_ref_args(p), repo)
            except git.GitError:
                # Refused by git before the branch moved (e.g. an ignored file in the way):
                # put the files and the index back as they were.
                s.restore(snap.tree, snap.index_tree)
                _finish(engine, mid, "rolled back")
                raise
        _done(engine, mid)
        return p.after


LIVE_MERGE_WAIT = 120.0  # s: how long to wait for another live process's merge to end


def recover(engine: Engine, wait: float = LIVE_MERGE_WAIT) -> list[int]:
    """Finish the merges a dead treelane process left half-done; their ids.

    A merge another live process is doing (e.g. the server of a ``treelane merge`` whose
    CLI was killed: the server goes on) is waited for, up to ``wait`` s, so that nothing
    reads the worktree half-way through; if that process dies meanwhile, its merge is
    finished here."""
    repo = engine.ws.root
    finished = []
    for row in engine.store.query("SELECT * FROM merges WHERE state = 'pending' ORDER BY id"):
        if row["owner_pid"] == os.getpid():
            continue
        if not _gone(row["owner_pid"], row["owner_started"]):
            died = _wait_for_owner(engine, row, wait)
            if died is None:
                continue
            row = died
        ref = f"refs/heads/{row['into_branch']}"
        tip = git.run(["rev-parse", "--verify", "--quiet", ref], repo, check=False).stdout.strip()
        wt = Path(row["worktree"]) if row["worktree"] else None
        _clear_locks(repo, wt, row)
        if tip not in (row["before"], row["after"]):
            _finish(engine, row["id"], "abandoned")  # the branch moved on since: leave it
            continue
        if wt is not None and wt.is_dir():
            with snapshot.session(wt) as s:
                snap = s.take()
                known = {
                    (row["files_before"], row["index_before"]),
                    (row["files_after"], row["index_after"]),
                }
                if (snap.tree, snap.index_tree) not in known:
                    _save(repo, row, snap)
                s.restore(row["files_after"], row["index_after"])
        if tip == row["before"]:
            git.update_ref(repo, ref, row["after"], row["before"], msg="treelane: merge, recovered")
        _finish(engine, row["id"], "done")
        finished.append(int(row["id"]))
    return finished


# --- internals ---------------------------------------------------------------------------


def _wait_for_owner(engine: Engine, row: dict[str, Any], wait: float) -> dict[str, Any] | None:
    """The pending merge's row once its live owner died (to finish it here), or None when
    the owner finished it or is still at it after ``wait`` s."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = engine.store.one("SELECT * FROM merges WHERE id = ?", (row["id"],))
        if now is None or now["state"] != "pending":
            return None
        if _gone(now["owner_pid"], now["owner_started"]):
            return now
    return None


def _merged_before(engine: Engine, run: str, task: str | None, into: str, tip: str) -> bool:
    rows = engine.store.query(
        "SELECT after FROM merges WHERE run = ? AND task IS ? AND into_branch = ? "
        "AND state = 'done'",
        (run, task, into),
    )
    return any(merge.is_ancestor(engine.ws.root, r["after"], tip) for r in rows)


def _base_rev(engine: Engine, run: str) -> str | None:
    row = engine.store.one("SELECT base_rev FROM runs WHERE id = ?", (run,))
    return row["base_rev"] if row else None


def _blocking(
    repo: Path, wt: Path, changed: list[diff.FileChange], after: str, base_tree: str | None
) -> list[str]:
    """Paths the merge changes that have uncommitted changes in ``wt``.

    For a run started from the worktree (``base_tree`` = its snapshot), a local change that
    is exactly what the run started from is part of the result: it does not block.
    """
    paths = set()
    for f in changed:
        paths.add(f.path)
        if f.old_path:
            paths.add(f.old_path)
    if not paths:
        return []
    local = merge.local_changes(wt)
    overlap = sorted(paths & local)
    if not overlap or base_tree is None:
        return overlap
    snap = snapshot.take(wt)
    here = _entries(repo, snap.tree, overlap)
    there = _entries(repo, base_tree, overlap)
    return [p for p in overlap if here.get(p) != there.get(p)]


def _entries(repo: Path, tree: str, paths: list[str]) -> dict[str, str]:
    out = git.out(["ls-tree", "-r", "-z", "--full-tree", tree, "--", *paths], repo)
    entries = {}
    for rec in out.split("\0"):
        if "\t" in rec:
            meta, path = rec.split("\t", 1)
            entries[path] = meta
    return entries


def _apply_changes(wt: Path, tree: str, p: Plan) -> str:
    """``tree`` with the merge's changes (before -> after) applied to exactly their paths."""
    assert p.after is not None
    raw = git.out(["diff-tree", "-r", "-z", "--no-renames", p.before, p.after], wt)
    fields = raw.split("\0")
    lines = []
    for i in range(0, len(fields) - 1, 2):
        meta, path = fields[i], fields[i + 1]
        if not meta.startswith(":"):
            continue
        _, new_mode, _, new_sha, status = meta[1:].split(" ")[:5]
        if status.startswith("D"):
            lines.append(f"0 {'0' * 40}\t{path}")
        else:
            lines.append(f"{new_mode} {new_sha}\t{path}")
    # An index file of its own (the snapshot session holds the usual temporary one).
    index = git.git_path(wt, f"treelane-merge-index.{os.getpid()}.{threading.get_ident()}")
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        git.run(["read-tree", tree], wt, env=env)
        if lines:
            git.run(["update-index", "-z", "--index-info"], wt, env=env,
                    input="\0".join(lines) + "\0")  # fmt: skip
        return git.out(["write-tree"], wt, env=env)
    finally:
        with contextlib.suppress(FileNotFoundError):
            index.unlink()


def _journal(
    engine: Engine, p: Plan, snap: snapshot.Snapshot | None, after: tuple[str, str] | None
) -> int:
    """Record the intended before and after, before anything is touched."""
    with engine.store.write() as db:
        mid = (
            db.table("merges")
            .insert(
                {
                    "run": p.run,
                    "task": p.task,
                    "into_branch": p.into,
                    "source": p.source,
                    "style": p.style,
                    "before": p.before,
                    "after": p.after,
                    "worktree": str(p.worktree) if snap is not None else None,
                    "files_before": snap.tree if snap else None,
                    "index_before": snap.index_tree if snap else None,
                    "files_after": after[0] if after else None,
                    "index_after": after[1] if after else None,
                    "state": "pending",
                    "owner_pid": os.getpid(),
                    "owner_started": _started(os.getpid()),
                    "created": time.time(),
                }
            )
            .last_pk
        )
    return int(mid or 0)


def _update_worktree(
    engine: Engine, mid: int, s: snapshot.Session, files_after: str, index_after: str
) -> None:
    """Rewrite the changed files (temporary index), then the real index (recorded git pid)."""
    current = s.current
    assert current is not None
    if current.tree != files_after:
        git.run(["read-tree", "-m", "-u", current.tree, files_after], s.wt, env=s.env)
    if current.index_tree != index_after:
        _recorded_git(engine, mid, ["read-tree", "--reset", index_after], s.wt)
    s.current = current._replace(tree=files_after, index_tree=index_after)


def _update_ref_args(p: Plan) -> list[str]:
    assert p.after is not None
    msg = f"treelane: merge run {p.run}"
    return ["update-ref", "-m", msg, f"refs/heads/{p.into}", p.after, p.before]


def _recorded_git(engine: Engine, mid: int, args: list[str], cwd: Path) -> None:
    """A git command that takes the worktree's index.lock: its pid is journalled first."""
    env = {**os.environ, **git._BASE_ENV}
    proc = subprocess.Popen(
        ["git", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    started = _started(proc.pid)
    engine.store.execute(
        "UPDATE merges SET git_pid = ?, git_started = ? WHERE id = ?", (proc.pid, started, mid)
    )
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise git.GitError(args, proc.returncode, err.decode(errors="replace"))


def _started(pid: int) -> float | None:
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def _gone(pid: int | None, started: float | None) -> bool:
    """Has this process ended? A zombie has; so has a recycled pid (another start time).
    The journal is written on this host (the store lives in the repository's git dir)."""
    if pid is None:
        return True
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return True
        return started is not None and abs(proc.create_time() - started) > 1.0
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


def _clear_locks(repo: Path, wt: Path | None, row: dict[str, Any]) -> None:
    """Remove the index.lock (and the branch's ref lock) that the journalled git process
    left: taken after the journal was written, by a process that is provably gone."""
    if row["git_pid"] is None or not _gone(row["git_pid"], row["git_started"]):
        return
    locks = [git.git_path(repo, f"refs/heads/{row['into_branch']}.lock")]
    if wt is not None and wt.is_dir():
        locks.append(git.git_path(wt, "index.lock"))
    for lock in locks:
        try:
            made = lock.stat().st_mtime
        except (FileNotFoundError, NotADirectoryError):
            continue
        if made >= row["created"] - 1:  # older ones are not ours
            with contextlib.suppress(FileNotFoundError):
                lock.unlink()


def _save(repo: Path, row: dict[str, Any], snap: snapshot.Snapshot) -> None:
    parents = [snap.head] if snap.head else []
    commit = git.commit_tree(repo, snap.tree, parents, "treelane recovery (merge)\n")
    git.update_ref(repo, f"{RECOVERY_REFS}/merge-{row['id']}/{int(time.time() * 1000)}", commit)


def _done(engine: Engine, mid: int) -> None:
    _finish(engine, mid, "done")


def _finish(engine: Engine, mid: int, state: str) -> None:
    engine.store.execute(
        "UPDATE merges SET state = ?, finished = ? WHERE id = ?", (state, time.time(), mid)
    )
