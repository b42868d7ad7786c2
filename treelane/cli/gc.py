"""``treelane gc``: prune old runs and cache entries through the server (treelane.gc)."""

from __future__ import annotations

from argparse import Namespace
from typing import Any

from treelane.cli import render
from treelane.cli.commands import call, show


async def gc(args: Namespace) -> int:
    argument: dict[str, Any] = {}
    if args.keep_runs is not None:
        argument["keep_runs"] = args.keep_runs
    if args.cache_max_mb is not None:
        argument["cache_max_mb"] = args.cache_max_mb
    if args.older_than is not None:
        argument["older_than_days"] = args.older_than
    result = await call(args, "treelane.gc", argument)
    if not show(args, result):
        p = render.Printer()
        runs = result.get("runs", [])
        p.line(
            f"pruned {len(runs)} run(s), {result.get('refs', 0)} ref(s), "
            f"{result.get('output_lines', 0)} output line(s), "
            f"{result.get('cache_entries', 0)} cache entr(ies) "
            f"({result.get('cache_mb', 0):.1f} MB), {result.get('samples', 0)} sample(s)"
        )
        kept = result.get("kept", [])
        if kept:
            p.table(["kept", "why"], [[k.get("run", "?"), k.get("reason", "")] for k in kept])
    return 0
