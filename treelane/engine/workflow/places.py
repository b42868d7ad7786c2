"""Places a workflow file may not point treelane at (checked without the file system)."""

from __future__ import annotations

import posixpath

# Never a place for worktrees (and nothing below the second set either).
SYSTEM_DIRS = frozenset(
    {
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/media",
        "/mnt",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/srv",
        "/sys",
        "/tmp",
        "/usr",
        "/var",
        "/Applications",
        "/Library",
        "/System",
        "/Users",
    }
)
SYSTEM_TREES = frozenset(
    {
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/lib",
        "/lib32",
        "/lib64",
        "/proc",
        "/run",
        "/sbin",
        "/sys",
        "/usr",
    }
)


def worktrees_dir_problem(value: str) -> str | None:
    """Why ``worktrees_dir`` may not be used (checked without the file system), or None."""
    if not value:
        return None
    norm = posixpath.normpath(value)
    top = "/" + norm.lstrip("/").split("/")[0]
    if norm.startswith("/") and (norm in SYSTEM_DIRS or top in SYSTEM_TREES):
        return (
            f"{value!r} is a system directory; choose a folder of your own, "
            "e.g. '../<repo>.treelane'"
        )
    if norm == ".git":
        return "must not be the git directory itself (the default lives inside it already)"
    return None
