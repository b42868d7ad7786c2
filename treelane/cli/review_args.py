"""The parsers of the review subcommands (``diff``, ``merge``, ``resolve``, ``branch``).

Only argparse here: ``treelane.cli.app`` imports it for every command line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

R = "treelane.cli.review:"


def add(command: Callable[..., Any]) -> None:
    """Add the review subcommands with ``command(name, help, handler)`` of the app."""
    p = command("diff", "the files and commits a run (or one task) changed", R + "diff")
    p.add_argument("run", metavar="RUN")
    p.add_argument("task", nargs="?", metavar="TASK", help="one task (default: the run)")
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
