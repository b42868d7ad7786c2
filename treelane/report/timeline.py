"""Run timeline report: one self-contained HTML page for a workflow run.

This module is pure: it takes plain data, returns a string, and uses the
standard library only (no server, no database, no network).  The page has
inline CSS and a small inline script (hover tooltips and highlighting); the
charts are inline SVG rendered here in Python, so they show with JS disabled.
A Content-Security-Policy ``<meta>`` forbids every network load, and the
script is allowed by its SHA-256 hash only, so data that slipped through
escaping still could not run code.

Public API
----------
``render_timeline(data) -> str``
    The whole HTML document.
``critical_path(tasks) -> list[str]``
    Task names on the critical path, first to last.
``speedup(data) -> float``
    Sum of attempt durations divided by the run's wall time.

Input shape
-----------
The engine produces exactly this mapping (times are epoch seconds, floats)::

    {
      "run": "r1a2b3",                 # run id
      "workflow": "feature",           # workflow name
      "state": "succeeded",            # running | succeeded | failed | cancelled | interrupted
      "started": 1700000000.123,
      "finished": 1700000012.5,        # None while the run is running
      "tasks": [
        {
          "name": "plan",
          "state": "succeeded",        # queued | running | succeeded | failed | cached
                                       # | skipped | cancelled | interrupted
          "needs": [],                 # names of the tasks this one waits for
          "isolation": "worktree",     # "worktree" | "shared" (optional)
          "attempts": [                # in order; empty for cached/skipped/queued tasks
            {"attempt": 1, "worktree": "wt-3", "start": 1700000000.2, "end": 1700000002.0,
             "state": "failed", "exit_code": 1},
            {"attempt": 2, "worktree": "wt-3", "start": 1700000002.1, "end": 1700000004.0,
             "state": "succeeded", "exit_code": 0},
          ],
          "resolved": 1700000004.0,    # optional: when a task without attempts was
                                       # resolved (cached / skipped / cancelled)
        },
        ...
      ],
      "samples": [                     # resource samples, any number (may be empty)
        {"time": 1700000000.5, "cpu_percent": 71.0, "memory_percent": 40.2,
         "memory_available_mb": 2100.0, "running": 3, "limit": 4},
        ...
      ],
    }

Attempt states use the same words as task states.  An attempt whose ``end``
is ``None`` is still running.  An attempt's ``worktree`` may be ``None`` (a
task with ``"isolation": "shared"`` runs in the shared checkout).

Rules used by the report
------------------------
* Wall time is ``finished - started``; while ``finished`` is ``None`` the last
  event time (latest attempt start/end, ``resolved`` or sample time) stands in.
* Busy time is the sum of attempt durations (a running attempt counts up to
  the last event time); the measured speed-up is busy time / wall time.
* A task's finish time is its final attempt's end; a cached task without
  attempts finishes at ``resolved``.  Skipped, queued and still running tasks
  have no finish time and are never on the critical path.
* The critical path starts at the sink (a task no other task needs) that
  finished last and walks back, at each step through the need that finished
  last.  Only finished tasks count, so in a running or failed run (whose
  sinks may never finish) it starts at the last task that finished.

Every string that comes from the data (task names, worktree ids, workflow and
run names, states) is HTML-escaped; CSS classes are only ever built from a
fixed list of known state words.
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from treelane.engine.events import RUN_STATES, TASK_STATES

__all__ = [
    "RUN_STATES",
    "TASK_STATES",
    "critical_path",
    "render_timeline",
    "speedup",
]


NO_WORKTREE_LANE = "no worktree"
SHARED_LANE = "shared checkout"

# ----------------------------------------------------------------------------
# Input normalisation
# ----------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    """A finite float, or None for anything else (None, bool, str, nan)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        f = float(value)
        return f if math.isfinite(f) else None
    return None


def _text(value: Any, default: str = "") -> str:
    if value is None:
        return default
    return value if isinstance(value, str) else str(value)


def _state_class(state: str) -> str:
    """CSS class for a state word; only known words become class names."""
    return f"s-{state}" if state in TASK_STATES else "s-unknown"


@dataclass
class _Attempt:
    task: int
    number: int
    worktree: str | None
    start: float | None
    end: float | None
    state: str
    exit_code: int | None


@dataclass
class _Task:
    index: int
    name: str
    state: str
    needs: list[str]
    isolation: str | None
    attempts: list[_Attempt] = field(default_factory=list)
    resolved: float | None = None
    worktree: str | None = None

    @property
    def finish(self) -> float | None:
        """Final attempt's end; a cached task's resolve time; else None."""
        if self.attempts:
            return self.attempts[-1].end
        if self.state == "cached":
            return self.resolved
        return None

    @property
    def first_start(self) -> float | None:
        starts = [a.start for a in self.attempts if a.start is not None]
        return min(starts) if starts else None


def _parse_tasks(tasks: Any) -> list[_Task]:
    if not isinstance(tasks, Sequence) or isinstance(tasks, (str, bytes)):
        return []
    out: list[_Task] = []
    for raw in tasks:
        if not isinstance(raw, Mapping):
            continue
        index = len(out)
        needs_raw = raw.get("needs") or []
        needs = (
            [_text(n) for n in needs_raw]
            if isinstance(needs_raw, Sequence) and not isinstance(needs_raw, (str, bytes))
            else []
        )
        task = _Task(
            index=index,
            name=_text(raw.get("name"), f"task {index + 1}"),
            state=_text(raw.get("state"), "queued"),
            needs=needs,
            isolation=None if raw.get("isolation") is None else _text(raw.get("isolation")),
            resolved=_num(raw.get("resolved")),
            worktree=None if raw.get("worktree") is None else _text(raw.get("worktree")),
        )
        attempts_raw = raw.get("attempts") or []
        if isinstance(attempts_raw, Sequence) and not isinstance(attempts_raw, (str, bytes)):
            for pos, a in enumerate(attempts_raw):
                if not isinstance(a, Mapping):
                    continue
                number = a.get("attempt")
                code = a.get("exit_code")
                task.attempts.append(
                    _Attempt(
                        task=index,
                        number=number if isinstance(number, int) else pos + 1,
                        worktree=None if a.get("worktree") is None else _text(a.get("worktree")),
                        start=_num(a.get("start")),
                        end=_num(a.get("end")),
                        state=_text(a.get("state"), task.state),
                        exit_code=code
                        if isinstance(code, int) and not isinstance(code, bool)
                        else None,
                    )
                )
        out.append(task)
    return out


@dataclass
class _Sample:
    time: float
    cpu: float | None
    mem: float | None
    mem_avail: float | None
    running: float | None
    limit: float | None


