"""treelane.branch: an ordinary branch at a run's (or one task's) result."""

from __future__ import annotations

from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context
from treelane.commands.diff import check_branch
from treelane.engine import git, merge, results
from treelane.errors import RequestFailed


def branch(ctx: Context, raw: Any) -> dict[str, Any]:
    args = _args.obj(raw, ("run", "task", "name", "force"))
    run_id = _args.run_id(args)
    task = _args.name(args, "task", required=False)
    name = _args.string(args, "name")
    assert run_id is not None and name is not None
    check_branch(name, "name")
    force = _args.boolean(args, "force")
    engine = ctx.engine()
    repo = engine.ws.root
    head = results.head_of(engine.store, results.run_info(engine.store, run_id), task)
    ref = f"refs/heads/{name}"
    res = git.run(["rev-parse", "--verify", "--quiet", ref], repo, check=False)
    old = res.stdout.strip() if res.returncode == 0 else ""
    if old == head:
        return {"branch": name, "commit": head, "created": False, "moved": False}
    if old:
        if not force:
            raise RequestFailed(
                f"branch {name!r} exists (at {old[:10]}): choose another name, or --force "
                "(force: true) to move it"
            )
        where = merge.checked_out_in(repo, ref)
        if where is not None:
            raise RequestFailed(f"branch {name!r} is checked out in {where}: not moving it")
        if not merge.is_ancestor(repo, old, head):
            # Commits only that branch holds would be lost: keep them reachable.
            git.update_ref(repo, f"refs/treelane/saved/branch-{name}/{old[:12]}", old)
    git.update_ref(repo, ref, head, old, msg=f"treelane: branch of run {run_id}")
    return {"branch": name, "commit": head, "created": not old, "moved": bool(old)}
