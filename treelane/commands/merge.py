"""treelane.merge: preview or land a run's (or one task's) result on a branch."""

from __future__ import annotations

from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context
from treelane.commands.diff import check_branch, target_branch
from treelane.engine import landing


def merge(ctx: Context, raw: Any) -> dict[str, Any]:
    args = _args.obj(raw, ("run", "task", "into", "preview", "squash"))
    run = _args.run_id(args)
    task = _args.name(args, "task", required=False)
    into_arg = _args.string(args, "into", required=False)
    if into_arg is not None:
        check_branch(into_arg)
    preview = _args.boolean(args, "preview")
    squash = _args.boolean(args, "squash", default=True)
    assert run is not None
    engine = ctx.engine()
    into = target_branch(engine.ws.root, into_arg)
    landing.recover(engine)
    p = landing.plan(engine, run, task, into, squash=squash)
    if preview or p.already:
        return p.to_dict(merged=False, commit=None if preview else p.before)
    return p.to_dict(merged=True, commit=landing.apply(engine, p))
