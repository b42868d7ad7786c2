"""treelane.resume: finish an interrupted (or failed) run; what succeeded is kept."""

from __future__ import annotations

from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context, load_workflows
from treelane.engine.workflow import CONFIG_FILE
from treelane.errors import RequestFailed


def resume(ctx: Context, raw: Any) -> dict[str, Any]:
    args = _args.obj(raw, ("run", "force", "reload"))
    run = _args.run_id(args)
    force = _args.boolean(args, "force")
    reload = _args.boolean(args, "reload")
    assert run is not None
    engine = ctx.engine()
    changed: list[str] | None = None
    try:
        load_workflows(engine)
        changed = engine.definition_changes(run)
    except RequestFailed:
        if reload:
            raise  # the file is invalid: say why
    requeued = engine.resume(run, force=force, reload=reload)
    result: dict[str, Any] = {
        "run": run,
        "requeued": requeued,
        "definition": "reloaded" if reload else "stored",
        "changed": changed or [],
    }
    if changed and not reload:
        result["warning"] = (
            f"{CONFIG_FILE} changed since run {run} started (tasks: {', '.join(changed)}); "
            f"resume uses the stored definition: treelane resume --reload {run} uses the new one"
        )
    return result
