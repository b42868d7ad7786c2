"""What the page computes from a run: the critical path and task time ÷ wall time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from treelane.report.model import _busy, _clock, _parse_samples, _parse_tasks, _Task


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
    """Task time ÷ wall time: sum of all attempt durations / wall time (0.0 if no wall time).

    How many tasks ran at once on average; the name is kept for compatibility.
    """
    tasks = _parse_tasks(data.get("tasks"))
    samples = _parse_samples(data.get("samples"))
    clock = _clock(data, tasks, samples)
    if clock.wall <= 0:
        return 0.0
    return _busy(tasks, clock.end) / clock.wall
