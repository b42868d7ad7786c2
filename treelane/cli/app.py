"""The ``treelane`` command line: parse the arguments and dispatch (nothing else here).

Every subcommand is a function ``(args) -> exit code`` named by its parser's
``handler`` default and imported only when it runs, so ``treelane serve`` loads no
client code. The client subcommands start their own ``treelane serve`` over stdio.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from typing import Any, NoReturn, cast

from treelane import __version__
from treelane.cli.review_args import RUN_HELP

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


WORKTREE_HELP = "main, a worktree id or a path (default: the worktree you are in, else main)"

# Dynamic completion of positional arguments (shtab reads ``action.complete``): each asks
# ``treelane __complete KIND WORDS...`` for candidates, with the words typed so far.
COMPLETE: dict[str, dict[str, str]] = {
    kind: {
        "bash": f"_treelane_complete_{kind}",
        "zsh": f"($(${{words[1]}} __complete {kind} ${{words[2,-1]}} 2>/dev/null))",
        "fish": f"((commandline -opc)[1] __complete {kind} (commandline -opc)[2..-1] 2>/dev/null)",
    }
    for kind in ("workflows", "runs", "tasks", "worktrees")
}


def arg(p: Parser, dest: str, metavar: str, help: str, kind: str, **kw: Any) -> None:
    """A positional argument with help text and dynamic completion of ``kind``."""
    action = p.add_argument(dest, metavar=metavar, help=help, **kw)
    action.complete = COMPLETE[kind]  # type: ignore[attr-defined]


class _Unused:
    """Stands in for the parser of a subcommand that is not on the command line: its
    arguments are not built (argparse's validation of each one is most of a read-only
    command's start-up), so ``treelane status`` builds only ``status``'s parser."""

    epilog: str | None = None

    def add_argument(self, *args: Any, **kwargs: Any) -> Any:
        return argparse.Namespace()  # arg() sets ``complete`` on it

    def add_mutually_exclusive_group(self, **kwargs: Any) -> _Unused:
        return self

    def set_defaults(self, **kwargs: Any) -> None:
        pass


def _subcommand(argv: list[str]) -> str | None:
    """The subcommand named on the command line (None: none, or help was asked for)."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in ("-h", "--help", "--version", "--"):
            return None
        if word == "-C":
            i += 2
            continue
        if not word.startswith("-"):
            return word
        i += 1
    return None


def build_parser(only: str | None = None) -> Parser:
    """The whole command line's parser; with ``only``, subcommands other than ``only`` are
    known by name but get no arguments (for parsing one command line fast)."""
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
        if only is not None and name != only:
            return cast(Parser, _Unused())
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
    ro = "treelane.cli.local:"  # read-only: answered in this process, without a server
    p = command(
        "demo",
        "create an example repository and run its pipeline (start here)",
        "treelane.cli.demo:demo",
        client=False,
    )
    p.add_argument("dir", nargs="?", metavar="DIR", help="where (default: a new temporary folder)")

    p = command(
        "init",
        "write a commented starter treelane.toml for this repository",
        "treelane.cli.init:init",
        client=False,
    )
    p.add_argument("-C", dest="directory", metavar="DIR", default=argparse.SUPPRESS,
                   help="run as if started in DIR")  # fmt: skip

    p = command("run", "start a workflow and follow it to the end", c + "run")
    arg(p, "workflow", "WORKFLOW", "a workflow of treelane.toml (none: list them)", "workflows",
        nargs="?")  # fmt: skip
    p.add_argument("--base", metavar="REV", help="start from this commit (default: HEAD)")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="run every task: read no cache entry (results are still stored)",
    )
    p.add_argument(
        "--from-worktree",
        action="store_true",
        help="start from the files in the main worktree, uncommitted and untracked ones too",
    )
    _dask_option(p)
    p.epilog = (
        "--json, or a stdout that is not a terminal: one JSON object per notification and "
        "line, the runFinished one last. Exit code 0 when the run succeeded, 1 when a task "
        "failed or the run was cancelled, 2 for bad arguments (no WORKFLOW: the workflows are "
        "listed), 130 when Ctrl-C cancelled it (a second Ctrl-C stops at once and leaves the "
        "run interrupted: treelane resume RUN)."
    )

    p = command("status", "runs and their tasks, the pool and the concurrency", ro + "status")
    arg(p, "run", "RUN", "one run's tasks (default: the recent runs)", "runs", nargs="?")

    p = command("cancel", "cancel a run, or one task of it", c + "cancel")
    arg(p, "run", "RUN", RUN_HELP, "runs")
    p.add_argument("--task", metavar="TASK",
                   help="only this task (its dependents are skipped)").complete = COMPLETE["tasks"]  # type: ignore[attr-defined]  # fmt: skip

    p = command("resume", "finish an interrupted or failed run, and follow it", c + "resume")
    arg(p, "run", "RUN", RUN_HELP, "runs")
    p.epilog = "exit codes as for treelane run (130 when Ctrl-C cancelled it)."
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
        arg(p, "worktree", "WORKTREE", WORKTREE_HELP, "worktrees", nargs="?")
        if name == "checkpoint":
            p.add_argument("-m", "--message", metavar="MSG", help="a note for the checkpoint")

    p = command(
        "checkpoints", "a worktree's checkpoints (id, time, message, files)", ro + "checkpoints"
    )
    arg(p, "worktree", "WORKTREE", WORKTREE_HELP + "; or a run id: the checkpoints taken while "
        "its tasks ran (checkpoint_every)", "worktrees", nargs="?")  # fmt: skip

    from treelane.cli import review_args

    review_args.add(command, arg)

    command("worktrees", "the main worktree and every managed one", ro + "worktrees")

    p = command("cleanup", "remove idle worktrees (work is never lost)", c + "cleanup")
    p.add_argument(
        "--force",
        action="store_true",
        help="also remove kept (drifted) ones, saving their work under refs/treelane/saved/",
    )

    p = command("gc", "prune old runs' refs, logs and cache entries", "treelane.cli.gc:gc")
    p.add_argument("--keep-runs", type=int, metavar="N", help="keep the N newest runs")
    p.add_argument("--cache-max-mb", type=float, metavar="M", help="shrink the cache to M MB")
    p.add_argument("--older-than", type=float, metavar="DAYS", help="prune runs older than this")
    p.epilog = (
        "With neither --keep-runs nor --older-than, the 20 newest runs are kept. Never pruned: "
        "running runs, runs whose result is not merged and younger than DAYS (default 14), "
        "checkpoints and saved work."
    )

    p = command("trace", "a run as Chrome trace JSON (Perfetto)", ro + "trace")
    arg(p, "run", "RUN", RUN_HELP, "runs")
    p.add_argument("-o", "--output", metavar="FILE", default="-", help="default: stdout")

    p = command("report", "a run's timeline as a self-contained HTML page", ro + "report")
    arg(p, "run", "RUN", RUN_HELP, "runs")
    p.add_argument("-o", "--output", metavar="FILE", default="-", help="default: stdout")

    p = command("log", "the output of a task (its last attempt)", ro + "log")
    arg(p, "run", "RUN", RUN_HELP, "runs")
    arg(p, "task", "TASK", "a task of that run (see: treelane status RUN)", "tasks")

    p = command(
        "completion",
        "print a shell completion script (bash, zsh or fish)",
        "treelane.cli.complete:completion",
        client=False,
    )
    p.add_argument("shell", choices=("bash", "zsh", "fish"), metavar="SHELL",
                   help="bash, zsh or fish")  # fmt: skip
    p.epilog = (
        'bash: eval "$(treelane completion bash)" in ~/.bashrc · zsh: treelane completion '
        'zsh > "${fpath[1]}/_treelane" · fish: treelane completion fish > '
        "~/.config/fish/completions/treelane.fish"
    )

    p = command(
        "pick", "make candidate N the result of a best-of-N task", "treelane.cli.agents:pick"
    )
    arg(p, "run", "RUN", RUN_HELP, "runs")
    arg(p, "task", "TASK", "the task with candidates (e.g. impl)", "tasks")
    p.add_argument("candidate", metavar="N", type=int, help="the candidate number (1...)")
    p.epilog = (
        "dependents that have not started yet start from candidate N; those that started "
        "are re-run from it (running ones are stopped, and re-run when the run has ended; "
        "follow with treelane status RUN)."
    )

    p = command(
        "serve",
        "run the language server (stdio by default)",
        "treelane.cli.serve:serve",
        client=False,
    )
    transport = p.add_mutually_exclusive_group()
    transport.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    transport.add_argument(
        "--stdio", action="store_true", help="speak LSP over stdin/stdout (the default)"
    )
    p.add_argument(
        "--clientProcessId",
        dest="client_pid",
        type=int,
        metavar="PID",
        help="exit when this process (the editor) exits",
    )
    p.add_argument("--log-level", default="INFO")
    _dask_option(p)
    p.epilog = (
        "--stdio and --clientProcessId=PID are the arguments LSP clients pass by convention "
        "(VS Code's vscode-languageclient does)."
    )
    return parser


