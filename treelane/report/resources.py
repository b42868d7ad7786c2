"""The machine-load chart as inline SVG: CPU, memory, tasks running and the limit."""

from __future__ import annotations

import math

from treelane.report.fmt import _e, _f, _fmt_offset
from treelane.report.gantt import _x_axis
from treelane.report.layout import AXIS_H, PLOT_X0, PLOT_X1, VIEW_W, _Scale
from treelane.report.model import _Clock, _Sample

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
