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
    args = _args.obj(raw, ("run", "task"))
    run = _args.run_id(args)
    task = _args.task_name(args, "task")
    assert run is not None and task is not None
    return {"run": run, "task": task, "lines": queries.output(ctx.read_view().db, run, task)}