def _parse_samples(samples: Any) -> list[_Sample]:
    if not isinstance(samples, Sequence) or isinstance(samples, (str, bytes)):
        return []
    out: list[_Sample] = []
    for s in samples:
        if not isinstance(s, Mapping):
            continue
        t = _num(s.get("time"))
        if t is None:
            continue
        out.append(
            _Sample(
                time=t,
                cpu=_num(s.get("cpu_percent")),
                mem=_num(s.get("memory_percent")),
                mem_avail=_num(s.get("memory_available_mb")),
                running=_num(s.get("running")),
                limit=_num(s.get("limit")),
            )
        )
    out.sort(key=lambda s: s.time)
    return out


def _event_times(tasks: Iterable[_Task], samples: Iterable[_Sample]) -> list[float]:
    times: list[float] = []
    for t in tasks:
        for a in t.attempts:
            times.extend(x for x in (a.start, a.end) if x is not None)
        if t.resolved is not None:
            times.append(t.resolved)
    times.extend(s.time for s in samples)
    return times


@dataclass
class _Clock:
    """Time frame of a run: start, end (finished or last event) and wall time."""

    start: float
    end: float
    finished: bool
    idle: float = 0.0  # seconds a resumed run was stopped

    @property
    def wall(self) -> float:
        return max(0.0, self.end - self.start - self.idle)


def _clock(data: Mapping[str, Any], tasks: list[_Task], samples: list[_Sample]) -> _Clock:
    events = _event_times(tasks, samples)
    started = _num(data.get("started"))
    finished = _num(data.get("finished"))
    start = started if started is not None else (min(events) if events else 0.0)
    idle = _num(data.get("idle")) or 0.0  # a resumed run's stopped time is not wall time
    if finished is not None:
        return _Clock(start, max(start, finished), True, idle)
    end = max([start, *events])
    return _Clock(start, end, False, idle)


def _busy(tasks: Iterable[_Task], now: float) -> float:
    total = 0.0
    for t in tasks:
        for a in t.attempts:
            if a.start is None:
                continue
            end = a.end if a.end is not None else max(now, a.start)
            total += max(0.0, end - a.start)
    return total


# ----------------------------------------------------------------------------
# Public computations
# ----------------------------------------------------------------------------


def critical_path(tasks: Sequence[Mapping[str, Any]]) -> list[str]:
    """Names of the tasks on the critical path, in run order (first to last).

    Starts at the sink with the latest finish time — the final attempt's end,
    or ``resolved`` for a cached task — and walks back through ``needs``, each
    time to the need that finished last.  Tasks without a finish time (queued,
    running, skipped) are left out, so "sink" means a finished task that no
    other finished task needs: in a finished run that is the last-finishing
    sink of the whole graph, in a running or failed run the last task that
    finished.  Ties go to the task listed first.  Returns ``[]`` when nothing
    has finished.
    """
    parsed = _parse_tasks(tasks)
    by_name: dict[str, _Task] = {}
    for t in parsed:
        by_name.setdefault(t.name, t)
    done = [t for t in by_name.values() if t.finish is not None]

    def key(t: _Task) -> tuple[float, int]:
        finish = t.finish
        assert finish is not None
        return (finish, -t.index)

    # Sinks of the finished part of the graph: a finished task that no finished
    # task needs.  In a finished run the last of them is the last sink of the
    # whole graph; in a running (or failed) run it is the last finished task.
    needed_by_done = {n for t in done for n in t.needs}
    candidates = [t for t in done if t.name not in needed_by_done] or done  # `or`: cycles
    if not candidates:
        return []
    current = max(candidates, key=key)
    path = [current.name]
    seen = {current.name}
    while True:
        preds = [
            by_name[n]
            for n in current.needs
            if n in by_name and n not in seen and by_name[n].finish is not None
        ]
        if not preds:
            break
        current = max(preds, key=key)
        path.append(current.name)
        seen.add(current.name)
    path.reverse()
    return path


def speedup(data: Mapping[str, Any]) -> float:
    """Measured speed-up: sum of all attempt durations / wall time (0.0 if no wall time)."""
    tasks = _parse_tasks(data.get("tasks"))
    samples = _parse_samples(data.get("samples"))
    clock = _clock(data, tasks, samples)
    if clock.wall <= 0:
        return 0.0
    return _busy(tasks, clock.end) / clock.wall


# ----------------------------------------------------------------------------
# Formatting helpers
# ----------------------------------------------------------------------------


def _e(value: object) -> str:
    """Escape for HTML text and attribute values."""
    return html.escape(str(value), quote=True)


def _f(x: float) -> str:
    """Compact SVG coordinate."""
    s = f"{x:.1f}"
    return s[:-2] if s.endswith(".0") else s


def _fmt_duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    total = round(seconds)
    if total < 3600:
        return f"{total // 60} min {total % 60:02d} s"
    return f"{total // 3600} h {total % 3600 // 60:02d} min"


def _fmt_offset(seconds: float, step: float = 1.0) -> str:
    """Axis / tooltip offset since run start: 0s, 2.5s, 1m30s, 1h05m."""
    if abs(seconds) < 60 or step < 1:
        if step < 1 or not float(seconds).is_integer():
            return f"{seconds:.1f}s"
        return f"{int(seconds)}s"
    total = round(seconds)
    if total < 3600:
        m, s = divmod(total, 60)
        return f"{m}m" if s == 0 else f"{m}m{s:02d}s"
    h, rest = divmod(total, 3600)
    return f"{h}h{rest // 60:02d}m"


def _fmt_epoch(t: float) -> str:
    try:
        return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return f"{t:.3f}"


def _iso(t: float) -> str:
    try:
        return datetime.fromtimestamp(t, tz=timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        return ""


_NICE_STEPS = (
    0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
    21600, 43200, 86400,
)  # fmt: skip


def _tick_step(span: float, target: int = 10) -> float:
    raw = span / max(1, target)
    for step in _NICE_STEPS:
        if step >= raw:
            return float(step)
    return float(math.ceil(raw / 86400) * 86400)


def _natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    parts = re.split(r"(\d+)", text)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p)


_CHAR_W = 6.4  # average glyph width of the 11-12px labels, in SVG units


def _fit(text: str, width: float, char_w: float = _CHAR_W) -> str | None:
    """Text truncated with an ellipsis to fit width, or None if hardly anything fits."""
    room = int(width / char_w)
    if len(text) <= room:
        return text
    if room >= 6:
        return text[: room - 1] + "…"
    return None


# ----------------------------------------------------------------------------
# Layout
# ----------------------------------------------------------------------------

