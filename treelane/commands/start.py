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
    engine = ctx.engine()
    if isinstance(wf_arg, str) and wf_arg:
        load_workflows(engine)
        wf = engine.workflow(wf_arg)
    elif isinstance(wf_arg, Mapping):
        name = _args.name(args, "name", required=False) or "inline"
        load_workflows(engine)
        try:
            wf = engine.parse_workflow(name, wf_arg)
        except ConfigError as exc:
            raise InvalidArgument(f"field 'workflow': {exc}") from None
    elif wf_arg is None:
        raise InvalidArgument("missing field 'workflow': expected a workflow name or definition")
    else:
        raise InvalidArgument("field 'workflow': expected a workflow name or an object")
    # "worktree": the main worktree's files, uncommitted and untracked ones too.
    worktree = base == "worktree"
    started = engine.start(wf, None if worktree else base, from_worktree=worktree)
    return {"run": started.run, "workflow": started.workflow, "tasks": started.tasks}
