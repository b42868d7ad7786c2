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
    Sum of attempt durations divided by the run's wall time (task time ÷ wall time).

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
  the last event time); the page shows busy time ÷ wall time (how many tasks ran
  at once on average; not a comparison with a sequential run).
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

from collections.abc import Mapping
from typing import Any

from treelane.engine.events import RUN_STATES, TASK_STATES
from treelane.report.analysis import critical_path, speedup
from treelane.report.assets import _CSP, _CSS, _JS
from treelane.report.fmt import _e, _fmt_duration, _fmt_epoch, _fmt_offset, _iso, _natural_key
from treelane.report.gantt import HATCHED_STATES, _gantt_svg
from treelane.report.layout import _Scale
from treelane.report.model import (
    _busy,
    _Clock,
    _clock,
    _parse_samples,
    _parse_tasks,
    _state_class,
    _Task,
    _text,
)
from treelane.report.resources import _resource_svg

__all__ = [
    "RUN_STATES",
    "TASK_STATES",
    "critical_path",
    "render_timeline",
    "speedup",
]


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
        where = (", ".join(worktrees) or t.isolation or "—") if t.attempts else "—"
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


def _reason(data: Mapping[str, Any]) -> str:
    """Why the run failed (one line), and which inputs conflict in which file."""
    reason = data.get("reason")
    if not isinstance(reason, str) or not reason:
        return ""
    items = "".join(
        f'<li><span class="mono">{_e(str(c.get("path", "")))}</span> '
        f"({_e(str(c.get('kind', '')))}): "
        f"{_e(' and '.join(str(t) for t in c.get('tasks', [])))}</li>"
        for c in data.get("conflicts") or []
        if isinstance(c, Mapping)
    )
    listed = f"<ul>{items}</ul>" if items else ""
    return f'<section class="panel reason"><p>{_e(reason)}</p>{listed}</section>\n'


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
        ("Task time ÷ wall time", f"{ratio:.2f}×" if wall > 0 else "—",
         "tasks at once, on average"),
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
{_reason(data)}<section class="stats">{stats_html}</section>
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
