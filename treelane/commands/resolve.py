"""treelane.resolve: put a run's conflicting merge into a worktree, with markers and stages."""

from __future__ import annotations

from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context
from treelane.engine import resolve as engine_resolve


def resolve(ctx: Context, raw: Any) -> dict[str, Any]:
    args = _args.obj(raw, ("run", "task"))
    run = _args.run_id(args)
    task = _args.name(args, "task", required=False)
    assert run is not None
    opened = engine_resolve.open_resolution(ctx.engine(), run, task)
    return opened.to_dict(run, task)
