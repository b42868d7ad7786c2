"""treelane.worktrees: the main worktree and every managed one."""

from __future__ import annotations

from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context


def worktrees(ctx: Context, raw: Any) -> dict[str, Any]:
    _args.obj(raw, ())
    return {"worktrees": ctx.read_view().worktrees()}
