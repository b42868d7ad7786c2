"""Render a realistic sample run and screenshot its timeline with headless Chromium.

    python -m treelane.report.screenshot                  # writes docs/timeline.png
    python -m treelane.report.screenshot --out shot.png --html page.html --size 1280x900

`sample_run()` is also the fixture of the browser test: a diamond with a
retry, a cached and a skipped task, a task in the shared checkout and 20
resource samples.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from treelane.report.browser import screenshot
from treelane.report.timeline import render_timeline

T0 = 1700000000.123

# (name, state, needs, isolation, attempts as (worktree, start, end, state, exit_code), resolved)
_TASKS: list[tuple[str, str, list[str], str, list[tuple[str | None, float, float, str, int]]]] = [
    ("plan", "succeeded", [], "worktree", [("wt-1", 0.15, 1.9, "succeeded", 0)]),
    ("lint", "cached", ["plan"], "shared", []),
    ("fmt-check", "succeeded", ["plan"], "shared", [(None, 2.05, 3.1, "succeeded", 0)]),
    ("build", "succeeded", ["plan"], "worktree", [("wt-2", 2.05, 7.6, "succeeded", 0)]),
    (
        "test-unit",
        "succeeded",
        ["plan"],
        "worktree",
        [("wt-3", 2.1, 4.3, "failed", 1), ("wt-3", 4.45, 9.8, "succeeded", 0)],
    ),
    ("typecheck", "succeeded", ["plan"], "worktree", [("wt-1", 2.1, 5.4, "succeeded", 0)]),
    ("e2e", "succeeded", ["build"], "worktree", [("wt-4", 7.7, 11.6, "succeeded", 0)]),
    ("docs", "skipped", ["build"], "worktree", []),
    (
        "integrate",
        "succeeded",
        ["build", "test-unit", "typecheck"],
        "worktree",
        [("wt-2", 9.9, 13.2, "succeeded", 0)],
    ),
    (
        "merge",
        "succeeded",
        ["integrate", "e2e"],
        "worktree",
        [("wt-1", 13.3, 14.1, "succeeded", 0)],
    ),
]
_RESOLVED = {"lint": 2.0, "docs": 7.65}
_FINISHED = 14.3


def sample_run(samples: int = 20) -> dict[str, Any]:
    """A realistic finished run of a "feature" workflow (times relative to T0)."""
    tasks: list[dict[str, Any]] = []
    for name, state, needs, isolation, attempts in _TASKS:
        task: dict[str, Any] = {
            "name": name,
            "state": state,
            "needs": list(needs),
            "isolation": isolation,
            "attempts": [
                {
                    "attempt": n,
                    "worktree": wt,
                    "start": T0 + start,
                    "end": T0 + end,
                    "state": a_state,
                    "exit_code": code,
                }
                for n, (wt, start, end, a_state, code) in enumerate(attempts, start=1)
            ],
        }
        if name in _RESOLVED:
            task["resolved"] = T0 + _RESOLVED[name]
        tasks.append(task)

    rows: list[dict[str, Any]] = []
    for i in range(samples):
        offset = 0.35 + i * (_FINISHED - 0.5) / max(1, samples - 1)
        running = sum(
            1
            for _, _, _, _, attempts in _TASKS
            for _, start, end, _, _ in attempts
            if start <= offset < end
        )
        wobble = ((i * 37) % 11) - 5  # deterministic jitter
        rows.append(
            {
                "time": T0 + offset,
                "cpu_percent": float(min(98, 9 + running * 21 + wobble)),
                "memory_percent": round(31.0 + running * 5.5 + wobble * 0.4, 1),
                "memory_available_mb": round(16000 * (1 - (31.0 + running * 5.5) / 100), 0),
                "running": running,
                "limit": 4,
            }
        )
    return {
        "run": "r7f3a9c",
        "workflow": "feature",
        "state": "succeeded",
        "started": T0,
        "finished": T0 + _FINISHED,
        "tasks": tasks,
        "samples": rows,
    }


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = text.lower().split("x")
        return int(w), int(h)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must look like 1280x900, got {text!r}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--out", default="docs/timeline.png", help="PNG to write")
    parser.add_argument("--html", default=None, help="also keep the rendered HTML here")
    parser.add_argument("--size", type=_size, default=(1280, 900), help="WIDTHxHEIGHT")
    args = parser.parse_args(argv)

    page = render_timeline(sample_run())
    with tempfile.TemporaryDirectory(prefix="treelane-shot-") as tmp:
        html_path = Path(args.html) if args.html else Path(tmp) / "timeline.html"
        html_path.write_text(page, encoding="utf-8")
        screenshot(html_path, args.out, args.size)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
