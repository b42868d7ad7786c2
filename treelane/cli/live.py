"""What ``run``, ``resume`` and ``demo`` show while a run goes on.

* :class:`JsonLines`: every ``treelane/*`` notification of the run, one JSON object a
  line (``{"method": ..., "params": ...}``), the ``runFinished`` one last.
* :class:`LiveView`: a rich live display on a terminal: a progress bar for the run and
  a row per task with its state, duration and last output line.
* :class:`PlainView`: the same information as plain lines, one per state change (pipes).
"""

from __future__ import annotations

import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from treelane.cli import render

FINAL = frozenset({"succeeded", "cached", "failed", "skipped", "cancelled", "interrupted"})
ICON = {
    "queued": "·",
    "succeeded": "✔",
    "cached": "✔",
    "failed": "✘",
    "skipped": "↷",
    "cancelled": "⊘",
    "interrupted": "‖",
}


class RunView(Protocol):
    def begin(self, run: str, workflow: str, tasks: list[str], states: dict[str, str]) -> None: ...
    def handle(self, method: str, params: dict[str, Any]) -> None: ...
    def note(self, text: str) -> None: ...
    def end(self, final: dict[str, Any]) -> None: ...
    def close(self) -> None: ...


@dataclass
class TaskRow:
    name: str
    state: str = "queued"
    attempt: int = 0
    started: float | None = None  # monotonic, while running
    duration_ms: int | None = None
    exit_code: int | None = None
    error: str | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=12))

    def elapsed_ms(self) -> int | None:
        if self.state == "running" and self.started is not None:
            return int((time.monotonic() - self.started) * 1000)
        return self.duration_ms

    @property
    def last_line(self) -> str:
        return self.tail[-1] if self.tail else ""


class RunModel:
    """Task states as the notifications tell them (what the human views draw)."""

    def __init__(self) -> None:
        self.run = self.workflow = ""
        self.tasks: dict[str, TaskRow] = {}
        self.started = time.monotonic()
        self.final_ms: int | None = None  # the run's duration once it finished
        self.system: dict[str, Any] = {}

    def begin(self, run: str, workflow: str, tasks: list[str], states: dict[str, str]) -> None:
        self.run, self.workflow = run, workflow
        self.tasks = {t: TaskRow(t, states.get(t, "queued")) for t in tasks}
        self.started = time.monotonic()

    def apply(self, method: str, p: dict[str, Any]) -> TaskRow | None:
        """Update from one notification; the task row it changed the state of, if any."""
        if method == "treelane/resources":
            self.system = p.get("system") or {}
            return None
        row = self.tasks.get(p.get("task", ""))
        if row is None and method == "treelane/taskState" and p.get("run") == self.run:
            # A task added at run time (spawned) appears with its first notification.
            row = self.tasks[p["task"]] = TaskRow(p["task"], p["state"])
        if row is None:
            return None
        if method == "treelane/output":
            row.tail.extend(line.rstrip() for line in p.get("lines", []) if line.strip())
            return None
        if method != "treelane/taskState":
            return None
        row.state, row.attempt = p["state"], p.get("attempt") or row.attempt
        row.exit_code, row.error = p.get("exit_code"), p.get("error")
        if row.state == "running" and not p.get("duration_ms"):
            row.started = time.monotonic()
        if p.get("duration_ms") is not None:
            row.duration_ms = p["duration_ms"]
        return row

    def elapsed_ms(self) -> int:
        if self.final_ms is not None:
            return self.final_ms
        return int((time.monotonic() - self.started) * 1000)

    def done(self) -> int:
        return sum(1 for t in self.tasks.values() if t.state in FINAL)


def summarize(printer: render.Printer, model: RunModel, final: dict[str, Any]) -> None:
    """The run's outcome, with the last output lines of every failed task."""
    state = final["state"]
    counts = ", ".join(f"{n} {s}" for s, n in sorted(final.get("counts", {}).items()))
    printer.line(
        f"run {final['run']} ({final['workflow']}) {state} in "
        f"{render.seconds(final.get('duration_ms'))}: {counts}",
        "bold " + render.STATE_STYLE.get(state, ""),
    )
    for row in model.tasks.values():
        if row.state != "failed":
            continue
        why = row.error or (f"exit code {row.exit_code}" if row.exit_code is not None else "")
        printer.line(f"task {row.name} failed ({why}); last output:", "red")
        for line in list(row.tail)[-10:] or ["(no output)"]:
            printer.line(f"    {line}", "dim")
    if state != "succeeded":
        failed = [t.name for t in model.tasks.values() if t.state == "failed"]
        run = final["run"]
        printer.line(f"see: treelane status {run} · treelane log {run} {(failed or ['TASK'])[0]}")


