"""The worktrees ``treelane resolve`` opens, as ``worktrees`` lists them and ``cleanup``
removes them.

A resolve worktree (``<worktrees_dir>/resolve/<run>-<task>``, see :mod:`.resolve`) is
not part of the pool: it holds a person's (or a resolver's) work on a conflict until
``treelane resume`` takes it. ``listing`` reads it without an engine (the read-only CLI
calls it); ``cleanup`` keeps an open one unless forced, and never removes one without
saving its uncommitted work under ``refs/treelane/saved/`` first.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from treelane.engine import git
from treelane.errors import RequestFailed

if TYPE_CHECKING:
    from treelane.engine.host import EngineHost as Engine
    from treelane.engine.queries import Reader

RESULT = "_result"  # as in .resolve: the merge of a run's final tasks
MARKERS = (b"<<<<<<< ", b">>>>>>> ")


def wt_id(run_id: str, key: str) -> str:
    return f"resolve/{run_id}-{key}"


def has_markers(path: Path) -> bool:
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return False
    return any(line.startswith(MARKERS) for line in data.splitlines())


def listing(db: Reader) -> list[dict[str, Any]]:
    """The open resolutions' worktrees, in the shape of ``treelane.worktrees`` entries
    (``state`` "resolving"), plus ``conflicts_left``: the conflicted files that still
    have markers. A resolution whose folder is gone is not listed."""
    out = []
    for row in db.query("SELECT * FROM resolutions WHERE state = 'open' ORDER BY created"):
        path = Path(row["worktree"])
        if not path.is_dir():
            continue
        head = git.run(["rev-parse", "--verify", "-q", "HEAD"], path, check=False)
        status = git.run(["status", "--porcelain"], path, check=False)
        files = dict.fromkeys(c["path"] for c in json.loads(row["files"]))
        out.append(
            {
                "id": wt_id(row["run"], row["task"]),
                "path": str(path),
                "commit": head.stdout.strip() or None,
                "state": "resolving",
                "dirty": bool(status.stdout.strip()),
                "run": row["run"],
                "task": None if row["task"] == RESULT else row["task"],
                "branch": None,
                "drift": None,
                "pending": None,
                "disk_mb": None,
                "conflicts_left": [f for f in files if has_markers(path / f)],
            }
        )
    return out


def cleanup(engine: Engine, force: bool) -> tuple[list[str], list[dict[str, str]]]:
    """Remove resolve worktrees: stale ones (no open resolution holds them) always, open
    ones only with ``force``; either way their uncommitted work is saved first (under
    ``refs/treelane/saved/resolve/...``). Returns the ids removed and the ones kept, why."""
    root = engine.ws.root
    parent = engine.ws.worktrees_dir / "resolve"
    open_rows = {
        os.path.realpath(r["worktree"]): r
        for r in engine.store.query("SELECT * FROM resolutions WHERE state = 'open'")
    }
    removed: list[str] = []
    kept: list[dict[str, str]] = []
    folders = sorted(p for p in parent.iterdir() if p.is_dir()) if parent.is_dir() else []
    for path in folders:
        row = open_rows.get(os.path.realpath(path))
        ident = f"resolve/{path.name}"
        if row is not None and not force:
            kept.append(
                {
                    "id": ident,
                    "reason": f"resolving conflicts of run {row['run']} (treelane resume "
                    f"{row['run']} takes the resolution; --force saves and removes it)",
                }
            )
            continue
        try:
            engine.pool.save(ident, path, "cleanup of a resolve worktree")
        except RequestFailed as exc:  # its work could not be saved: it stays
            kept.append({"id": ident, "reason": str(exc)})
            continue
        remove(root, path)
        if row is not None:
            with engine.store.write():
                engine.store.execute(
                    "DELETE FROM resolutions WHERE run = ? AND task = ? AND state = 'open'",
                    (row["run"], row["task"]),
                )
        removed.append(ident)
    return removed, kept


def remove(repo: Path, path: Path) -> None:
    """Remove a resolve worktree and git's record of it."""
    git.run(["worktree", "remove", "--force", "--force", str(path)], repo, check=False)
    if os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=True)
    git.run(["worktree", "prune"], repo, check=False)