DASK_ADDRESS = re.compile(r"^(tcp|tls)://[A-Za-z0-9._\-\[\]:]+:[0-9]{1,5}$")


def _dask_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dask",
        metavar="ADDR",
        help="run the tasks on the Dask cluster whose scheduler is at ADDR (tcp://HOST:PORT)",
    )


def _use_dask(parser: argparse.ArgumentParser, address: str | None) -> None:
    """--dask ADDR: the engine (this process's, or the server it starts) uses that cluster."""
    if address is None:
        return
    if not DASK_ADDRESS.match(address):
        parser.error(f"--dask: {address!r} is not a scheduler address (tcp://HOST:PORT)")
    os.environ["TREELANE_DASK_SCHEDULER"] = address


def main(argv: list[str]) -> int:
    if argv[:1] == ["__complete"]:  # hidden: completion candidates for the shell scripts
        from treelane.cli.complete import candidates

        return candidates(argv[1:])
    parser = build_parser(_subcommand(argv))
    if not parser.subcommands:  # not a subcommand's name: the whole parser says what is
        parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # name the subcommand whose --help to read
        parser.subcommands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    _use_dask(parser.subcommands[args.command], getattr(args, "dask", None))
    module, _, name = args.handler.partition(":")
    handler: Any = getattr(importlib.import_module(module), name)
    if args.command == "serve":
        return int(handler(args))
    from treelane.cli.runner import invoke

    return invoke(handler, args)
