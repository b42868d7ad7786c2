"""treelane.start: start a run of a workflow (returns at once)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context, load_workflows
from treelane.engine import git
from treelane.engine.workflow import CONFIG_FILE, ConfigError
from treelane.errors import InvalidArgument, RequestFailed


def start(ctx: Context, raw: Any) -> dict[str, Any]:
    args = _args.obj(raw, ("workflow", "base", "name", "cache"))
    use_cache = _args.boolean(args, "cache", default=True)
    wf_arg = args.get("workflow")
    base = _args.string(args, "base", required=False)
    name = _args.name(args, "name", required=False)
    if name is not None and not isinstance(wf_arg, Mapping):
        raise InvalidArgument("field 'name': only an inline workflow definition takes a name")
    if isinstance(wf_arg, str) and len(wf_arg) > _args.MAX_STRING:
        raise InvalidArgument(f"field 'workflow': {len(wf_arg):,} characters is too long")
    engine = ctx.engine()
    if isinstance(wf_arg, str) and wf_arg:
        if not (engine.ws.root / CONFIG_FILE).is_file():
            raise RequestFailed(
                f"there is no {CONFIG_FILE} in {engine.ws.root}: create a starter one with "
                f"`treelane init` (it detects your project's tools), then run it"
            )
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
    if (base or wf.base) == "HEAD" and git.head_commit(engine.ws.root) is None:
        raise RequestFailed(
            f"the repository {engine.ws.root} has no commits yet: a run starts from a commit; "
            "make the first one (git add -A && git commit -m 'first commit') and run again"
        )
    # "worktree": the main worktree's files, uncommitted and untracked ones too.
    worktree = base == "worktree"
    started = engine.start(wf, None if worktree else base, from_worktree=worktree, cache=use_cache)
    return {"run": started.run, "workflow": started.workflow, "tasks": started.tasks}
