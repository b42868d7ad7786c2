"""treelane.worktrees: the main worktree and every managed one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from treelane.commands import _args
from treelane.commands.context import Context
from treelane.engine import git

if TYPE_CHECKING:
    from treelane.engine.core import Engine


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
        "pending": _pending(engine, "main", str(root)),
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
            "pending": _pending(engine, w.id, w.path),
        }
        for w in engine.pool.list()
    ]
    return {"worktrees": [main, *managed]}


def _pending(engine: Engine, wt_id: str, path: str) -> str | None:
    """An interrupted operation the next command on that worktree completes (or None)."""
    if engine.store.one("SELECT 1 FROM merges WHERE state = 'pending' AND worktree = ?", (path,)):
        return "merge"
    head = engine.store.one(
        "SELECT pending FROM checkpoint_heads WHERE worktree = ? AND pending IS NOT NULL",
        (wt_id,),
    )
    return "restore" if head else None
