"""treelane.cancel: cancel a run, or one task of it (its dependents are skipped)."""

from __future__ import annotations

from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context


def cancel(ctx: Context, raw: Any) -> dict[str, Any]:
    args = _args.obj(raw, ("run", "task"))
    run = _args.run_id(args)
    task = _args.task_name(args, "task", required=False)
    assert run is not None
    return {"cancelled": ctx.engine().cancel(run, task)}