class JsonLines:
    def begin(self, run: str, workflow: str, tasks: list[str], states: dict[str, str]) -> None:
        pass

    def handle(self, method: str, params: dict[str, Any]) -> None:
        if method.startswith("treelane/"):
            render.print_json({"method": method, "params": params})

    def note(self, text: str) -> None:
        print(f"treelane: {text}", file=sys.stderr, flush=True)

    def end(self, final: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


class PlainView:
    def __init__(self) -> None:
        self.model = RunModel()
        self.printer = render.Printer(rich=False)

    def begin(self, run: str, workflow: str, tasks: list[str], states: dict[str, str]) -> None:
        self.model.begin(run, workflow, tasks, states)
        self.printer.line(f"run {run} ({workflow}): {', '.join(tasks)}")

    def handle(self, method: str, params: dict[str, Any]) -> None:
        before = self.model.tasks.get(params.get("task", ""))
        was = before.state if before is not None else None
        row = self.model.apply(method, params)
        if row is not None and row.state not in ("queued", was):
            took = f" in {render.seconds(row.duration_ms)}" if row.state in FINAL else ""
            at = time.monotonic() - self.model.started
            self.printer.line(f"[{at:6.1f} s] {row.name} {row.state}{took}")
        elif method == "window/showMessage":
            self.note(str(params.get("message", "")))

    def note(self, text: str) -> None:
        self.printer.line(text)

    def end(self, final: dict[str, Any]) -> None:
        summarize(self.printer, self.model, final)

    def close(self) -> None:
        pass


class LiveView:
    def __init__(self) -> None:
        from rich.live import Live

        self.model = RunModel()
        self.printer = render.Printer(rich=True)
        self.notes: list[str] = []
        self.live = Live(
            get_renderable=self._render,
            console=self.printer.console,
            refresh_per_second=8,
            transient=False,
        )
        self._spinners: dict[str, Any] = {}

    def begin(self, run: str, workflow: str, tasks: list[str], states: dict[str, str]) -> None:
        self.model.begin(run, workflow, tasks, states)
        self.live.start()

    def handle(self, method: str, params: dict[str, Any]) -> None:
        self.model.apply(method, params)
        if method == "window/showMessage":
            self.note(str(params.get("message", "")))

    def note(self, text: str) -> None:
        self.live.console.print(f"[yellow]{text}[/]", highlight=False)

    def end(self, final: dict[str, Any]) -> None:
        self.model.final_ms = final.get("duration_ms")
        self.live.refresh()
        self.close()
        summarize(self.printer, self.model, final)

    def close(self) -> None:
        if self.live.is_started:
            self.live.stop()

    def _render(self) -> Any:
        from rich.console import Group
        from rich.progress_bar import ProgressBar
        from rich.table import Table
        from rich.text import Text

        m = self.model
        total = len(m.tasks) or 1
        head = Table.grid(padding=(0, 1))
        head.add_row(
            Text(f"{m.workflow} · run {m.run}", style="bold"),
            ProgressBar(total=total, completed=m.done(), width=30),
            Text(f"{m.done()}/{len(m.tasks)} done · {render.seconds(m.elapsed_ms())}"),
            Text(self._system(), style="dim"),
        )
        rows = Table.grid(padding=(0, 2))
        rows.add_column(width=1)
        rows.add_column(no_wrap=True)
        rows.add_column(no_wrap=True)
        rows.add_column(justify="right", no_wrap=True)
        rows.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
        for t in m.tasks.values():
            style = render.STATE_STYLE.get(t.state, "")
            rows.add_row(
                self._icon(t),
                Text(t.name, style="bold" if t.state == "running" else ""),
                Text(t.state + (f" #{t.attempt}" if t.attempt > 1 else ""), style=style),
                Text(render.seconds(t.elapsed_ms()) if t.elapsed_ms() is not None else ""),
                Text(t.last_line, style="dim"),
            )
        return Group(head, rows)

    def _icon(self, t: TaskRow) -> Any:
        from rich.spinner import Spinner
        from rich.text import Text

        if t.state == "running":
            return self._spinners.setdefault(t.name, Spinner("dots", style="cyan"))
        return Text(ICON.get(t.state, "?"), style=render.STATE_STYLE.get(t.state, ""))

    def _system(self) -> str:
        s = self.model.system
        if not s:
            return ""
        return f"cpu {s.get('cpu_percent', 0):.0f}% · mem {s.get('memory_percent', 0):.0f}%"


def make_view(json_lines: bool, tty: bool | None = None) -> RunView:
    """JSON lines when asked for or when stdout is not a terminal; else the live display."""
    tty = render.stdout_is_tty() if tty is None else tty
    if json_lines or not tty:
        return JsonLines()
    return LiveView()
