"""Lock files left by a git process that was killed (power cut, OOM killer, kill -9).

A lock is provably stale when no running process has it open: git keeps its lock file open
for as long as it writes it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import psutil

from treelane.engine import git


def held_open(path: Path) -> bool:
    """Does any process we can inspect have ``path`` open?"""
    target = os.path.realpath(path)
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if any(f.path == target for f in proc.open_files()):
                return True
    return False


def clear_stale_index_lock(worktree: Path) -> bool:
    """Remove the worktree's index.lock if no process holds it; True if one was removed."""
    lock = git.git_path(worktree, "index.lock")
    if not lock.exists() or held_open(lock):
        return False
    with contextlib.suppress(FileNotFoundError):
        lock.unlink()
    return True
