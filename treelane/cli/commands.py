"""The subcommands: each a function of the parsed arguments that returns the exit code.

Each one opens a session (a ``treelane serve`` subprocess for the repository), calls
the server command of the same name and renders its result: ``--json`` prints it as
JSON, otherwise a table or text (rich on a terminal). Errors are raised as
:class:`~treelane.cli.session.CliError` and reported by :mod:`treelane.cli.runner`.
"""

from __future__ import annotations

import json
import os
import sys
from argparse import Namespace
from pathlib import Path
from typing import Any

from treelane.cli import render
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
    interrupts = Interrupts()
    interrupts.install()
    view = make_view(args.json)
    argument = {"workflow": args.workflow}
    if args.base is not None:
        argument["base"] = args.base
    try:
        async with open_session(args.directory) as s:
            interrupts.check()
            started = await s.execute("treelane.start", argument)
            view.begin(started["run"], started["workflow"], started["tasks"], {})
            final = await follow(s, started["run"], view, interrupts)
            return outcome(final, interrupts)
    finally:
        view.close()


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


async def status(args: Namespace) -> int:
    result = await call(args, "treelane.status", {"run": args.run} if args.run else {})
    if not show(args, result):
        render.status(render.Printer(), result, one_run=bool(args.run))
    return 0


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


# --- merge and the pool ----------------------------------------------------------------


async def merge(args: Namespace) -> int:
    argument: dict[str, Any] = {"run": args.run, "preview": args.preview}
    if args.into is not None:
        argument["into"] = args.into
    async with open_session(args.directory) as s:
        try:
            result = await s.execute("treelane.merge", argument)
        except CliError as exc:
            if args.preview or exc.code != 1:
                raise
            result = await _conflicts_or_raise(s, argument, exc)
    if not show(args, result):
        render.merge(render.Printer(), result, args.run, args.into, args.preview)
    if result.get("conflicts"):
        paths = ", ".join(c["path"] for c in result["conflicts"])
        raise CliError(f"run {args.run} does not merge cleanly: conflicts in {paths}")
    return 0


async def _conflicts_or_raise(s: Session, argument: dict[str, Any], exc: CliError) -> Any:
    """A merge refused for conflicts: the preview's structured list of them."""
    try:
        preview = await s.execute("treelane.merge", {**argument, "preview": True})
    except CliError:
        raise exc from None
    if preview.get("clean", True):
        raise exc
    return preview


async def worktrees(args: Namespace) -> int:
    result = await call(args, "treelane.worktrees", {})
    if not show(args, result):
        render.worktrees(render.Printer(), result)
    return 0


async def cleanup(args: Namespace) -> int:
    result = await call(args, "treelane.cleanup", {"force": args.force})
    if not show(args, result):
        render.cleanup(render.Printer(), result)
    return 0


# --- what a run left behind ------------------------------------------------------------


async def trace(args: Namespace) -> int:
    result = await call(args, "treelane.trace", {"run": args.run})
    text = json.dumps(result)
    path = _write(args, text)
    if path is not None and not show(
        args, {"run": args.run, "path": path, "events": len(result["traceEvents"])}
    ):
        p = render.Printer()
        render.written(p, f"the trace of run {args.run}", path)
        p.line("open it in https://ui.perfetto.dev or chrome://tracing", "dim")
    return 0


async def report(args: Namespace) -> int:
    result = await call(args, "treelane.report", {"run": args.run})
    path = _write(args, result["html"])
    if path is not None and not show(args, {"run": args.run, "path": path}):
        render.written(render.Printer(), f"the report of run {args.run}", path)
    return 0


LOG_PAGE = 5000  # lines per treelane.output request


async def log(args: Namespace) -> int:
    """The task's output, page by page (a long log never travels as one message)."""
    lines: list[str] = []
    async with open_session(args.directory) as s:
        offset: int | None = 0
        while offset is not None:
            page = await s.execute(
                "treelane.output",
                {"run": args.run, "task": args.task, "offset": offset, "limit": LOG_PAGE},
            )
            if args.json:
                lines += page["lines"]
            else:
                sys.stdout.write("".join(f"{line}\n" for line in page["lines"]))
            offset = page["next"]
    if args.json:
        show(args, {"run": args.run, "task": args.task, "lines": lines, "next": None})
    sys.stdout.flush()
    return 0


def _write(args: Namespace, text: str) -> str | None:
    """Write ``text`` to ``-o FILE`` (relative to ``-C DIR``, as git does); its absolute
    path. ``-o -`` (the default) writes to stdout instead."""
    if args.output == "-":
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
        return None
    path = Path(args.directory or ".", Path(args.output).expanduser()).resolve()
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
    return str(path)