VIEW_W = 1200.0
PLOT_X0 = 136.0  # left edge of the plot; the lane labels live left of it
PLOT_X1 = VIEW_W - 56.0  # right edge; the resource chart's right axis lives past it
LANE_H = 28.0
BAR_H = 18.0
GANTT_TOP = 10.0
AXIS_H = 40.0


@dataclass
class _Item:
    """One thing drawn on a Gantt lane: an attempt bar or a task marker."""

    task: _Task
    x0: float
    x1: float  # bar end, or marker extent incl. its label (for packing)
    attempt: _Attempt | None = None
    row: int = 0
    label_left: bool = False


@dataclass
class _Lane:
    name: str
    items: list[_Item] = field(default_factory=list)
    rows: int = 1
    y: float = 0.0


class _Scale:
    def __init__(self, t0: float, t1: float) -> None:
        self.t0 = t0
        self.span = t1 - t0 if t1 - t0 > 0 else 1.0

    def x(self, t: float) -> float:
        frac = (t - self.t0) / self.span
        return PLOT_X0 + min(1.0, max(0.0, frac)) * (PLOT_X1 - PLOT_X0)


def _lane_name(task: _Task, attempt: _Attempt | None) -> str:
    if attempt is not None and attempt.worktree:
        return attempt.worktree
    if attempt is None and task.worktree:
        return task.worktree
    if task.isolation == "shared" and attempt is not None:
        return SHARED_LANE
    return NO_WORKTREE_LANE


def _lane_order(name: str) -> tuple[int, tuple[tuple[int, int | str], ...]]:
    if name == SHARED_LANE:
        return (1, ())
    if name == NO_WORKTREE_LANE:
        return (2, ())
    return (0, _natural_key(name))


def _layout(tasks: list[_Task], scale: _Scale, now: float) -> list[_Lane]:
    lanes: dict[str, _Lane] = {}
    for task in tasks:
        for a in task.attempts:
            if a.start is None:
                continue
            end = a.end if a.end is not None else max(now, a.start)
            x0, x1 = scale.x(a.start), scale.x(end)
            x1 = max(x1, x0 + 2.0)  # keep very short attempts visible
            lane = lanes.setdefault(_lane_name(task, a), _Lane(_lane_name(task, a)))
            lane.items.append(_Item(task, x0, x1, attempt=a))
        if not task.attempts and task.resolved is not None:
            x = scale.x(task.resolved)
            extent = 14 + len(task.name) * _CHAR_W
            item = _Item(task, x - 7, x + extent)
            if x + extent > PLOT_X1:  # label would run off the right edge: put it left
                item.label_left = True
                item.x0, item.x1 = x - extent, x + 7
            name = _lane_name(task, None)
            lanes.setdefault(name, _Lane(name)).items.append(item)
    ordered = sorted(lanes.values(), key=lambda lane: _lane_order(lane.name))
    y = GANTT_TOP
    for lane in ordered:
        # Greedy interval packing: items that overlap in x go to further rows.
        row_ends: list[float] = []
        for item in sorted(lane.items, key=lambda i: (i.x0, i.x1)):
            for r, end in enumerate(row_ends):
                if item.x0 >= end - 1.5:  # touching is fine (min-width / rounding)
                    item.row = r
                    row_ends[r] = item.x1
                    break
            else:
                item.row = len(row_ends)
                row_ends.append(item.x1)
        lane.rows = max(1, len(row_ends))
        lane.y = y
        y += lane.rows * LANE_H
    return ordered


# ----------------------------------------------------------------------------
# SVG: Gantt chart
# ----------------------------------------------------------------------------


def _tooltip_attempt(task: _Task, a: _Attempt, clock: _Clock) -> str:
    lines = [task.name]
    total = len(task.attempts)
    head = f"attempt {a.number} of {total}" if total > 1 else f"attempt {a.number}"
    status = a.state if a.exit_code is None else f"{a.state}, exit {a.exit_code}"
    lines.append(f"{head} · {status}")
    lines.append(f"worktree: {a.worktree}" if a.worktree else f"isolation: {task.isolation}")
    if a.start is not None:
        end = a.end if a.end is not None else clock.end
        tail = "" if a.end is not None else " (still running)"
        lines.append(
            f"+{_fmt_offset(a.start - clock.start, 0.1)} → "
            f"+{_fmt_offset(end - clock.start, 0.1)} · {_fmt_duration(end - a.start)}{tail}"
        )
    if task.needs:
        lines.append("needs: " + ", ".join(task.needs))
    return "\n".join(lines)


def _tooltip_marker(task: _Task, clock: _Clock) -> str:
    lines = [task.name, f"{task.state} (no attempt)"]
    if task.resolved is not None:
        lines.append(f"resolved at +{_fmt_offset(task.resolved - clock.start, 0.1)}")
    if task.needs:
        lines.append("needs: " + ", ".join(task.needs))
    return "\n".join(lines)


def _bar_label(task: _Task, a: _Attempt, width: float) -> str | None:
    room = width - 10
    candidates: list[str] = []
    if len(task.attempts) > 1:
        candidates += [f"{task.name} · attempt {a.number}", f"attempt {a.number}"]
    candidates.append(task.name)
    for c in candidates:
        if len(c) * _CHAR_W <= room:
            return c
    fitted = _fit(task.name, room)
    if fitted is not None:
        return fitted
    return f"#{a.number}" if len(task.attempts) > 1 and room >= 2.5 * _CHAR_W else None


def _item_attrs(task: _Task, index_of: Mapping[str, int], crit: set[str]) -> str:
    needs = " ".join(str(index_of[n]) for n in task.needs if n in index_of)
    cls = "item tip" + (" on-crit" if task.name in crit else "")
    return f'class="{cls}" data-t="{task.index}" data-needs="{needs}" tabindex="0"'


HATCHED_STATES = ("failed", "cancelled", "interrupted")

_SVG_DEFS = (
    "<defs>\n"
    + "".join(
        f'<pattern id="hatch-{s}" width="7" height="7" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect class="hb s-{s}" width="7" height="7"/>'
        f'<rect class="hf s-{s}" width="3.6" height="7"/></pattern>\n'
        for s in HATCHED_STATES
    )
    + """<marker id="crit-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" \
markerHeight="7" orient="auto-start-reverse"><path class="crit-arrow" d="M0 0 L10 5 L0 10 z"/>\
</marker>
</defs>"""
)


