"""treelane.status: runs with their tasks, the pool and the concurrency in force."""

from __future__ import annotations

from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context


def status(ctx: Context, raw: Any) -> dict[str, Any]:
    args = _args.obj(raw, ("run",))
    return ctx.engine().status(_args.run_id(args, required=False))
