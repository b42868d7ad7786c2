"""treelane.worktrees: the main worktree and every managed one."""

from __future__ import annotations

from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context
from treelane.engine import git


def worktrees(ctx: Context, raw: Any) -> dict[str, Any]:
    _args.obj(raw, ())
    engine = ctx.engine()
    root = engine.ws.root
    main = {
        "id": "main",
        "path": str(root),
        "commit": git.head_commit(root),
        "state": "idle",
        "dirty": bool(git.out(["status", "--porcelain"], root)),
        "run": None,
        "task": None,
        "branch": git.current_branch(root),
        "drift": None,
        "disk_mb": None,
    }
    managed = [
        {
            "id": w.id,
            "path": w.path,
            "commit": w.commit,
            "state": w.state,
            "dirty": w.dirty,
            "run": w.run,
            "task": w.task,
            "branch": None,
            "drift": w.drift,
            "disk_mb": w.disk_mb,
        }
        for w in engine.pool.list()
    ]
    return {"worktrees": [main, *managed], "pool": engine.pool.stats()}
