"""treelane.merge: preview or merge a run's result into a branch."""

from __future__ import annotations

from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context
from treelane.engine import git
from treelane.engine import merge as git_merge
from treelane.engine.merge import MergeResult
from treelane.errors import InvalidArgument, RequestFailed


def merge(ctx: Context, raw: Any) -> dict[str, Any]:
    args = _args.obj(raw, ("run", "into", "preview"))
    run = _args.run_id(args)
    into = _args.string(args, "into", required=False)
    preview = _args.boolean(args, "preview")
    assert run is not None
    engine = ctx.engine()
    repo = engine.ws.root
    if into is None:
        into = git.current_branch(repo)
        if into is None:
            raise RequestFailed(
                "the main worktree is on a detached HEAD: name a branch with 'into'"
            )
    try:
        git.check_ref_name(into)
    except ValueError as exc:
        raise InvalidArgument(f"field 'into': {exc}") from None
    source = engine.result_commit(run)
    if (
        git.run(
            ["rev-parse", "--verify", "--quiet", f"refs/heads/{into}"], repo, check=False
        ).returncode
        != 0
    ):
        raise RequestFailed(f"no branch {into!r} in this repository")
    p = git_merge.preview(repo, source, f"refs/heads/{into}")
    if preview or not p.clean:
        if not preview:
            names = ", ".join(c.path for c in p.conflicts)
            raise RequestFailed(f"cannot merge run {run} into {into}: conflicts in {names}")
        return MergeResult(p.clean, p.conflicts, False, None).to_dict()
    row = engine.store.one("SELECT workflow FROM runs WHERE id = ?", (run,))
    message = f"treelane: merge run {run} ({row['workflow'] if row else 'workflow'})"
    return git_merge.apply(repo, source, into, message).to_dict()
