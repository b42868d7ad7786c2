"""What ``run``, ``resume`` and ``demo`` show while a run goes on.

* :class:`JsonLines`: every ``treelane/*`` notification of the run, one JSON object a
  line (``{"method": ..., "params": ...}``), the ``runFinished`` one last.
* :class:`LiveView`: a rich live display on a terminal: a progress bar for the run and
  a row per task with its state, duration and last output line.
* :class:`PlainView`: the same information as plain lines, one per state change (pipes).
"""

from __future__ import annotations

import json
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
    def flush(self) -> None: ...
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
        run = final["run"]
        hints = [f"treelane status {run}"]
        hints += [f"treelane log {run} {name}" for name in _tasks_to_read(model)]
        printer.line("see: " + " · ".join(hints))


def _tasks_to_read(model: RunModel) -> list[str]:
    """The tasks whose output explains a run that did not succeed: the failed ones, else
    those that were stopped while running, else the last one that ran (at most three)."""
    rows = list(model.tasks.values())
    failed = [t.name for t in rows if t.state == "failed"]
    stopped = [t.name for t in rows if t.state in ("cancelled", "interrupted") and t.attempt]
    ran = [t.name for t in rows if t.attempt]
    return (failed or stopped or ran[-1:])[:3]


class JsonLines:
    """One line per notification; written out (flushed) whenever no more are waiting."""

    def begin(self, run: str, workflow: str, tasks: list[str], states: dict[str, str]) -> None:
        pass

    def handle(self, method: str, params: dict[str, Any]) -> None:
        if method.startswith("treelane/"):
            line = json.dumps({"method": method, "params": params}, ensure_ascii=False)
            sys.stdout.write(line + "\n")

    def note(self, text: str) -> None:
        self.flush()
        print(f"treelane: {text}", file=sys.stderr, flush=True)

    def flush(self) -> None:
        sys.stdout.flush()

    def end(self, final: dict[str, Any]) -> None:
        self.flush()

    def close(self) -> None:
        self.flush()


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

    def flush(self) -> None:
        pass

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

    def begin(self, run: str, workflow: str, tasks: list[str], states: dict[str, str]) -> None:
        self.model.begin(run, workflow, tasks, states)
        self.live.start()

    def handle(self, method: str, params: dict[str, Any]) -> None:
        self.model.apply(method, params)
        if method == "window/showMessage":
            self.note(str(params.get("message", "")))

    def note(self, text: str) -> None:
        self.live.console.print(f"[yellow]{text}[/]", highlight=False)

    def flush(self) -> None:
        pass  # the live display redraws on its own clock

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

        return Group(*layout(self.model, self.printer.console.width, time.monotonic()))


SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
BAR_MAX, BAR_MIN = 30, 8
OUTPUT_MIN = 12  # narrower than this, the output column is dropped


def system_text(s: dict[str, Any]) -> str:
    if not s:
        return ""
    return f"cpu {s.get('cpu_percent', 0):.0f}% · mem {s.get('memory_percent', 0):.0f}%"


def layout(m: RunModel, width: int, now: float) -> list[Any]:
    """The live view as lines that never wrap, for a terminal ``width`` columns wide.

    Header fields are added whole while they fit (title, then the done count, then the
    progress bar, then CPU/memory). Task rows always show the icon, the name and the
    state; the duration and the last output line are dropped first when space is short
    (output, then duration). A name longer than the space left is shortened with ``…``.
    """
    from rich.text import Text

    lines: list[Any] = [_header(m, width)]
    rows = list(m.tasks.values())
    states = [t.state + (f" #{t.attempt}" if t.attempt > 1 else "") for t in rows]
    durations = [render.seconds(t.elapsed_ms()) if t.elapsed_ms() is not None else "" for t in rows]
    name_w = max([len(t.name) for t in rows] or [0])
    state_w = max([len(s) for s in states] or [0])
    dur_w = max([len(d) for d in durations] or [0])
    fixed = 1 + 1 + state_w  # icon, gap, state (names fill what is left)
    name_w = max(1, min(name_w, width - fixed - 2))
    base = 1 + 2 + name_w + 2 + state_w
    show_dur = dur_w > 0 and base + 2 + dur_w <= width
    show_out = show_dur and base + 2 + dur_w + 2 + OUTPUT_MIN <= width
    for t, state, dur in zip(rows, states, durations, strict=True):
        style = render.STATE_STYLE.get(t.state, "")
        line = Text(no_wrap=True, overflow="ellipsis")
        icon = (
            SPINNER[int(now * 10) % len(SPINNER)]
            if t.state == "running"
            else ICON.get(t.state, "?")
        )
        line.append(icon, style="cyan" if t.state == "running" else style)
        name = t.name if len(t.name) <= name_w else t.name[: max(0, name_w - 1)] + "…"
        line.append(" " + name.ljust(name_w), style="bold" if t.state == "running" else "")
        line.append("  " + state.ljust(state_w), style=style)
        if show_dur:
            line.append("  " + dur.rjust(dur_w))
        if show_out and t.last_line:
            room = width - (base + 2 + dur_w + 2)
            out = t.last_line if len(t.last_line) <= room else t.last_line[: room - 1] + "…"
            line.append("  " + out, style="dim")
        lines.append(line)
    return lines


def _header(m: RunModel, width: int) -> Any:
    from rich.text import Text

    total = len(m.tasks)
    title = f"{m.workflow} · run {m.run}"
    done = f"{m.done()}/{total} done · {render.seconds(m.elapsed_ms())}"
    system = system_text(m.system)
    head = Text(no_wrap=True, overflow="ellipsis")
    used = len(title)
    head.append(title if used <= width else title[: width - 1] + "…", style="bold")
    if used + 1 + len(done) <= width:
        head.append(" " + done)
        used += 1 + len(done)
    else:
        return head
    bar_w = min(BAR_MAX, width - used - 1 - (1 + len(system) if system else 0))
    if bar_w < BAR_MIN:
        bar_w = min(BAR_MAX, width - used - 1)
        system = ""
    if bar_w >= BAR_MIN:
        filled = round(bar_w * m.done() / (total or 1))
        head.append(" ")
        head.append("━" * filled, style="green" if m.done() == total else "magenta")
        head.append("━" * (bar_w - filled), style="grey23")
        used += 1 + bar_w
    if system and used + 1 + len(system) <= width:
        head.append(" " + system, style="dim")
    return head


def make_view(json_lines: bool, tty: bool | None = None) -> RunView:
    """JSON lines when asked for or when stdout is not a terminal; else the live display."""
    tty = render.stdout_is_tty() if tty is None else tty
    if json_lines or not tty:
        return JsonLines()
    return LiveView()
