"""The ``treelane`` command line: parse the arguments and dispatch (nothing else here).

Every subcommand is a function ``(args) -> exit code`` named by its parser's
``handler`` default and imported only when it runs, so ``treelane serve`` loads no
client code. The client subcommands start their own ``treelane serve`` over stdio.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any, NoReturn

from treelane import __version__

DESCRIPTION = """\
Run workflows (DAGs of shell tasks from treelane.toml) in parallel git worktrees,
with checkpoints, undo/redo and merge. New here? Try: treelane demo"""

EPILOG = """\
exit codes: 0 ok · 1 the request failed, a task failed or the run was cancelled ·
2 bad arguments · 130 a run cancelled with Ctrl-C (first Ctrl-C cancels the run and
waits for it; a second one stops at once, leaving the run resumable)"""


class Parser(argparse.ArgumentParser):
    """Usage errors as one line, ``treelane: <reason>``, and exit code 2."""

    subcommands: dict[str, Parser]

    def error(self, message: str) -> NoReturn:
        print(f"treelane: {message} (see: {self.prog} --help)", file=sys.stderr, flush=True)
        raise SystemExit(2)


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=20)


def build_parser() -> Parser:
    parser = Parser(
        prog="treelane",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"treelane {__version__}")
    parser.add_argument("-C", dest="directory", metavar="DIR", help="run as if started in DIR")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.subcommands = {}

    def command(name: str, help: str, handler: str, client: bool = True) -> Parser:
        """A subcommand; ``client`` ones talk to a server: they take -C DIR and --json."""
        p: Parser = sub.add_parser(name, help=help, description=help)
        p.set_defaults(handler=handler)
        parser.subcommands[name] = p
        if client:
            p.add_argument(
                "-C",
                dest="directory",
                metavar="DIR",
                default=argparse.SUPPRESS,
                help="run as if started in DIR",
            )
            p.add_argument("--json", action="store_true", help="print JSON (machine output)")
        return p

    c = "treelane.cli.commands:"
    p = command(
        "demo",
        "create an example repository and run its pipeline (start here)",
        "treelane.cli.demo:demo",
        client=False,
    )
    p.add_argument("dir", nargs="?", metavar="DIR", help="where (default: a new temporary folder)")

    p = command("run", "start a workflow and follow it to the end", c + "run")
    p.add_argument("workflow", metavar="WORKFLOW", help="a workflow of treelane.toml")
    p.add_argument("--base", metavar="REV", help="start from this commit (default: HEAD)")
    p.epilog = (
        "--json, or a stdout that is not a terminal: one JSON object per notification and "
        "line, the runFinished one last. Exit code 0 when the run succeeded, 1 when a task "
        "failed or the run was cancelled, 130 when Ctrl-C cancelled it (a second Ctrl-C "
        "stops at once and leaves the run interrupted: treelane resume RUN)."
    )

    p = command("status", "runs and their tasks, the pool and the concurrency", c + "status")
    p.add_argument("run", nargs="?", metavar="RUN", help="one run (default: recent runs)")

    p = command("cancel", "cancel a run, or one task of it", c + "cancel")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--task", metavar="T", help="only this task (its dependents are skipped)")

    p = command("resume", "finish an interrupted or failed run, and follow it", c + "resume")
    p.add_argument("run", metavar="RUN")
    p.add_argument(
        "--force",
        action="store_true",
        help="take the run over from a live treelane process that stopped responding",
    )
    p.add_argument(
        "--reload",
        action="store_true",
        help="re-run what did not succeed with treelane.toml's current definitions",
    )

    for name, what in (
        ("checkpoint", "save a checkpoint of a worktree"),
        ("undo", "restore a worktree to its previous checkpoint"),
        ("redo", "restore a worktree to the checkpoint it was undone from"),
    ):
        p = command(name, what, c + name)
        p.add_argument(
            "worktree",
            nargs="?",
            metavar="WORKTREE",
            help="main, a worktree id or a path (default: the worktree you are in, else main)",
        )
        if name == "checkpoint":
            p.add_argument("-m", "--message", metavar="MSG", help="a note for the checkpoint")

    p = command("merge", "merge a run's result into a branch", c + "merge")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--preview", action="store_true", help="only show whether it merges cleanly")
    p.add_argument("--into", metavar="BRANCH", help="target branch (default: the current one)")
    p.epilog = "exit code 1 when the merge has conflicts (they are listed)."

    command("worktrees", "the main worktree and every managed one", c + "worktrees")

    p = command("cleanup", "remove idle worktrees (work is never lost)", c + "cleanup")
    p.add_argument("--force", action="store_true", help="also remove kept (drifted) ones")

    p = command("trace", "a run as Chrome trace JSON (Perfetto)", c + "trace")
    p.add_argument("run", metavar="RUN")
    p.add_argument("-o", "--output", metavar="FILE", default="-", help="default: stdout")

    p = command("report", "a run's timeline as a self-contained HTML page", c + "report")
    p.add_argument("run", metavar="RUN")
    p.add_argument("-o", "--output", metavar="FILE", default="-", help="default: stdout")

    p = command("log", "the output of a task (its last attempt)", c + "log")
    p.add_argument("run", metavar="RUN")
    p.add_argument("task", metavar="TASK")

    p = command(
        "serve",
        "run the language server (stdio by default)",
        "treelane.cli.serve:serve",
        client=False,
    )
    p.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    p.add_argument("--log-level", default="INFO")
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # name the subcommand whose --help to read
        parser.subcommands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    module, _, name = args.handler.partition(":")
    handler: Any = getattr(importlib.import_module(module), name)
    if args.command == "serve":
        return int(handler(args))
    from treelane.cli.runner import invoke

    return invoke(handler, args)
