"""treelane.cleanup: remove idle worktrees (work is never lost; see WorktreePool.cleanup)."""

from __future__ import annotations

from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context


def cleanup(ctx: Context, raw: Any) -> dict[str, Any]:
    args = _args.obj(raw, ("force",))
    result = ctx.engine().pool.cleanup(force=_args.boolean(args, "force"))
    return {"removed": result.removed, "kept": result.kept}
