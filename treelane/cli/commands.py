"""The subcommands: each a function of the parsed arguments that returns the exit code.

Each one opens a session (a ``treelane serve`` subprocess for the repository), calls
the server command of the same name and renders its result: ``--json`` prints it as
JSON, otherwise a table or text. The read-only subcommands are in
:mod:`treelane.cli.local` (no server). Errors are raised as
:class:`~treelane.cli.session.CliError` and reported by :mod:`treelane.cli.runner`.
"""

from __future__ import annotations

import os
import sys
from argparse import Namespace
from pathlib import Path
from typing import Any

from treelane.cli import render
from treelane.cli.errors import USAGE
from treelane.cli.follow import Interrupts, follow, outcome
from treelane.cli.live import make_view
from treelane.cli.session import CliError, Session, open_session


async def call(args: Namespace, command: str, argument: dict[str, Any]) -> Any:
    """One server command in a session of its own."""
    async with open_session(args.directory) as s:
        return await s.execute(command, argument)


def show(args: Namespace, result: Any) -> bool:
    """Print ``result`` as JSON if ``--json`` was given; True if it was."""
    if args.json:
        render.print_json(result)
    return bool(args.json)


# --- runs ------------------------------------------------------------------------------


async def run(args: Namespace) -> int:
    if args.workflow is None:
        return list_workflows(args)
    interrupts = Interrupts()
    interrupts.install()
    view = make_view(args.json)
    argument: dict[str, Any] = {"workflow": args.workflow}
    if args.base is not None:
        argument["base"] = args.base
    if args.no_cache:
        argument["cache"] = False
    if args.from_worktree:
        if args.base is not None:
            raise CliError("--from-worktree and --base exclude each other", 2)
        argument["base"] = "worktree"
    try:
        async with open_session(args.directory) as s:
            interrupts.check()
            started = await s.execute("treelane.start", argument)
            view.begin(started["run"], started["workflow"], started["tasks"], {})
            final = await follow(s, started["run"], view, interrupts)
            return outcome(final, interrupts)
    finally:
        view.close()


def list_workflows(args: Namespace) -> int:
    """``treelane run`` without a workflow: name the ones there are (exit code 2)."""
    from treelane.commands.readonly import discover
    from treelane.engine.workflow import CONFIG_FILE, ConfigError, load_config
    from treelane.errors import RequestFailed

    cwd = Path(os.path.abspath(args.directory or os.getcwd()))
    try:
        root = discover(cwd).root
    except RequestFailed:
        raise CliError(
            f"not a git repository: {cwd} (run treelane inside one, or pass -C DIR)"
        ) from None
    path = root / CONFIG_FILE
    if not path.is_file():
        raise CliError(
            f"which workflow? there is no {CONFIG_FILE} in {root}: create a starter one "
            "with: treelane init",
            USAGE,
        )
    try:
        workflows = load_config(path).workflows
    except ConfigError as exc:
        raise CliError(f"{CONFIG_FILE} is invalid:\n{exc}") from None
    if not workflows:
        raise CliError(f"which workflow? {CONFIG_FILE} defines none (see: treelane init)", USAGE)
    print("treelane: which workflow? run one with: treelane run WORKFLOW", file=sys.stderr)
    width = max(len(n) for n in workflows)
    for name, wf in workflows.items():
        first = [t.name for t in wf.tasks if not t.needs]
        n = len(wf.tasks)
        print(f"  {name:<{width}}  {n} task{'s' if n != 1 else ''}, first: {', '.join(first)}",
              file=sys.stderr)  # fmt: skip
    return USAGE


async def resume(args: Namespace) -> int:
    interrupts = Interrupts()
    interrupts.install()
    view = make_view(args.json)
    try:
        async with open_session(args.directory) as s:
            interrupts.check()
            before = (await s.execute("treelane.status", {"run": args.run}))["runs"][0]
            params: dict[str, Any] = {"run": args.run}
            if args.force:
                params["force"] = True
            if args.reload:
                params["reload"] = True
            result = await s.execute("treelane.resume", params)
            if result.get("warning"):
                print(f"treelane: warning: {result['warning']}", file=sys.stderr, flush=True)
            else:
                what = "definitions from treelane.toml" if args.reload else "stored definition"
                if not args.json:
                    print(f"resuming run {args.run} with its {what}", file=sys.stderr, flush=True)
            states = {t["name"]: t["state"] for t in before["tasks"]}
            requeued = set(result["requeued"])
            states.update(dict.fromkeys(requeued, "queued"))
            view.begin(args.run, before["workflow"], list(states), states)
            final = await follow(s, args.run, view, interrupts, keep=frozenset(states) - requeued)
            return outcome(final, interrupts)
    finally:
        view.close()


async def cancel(args: Namespace) -> int:
    argument = {"run": args.run, **({"task": args.task} if args.task else {})}
    result = await call(args, "treelane.cancel", argument)
    if not show(args, result):
        render.cancelled(render.Printer(), result, args.run)
    return 0


# --- checkpoints -----------------------------------------------------------------------


async def checkpoint(args: Namespace) -> int:
    return await _checkpoint_command(args, "checkpoint")


async def undo(args: Namespace) -> int:
    return await _checkpoint_command(args, "undo")


async def redo(args: Namespace) -> int:
    return await _checkpoint_command(args, "redo")


async def _checkpoint_command(args: Namespace, action: str) -> int:
    async with open_session(args.directory) as s:
        argument: dict[str, Any] = {"worktree": await _worktree(s, args.worktree)}
        if action == "checkpoint" and args.message is not None:
            argument["message"] = args.message
        result = await s.execute(f"treelane.{action}", argument)
    if not show(args, result):
        render.checkpoint(render.Printer(), action, result)
    return 0


async def _worktree(s: Session, given: str | None) -> str:
    """The worktree named on the command line, else the one containing the current
    directory, else ``main``. Paths are made absolute (the server has its own cwd)."""
    if given is not None:
        if given in (".", "..") or "/" in given or os.sep in given:
            return os.path.abspath(os.path.join(s.cwd, given))
        return given
    here = os.path.realpath(s.cwd)
    for w in (await s.execute("treelane.worktrees", {}))["worktrees"][1:]:
        path = os.path.realpath(w["path"])
        if here == path or here.startswith(path + os.sep):
            return str(w["id"])
    return "main"


# --- the pool ----------------------------------------------------------------


async def cleanup(args: Namespace) -> int:
    result = await call(args, "treelane.cleanup", {"force": args.force})
    if not show(args, result):
        render.cleanup(render.Printer(), result)
    return 0
