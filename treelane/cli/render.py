"""How command results look: JSON (``--json``), rich tables on a terminal, plain text else.

Every renderer takes the command's result as the server returned it. ``rich`` is only
imported when a terminal is going to see it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

STATE_STYLE = {
    "queued": "dim",
    "running": "bold cyan",
    "succeeded": "green",
    "cached": "green",
    "failed": "bold red",
    "skipped": "yellow",
    "cancelled": "yellow",
    "interrupted": "magenta",
    "idle": "dim",
    "busy": "cyan",
}


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def print_json(value: Any) -> None:
    """One JSON document on one line (flushed: a reader may be waiting for it)."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def seconds(ms: int | float | None) -> str:
    if ms is None:
        return "-"
    s = ms / 1000
    return f"{s:.1f} s" if s < 60 else f"{int(s // 60)} min {s % 60:02.0f} s"


def local_time(iso: str | None) -> str:
    """An ISO timestamp from the server as local ``YYYY-MM-DD HH:MM:SS``."""
    if not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return iso


def took(run: dict[str, Any]) -> str:
    """How long a finished run took (``-`` while it runs)."""
    try:
        start = datetime.fromisoformat(run["started"])
        end = datetime.fromisoformat(run["finished"])
    except (KeyError, TypeError, ValueError):
        return "-"
    return seconds((end - start).total_seconds() * 1000)


def short(commit: str | None) -> str:
    return commit[:10] if commit else "-"


class Printer:
    """Lines and tables, with colour on a terminal and none in a pipe."""

    def __init__(self, rich: bool | None = None) -> None:
        self.rich = stdout_is_tty() if rich is None else rich
        self._console: Any = None

    @property
    def console(self) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False)
        return self._console

    def line(self, text: str = "", style: str | None = None) -> None:
        if self.rich:
            from rich.text import Text

            self.console.print(Text(text, style=style or ""))
        else:
            print(text, flush=True)

    def table(
        self, columns: Sequence[str], rows: Sequence[Sequence[str]], title: str | None = None
    ) -> None:
        """Rows of strings; a column named ``state`` is coloured by its value."""
        state_col = columns.index("state") if "state" in columns else -1
        if self.rich:
            from rich import box
            from rich.table import Table
            from rich.text import Text

            table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
            for name in columns:
                table.add_column(name, overflow="fold")
            for row in rows:
                table.add_row(
                    *(
                        Text(cell, style=STATE_STYLE.get(cell, "") if i == state_col else "")
                        for i, cell in enumerate(row)
                    )
                )
            self.console.print(table)
            return
        if title:
            print(title)
        widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
        for row in [list(columns), *rows]:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        sys.stdout.flush()


# --- one renderer per command ------------------------------------------------------


def status(p: Printer, result: dict[str, Any], one_run: bool) -> None:
    runs = result.get("runs", [])
    if one_run and runs:
        r = runs[0]
        p.line(f"run {r['run']} · {r['workflow']} · {r['state']}", STATE_STYLE.get(r["state"]))
        p.line(
            f"started {local_time(r.get('started'))} · took {took(r)} · "
            f"base {short(r.get('base'))} · result {short(r.get('result'))}"
        )
        p.table(
            ["task", "state", "attempt", "worktree", "exit", "duration"],
            [
                [
                    t["name"],
                    t["state"],
                    str(t.get("attempt") or 0),
                    t.get("worktree") or "-",
                    "-" if t.get("exit_code") is None else str(t["exit_code"]),
                    seconds(t.get("duration_ms")),
                ]
                for t in r["tasks"]
            ],
        )
    elif not runs:
        p.line("no runs yet (start one with: treelane run WORKFLOW)")
    else:
        p.table(
            ["run", "workflow", "state", "started", "took", "tasks"],
            [
                [
                    r["run"],
                    r["workflow"],
                    r["state"],
                    local_time(r.get("started")),
                    took(r),
                    task_counts(r),
                ]
                for r in runs
            ],
        )
    pool, conc = result.get("pool", {}), result.get("concurrency", {})
    p.line(
        f"pool: {pool.get('busy', 0)} busy, {pool.get('idle', 0)} idle (size {pool.get('size')})"
        f" · tasks running: {conc.get('running', 0)} of {conc.get('limit')}",
        "dim",
    )


def task_counts(run: dict[str, Any]) -> str:
    counts: dict[str, int] = {}
    for t in run.get("tasks", []):
        counts[t["state"]] = counts.get(t["state"], 0) + 1
    return ", ".join(f"{n} {s}" for s, n in counts.items()) or "-"


def cancelled(p: Printer, result: dict[str, Any], run: str) -> None:
    names = result.get("cancelled", [])
    p.line(f"run {run}: cancelled {', '.join(names)}" if names else f"run {run}: nothing to cancel")


def checkpoint(p: Printer, action: str, result: dict[str, Any]) -> None:
    if result.get("completed_restore"):
        p.line(
            f"{result['worktree']}: completed an interrupted restore of checkpoint "
            f"{result['completed_restore']}"
        )
        if action == "checkpoint" and result["completed_restore"] == result["checkpoint"]:
            return  # nothing new was saved: the worktree is at that checkpoint
    what = {"checkpoint": "saved checkpoint", "undo": "restored", "redo": "restored"}[action]
    p.line(f"{result['worktree']}: {what} {result['checkpoint']} ({short(result['commit'])})")


def merge(p: Printer, result: dict[str, Any], run: str, into: str | None, preview: bool) -> None:
    target = into or "the current branch"
    conflicts = result.get("conflicts", [])
    if conflicts:
        p.line(f"run {run} conflicts with {target} in {len(conflicts)} path(s):", "bold red")
        p.table(["path", "kind"], [[c["path"], c["kind"]] for c in conflicts])
    elif preview:
        p.line(f"run {run} merges cleanly into {target} (preview: nothing changed)", "green")
    else:
        p.line(f"merged run {run} into {target}: {short(result.get('commit'))}", "green")


def worktrees(p: Printer, result: dict[str, Any]) -> None:
    p.table(
        ["id", "state", "run", "task", "commit", "dirty", "path"],
        [
            [
                w["id"],
                w["state"]
                + (f" (drift: {w['drift']})" if w.get("drift") else "")
                + (" (restore pending)" if w.get("restore") == "pending" else ""),
                w.get("run") or "-",
                w.get("task") or "-",
                short(w.get("commit")),
                "yes" if w.get("dirty") else "no",
                w["path"],
            ]
            for w in result.get("worktrees", [])
        ],
    )


def cleanup(p: Printer, result: dict[str, Any]) -> None:
    removed, kept = result.get("removed", []), result.get("kept", [])
    p.line(f"removed {len(removed)} worktree(s)" + (f": {', '.join(removed)}" if removed else ""))
    if kept:
        p.table(["kept", "why"], [[k.get("id", "?"), k.get("reason", "")] for k in kept])


def written(p: Printer, what: str, path: str) -> None:
    p.line(f"wrote {what} to {path}")
