"""The ``worktree`` argument of the checkpoint commands: ``main``, a managed id, or a path."""

from __future__ import annotations

import os
from pathlib import Path

from treelane.errors import InvalidArgument, RequestFailed

MAIN = "main"


def resolve_worktree(root: Path, managed: dict[str, Path], value: str) -> tuple[str, Path]:
    """(id, path) of the worktree named ``value``; ``managed`` maps ids to folders."""
    if value == MAIN:
        return MAIN, root
    if value.startswith("-"):
        raise InvalidArgument(f"invalid worktree: {value!r}")
    if value in managed:
        return value, managed[value]
    if "/" not in value and os.sep not in value and not Path(value).is_absolute():
        known = ", ".join([MAIN, *managed])
        raise RequestFailed(
            f"unknown worktree {value!r} (worktrees: {known}; see: treelane worktrees)"
        )
    real = Path(os.path.realpath(value))
    for wt_id, path in managed.items():
        p = Path(os.path.realpath(path))
        if real == p or p in real.parents:
            return wt_id, path
    top = Path(os.path.realpath(root))
    if real == top or top in real.parents:
        return MAIN, root
    raise RequestFailed(f"path {value!r} is not inside the repository or a managed worktree")
