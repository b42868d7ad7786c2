"""How the CLI prints a diff (``treelane diff``) and its colours, shared by the review
subcommands; nothing here talks to a server."""

from __future__ import annotations

import os
import sys
from typing import Any

from treelane.cli import render

COLOURS = {"A": "32", "M": "33", "D": "31", "R": "36", "T": "35"}


def colour() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def paint(text: str, code: str, on: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if on and code else text


def write_diff(result: dict[str, Any], fmt: str, colour: bool) -> None:
    out = sys.stdout
    if fmt == "name-status":
        for f in result["files"]:
            paths = [f["old_path"], f["path"]] if f.get("old_path") else [f["path"]]
            out.write("\t".join([paint(f["status"], COLOURS[f["status"]], colour), *paths]))
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
            out.write(paint(line, code, colour) + "\n")
        out.flush()
        return
    what = f"run {result['run']}" + (f" task {result['task']}" if result.get("task") else "")
    against = result.get("against", "base")
    vs = f"{against} {render.short(result['base'])}"
    if against == "target":
        vs = f"{result.get('into')} ({render.short(result['base'])})"
    out.write(paint(f"{what} vs {vs}: {result['summary']}", "1", colour) + "\n")
    files = result["files"]
    width = max((len(label(f)) for f in files), default=0)
    for f in files:
        counts = (
            "binary"
            if f["binary"]
            else (
                paint(f"+{f['additions']}", "32", colour)
                + " "
                + paint(f"\u2212{f['deletions']}", "31", colour)
            )
        )
        status = paint(f["status"], COLOURS[f["status"]], colour)
        out.write(f" {status} {label(f).ljust(width)}  {counts}\n")
    for c in result.get("conflicts", []):
        out.write(paint(f" conflict ({c['kind']}): {c['path']}", "1;31", colour) + "\n")
    out.flush()


def label(f: dict[str, Any]) -> str:
    return f"{f['old_path']} \u2192 {f['path']}" if f.get("old_path") else str(f["path"])
