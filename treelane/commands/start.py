"""treelane.start: start a run of a workflow (returns at once)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context, load_workflows
from treelane.engine.workflow import ConfigError
from treelane.errors import InvalidArgument


def start(ctx: Context, raw: Any) -> dict[str, Any]:
    args = _args.obj(raw, ("workflow", "base", "name"))
    wf_arg = args.get("workflow")
    base = _args.string(args, "base", required=False)
    name = _args.name(args, "name", required=False)
    if name is not None and not isinstance(wf_arg, Mapping):
        raise InvalidArgument("field 'name': only an inline workflow definition takes a name")
    if isinstance(wf_arg, str) and len(wf_arg) > _args.MAX_STRING:
        raise InvalidArgument(f"field 'workflow': {len(wf_arg):,} characters is too long")
    engine = ctx.engine()
    if isinstance(wf_arg, str) and wf_arg:
        load_workflows(engine)
        wf = engine.workflow(wf_arg)
    elif isinstance(wf_arg, Mapping):
        load_workflows(engine)
        try:
            wf = engine.parse_workflow(name or "inline", wf_arg)
        except ConfigError as exc:
            raise InvalidArgument(f"field 'workflow': {exc}") from None
    elif wf_arg is None:
        raise InvalidArgument("missing field 'workflow': expected a workflow name or definition")
    else:
        raise InvalidArgument("field 'workflow': expected a workflow name or an object")
    started = engine.start(wf, base)
    return {"run": started.run, "workflow": started.workflow, "tasks": started.tasks}
