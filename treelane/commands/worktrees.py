"""treelane.worktrees: the main worktree, every managed one, and the worktrees of open
conflict resolutions (``state`` "resolving")."""

from __future__ import annotations

from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context
from treelane.engine.queries import pool_stats
from treelane.engine.resolutions import listing


def worktrees(ctx: Context, raw: Any) -> dict[str, Any]:
    _args.obj(raw, ())
    view = ctx.read_view()
    return {
        "worktrees": [*view.worktrees(), *listing(view.db)],
        "pool": pool_stats(view.db, view.pool_size()),
    }
