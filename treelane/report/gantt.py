"""The Gantt chart as inline SVG: task attempts per worktree lane over time."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from treelane.report.fmt import _CHAR_W, _e, _f, _fit, _fmt_duration, _fmt_offset, _tick_step
from treelane.report.layout import (
    AXIS_H,
    BAR_H,
    GANTT_TOP,
    LANE_H,
    PLOT_X0,
    PLOT_X1,
    VIEW_W,
    _Item,
    _Lane,
    _layout,
    _Scale,
)
from treelane.report.model import (
    NO_WORKTREE_LANE,
    SHARED_LANE,
    _Attempt,
    _Clock,
    _state_class,
    _Task,
)


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
        if lane.header:
            special = " lane-worker"
        out.append(
            f'<rect class="lane-bg{" odd" if n % 2 else ""}{" worker" if lane.header else ""}" '
            f'x="0" y="{_f(lane.y)}" width="{_f(VIEW_W)}" height="{_f(h)}"/>'
        )
        if lane.header:  # a worker's heading: its address from the left edge, over the plot
            out.append(
                f'<text class="lane-label{special}" x="8" y="{_f(lane.y + LANE_H / 2 + 4)}">'
                f"<title>{_e(lane.name)}</title>{_e('worker ' + (lane.label or lane.name))}</text>"
            )
            continue
        label = _fit(lane.label or lane.name, PLOT_X0 - 18) or "…"
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
    unlabelled: list[tuple[_Task, _Attempt, str]] = []
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
                else:  # too short: the name beside the bar if it fits there, else below
                    beside = _label_beside(task, a, item, lane)
                    if beside is not None:
                        bars.append(
                            f'<text class="bar-label-out" x="{_f(item.x1 + 4)}" '
                            f'y="{_f(ymid + 4)}">{_e(beside)}</text>'
                        )
                    else:
                        unlabelled.append((task, a, lane.name))
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
    return "\n".join(out) + _unlabelled_note(unlabelled, clock)


def _label_beside(task: _Task, a: _Attempt, item: _Item, lane: _Lane) -> str | None:
    """The label of a bar too short for one, if it fits in the free space to its right."""
    later = [i.x0 for i in lane.items if i.row == item.row and i.x0 >= item.x0 and i is not item]
    room = min([*later, PLOT_X1 + 40]) - item.x1 - 8
    name = f"{task.name} #{a.number}" if len(task.attempts) > 1 else task.name
    return name if len(name) * _CHAR_W <= room else None


def _unlabelled_note(unlabelled: list[tuple[_Task, _Attempt, str]], clock: _Clock) -> str:
    """Below the chart: the bars that have no label, so no one must hover each one."""
    if not unlabelled:
        return ""
    items = []
    for task, a, lane in unlabelled:
        at = f"+{_fmt_offset(a.start - clock.start, 0.1)}" if a.start is not None else ""
        attempt = f" #{a.number}" if len(task.attempts) > 1 else ""
        items.append(f"<span><code>{_e(task.name)}{attempt}</code> {_e(lane)} {at}</span>")
    return '\n<p class="short-bars">Short bars: ' + " · ".join(items) + "</p>"
