"""Sparse worktrees (``sparse = ["src/", "tests/"]``): only those folders are checked out.

Cone mode (``git sparse-checkout set --cone``): the listed folders, plus the files at the
top of the repository. The index still holds every path (the others are marked
skip-worktree), so a task's result is still a complete tree: snapshots keep the entries
outside the cone as they are, and files a task writes outside it are taken too
(``add --sparse``). A pool worktree remembers its folder list (``worktrees.sparse``);
acquire prefers one with the same list and otherwise changes it (``set`` or
``disable``, which checks the rest out again). Git records sparse checkouts per worktree
(``extensions.worktreeConfig``), so the main worktree is never made sparse.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from treelane.engine import git


def key(folders: Sequence[str]) -> str:
    """How a folder list is stored: '' for a full checkout, else a JSON list."""
    return json.dumps(sorted(_norm(f) for f in folders)) if folders else ""


def _norm(folder: str) -> str:
    return folder.strip("/") or "."


def apply(path: Path, folders: Sequence[str]) -> None:
    """Make ``path`` check out only ``folders`` (cone mode), or everything when empty."""
    if folders:
        git.run(["sparse-checkout", "set", "--cone", "--", *[_norm(f) for f in folders]], path)
    else:
        git.run(["sparse-checkout", "disable"], path)


def populate(path: Path) -> None:
    """A worktree added with ``--no-checkout`` whose cone is set: fill its index and files."""
    git.run(["read-tree", "-mu", "HEAD"], path)
