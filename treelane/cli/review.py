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
