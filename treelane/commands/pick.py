"""treelane.pick: choose another candidate of a best-of-N task as its result."""

from __future__ import annotations

from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context


def pick(ctx: Context, raw: Any) -> dict[str, Any]:
    args = _args.obj(raw, ("run", "task", "candidate"))
    run = _args.run_id(args)
    task = _args.task_name(args, "task")
    candidate = _args.integer(args, "candidate", minimum=1)
    assert run is not None and task is not None
    from treelane.engine.repick import repick

    return repick(ctx.engine(), run, task, candidate)
