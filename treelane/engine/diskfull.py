"""Recognising a full disk, so errors say so (instead of "internal error")."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

_SIGNS = (
    "no space left on device",
    "out of diskspace",  # git
    "database or disk is full",  # SQLite
    "disk quota exceeded",
)
LOW_SPACE = 1024 * 1024  # bytes free below which a failure is blamed on the disk


def is_no_space(error: BaseException | str) -> bool:
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(error).lower()
    return any(sign in text for sign in _SIGNS)


def low_on_space(path: Path) -> bool:
    try:
        return shutil.disk_usage(path).free < LOW_SPACE
    except OSError:
        return False


def describe(error: BaseException, where: Path | None = None) -> str:
    """A task error for an exception raised while running it."""
    first = (str(error).strip().splitlines() or [type(error).__name__])[-1][:300]
    if is_no_space(error) or (where is not None and low_on_space(where)):
        place = f" (on the filesystem of {where})" if where is not None else ""
        return f"no space left on device{place}: {first}"
    return f"internal error: {first}"
