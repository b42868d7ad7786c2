"""Where treelane keeps things for one repository, and a cross-process lock."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from treelane.engine import git

_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


class Workspace(NamedTuple):
    root: Path  # the main worktree (the user's checkout)
    git_dir: Path  # the common git dir
    state_dir: Path  # <git-dir>/treelane
    worktrees_dir: Path  # where managed worktrees live (outside the user's working tree)

    @property
    def db_path(self) -> Path:
        return self.state_dir / "state.db"

    @contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Exclusive lock across threads and processes (``flock`` on a file in the state dir)."""
        path = self.state_dir / f"{name}.lock"
        with _THREAD_LOCKS_GUARD:
            tlock = _THREAD_LOCKS.setdefault(str(path), threading.Lock())
        with tlock:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)


def open_workspace(path: Path | str, worktrees_dir: str = "") -> Workspace:
    """The workspace of the repository containing ``path``.

    ``worktrees_dir`` (from ``[settings]``) may relocate the managed worktrees, e.g. to a
    sibling ``../repo.treelane``; it must not lie inside the main working tree, where file
    watchers, test discovery and language servers would pick the worktrees up.
    """
    info = git.discover(path)
    state = info.common_dir / "treelane"
    state.mkdir(parents=True, exist_ok=True)
    if worktrees_dir:
        wd = Path(os.path.realpath(info.toplevel / worktrees_dir))
        inside_git_dir = info.common_dir == wd or info.common_dir in wd.parents
        if not inside_git_dir and (wd == info.toplevel or info.toplevel in wd.parents):
            raise ValueError(
                f"worktrees_dir {worktrees_dir!r} lies inside the working tree; choose a folder "
                "outside it (for example '../<repo>.treelane')"
            )
        if wd == info.common_dir:
            raise ValueError(f"worktrees_dir {worktrees_dir!r} is the git directory itself")
    else:
        wd = state / "worktrees"
    try:
        wd.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(
            f"worktrees_dir {str(wd)!r} cannot be created: {exc.strerror or exc}"
        ) from None
    if not os.access(wd, os.W_OK | os.X_OK):
        raise ValueError(f"worktrees_dir {str(wd)!r} is not writable")
    return Workspace(info.toplevel, info.common_dir, state, wd)