def _x_axis(out: list[str], scale: _Scale, top: float, bottom: float, label: bool) -> None:
    step = _tick_step(scale.span)
    n = int(scale.span / step + 1e-9)
    out.append('<g class="axis">')
    for i in range(n + 1):
        t = i * step
        x = scale.x(scale.t0 + t)
        out.append(
            f'<line class="grid" x1="{_f(x)}" x2="{_f(x)}" y1="{_f(top)}" y2="{_f(bottom)}"/>'
        )
        out.append(
            f'<text class="tick" x="{_f(x)}" y="{_f(bottom + 15)}" text-anchor="middle">'
            f"{_e(_fmt_offset(t, step))}</text>"
        )
    out.append(
        f'<line class="axis-line" x1="{_f(PLOT_X0)}" x2="{_f(PLOT_X1)}" '
        f'y1="{_f(bottom)}" y2="{_f(bottom)}"/>'
    )
    if label:
        out.append(
            f'<text class="axis-title" x="{_f(PLOT_X1)}" y="{_f(bottom + 32)}" '
            f'text-anchor="end">seconds since run start</text>'
        )
    out.append("</g>")


def _gantt_svg(
    tasks: list[_Task], clock: _Clock, scale: _Scale, crit: list[str], running: bool
) -> str:
    lanes = _layout(tasks, scale, clock.end)
    if not lanes:
        return ""
    crit_set = set(crit)
    index_of: dict[str, int] = {}
    for t in tasks:
        index_of.setdefault(t.name, t.index)
    plot_bottom = lanes[-1].y + lanes[-1].rows * LANE_H
    height = plot_bottom + AXIS_H
    out: list[str] = [
        f'<svg class="chart gantt" viewBox="0 0 {_f(VIEW_W)} {_f(height)}" '
        f'preserveAspectRatio="xMinYMin meet" role="img" '
        f'aria-label="Gantt chart: task attempts per worktree over time">',
        _SVG_DEFS,
        '<g class="lanes">',
    ]
    for n, lane in enumerate(lanes):
        h = lane.rows * LANE_H
        special = " lane-special" if lane.name in (SHARED_LANE, NO_WORKTREE_LANE) else ""
        out.append(
            f'<rect class="lane-bg{" odd" if n % 2 else ""}" x="0" y="{_f(lane.y)}" '
            f'width="{_f(VIEW_W)}" height="{_f(h)}"/>'
        )
        label = _fit(lane.name, PLOT_X0 - 18) or "…"
        out.append(
            f'<text class="lane-label{special}" x="{_f(PLOT_X0 - 10)}" '
            f'y="{_f(lane.y + LANE_H / 2 + 4)}" text-anchor="end">'
            f"<title>{_e(lane.name)}</title>{_e(label)}</text>"
        )
    out.append("</g>")
    _x_axis(out, scale, GANTT_TOP, plot_bottom, label=True)

    # Where each task's final bar / marker sits, for the critical-path links.
    anchors: dict[str, tuple[float, float, float]] = {}  # name -> (x_start, x_end, y_mid)
    bars: list[str] = ['<g class="bars">']
    markers: list[str] = ['<g class="markers">']
    for lane in lanes:
        for item in sorted(lane.items, key=lambda i: i.x0):
            task = item.task
            y = lane.y + item.row * LANE_H + (LANE_H - BAR_H) / 2
            ymid = y + BAR_H / 2
            attrs = _item_attrs(task, index_of, crit_set)
            a = item.attempt
            if a is not None:
                width = item.x1 - item.x0
                cls = f"bar {_state_class(a.state)}"
                if a.number > 1:
                    cls += " retry"
                if a.end is None:
                    cls += " open"
                if task.name in crit_set:
                    cls += " crit"
                tip = _tooltip_attempt(task, a, clock)
                bars.append(
                    f"<g {attrs}><title>{_e(tip)}</title>"
                    f'<rect class="{cls}" x="{_f(item.x0)}" y="{_f(y)}" width="{_f(width)}" '
                    f'height="{_f(BAR_H)}" rx="3"/>'
                )
                text = _bar_label(task, a, width)
                if text is not None:
                    bars.append(
                        f'<text class="bar-label" x="{_f(item.x0 + 5)}" y="{_f(ymid + 4)}">'
                        f"{_e(text)}</text>"
                    )
                bars.append("</g>")
                if a is task.attempts[-1]:
                    first = task.first_start
                    x_first = scale.x(first) if first is not None else item.x0
                    anchors[task.name] = (x_first, item.x1, ymid)
            else:
                x = item.x0 + 7 if not item.label_left else item.x1 - 7
                cls = f"marker {_state_class(task.state)}"
                if task.name in crit_set:
                    cls += " crit"
                if task.state == "cached":
                    shape = (
                        f'<path class="{cls}" d="M{_f(x)} {_f(ymid - 7)} L{_f(x + 7)} {_f(ymid)} '
                        f'L{_f(x)} {_f(ymid + 7)} L{_f(x - 7)} {_f(ymid)} Z"/>'
                    )
                else:
                    shape = (
                        f'<circle class="{cls}" cx="{_f(x)}" cy="{_f(ymid)}" r="5.5"/>'
                        f'<path class="marker-slash" d="M{_f(x - 3.5)} {_f(ymid + 3.5)} '
                        f'L{_f(x + 3.5)} {_f(ymid - 3.5)}"/>'
                    )
                if item.label_left:
                    label = (
                        f'<text class="marker-label" x="{_f(x - 11)}" y="{_f(ymid + 4)}" '
                        f'text-anchor="end">{_e(task.name)}</text>'
                    )
                else:
                    label = (
                        f'<text class="marker-label" x="{_f(x + 11)}" y="{_f(ymid + 4)}">'
                        f"{_e(task.name)}</text>"
                    )
                markers.append(
                    f"<g {attrs}><title>{_e(_tooltip_marker(task, clock))}</title>"
                    f"{shape}{label}</g>"
                )
                anchors[task.name] = (x, x, ymid)
    bars.append("</g>")
    markers.append("</g>")

    links: list[str] = ['<g class="crit-links">']
    for prev, nxt in itertools.pairwise(crit):
        if prev not in anchors or nxt not in anchors:
            continue
        _, px1, py = anchors[prev]
        nx0, _, ny = anchors[nxt]
        if abs(py - ny) < 0.5 and nx0 - px1 < 14:
            continue  # adjacent on the same lane: nothing to connect
        mid = px1 + max(4.0, (nx0 - px1) / 2)
        links.append(
            f'<path class="crit-link" d="M{_f(px1)} {_f(py)} H{_f(mid)} V{_f(ny)} '
            f'H{_f(max(nx0 - 1, mid))}" marker-end="url(#crit-arrow)"/>'
        )
    links.append("</g>")

    out.extend(links)
    out.extend(bars)
    out.extend(markers)
    if running:
        x = scale.x(clock.end)
        out.append(
            f'<g class="now"><line x1="{_f(x)}" x2="{_f(x)}" y1="{_f(GANTT_TOP - 6)}" '
            f'y2="{_f(plot_bottom)}"/><text x="{_f(x - 4)}" y="{_f(GANTT_TOP + 4)}" '
            f'text-anchor="end">last update</text></g>'
        )
    out.append("</svg>")
    return "\n".join(out)


