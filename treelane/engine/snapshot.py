"""Capture and restore a worktree's complete state without touching its index.

A snapshot is three object ids: the tree of every file in the worktree (tracked
changes, staged or not, and untracked files that are not ignored), the tree of
its index (what was staged), and HEAD. It is computed in a temporary index
(``GIT_INDEX_FILE`` = a copy of the real one, so stat data keeps ``add -A``
fast), which is what ``git stash create`` cannot do: it never sees untracked files.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from treelane.engine import git

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class Snapshot(NamedTuple):
    tree: str  # every file of the worktree
    index_tree: str  # the staged state
    head: str | None  # HEAD commit (None on an unborn branch)
    head_tree: str = EMPTY_TREE  # HEAD's tree


INCLUDE_FILE = "treelane-include"  # in a worktree's private git dir, see :func:`included`


def _git_paths(wt: Path) -> tuple[Path, Path]:
    """(index file, private git dir) of a worktree.

    Read from its ``.git`` (a folder, or a file naming the git dir) without running git, so
    the answer is never stale, even when a worktree is re-created at the same path with
    another admin folder. Anything else (a subfolder, an unusual layout) asks git.
    """
    dotgit = wt / ".git"
    if dotgit.is_dir():
        return dotgit / "index", dotgit
    with contextlib.suppress(OSError, UnicodeDecodeError):
        first = dotgit.read_text().split("\n", 1)[0]
        if first.startswith("gitdir: "):
            gdir = Path(first[len("gitdir: ") :].strip())
            gdir = gdir if gdir.is_absolute() else wt / gdir
            if gdir.is_dir():
                return gdir / "index", gdir
    lines = git.out(["rev-parse", "--git-path", "index", "--git-dir"], wt).splitlines()
    index, gdir = (Path(p) if Path(p).is_absolute() else wt / p for p in lines[:2])
    return index, gdir


def included(wt: Path) -> tuple[str, ...]:
    """Paths that the worktree pool brought into ``wt`` from the main worktree (``include``).

    They are not part of the worktree's state: snapshots leave them out (a linked ``.venv``
    is a symlink, which a ``.venv/`` ignore pattern does not match).
    """
    _, gdir = _git_paths(wt)
    try:
        text = (gdir / INCLUDE_FILE).read_text()
    except (FileNotFoundError, NotADirectoryError):
        return ()
    return tuple(line for line in text.splitlines() if line)


def pathspecs(excluded: tuple[str, ...]) -> list[str]:
    """Pathspecs for the whole worktree but ``excluded`` (none when nothing is excluded)."""
    if not excluded:
        return []
    return ["--", ":/", *(f":(exclude,top,literal){p}" for p in excluded)]


def _seed(wt: Path, tmp: Path) -> None:
    """Make ``tmp`` a copy of the worktree's index (or absent, when it has none).

    The copy keeps the index's mtime: git takes an entry whose file changed in the same
    second as the index was written ("racily clean") for unchanged unless it compares that
    entry's mtime with the index's own. A fresh mtime on the copy would hide such edits
    (same size, same second) from ``add -A``.
    """
    index, _ = _git_paths(wt)
    try:
        st = os.stat(index)
        shutil.copyfile(index, tmp)
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    except FileNotFoundError:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def temp_index(wt: Path, *, seed: bool = True) -> Iterator[dict[str, str]]:
    """Env with ``GIT_INDEX_FILE`` pointing at a private copy of the worktree's index."""
    _, gdir = _git_paths(wt)
    tmp = gdir / f"treelane-index.{os.getpid()}.{threading.get_ident()}"
    try:
        if seed:
            _seed(wt, tmp)
        yield {"GIT_INDEX_FILE": str(tmp)}
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


class Session:
    """A temporary index over one worktree: snapshot it, then (optionally) restore another state.

    Sharing the temporary index between the two steps means the restore starts from an
    index that already matches the files, with fresh stat data, at no extra cost.
    """

    def __init__(self, wt: Path, env: dict[str, str]) -> None:
        self.wt = wt
        self.env = env
        self.current: Snapshot | None = None

    def take(self) -> Snapshot:
        """Snapshot the worktree: files, index and HEAD, leaving all three untouched."""
        wt, env = self.wt, self.env
        if self.current is not None:
            # The temporary index has been used (``add -A``, a restore): start again from a
            # copy of the real one, or its tree would be taken for the staged state.
            _seed(wt, Path(env["GIT_INDEX_FILE"]))
        res = git.run(["write-tree"], wt, env=env, check=False)
        index_tree = res.stdout.strip() if res.returncode == 0 else None
        tree = self.files_tree()
        res = git.run(["rev-parse", "HEAD", "HEAD^{tree}"], wt, check=False)
        head, head_tree = res.stdout.split() if res.returncode == 0 else (None, EMPTY_TREE)
        if index_tree is None:  # unmerged entries: record HEAD's tree as the staged state
            index_tree = head_tree
        self.current = Snapshot(tree, index_tree, head, head_tree)
        return self.current

    def files_tree(self) -> str:
        """The tree of every file in the worktree (untracked ones too, ignored ones not)."""
        wt, env = self.wt, self.env
        # --sparse: in a sparse worktree, files written outside its folders count too.
        git.run(["add", "-A", "--sparse", "--ignore-errors"], wt, env=env)
        brought = included(wt)
        if brought:  # (a pathspec exclusion would make ``add`` fail on ignored ones)
            git.run(["update-index", "--force-remove", "--", *brought], wt, env=env)
        return git.out(["write-tree"], wt, env=env)

    def restore(self, target_tree: str, target_index: str) -> None:
        """Make the files equal ``target_tree`` and the index ``target_index``.

        Only paths that differ are written or removed (git also removes the directories
        it empties). Idempotent: after a crash, running it again finishes the job.
        """
        current = self.current or self.take()
        if current.tree != target_tree:
            # Two-way merge current -> target in the temporary index updates exactly the
            # paths that differ, in the worktree.
            git.run(["read-tree", "-m", "-u", current.tree, target_tree], self.wt, env=self.env)
        if current.index_tree != target_index:
            # Single-tree ``read-tree --reset`` keeps stat data of entries whose content is
            # unchanged; unlike ``-m`` it neither refuses entries whose file differs from the
            # index (a staged change edited again) nor an index with unmerged entries.
            git.run(["read-tree", "--reset", target_index], self.wt)
        self.current = current._replace(tree=target_tree, index_tree=target_index)


@contextlib.contextmanager
def session(wt: Path) -> Iterator[Session]:
    with temp_index(Path(wt)) as env:
        yield Session(Path(wt), env)


def files_tree(wt: Path) -> str:
    """The tree of every file in ``wt`` (a task's result), without touching its index."""
    with session(wt) as s:
        return s.files_tree()


def take(wt: Path) -> Snapshot:
    """Snapshot ``wt`` (see :meth:`Session.take`)."""
    with session(wt) as s:
        return s.take()
