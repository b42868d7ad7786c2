"""The parsers of the review subcommands (``diff``, ``merge``, ``resolve``, ``branch``).

Only argparse here: ``treelane.cli.app`` imports it for every command line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

R = "treelane.cli.review:"


RUN_HELP = "a run id, as treelane status lists them (e.g. r1a2b3c)"


def add(command: Callable[..., Any], arg: Callable[..., None]) -> None:
    """Add the review subcommands with ``command(name, help, handler)`` of the app and its
    ``arg(parser, dest, metavar, help, kind)`` for positionals (help text, completion)."""
    p = command("diff", "the files and commits a run (or one task) changed",
                "treelane.cli.local:diff")  # fmt: skip
    arg(p, "run", "RUN", RUN_HELP, "runs")
    arg(p, "task", "TASK", "one task (default: the run)", "tasks", nargs="?")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--stat", dest="format", action="store_const", const="stat",
                     help="files with lines added and removed (the default)")  # fmt: skip
    how.add_argument("--name-status", dest="format", action="store_const", const="name-status",
                     help="status letter and path, one file a line (like git)")  # fmt: skip
    how.add_argument("--patch", dest="format", action="store_const", const="patch",
                     help="the unified diff")  # fmt: skip
    p.set_defaults(format="stat")
    p.add_argument(
        "--against",
        choices=("base", "input", "target"),
        default="base",
        help="base: the run's base (default); input: the task's own input (what that task "
        "did); target: what merging would change on the target branch",
    )
    p.add_argument("--into", metavar="BRANCH", help="target branch for --against target")

    p = command("merge", "merge a run's result into a branch", R + "merge")
    arg(p, "run", "RUN", "a succeeded run (see: treelane status)", "runs")
    p.add_argument("--task", metavar="T", help="land this task's result alone")
    p.add_argument(
        "--preview", action="store_true", help="show what the merge would do, change nothing"
    )
    p.add_argument("--into", metavar="BRANCH", help="target branch (default: the current one)")
    p.add_argument(
        "--no-squash",
        action="store_true",
        help="one merge commit with the run's result as second parent (keeps the per-task "
        "history) instead of one squash commit",
    )
    p.epilog = (
        "Default: one squash commit naming the run, workflow and tasks (a fast-forward when "
        "the result is a single commit on top of the target). Exit code 1 when the merge "
        "has conflicts or uncommitted changes in the target's worktree are in its way (both "
        "listed, by --preview too); 0 when the run is merged already (nothing changes)."
    )

    p = command("resolve", "put a run's conflicting merge in a worktree to resolve", R + "resolve")
    arg(p, "run", "RUN", "a run that failed on a conflict", "runs")
    arg(p, "task", "TASK", "whose inputs conflict (default: the final merge)", "tasks", nargs="?")
    p.epilog = "When the conflicts are resolved there, treelane resume RUN carries on."

    p = command("branch", "make an ordinary branch of a run's (or task's) result", R + "branch")
    arg(p, "run", "RUN", RUN_HELP, "runs")
    p.add_argument("names", nargs="+", metavar="[TASK] NAME",
                   help="the new branch name, after an optional task of the run")  # fmt: skip
    p.add_argument(
        "--force", action="store_true", help="move an existing branch (its commits are kept)"
    )
