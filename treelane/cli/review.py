"""Review and land a run: ``diff``, ``merge``, ``resolve``, ``branch``.

Each subcommand calls the server command of the same name; ``--json`` prints its result.
``diff`` only reads, so it is answered in the CLI's own process (:mod:`treelane.cli.local`).
Text output is coloured on a terminal (``NO_COLOR`` turns that off), plain in a pipe.
"""

from __future__ import annotations

import sys
from argparse import Namespace
from typing import Any

from treelane.cli import diffview, render
from treelane.cli.commands import call, show
from treelane.cli.diffview import COLOURS, label, paint
from treelane.cli.session import USAGE, CliError, open_session

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
        write_merge(result, what, into, args.preview, diffview.colour())
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
        out.write(paint(f"{what} conflicts with {into} in {len(conflicts)} path(s):", "1;31",
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
        out.write(paint(head, "1", colour) + "\n")
    else:
        done = f"merged {what} into {into}: {render.short(result['commit'])} ({style}, "
        out.write(paint(done + f"{result['summary']})", "32", colour) + "\n")
    files = result.get("files", [])
    width = max((len(label(f)) for f in files), default=0)
    for f in files:
        status = paint(f["status"], COLOURS[f["status"]], colour)
        counts = "binary" if f["binary"] else f"+{f['additions']} \u2212{f['deletions']}"
        out.write(f" {status} {label(f).ljust(width)}  {counts}\n")
    out.flush()


# --- resolve and branch ----------------------------------------------------------------


async def resolve(args: Namespace) -> int:
    argument: dict[str, Any] = {"run": args.run}
    if args.task:
        argument["task"] = args.task
    result = await call(args, "treelane.resolve", argument)
    if show(args, result):
        return 0
    colour = diffview.colour()
    what = f"the inputs of task {args.task}" if args.task else "the final tasks"
    out = sys.stdout
    out.write(paint(f"run {args.run}: {what} conflict; resolve them in", "1", colour) + "\n")
    out.write(f"  {result['path']}\n")
    for c in result["conflicts"]:
        pair = " and ".join(c["tasks"])
        out.write(paint(f"  {c['path']}", "31", colour) + f" ({c['kind']}: {pair})\n")
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
