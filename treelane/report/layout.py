"""Where each attempt and marker of the Gantt chart goes: lanes, rows and the time scale."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from treelane.report.fmt import _CHAR_W, _natural_key
from treelane.report.model import NO_WORKTREE_LANE, SHARED_LANE, _Attempt, _Task

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
    label: str = ""  # what the lane shows ("" : its name)
    header: bool = False  # a Dask worker's heading above its worktrees' lanes (no bars)


SCHEMES = ("tcp://", "tls://", "ucx://", "inproc://")


def _worker_split(name: str) -> tuple[str, str] | None:
    """(worker address, worktree id) of a lane that ran on a Dask worker, else None."""
    if not name.startswith(SCHEMES):
        return None
    worker, _, wid = name.rpartition("/")
    if "://" not in worker or worker.endswith(":/"):
        return name, ""
    return worker, wid


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


def _lane_order(name: str) -> tuple[int, tuple[tuple[int, int | str], ...], tuple[Any, ...]]:
    """This machine's worktrees, then each Dask worker's (by address, then worktree id),
    then the shared checkout and the attempts without a worktree."""
    if name == SHARED_LANE:
        return (2, (), ())
    if name == NO_WORKTREE_LANE:
        return (3, (), ())
    on = _worker_split(name)
    if on is not None:
        return (1, _natural_key(on[0]), _natural_key(on[1]))
    return (0, _natural_key(name), ())


def _with_worker_headers(ordered: list[_Lane]) -> list[_Lane]:
    """A heading lane above each worker's lanes (its address); theirs show the worktree id."""
    out: list[_Lane] = []
    current: str | None = None
    for lane in ordered:
        on = _worker_split(lane.name)
        if on is not None:
            worker, wid = on
            if worker != current:
                out.append(_Lane(worker, label=worker.split("://", 1)[1], header=True))
                current = worker
            lane.label = wid or worker
        out.append(lane)
    return out


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
    ordered = _with_worker_headers(sorted(lanes.values(), key=lambda ln: _lane_order(ln.name)))
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