# ----------------------------------------------------------------------------
# SVG: resource chart
# ----------------------------------------------------------------------------

RES_TOP = 12.0
RES_PLOT_H = 140.0


def _resource_svg(samples: list[_Sample], clock: _Clock, scale: _Scale) -> str:
    pts = [s for s in samples if clock.start - 1e-9 <= s.time <= clock.end + 1e-9]
    if not pts:
        return ""
    top, bottom = RES_TOP, RES_TOP + RES_PLOT_H
    height = bottom + AXIS_H

    def y_pct(v: float) -> float:
        return bottom - min(100.0, max(0.0, v)) / 100.0 * (bottom - top)

    slots_max = max([1.0] + [v for s in pts for v in (s.running, s.limit) if v is not None])
    slots_max = float(math.ceil(slots_max))

    def y_slots(v: float) -> float:
        return bottom - min(slots_max, max(0.0, v)) / slots_max * (bottom - top)

    out: list[str] = [
        f'<svg class="chart resources" viewBox="0 0 {_f(VIEW_W)} {_f(height)}" '
        f'preserveAspectRatio="xMinYMin meet" role="img" '
        f'aria-label="CPU and memory use and running tasks over time">',
        '<g class="y-axis">',
    ]
    for pct in (0, 25, 50, 75, 100):
        y = y_pct(pct)
        out.append(
            f'<line class="grid h" x1="{_f(PLOT_X0)}" x2="{_f(PLOT_X1)}" '
            f'y1="{_f(y)}" y2="{_f(y)}"/>'
        )
        out.append(
            f'<text class="tick" x="{_f(PLOT_X0 - 8)}" y="{_f(y + 4)}" '
            f'text-anchor="end">{pct}%</text>'
        )
    slot_step = max(1, math.ceil(slots_max / 5))
    v = 0
    while v <= slots_max:
        out.append(
            f'<text class="tick slots" x="{_f(PLOT_X1 + 8)}" y="{_f(y_slots(v) + 4)}">{v}</text>'
        )
        v += slot_step
    out.append(
        f'<text class="axis-title" x="{_f(PLOT_X0 - 46)}" y="{_f((top + bottom) / 2)}" '
        f'text-anchor="middle" transform="rotate(-90 {_f(PLOT_X0 - 46)} '
        f'{_f((top + bottom) / 2)})">CPU · memory</text>'
    )
    out.append(
        f'<text class="axis-title" x="{_f(PLOT_X1 + 38)}" y="{_f((top + bottom) / 2)}" '
        f'text-anchor="middle" transform="rotate(90 {_f(PLOT_X1 + 38)} '
        f'{_f((top + bottom) / 2)})">tasks</text>'
    )
    out.append("</g>")
    _x_axis(out, scale, top, bottom, label=False)

    def step_path(values: list[tuple[float, float]]) -> str:
        d = f"M{_f(values[0][0])} {_f(values[0][1])}"
        for x, y in values[1:]:
            d += f" H{_f(x)} V{_f(y)}"
        return d

    run_pts = [(scale.x(s.time), y_slots(s.running)) for s in pts if s.running is not None]
    if run_pts:
        d = step_path(run_pts)
        area = d + f" V{_f(bottom)} H{_f(run_pts[0][0])} Z"
        out.append(f'<path class="series running-area" d="{area}"/>')
        out.append(f'<path class="series running-line" d="{d}"/>')
    lim_pts = [(scale.x(s.time), y_slots(s.limit)) for s in pts if s.limit is not None]
    if lim_pts:
        out.append(f'<path class="series limit-line" d="{step_path(lim_pts)}"/>')
    for attr, cls in (("mem", "mem-line"), ("cpu", "cpu-line")):
        coords = [
            f"{_f(scale.x(s.time))},{_f(y_pct(v))}"
            for s in pts
            if (v := getattr(s, attr)) is not None
        ]
        if len(coords) == 1:
            coords.append(coords[0])
        if coords:
            out.append(f'<polyline class="series {cls}" points="{" ".join(coords)}"/>')
    # Invisible hover columns, one per sample, for the tooltips.
    xs = [scale.x(s.time) for s in pts]
    out.append('<g class="hits">')
    for i, s in enumerate(pts):
        left = PLOT_X0 if i == 0 else (xs[i - 1] + xs[i]) / 2
        right = PLOT_X1 if i == len(pts) - 1 else (xs[i] + xs[i + 1]) / 2
        parts = [f"+{_fmt_offset(s.time - clock.start, 0.1)}"]
        if s.cpu is not None:
            parts.append(f"CPU {s.cpu:.0f}%")
        if s.mem is not None:
            mem = f"memory {s.mem:.0f}%"
            if s.mem_avail is not None:
                mem += f" ({s.mem_avail:,.0f} MB free)"
            parts.append(mem)
        if s.running is not None:
            lim = f" of {s.limit:g}" if s.limit is not None else ""
            parts.append(f"running {s.running:g}{lim}")
        out.append(
            f'<rect class="hit tip" x="{_f(left)}" y="{_f(top)}" '
            f'width="{_f(max(0.5, right - left))}" height="{_f(bottom - top)}">'
            f"<title>{_e(chr(10).join(parts))}</title></rect>"
        )
    out.append("</g></svg>")
    return "\n".join(out)


# ----------------------------------------------------------------------------
# Page
# ----------------------------------------------------------------------------

