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
    pending = _pending_of(engine)

    def _restore(wt_id: str) -> str | None:
        """'pending' while an undo/redo that was interrupted waits to be completed."""
        return "pending" if wt_id in pending else None

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
        "restore": _restore("main"),
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
            "restore": _restore(w.id),
        }
        for w in engine.pool.list()
    ]
    return {"worktrees": [main, *managed]}


def _pending_of(engine: Engine) -> dict[str, int]:
    rows = engine.store.query(
        "SELECT worktree, pending FROM checkpoint_heads WHERE pending IS NOT NULL"
    )
    return {r["worktree"]: r["pending"] for r in rows}
