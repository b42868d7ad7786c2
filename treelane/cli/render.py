"""How command results look: JSON (``--json``), rich tables on a terminal, plain text else.

Every renderer takes the command's result as the server returned it. Tables and lines are
plain text (ANSI colours on a terminal); ``rich`` is only imported for the live run view.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from treelane.cli import tasktree

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


def self_command() -> str:
    """How to run this treelane again from anywhere: ``treelane`` when that is the one on
    the PATH, else this one's absolute path (or ``python -m treelane``)."""
    import shutil

    me = os.path.realpath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if os.path.basename(me) != "treelane" or not os.access(me, os.X_OK):
        return f"{sys.executable} -m treelane"
    on_path = shutil.which("treelane")
    return "treelane" if on_path and os.path.realpath(on_path) == me else me


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


_SGR = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "magenta": "35",
        "cyan": "36"}  # fmt: skip


def paint(text: str, style: str | None) -> str:
    """``text`` in ANSI colours for a style such as ``"bold red"`` (unknown words ignored)."""
    codes = [_SGR[w] for w in (style or "").split() if w in _SGR]
    return f"\x1b[{';'.join(codes)}m{text}\x1b[0m" if codes and text else text


class Printer:
    """Lines and tables, with colour on a terminal (unless ``NO_COLOR``) and none in a pipe.

    Plain ANSI, not rich: a read-only command should not pay for importing rich. The live
    run view, which needs rich, gets its console from :attr:`console`.
    """

    def __init__(self, rich: bool | None = None) -> None:
        self.rich = stdout_is_tty() if rich is None else rich
        self.colour = self.rich and not os.environ.get("NO_COLOR")
        self._console: Any = None

    @property
    def console(self) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False)
        return self._console

    def line(self, text: str = "", style: str | None = None) -> None:
        print(paint(text, style) if self.colour else text, flush=True)

    def table(
        self, columns: Sequence[str], rows: Sequence[Sequence[str]], title: str | None = None
    ) -> None:
        """Rows of strings in aligned columns; a ``state`` column is coloured by its value."""
        state_col = columns.index("state") if "state" in columns else -1
        if title:
            self.line(title, "bold")
        widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
        for n, row in enumerate([list(columns), *rows]):
            cells = []
            for i, (cell, w) in enumerate(zip(row, widths, strict=True)):
                text = cell.ljust(w) if i < len(row) - 1 else cell
                if self.colour and n == 0:
                    text = paint(text, "bold")
                elif self.colour and i == state_col:
                    text = paint(text, STATE_STYLE.get(cell.split(" ")[0]))
                cells.append(text)
            print("  ".join(cells).rstrip())
        sys.stdout.flush()


# --- one renderer per command ------------------------------------------------------


def task_state_text(t: dict[str, Any]) -> str:
    """The state, with what agent workflows add: a score, the pick, a retry's wait."""
    notes = []
    if t.get("score") is not None:
        notes.append(f"score {t['score']:g}")
    if t.get("picked"):
        notes.append(f"picked {t['picked']}")
    if t.get("reason"):
        notes.append(str(t["reason"]))
    if t.get("checkpoints"):
        notes.append(f"{len(t['checkpoints'])} checkpoints")
    return " · ".join([t["state"], *notes])


def status(p: Printer, result: dict[str, Any], one_run: bool) -> None:
    runs = result.get("runs", [])
    if one_run and runs:
        r = runs[0]
        p.line(f"run {r['run']} · {r['workflow']} · {r['state']}", STATE_STYLE.get(r["state"]))
        p.line(
            f"started {local_time(r.get('started'))} · took {took(r)} · "
            f"base {short(r.get('base'))} · result {short(r.get('result'))}"
        )
        if r.get("reason"):
            p.line(f"reason: {r['reason']}", "bold red")
        if r.get("dashboard"):
            p.line(f"ran on the Dask cluster · dashboard {r['dashboard']}", "dim")
        on_workers = any(t.get("worker") for t in r["tasks"])
        p.table(
            ["task", "state", "attempt", *(["worker"] if on_workers else []), "worktree",
             "exit", "duration"],
            [
                [
                    label,
                    task_state_text(t),
                    "" if t.get("summary") else str(t.get("attempt") or 0),
                    *([_worker_cell(t)] if on_workers else []),
                    _worktree_cell(t),
                    "-" if t.get("exit_code") is None else str(t["exit_code"]),
                    seconds(t.get("duration_ms")),
                ]
                for label, t in tasktree.ordered(r["tasks"])
            ],
        )  # fmt: skip
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
    c = result.get("cluster")
    if c:
        link = c.get("dashboard") or "none yet (a run records it)"
        p.line(f"executor: dask at {c.get('scheduler')} · dashboard: {link}", "dim")


def _worker_cell(t: dict[str, Any]) -> str:
    """Where a task ran: the worker's address, ``local`` (a cache hit, say), or nothing on a
    group's summary line."""
    return str(t.get("worker") or ("" if t.get("summary") else "local"))


def _worktree_cell(t: dict[str, Any]) -> str:
    """The worktree id; for a task that ran on a worker, its id there (w2), not the address."""
    where = t.get("worktree") or "-"
    worker = t.get("worker")
    if worker and where.startswith(worker + "/"):
        return where[len(worker) + 1 :]
    return str(where)


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


def worktrees(p: Printer, result: dict[str, Any]) -> None:
    p.table(
        ["id", "state", "run", "task", "commit", "dirty", "path"],
        [
            [
                w["id"],
                w["state"]
                + (f" (drift: {w['drift']})" if w.get("drift") else "")
                + (f" ({w['pending']} pending)" if w.get("pending") else "")
                + _left(w),
                w.get("run") or "-",
                w.get("task") or "-",
                short(w.get("commit")),
                "yes" if w.get("dirty") else "no",
                w["path"],
            ]
            for w in result.get("worktrees", [])
        ],
    )


def _left(w: dict[str, Any]) -> str:
    """A resolve worktree's conflicts still marked, or that it is ready for resume."""
    if w.get("state") != "resolving":
        return ""
    left = w.get("conflicts_left") or []
    return f" ({len(left)} conflicted)" if left else " (resolved: treelane resume)"


def cleanup(p: Printer, result: dict[str, Any]) -> None:
    removed, kept = result.get("removed", []), result.get("kept", [])
    p.line(f"removed {len(removed)} worktree(s)" + (f": {', '.join(removed)}" if removed else ""))
    for s in result.get("saved", []):
        ref = s["ref"]
        p.line(f"  the uncommitted work of {s['worktree']} was saved first, as {ref}")
        p.line(f"    see it: git show --stat {ref}", "dim")
        p.line(f"    get it back: git switch -c {s['worktree']}-saved {ref}", "dim")
    if kept:
        p.table(["kept", "why"], [[k.get("id", "?"), k.get("reason", "")] for k in kept])


def checkpoints(p: Printer, result: dict[str, Any]) -> None:
    wt, rows = result["worktree"], result.get("checkpoints", [])
    if not rows:
        p.line(f"{wt}: no checkpoints yet (save one with: treelane checkpoint {wt} -m MESSAGE)")
        return
    p.table(
        ["", "id", "time", "files", "message"],
        [
            [
                "*" if c.get("current") else "",
                c["checkpoint"],
                local_time(c.get("time")),
                "?" if c.get("files_changed") is None else str(c["files_changed"]),
                c.get("message") or "",
            ]
            for c in rows
        ],
        title=f"checkpoints of {wt} (* = current; files = changed since the one before)",
    )


def written(p: Printer, what: str, path: str) -> None:
    p.line(f"wrote {what} to {path}")
