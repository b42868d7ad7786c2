"""Turn the parts of PLAN.md into tasks that treelane adds to the run (one per part).

    python3 prompts/spawn_tasks.py --command CMD [--uses LIMIT] [--prefix NAME]

writes, at $TREELANE_SPAWN, one task per line ``- <name>: <summary>`` of the
``## Parts`` section of PLAN.md. Each task runs CMD (exactly as given; it reads
the part from $TREELANE_PART and $TREELANE_PART_SUMMARY) with cache = false.
The part names and summaries only ever go into the environment, never into CMD.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

PART = re.compile(r"^\s*[-*]\s+`?([a-z0-9][a-z0-9-]{0,40})`?\s*:\s*(.+?)\s*$")


def parts(plan: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    section = False
    for line in plan.splitlines():
        if line.startswith("#"):
            section = line.lstrip("#").strip().lower() == "parts"
            continue
        match = PART.match(line) if section else None
        if match and match[1] not in {name for name, _ in found}:
            found.append((match[1], match[2]))
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--command", required=True, help="what each part runs")
    ap.add_argument("--uses", action="append", default=[], help="a named limit")
    ap.add_argument("--prefix", default="", help="prepended to task names")
    ap.add_argument("--plan", default="PLAN.md")
    args = ap.parse_args()
    target = os.environ.get("TREELANE_SPAWN")
    if not target:
        print("error: TREELANE_SPAWN is not set (run this as a treelane task)", file=sys.stderr)
        return 2
    plan = Path(args.plan)
    if not plan.exists():
        print(f"error: {plan} is missing (did the plan task run?)", file=sys.stderr)
        return 1
    found = parts(plan.read_text(encoding="utf-8"))
    if not found:
        print(f"error: {plan} has no '## Parts' list of '- name: summary' lines", file=sys.stderr)
        return 1
    tasks = {
        f"{args.prefix}{name}": {
            "run": args.command,
            "env": {"TREELANE_PART": name, "TREELANE_PART_SUMMARY": summary},
            "uses": args.uses,
            "cache": False,
        }
        for name, summary in found
    }
    Path(target).write_text(json.dumps(tasks, indent=2), encoding="utf-8")
    print(f"added {len(tasks)} tasks: {', '.join(tasks)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
