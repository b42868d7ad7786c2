"""Review and land a run: ``diff``, ``merge``, ``resolve``, ``branch``.

Each subcommand calls the server command of the same name; ``--json`` prints its result.
Text output is coloured on a terminal (``NO_COLOR`` turns that off), plain in a pipe.
"""

from __future__ import annotations

import os
import sys
from argparse import Namespace
from typing import Any

from treelane.cli import render
from treelane.cli.commands import call, show
from treelane.cli.session import USAGE, CliError, open_session

_COLOURS = {"A": "32", "M": "33", "D": "31", "R": "36", "T": "35"}


def _colour() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _paint(text: str, code: str, on: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if on and code else text


# --- diff ------------------------------------------------------------------------------


async def diff(args: Namespace) -> int:
    argument: dict[str, Any] = {"run": args.run, "against": args.against}
    if args.task:
        argument["task"] = args.task
    if args.into:
        argument["into"] = args.into
    if args.format == "patch":
        argument["patch"] = True
    result = await call(args, "treelane.diff", argument)
    if show(args, result):
        return 0
    write_diff(result, args.format, _colour())
    return 0


def write_diff(result: dict[str, Any], fmt: str, colour: bool) -> None:
    out = sys.stdout
    if fmt == "name-status":
        for f in result["files"]:
            paths = [f["old_path"], f["path"]] if f.get("old_path") else [f["path"]]
            out.write("\t".join([_paint(f["status"], _COLOURS[f["status"]], colour), *paths]))
            out.write("\n")
        out.flush()
        return
    if fmt == "patch":
        for line in result.get("patch", "").splitlines():
            code = ""
            if line.startswith(("+++", "---", "diff --git", "index ", "rename ", "similarity")):
                code = "1"
            elif line.startswith("+"):
                code = "32"
            elif line.startswith("-"):
                code = "31"
            elif line.startswith("@@"):
                code = "36"
            out.write(_paint(line, code, colour) + "\n")
        out.flush()
        return
    what = f"run {result['run']}" + (f" task {result['task']}" if result.get("task") else "")
    against = result.get("against", "base")
    vs = f"{against} {render.short(result['base'])}"
    if against == "target":
        vs = f"{result.get('into')} ({render.short(result['base'])})"
    out.write(_paint(f"{what} vs {vs}: {result['summary']}", "1", colour) + "\n")
    files = result["files"]
    width = max((len(_label(f)) for f in files), default=0)
    for f in files:
        counts = (
            "binary"
            if f["binary"]
            else (
                _paint(f"+{f['additions']}", "32", colour)
                + " "
                + _paint(f"\u2212{f['deletions']}", "31", colour)
            )
        )
        status = _paint(f["status"], _COLOURS[f["status"]], colour)
        out.write(f" {status} {_label(f).ljust(width)}  {counts}\n")
    for c in result.get("conflicts", []):
        out.write(_paint(f" conflict ({c['kind']}): {c['path']}", "1;31", colour) + "\n")
    out.flush()


def _label(f: dict[str, Any]) -> str:
    return f"{f['old_path']} \u2192 {f['path']}" if f.get("old_path") else str(f["path"])


# --- merge -----------------------------------------------------------------------------

STYLE = {
    "squash": "one squash commit",
    "merge": "one merge commit",
    "fast-forward": "a fast-forward",
}


async def merge(args: Namespace) -> int:
    argument: dict[str, Any] = {"run": args.run, "preview": args.preview}
    if args.into is not None:
        argument["into"] = args.into
    if args.task is not None:
        argument["task"] = args.task
    if args.no_squash:
        argument["squash"] = False
    async with open_session(args.directory) as s:
        result = await s.execute("treelane.merge", {**argument, "preview": True})
        blocked = result["conflicts"] or result["uncommitted"] or result["already"]
        if not args.preview and not blocked:
            result = await s.execute("treelane.merge", argument)
    what = f"run {args.run}" + (f" task {args.task}" if args.task else "")
    into = result.get("into") or args.into
    if not show(args, result):
        write_merge(result, what, into, args.preview, _colour())
    if result["conflicts"]:
        paths = ", ".join(c["path"] for c in result["conflicts"])
        raise CliError(f"{what} does not merge cleanly into {into}: conflicts in {paths}")
    if result["uncommitted"]:
        raise CliError(
            f"{what} cannot merge into {into}: uncommitted changes in "
            f"{', '.join(result['uncommitted'])} (in {result.get('worktree')}); commit, stash "
            "or checkpoint them first"
        )
    return 0


def write_merge(result: dict[str, Any], what: str, into: str, preview: bool, colour: bool) -> None:
    out = sys.stdout
    if result["already"]:
        out.write(f"{what} is already merged into {into} (nothing changed)\n")
        out.flush()
        return
    conflicts = result["conflicts"]
    if conflicts:
        out.write(_paint(f"{what} conflicts with {into} in {len(conflicts)} path(s):", "1;31",
                         colour) + "\n")  # fmt: skip
        for c in conflicts:
            out.write(f"  {c['path']} ({c['kind']})\n")
        out.flush()
        return
    style = STYLE.get(result["style"], result["style"])
    if preview:
        head = f"{what} would merge into {into} as {style}: {result['summary']}"
        if result["uncommitted"]:
            head += " — refused now: uncommitted changes in " + ", ".join(result["uncommitted"])
        out.write(_paint(head, "1", colour) + "\n")
    else:
        done = f"merged {what} into {into}: {render.short(result['commit'])} ({style}, "
        out.write(_paint(done + f"{result['summary']})", "32", colour) + "\n")
    files = result.get("files", [])
    width = max((len(_label(f)) for f in files), default=0)
    for f in files:
        status = _paint(f["status"], _COLOURS[f["status"]], colour)
        counts = "binary" if f["binary"] else f"+{f['additions']} \u2212{f['deletions']}"
        out.write(f" {status} {_label(f).ljust(width)}  {counts}\n")
    out.flush()


# --- resolve and branch ----------------------------------------------------------------


async def resolve(args: Namespace) -> int:
    argument: dict[str, Any] = {"run": args.run}
    if args.task:
        argument["task"] = args.task
    result = await call(args, "treelane.resolve", argument)
    if show(args, result):
        return 0
    colour = _colour()
    what = f"the inputs of task {args.task}" if args.task else "the final tasks"
    out = sys.stdout
    out.write(_paint(f"run {args.run}: {what} conflict; resolve them in", "1", colour) + "\n")
    out.write(f"  {result['path']}\n")
    for c in result["conflicts"]:
        pair = " and ".join(c["tasks"])
        out.write(_paint(f"  {c['path']}", "31", colour) + f" ({c['kind']}: {pair})\n")
    out.write(
        "with your merge tool (git mergetool) or by editing the files; commit there or just "
        f"leave no conflict markers, then: treelane resume {args.run}\n"
    )
    out.flush()
    return 0


async def branch(args: Namespace) -> int:
    if len(args.names) > 2:
        raise CliError("expected RUN [TASK] NAME (see: treelane branch --help)", USAGE)
    task, name = (None, args.names[0]) if len(args.names) == 1 else args.names
    argument: dict[str, Any] = {"run": args.run, "name": name, "force": args.force}
    if task:
        argument["task"] = task
    result = await call(args, "treelane.branch", argument)
    if not show(args, result):
        verb = "moved" if result["moved"] else ("created" if result["created"] else "kept")
        sys.stdout.write(f"{verb} branch {name} at {render.short(result['commit'])}\n")
        sys.stdout.flush()
    return 0
