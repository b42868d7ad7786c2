"""treelane.diff: the files and commits a run (or one task) changed.

A read-only command: it reads the store through the context's read view, so the CLI
answers it in its own process (no server), as it does ``status`` and ``log``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context
from treelane.engine import diff as git_diff
from treelane.engine import git, results
from treelane.engine import merge as git_merge
from treelane.errors import InvalidArgument, RequestFailed

AGAINST = ("base", "input", "target")


def diff(ctx: Context, raw: Any) -> dict[str, Any]:
    args = _args.obj(raw, ("run", "task", "against", "patch", "into"))
    run_id = _args.run_id(args)
    task = _args.name(args, "task", required=False)
    against = _args.string(args, "against", required=False) or "base"
    if against not in AGAINST:
        raise InvalidArgument(f"field 'against': expected one of {', '.join(AGAINST)}")
    with_patch = _args.boolean(args, "patch")
    into_arg = _args.string(args, "into", required=False)
    if into_arg is not None:
        check_branch(into_arg)
    assert run_id is not None
    view = ctx.read_view()
    repo = view.root
    run = results.run_info(view.db, run_id)
    head = results.head_of(view.db, run, task)
    extra: dict[str, Any] = {"against": against}
    listed = None
    if against == "base":
        base = run.base
    elif against == "input":
        if task is None:
            base = run.base  # a run's input is its base
        else:
            t = results.task_info(view.db, run, task)
            if t.input is None:
                raise RequestFailed(f"task {task} of run {run.id} has no recorded input")
            base = t.input
    else:
        into = target_branch(repo, into_arg)
        base = branch_commit(repo, into)
        p = git_merge.preview(repo, head, base)
        extra["into"] = into
        extra["conflicts"] = [c._asdict() for c in p.conflicts]
        # The commits the merge brings; the files are what it changes on the target.
        listed = git_diff.commits(repo, base, head)
        if not p.base_is_into:
            # What the merge would write: a commit of the merged tree on the target.
            head = git.commit_tree(repo, p.tree, [base], "treelane: merge preview\n")
    d = git_diff.compare(repo, base, head, with_patch=with_patch)
    if listed is not None:
        d = d._replace(commits=listed)
    out = d.to_dict()
    out["run"] = run.id
    if task is not None:
        out["task"] = task
    out["summary"] = d.summary()
    out.update(extra)
    return out


def target_branch(repo: Path, into: str | None) -> str:
    """``into``, checked, or the branch checked out in the main worktree ``repo``."""
    if into is None:
        into = git.current_branch(repo)
        if into is None:
            raise RequestFailed(
                "the main worktree is on a detached HEAD: name a branch with 'into'"
            )
    return check_branch(into)


def check_branch(name: str, field: str = "into") -> str:
    try:
        return git.check_ref_name(name)
    except ValueError as exc:
        raise InvalidArgument(f"field {field!r}: {exc}") from None


def branch_commit(repo: Path, branch: str) -> str:
    res = git.run(["rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], repo, check=False)
    if res.returncode != 0:
        raise RequestFailed(f"no branch {branch!r} in this repository")
    return res.stdout.strip()
