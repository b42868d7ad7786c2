"""Formatting helpers of the timeline page: escaping, numbers, durations, times, ticks."""

from __future__ import annotations

import html
import math
import re
from datetime import datetime, timezone


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