_CSS = """
:root{color-scheme:light dark;
--bg:#f6f7f9;--panel:#ffffff;--text:#1c2430;--muted:#5d6878;--border:#e2e6ec;
--lane:#ffffff;--lane-odd:#f3f5f8;--grid:#e6e9ee;--axis:#9aa4b2;
--succeeded:#1f8f4e;--failed:#cf3434;--running:#2f6fdf;
--cached:#7c4ddb;--skipped:#8a94a3;--cancelled:#b7791f;
--interrupted:#c8387a;--queued:#b8c2cf;--unknown:#6b7280;
--crit:#f0a500;--label:#ffffff;--halo:rgba(0,0,0,.35);
--cpu:#0e8fb3;--mem:#e0671b;--slots:#64748b;--slots-fill:rgba(100,116,139,.16);
--tip-bg:#1c2430;--tip-text:#f6f7f9}
@media (prefers-color-scheme:dark){:root{
--bg:#0f1318;--panel:#171c23;--text:#e4e8ee;--muted:#9aa5b4;--border:#28303b;
--lane:#171c23;--lane-odd:#1c222b;--grid:#262d37;--axis:#4e5968;
--succeeded:#2ea664;--failed:#e5534b;--running:#4c8df6;
--cached:#9a75ee;--skipped:#7d8796;--cancelled:#d1962e;
--interrupted:#e0569a;--queued:#4b5563;--unknown:#8b95a3;
--crit:#ffc233;--label:#ffffff;--halo:rgba(0,0,0,.5);
--cpu:#38bdf8;--mem:#fb923c;--slots:#94a3b8;--slots-fill:rgba(148,163,184,.14);
--tip-bg:#e4e8ee;--tip-text:#0f1318}}
*{box-sizing:border-box}
html,body{margin:0;background:var(--bg);color:var(--text)}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,
"Noto Sans","Liberation Sans","DejaVu Sans",sans-serif;-webkit-font-smoothing:antialiased}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",
"DejaVu Sans Mono",monospace;font-size:.92em}
main{max-width:1240px;margin:0 auto;padding:18px 22px 40px}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:6px 14px;margin-bottom:12px}
.eyebrow{width:100%;font-size:12px;letter-spacing:.06em;text-transform:uppercase;
color:var(--muted);font-weight:600}
h1{font-size:22px;margin:0;font-weight:650;overflow-wrap:anywhere}
h2{font-size:13px;margin:0 0 8px;font-weight:650;letter-spacing:.04em;text-transform:uppercase;
color:var(--muted)}
.run-id{color:var(--muted);font-weight:500}
.meta{color:var(--muted);font-size:13px}
.badge{display:inline-block;padding:2px 10px;border-radius:999px;font-size:12px;font-weight:650;
color:#fff;background:var(--c);vertical-align:3px}
.s-queued{--c:var(--queued)}.s-running{--c:var(--running)}.s-succeeded{--c:var(--succeeded)}
.s-failed{--c:var(--failed)}.s-cached{--c:var(--cached)}.s-skipped{--c:var(--skipped)}
.s-cancelled{--c:var(--cancelled)}.s-interrupted{--c:var(--interrupted)}
.s-unknown{--c:var(--unknown)}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;
margin-bottom:12px}
.stat{background:var(--panel);border:1px solid var(--border);border-radius:10px;padding:9px 14px}
.stat .k{font-size:12px;color:var(--muted)}
.stat .v{font-size:20px;font-weight:650;font-variant-numeric:tabular-nums}
.stat .sub{font-size:12px;color:var(--muted)}
.states{display:flex;flex-wrap:wrap;gap:6px;margin:2px 0 0}
.chip{display:inline-flex;align-items:center;gap:6px;padding:1px 9px 1px 7px;border-radius:999px;
border:1px solid var(--border);background:var(--panel);font-size:12px}
.chip i{width:9px;height:9px;border-radius:50%;background:var(--c)}
.chip b{font-variant-numeric:tabular-nums}
.panel{background:var(--panel);border:1px solid var(--border);border-radius:12px;
padding:12px 14px 6px;margin-bottom:12px}
.panel-head{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;
gap:6px 16px;margin-bottom:6px}
.panel-head h2{margin:0}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;color:var(--muted)}
.legend span{display:inline-flex;align-items:center;gap:6px}
.sw{display:inline-block;width:18px;height:11px;border-radius:2px;background:var(--c)}
.sw.hatch{background:repeating-linear-gradient(45deg,var(--c) 0 3px,
color-mix(in srgb,var(--c) 50%,transparent) 3px 6px);box-shadow:inset 0 0 0 1px var(--c)}
.sw.crit{background:transparent;box-shadow:inset 0 0 0 2.5px var(--crit)}
.sw.dia{width:10px;height:10px;transform:rotate(45deg);border-radius:1px}
.sw.dot{width:11px;height:11px;border-radius:50%;background:transparent;
box-shadow:inset 0 0 0 2px var(--c)}
.sw.line{height:3px;border-radius:2px}.sw.cpu{--c:var(--cpu)}.sw.mem{--c:var(--mem)}
.sw.dash{height:0;border-top:2px dashed var(--slots);background:none;border-radius:0}
.sw.area{background:var(--slots-fill);box-shadow:inset 0 2px 0 var(--slots)}
.crit-list{font-size:13px;color:var(--muted);margin:0 0 6px;overflow-wrap:anywhere}
.crit-list b{color:var(--text);font-weight:600}
.empty{color:var(--muted);padding:18px 4px;margin:0}
svg.chart{display:block;width:100%;height:auto;overflow:visible;
font-family:inherit;font-size:11.5px}
.lane-bg{fill:var(--lane)}.lane-bg.odd{fill:var(--lane-odd)}
.lane-label{fill:var(--text);font-weight:600;font-size:12px}
.lane-label.lane-special{fill:var(--muted);font-weight:500;font-style:italic}
.grid{stroke:var(--grid);stroke-width:1}
.axis-line{stroke:var(--axis);stroke-width:1}
.tick{fill:var(--muted);font-size:11px;font-variant-numeric:tabular-nums}
.axis-title{fill:var(--muted);font-size:11px}
.bar{fill:var(--c);stroke:var(--c);stroke-width:1}
.bar.s-failed{fill:url(#hatch-failed)}.bar.s-cancelled{fill:url(#hatch-cancelled)}
.bar.s-interrupted{fill:url(#hatch-interrupted)}
.bar.s-failed,.bar.s-cancelled,.bar.s-interrupted{stroke-width:1.5}
.bar.crit{stroke:var(--crit);stroke-width:3}
.bar.open{stroke-dasharray:4 3}
.hf{fill:var(--c)}.hb{fill:var(--c);fill-opacity:.5}
.bar-label{fill:var(--label);font-weight:600;font-size:11.5px;pointer-events:none;
paint-order:stroke;stroke:var(--halo);stroke-width:2.5px;stroke-linejoin:round}
.marker{fill:var(--c);stroke:var(--panel);stroke-width:1.5}
circle.marker{fill:var(--panel);stroke:var(--c);stroke-width:2}
.marker-slash{stroke:var(--skipped);stroke-width:1.6;pointer-events:none}
.marker.crit{stroke:var(--crit);stroke-width:3}
.marker-label{fill:var(--text);font-size:11.5px}
.crit-link{fill:none;stroke:var(--crit);stroke-width:1.6;stroke-dasharray:4 3}
.crit-arrow{fill:var(--crit)}
.now line{stroke:var(--running);stroke-width:1.5;stroke-dasharray:3 3}
.now text{fill:var(--running);font-size:11px;font-weight:600}
.item{cursor:default;outline:none;transition:opacity .12s}
.hl-on .item{opacity:.22}
.hl-on .item.hl,.hl-on .item.hl-need{opacity:1}
.item.hl .bar,.item.hl .marker{stroke:var(--text);stroke-width:2.5}
.item.hl-need .bar,.item.hl-need .marker{stroke:var(--text);stroke-width:2;stroke-dasharray:3 2}
.series{fill:none;stroke-width:2;stroke-linejoin:round;stroke-linecap:round}
.cpu-line{stroke:var(--cpu)}.mem-line{stroke:var(--mem)}
.running-line{stroke:var(--slots);stroke-width:1.6}
.running-area{fill:var(--slots-fill);stroke:none}
.limit-line{stroke:var(--slots);stroke-width:1.4;stroke-dasharray:5 4}
.tick.slots{fill:var(--slots)}
.hit{fill:transparent}.hit:hover{fill:var(--grid);fill-opacity:.45}
#tl-tip{position:fixed;z-index:10;pointer-events:none;max-width:380px;white-space:pre-line;
background:var(--tip-bg);color:var(--tip-text);font-size:12.5px;line-height:1.45;
padding:7px 10px;border-radius:7px;box-shadow:0 6px 20px rgba(0,0,0,.25);display:none}
#tl-tip:first-line{font-weight:700}
details{margin-top:4px}
summary{cursor:pointer;color:var(--muted);font-size:13px;font-weight:600;padding:4px 0}
table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0 8px}
th,td{text-align:left;padding:5px 10px;border-bottom:1px solid var(--border);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.hl td{background:var(--lane-odd)}
td .chip{border:0;padding:0;background:none}
.star{color:var(--crit);font-weight:700}
footer{color:var(--muted);font-size:12px;margin-top:14px}
@media (prefers-reduced-motion:reduce){.item{transition:none}}
"""

