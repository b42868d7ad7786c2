"""The read-only subcommands, answered in this process: no server, no engine.

``status``, ``worktrees``, ``log``, ``diff``, ``report``, ``trace`` and ``checkpoints`` call the
same command implementations as the server (:mod:`treelane.commands`) on a read-only
context (:mod:`treelane.commands.readonly`): they read the store and git, start no
thread and change nothing, and never import the language-server libraries. A state
database of another schema version is read through a server instead (which migrates it).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from treelane.cli import render
from treelane.cli.errors import FAILED, USAGE, CliError
from treelane.commands import command
from treelane.commands.readonly import ReadContext, SchemaMismatch, discover
from treelane.engine.queries import repairs_pending
from treelane.errors import RequestFailed

if TYPE_CHECKING:
    from argparse import Namespace

RUN_ID = re.compile(r"r[0-9a-f]{6}")  # what Engine._new_run_id makes


def _cwd(args: Namespace) -> Path:
    cwd = Path(os.path.abspath(args.directory or os.getcwd()))
    if not cwd.is_dir():
        raise CliError(f"no such directory: {cwd}")
    return cwd


def open_context(args: Namespace) -> ReadContext | None:
    """The read-only context of the repository at ``-C DIR`` or here; None when it must go
    through a server: the store has another schema version (the server migrates it), or an
    interrupted merge or restore waits to be completed (the server completes it first, so
    the next treelane command of any kind leaves no half-done operation behind)."""
    cwd = _cwd(args)
    try:
        repo = discover(cwd)
    except RequestFailed as exc:
        if "not installed" in str(exc):
            raise CliError(str(exc)) from None
        raise CliError(
            f"not a git repository: {cwd} (run treelane inside one, or pass -C DIR)"
        ) from None
    try:
        ctx = ReadContext(repo)
    except SchemaMismatch:
        return None
    if repairs_pending(ctx.read_view().db):
        ctx.close()
        return None
    return ctx


def execute(args: Namespace, name: str, argument: dict[str, Any]) -> Any:
    """Protocol command ``name`` (a read-only one) in this process; its result."""
    ctx = open_context(args)
    if ctx is None:
        return _through_server(args, name, argument)
    try:
        return command(name)(ctx, argument)
    except ValueError as exc:  # InvalidArgument included
        raise CliError(str(exc), USAGE) from None
    except RequestFailed as exc:
        raise CliError(str(exc), FAILED) from None
    except sqlite3.Error as exc:
        raise CliError(f"cannot read the treelane state database: {exc}") from None
    finally:
        ctx.close()


def _through_server(args: Namespace, name: str, argument: dict[str, Any]) -> Any:
    import asyncio

    from treelane.cli.commands import call

    return asyncio.run(call(args, name, argument))


def show(args: Namespace, result: Any) -> bool:
    """Print ``result`` as JSON if ``--json`` was given; True if it was."""
    if args.json:
        render.print_json(result)
    return bool(args.json)


def status(args: Namespace) -> int:
    result = execute(args, "treelane.status", {"run": args.run} if args.run else {})
    if not show(args, result):
        render.status(render.Printer(), result, one_run=bool(args.run))
    return 0


def diff(args: Namespace) -> int:
    argument: dict[str, Any] = {"run": args.run, "against": args.against}
    if args.task:
        argument["task"] = args.task
    if args.into:
        argument["into"] = args.into
    if args.format == "patch":
        argument["patch"] = True
    result = execute(args, "treelane.diff", argument)
    if not show(args, result):
        from treelane.cli.diffview import colour, write_diff

        write_diff(result, args.format, colour())
    return 0


def worktrees(args: Namespace) -> int:
    result = execute(args, "treelane.worktrees", {})
    if not show(args, result):
        render.worktrees(render.Printer(), result)
    return 0


def checkpoints(args: Namespace) -> int:
    """A worktree's checkpoints; for a run id, those taken while its tasks ran."""
    if args.worktree is not None and RUN_ID.fullmatch(args.worktree):
        return _run_checkpoints(args, args.worktree)
    result = execute(args, "treelane.checkpoints", {"worktree": _worktree(args)})
    if not show(args, result):
        render.checkpoints(render.Printer(), result)
    return 0


def _run_checkpoints(args: Namespace, run_id: str) -> int:
    """The checkpoints taken while a run's tasks ran (``checkpoint_every``), oldest first."""
    run = execute(args, "treelane.status", {"run": run_id})["runs"][0]
    rows = [{"task": t["name"], **cp} for t in run["tasks"] for cp in t.get("checkpoints", [])]
    rows.sort(key=lambda r: r["created"])
    if show(args, {"run": run_id, "checkpoints": rows}):
        return 0
    p = render.Printer()
    if not rows:
        p.line(f"run {run_id}: no checkpoints (set checkpoint_every on a task)")
        return 0
    start = rows[0]["created"]
    for r in rows:
        p.line(
            f"{r['task']}  checkpoint {r['id']} of {r['worktree']}  {render.short(r['commit'])}"
            f"  +{r['created'] - start:.0f} s"
        )
    p.line(f"restore one with: treelane undo {rows[-1]['worktree']} (repeat to go further back)")
    return 0


def _worktree(args: Namespace) -> str:
    """The worktree named on the command line (paths made absolute), else the managed one
    containing the current directory, else ``main``."""
    cwd = _cwd(args)
    given: str | None = args.worktree
    if given is not None:
        if given in (".", "..") or "/" in given or os.sep in given:
            return os.path.abspath(os.path.join(cwd, given))
        return given
    ctx = open_context(args)
    if ctx is None:
        return str(cwd)  # the server resolves the path
    try:
        here = os.path.realpath(cwd)
        for wt_id, path in ctx.read_view().worktree_paths().items():
            p = os.path.realpath(path)
            if here == p or here.startswith(p + os.sep):
                return wt_id
    finally:
        ctx.close()
    return "main"


def trace(args: Namespace) -> int:
    result = execute(args, "treelane.trace", {"run": args.run})
    path = _write(args, json.dumps(result))
    if path is not None and not show(
        args, {"run": args.run, "path": path, "events": len(result["traceEvents"])}
    ):
        p = render.Printer()
        render.written(p, f"the trace of run {args.run}", path)
        p.line("open it in https://ui.perfetto.dev or chrome://tracing", "dim")
    return 0


def report(args: Namespace) -> int:
    result = execute(args, "treelane.report", {"run": args.run})
    path = _write(args, result["html"])
    if path is not None and not show(args, {"run": args.run, "path": path}):
        render.written(render.Printer(), f"the report of run {args.run}", path)
    return 0


LOG_PAGE = 5000  # lines per treelane.output call: a long log is never held whole


def log(args: Namespace) -> int:
    """The task's output, page by page (with --json: all of it, as one object)."""
    lines: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = execute(
            args,
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
