"""treelane.checkpoints: a worktree's checkpoints, oldest first, the current one marked.

Each entry says how many files differ from the checkpoint before it (the first one:
from the HEAD it was taken on), counted by one ``git diff-tree --stdin`` for all.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from treelane.commands import _args, worktree_arg
from treelane.commands.context import Context
from treelane.commands.readonly import git
from treelane.engine import queries


def checkpoints(ctx: Context, raw: Any) -> dict[str, Any]:
    args = _args.obj(raw, ("worktree",))
    value = _args.string(args, "worktree")
    assert value is not None
    view = ctx.read_view()
    wt_id, _ = worktree_arg.resolve_worktree(view.root, view.worktree_paths(), value)
    rows, current = queries.checkpoint_rows(view.db, wt_id)
    counts = _files_changed(view.root, rows)
    return {
        "worktree": wt_id,
        "current": None if current is None else str(current),
        "checkpoints": [
            {
                "checkpoint": str(r["id"]),
                "time": queries.iso(r["created"]),
                "message": r["message"],
                "commit": r["commit_sha"],
                "files_changed": n,
                "current": r["id"] == current,
            }
            for r, n in zip(rows, counts, strict=True)
        ],
    }


def _files_changed(root: Path, rows: list[dict[str, Any]]) -> list[int | None]:
    """Paths changed by each checkpoint (None where git could not tell)."""
    if not rows:
        return []
    requests = [rows[0]["commit_sha"]]  # the first against its first parent (HEAD)
    requests += [f"{a['tree']} {b['tree']}" for a, b in itertools.pairwise(rows)]
    proc = git(
        ["diff-tree", "--stdin", "-r", "--root", "--always", "--name-only"],
        root,
        "".join(f"{r}\n" for r in requests),
    )
    if proc.returncode != 0:
        return [None] * len(rows)
    counts: list[int | None] = []
    waiting = iter(requests)
    expect = next(waiting, None)
    for line in proc.stdout.splitlines():
        if line == expect:
            counts.append(0)
            expect = next(waiting, None)
        elif counts and line:
            counts[-1] = (counts[-1] or 0) + 1
    return counts + [None] * (len(rows) - len(counts))