_JS = """(function () {
  "use strict";
  var doc = document, root = doc.documentElement;
  var tip = doc.getElementById("tl-tip");
  doc.querySelectorAll(".tip").forEach(function (el) {
    var t = el.querySelector(":scope > title");
    if (t) {
      el.setAttribute("data-tip", t.textContent);
      el.setAttribute("aria-label", t.textContent);
      t.remove();
    }
  });
  doc.querySelectorAll("time[data-epoch]").forEach(function (el) {
    var e = Number(el.getAttribute("data-epoch"));
    if (isFinite(e)) { el.textContent = new Date(e * 1000).toLocaleString(); }
  });
  function each(sel, fn) { doc.querySelectorAll(sel).forEach(fn); }
  function clearHl() {
    root.classList.remove("hl-on");
    each(".hl, .hl-need", function (el) { el.classList.remove("hl", "hl-need"); });
  }
  function setHl(el) {
    clearHl();
    if (!el) { return; }
    var t = el.getAttribute("data-t");
    var needs = (el.getAttribute("data-needs") || "").split(" ");
    root.classList.add("hl-on");
    each('[data-t="' + t + '"]', function (x) { x.classList.add("hl"); });
    needs.forEach(function (n) {
      if (/^[0-9]+$/.test(n)) {
        each('[data-t="' + n + '"]', function (x) { x.classList.add("hl-need"); });
      }
    });
  }
  function place(x, y) {
    var w = tip.offsetWidth, h = tip.offsetHeight;
    var left = Math.min(x + 14, window.innerWidth - w - 8);
    var top = y + 18 + h > window.innerHeight ? y - h - 12 : y + 18;
    tip.style.left = Math.max(4, left) + "px";
    tip.style.top = Math.max(4, top) + "px";
  }
  function show(el, x, y) {
    var text = el && el.getAttribute("data-tip");
    if (!text) { tip.style.display = "none"; return; }
    tip.textContent = text;
    tip.style.display = "block";
    place(x, y);
  }
  var current = null;
  function over(el, x, y) {
    var item = el && el.closest("[data-t]");
    if (item !== current) { setHl(item); current = item; }
    show(el && el.closest("[data-tip]"), x, y);
  }
  doc.addEventListener("pointermove", function (ev) {
    over(ev.target instanceof Element ? ev.target : null, ev.clientX, ev.clientY);
  });
  doc.addEventListener("pointerleave", function () { over(null, 0, 0); });
  doc.addEventListener("focusin", function (ev) {
    var el = ev.target instanceof Element ? ev.target : null;
    var r = el ? el.getBoundingClientRect() : null;
    over(el, r ? r.left : 0, r ? r.bottom : 0);
  });
  doc.addEventListener("focusout", function () { over(null, 0, 0); });
  root.setAttribute("data-js", "ready");
})();"""

