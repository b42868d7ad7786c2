"""treelane.resume: finish an interrupted (or failed) run; what succeeded is kept."""

from __future__ import annotations

from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context


def resume(ctx: Context, raw: Any) -> dict[str, Any]:
    args = _args.obj(raw, ("run", "force"))
    run = _args.run_id(args)
    force = _args.boolean(args, "force")
    assert run is not None
    return {"run": run, "requeued": ctx.engine().resume(run, force=force)}
