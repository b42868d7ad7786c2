"""treelane.trace, treelane.report and treelane.output: what a run left behind."""

from __future__ import annotations

from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context
from treelane.engine import queries


def trace(ctx: Context, raw: Any) -> dict[str, Any]:
    run = _args.run_id(_args.obj(raw, ("run",)))
    assert run is not None
    return queries.trace(ctx.read_view().db, run)


def report(ctx: Context, raw: Any) -> dict[str, Any]:
    run = _args.run_id(_args.obj(raw, ("run",)))
    assert run is not None
    from treelane.report.timeline import render_timeline

    return {"run": run, "html": render_timeline(queries.report_data(ctx.read_view().db, run))}


def output(ctx: Context, raw: Any) -> dict[str, Any]:
    args = _args.obj(raw, ("run", "task", "offset", "limit"))
    run = _args.run_id(args)
    task = _args.task_name(args, "task")
    offset = _args.optional_integer(args, "offset", 0, minimum=0) or 0
    limit = _args.optional_integer(args, "limit", None, minimum=1)
    assert run is not None and task is not None
    lines, after = queries.output_page(ctx.read_view().db, run, task, offset, limit)
    return {"run": run, "task": task, "lines": lines, "next": after}
