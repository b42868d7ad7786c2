"""treelane.status: runs with their tasks, the pool and the concurrency in force."""

from __future__ import annotations

from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context
from treelane.engine import queries


def status(ctx: Context, raw: Any) -> dict[str, Any]:
    args = _args.obj(raw, ("run",))
    run = _args.run_id(args, required=False)
    view = ctx.read_view()
    return queries.status(
        view.db, run, pool_size=view.pool_size(), limit=view.limit(), scheduler=view.scheduler()
    )
