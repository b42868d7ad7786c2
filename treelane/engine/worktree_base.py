"""Where a run starts: a commit, or a snapshot of the main worktree's files (``--from-worktree``).

The snapshot is taken like a checkpoint (a temporary index: the user's index and files are
not touched): every file, uncommitted and untracked ones included (ignored ones not), as a
commit whose parent is HEAD, kept under ``refs/treelane/snapshots/<run>``.
"""

from __future__ import annotations

from pathlib import Path

from treelane.engine import git, snapshot
from treelane.errors import RequestFailed

SNAPSHOT_REFS = "refs/treelane/snapshots"
WORKTREE = "worktree"  # the ``base`` that means the main worktree's files
CONFIG_FILE = "treelane.toml"  # read from disk anyway: its edits do not count as left out


def snapshot_commit(root: Path, run_id: str) -> str:
    """A commit of every file in the main worktree (parent: HEAD), referenced for the run."""
    snap = snapshot.take(root)
    if snap.head is None:
        raise RequestFailed("the main worktree has no commit yet: commit something first")
    if snap.tree == snap.head_tree:
        commit = snap.head  # nothing uncommitted: the run starts from HEAD itself
    else:
        commit = git.commit_tree(
            root, snap.tree, [snap.head], f"treelane: worktree snapshot for run {run_id}\n"
        )
    git.update_ref(root, f"{SNAPSHOT_REFS}/{run_id}", commit)
    return commit


def uncommitted(root: Path) -> int:
    """How many files have uncommitted changes (untracked ones included) in ``root``."""
    out = git.out(["status", "--porcelain=v1", "-z", "--untracked-files=all"], root)
    records = out.split("\0")
    n, i = 0, 0
    while i < len(records):
        rec = records[i]
        if len(rec) > 3:
            if rec[3:] != CONFIG_FILE:
                n += 1
            if rec[0] in "RC":
                i += 1
        i += 1
    return n


def left_out(root: Path, base_commit: str) -> str | None:
    """The warning for a run from HEAD that leaves uncommitted changes out (None if none)."""
    if base_commit != git.head_commit(root):
        return None
    n = uncommitted(root)
    if not n:
        return None
    files = "1 file" if n == 1 else f"{n} files"
    return f"uncommitted changes in {files} are not part of this run (use --from-worktree)"