_JS_HASH = base64.b64encode(hashlib.sha256(_JS.encode("utf-8")).digest()).decode("ascii")
_CSP = (
    "default-src 'none'; "
    f"script-src 'sha256-{_JS_HASH}'; "
    "style-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)


def _legend(tasks: list[_Task], crit: list[str]) -> str:
    attempt_states = {a.state for t in tasks for a in t.attempts}
    marker_states = {t.state for t in tasks if not t.attempts and t.resolved is not None}
    parts: list[str] = []
    for state in ("succeeded", "running", "failed", "cancelled", "interrupted", "queued"):
        if state not in attempt_states:
            continue
        if state in HATCHED_STATES:
            parts.append(f'<span><i class="sw hatch s-{state}"></i>{state} attempt</span>')
        else:
            parts.append(f'<span><i class="sw s-{state}"></i>{state}</span>')
    if any(a.number > 1 for t in tasks for a in t.attempts):
        parts.append("<span>“attempt N” = retry</span>")
    if "cached" in marker_states:
        parts.append('<span><i class="sw dia s-cached"></i>cached</span>')
    for state in sorted(marker_states - {"cached"}):
        parts.append(
            f'<span><i class="sw dot {_state_class(state)}"></i>{_e(state)} (no run)</span>'
        )
    if crit:
        parts.append('<span><i class="sw crit"></i>critical path</span>')
    return f'<div class="legend">{"".join(parts)}</div>' if parts else ""


def _task_table(tasks: list[_Task], clock: _Clock, crit: list[str]) -> str:
    crit_set = set(crit)
    index_of: dict[str, int] = {}
    for t in tasks:
        index_of.setdefault(t.name, t.index)
    rows: list[str] = []
    for t in tasks:
        starts = [a.start for a in t.attempts if a.start is not None]
        busy = _busy([t], clock.end)
        worktrees = sorted({a.worktree for a in t.attempts if a.worktree}, key=_natural_key)
        where = ", ".join(worktrees) or (t.isolation or "—")
        if t.attempts:
            start = f"+{_fmt_offset(min(starts) - clock.start, 0.1)}" if starts else "—"
            fin = t.finish
            end = f"+{_fmt_offset(fin - clock.start, 0.1)}" if fin is not None else "…"
        elif t.resolved is not None:
            start = "—"
            end = f"+{_fmt_offset(t.resolved - clock.start, 0.1)}"
        else:
            start = end = "—"
        star = (
            '<span class="star" title="on the critical path">★</span> '
            if t.name in crit_set
            else ""
        )
        needs = " ".join(str(index_of[n]) for n in t.needs if n in index_of)
        rows.append(
            f'<tr data-t="{t.index}" data-needs="{needs}"><td>{star}<code>{_e(t.name)}</code></td>'
            f'<td><span class="chip {_state_class(t.state)}"><i></i>{_e(t.state)}</span></td>'
            f'<td class="num">{len(t.attempts)}</td><td><code>{_e(where)}</code></td>'
            f'<td class="num">{start}</td><td class="num">{end}</td>'
            f'<td class="num">{_fmt_duration(busy) if t.attempts else "—"}</td>'
            f"<td>{_e(', '.join(t.needs)) or '—'}</td></tr>"
        )
    return (
        '<table><thead><tr><th>task</th><th>state</th><th class="num">attempts</th>'
        '<th>worktree</th><th class="num">start</th><th class="num">end</th>'
        '<th class="num">busy</th><th>needs</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )


def render_timeline(data: Mapping[str, Any]) -> str:
    """Render one run as a self-contained HTML document (see the module docstring)."""
    tasks = _parse_tasks(data.get("tasks"))
    samples = _parse_samples(data.get("samples"))
    clock = _clock(data, tasks, samples)
    # The chart's time axis also covers attempts that ended after "finished".
    ends = [a.end for t in tasks for a in t.attempts if a.end is not None]
    ends += [t.resolved for t in tasks if t.resolved is not None]
    scale = _Scale(clock.start, max([clock.end, *ends]))
    run_state = _text(data.get("state"), "running")
    workflow = _text(data.get("workflow"), "workflow")
    run_id = _text(data.get("run"), "")
    running = run_state == "running" or not clock.finished
    crit = critical_path(data.get("tasks") or []) if tasks else []
    busy = _busy(tasks, clock.end)
    wall = clock.wall
    ratio = busy / wall if wall > 0 else 0.0
    n_attempts = sum(len(t.attempts) for t in tasks)
    n_worktrees = len({a.worktree for t in tasks for a in t.attempts if a.worktree})
    retries = sum(1 for t in tasks for a in t.attempts if a.number > 1)

    counts: dict[str, int] = {}
    for t in tasks:
        counts[t.state] = counts.get(t.state, 0) + 1
    order = {s: i for i, s in enumerate(TASK_STATES)}
    chips = "".join(
        f'<span class="chip {_state_class(s)}"><i></i>{_e(s)} <b>{n}</b></span>'
        for s, n in sorted(counts.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))
    )

    by_name = {t.name: t for t in tasks}
    crit_time = 0.0
    if crit:
        last = by_name[crit[-1]].finish
        crit_time = (last - clock.start) if last is not None else 0.0

    when = (
        f'started <time datetime="{_e(_iso(clock.start))}" data-epoch="{clock.start!r}">'
        f"{_e(_fmt_epoch(clock.start))}</time>"
    )
    if clock.finished:
        when += f" · finished after {_e(_fmt_duration(wall))}"
    else:
        when += f" · in progress, last update after {_e(_fmt_duration(wall))}"

    wall_label = "Wall time" if clock.finished else "Wall time so far"
    stats = [
        (wall_label, _fmt_duration(wall),
         "finished − started" if clock.finished else "to last event"),
        ("Task time", _fmt_duration(busy), f"{n_attempts} attempt{'s' * (n_attempts != 1)}"
         + (f", {retries} retr{'ies' if retries != 1 else 'y'}" if retries else "")),
        ("Measured speed-up", f"{ratio:.2f}×" if wall > 0 else "—", "task time ÷ wall time"),
        ("Critical path", _fmt_duration(crit_time) if crit else "—",
         f"{len(crit)} task{'s' * (len(crit) != 1)}" if crit else "nothing finished yet"),
        ("Tasks", str(len(tasks)), f"{n_worktrees} worktree{'s' * (n_worktrees != 1)} used"),
    ]  # fmt: skip
    stats_html = "".join(
        f'<div class="stat"><div class="k">{_e(k)}</div><div class="v">{_e(v)}</div>'
        f'<div class="sub">{_e(sub)}</div></div>'
        for k, v, sub in stats
    )

    gantt = _gantt_svg(tasks, clock, scale, crit, running)
    if not tasks:
        gantt_html = '<p class="empty">This run has no tasks.</p>'
    elif not gantt:
        gantt_html = '<p class="empty">No task has started yet.</p>'
    else:
        gantt_html = gantt
    crit_html = ""
    if crit:
        crit_html = (
            '<p class="crit-list">Critical path: '
            + " → ".join(f"<b>{_e(n)}</b>" for n in crit)
            + "</p>"
        )

    resources = _resource_svg(samples, clock, scale)
    res_legend = (
        '<div class="legend"><span><i class="sw line cpu"></i>CPU %</span>'
        '<span><i class="sw line mem"></i>memory %</span>'
        '<span><i class="sw area"></i>tasks running</span>'
        '<span><i class="sw dash"></i>concurrency limit</span></div>'
    )
    res_html = resources or '<p class="empty">No resource samples were recorded for this run.</p>'

    title = (
        f"{workflow} · {run_id} — treelane timeline"
        if run_id
        else f"{workflow} — treelane timeline"
    )
    table_html = (
        f"<details{' open' if len(tasks) <= 60 else ''}><summary>All tasks ({len(tasks)})</summary>"
        f"{_task_table(tasks, clock, crit)}</details>"
        if tasks
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>{_e(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<header>
<div class="eyebrow">treelane · run timeline</div>
<h1>{_e(workflow)}</h1>
<span class="run-id mono">{_e(run_id)}</span>
<span class="badge {_state_class(run_state)}">{_e(run_state)}</span>
<span class="meta">{when}</span>
</header>
<section class="stats">{stats_html}</section>
<section class="panel">
<div class="panel-head"><h2>Tasks per worktree</h2><div class="states">{chips}</div></div>
{_legend(tasks, crit)}
{crit_html}
{gantt_html}
</section>
<section class="panel">
<div class="panel-head"><h2>Machine load</h2>{res_legend if resources else ""}</div>
{res_html}
</section>
{table_html}
<footer>Generated by treelane. Times are seconds since the run started;
hover a bar for details.</footer>
</main>
<div id="tl-tip" role="tooltip"></div>
<script>{_JS}</script>
</body>
</html>
"""
