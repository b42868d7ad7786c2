"""Critical path first: which ready task the scheduler starts when slots are short.

Each task is weighted by the median of its past durations (the same workflow and
task, the last :data:`HISTORY_RUNS` runs that ran it to success); a task with no
history weighs the median of the others' weights, or 1 s when none has any. A
task's priority is its remaining path: its weight plus the largest priority among
its dependents, computed once per run in O(tasks + edges).

:class:`ReadyQueue` holds a run's ready tasks in a heap on (-priority, arrival):
the longest remaining path first, ties in arrival order (which is the whole order
when ``schedule = "fifo"`` or no priorities are set). Taking a task is O(log n);
removal is lazy (a removed entry is dropped when it reaches the top).
"""

from __future__ import annotations

import heapq
import itertools
import statistics
from collections.abc import Callable, Iterator, Mapping

from treelane.engine.workflow import Workflow, topological_order
from treelane.storage.db import Store

HISTORY_RUNS = 20
UNKNOWN_S = 1.0


def past_durations(store: Store, workflow: str) -> dict[str, list[float]]:
    """Durations (s) of the tasks of ``workflow`` that ran to success, per task name."""
    rows = store.tuples(  # up to HISTORY_RUNS x tasks rows: tuples, not dicts
        "SELECT name, duration_ms FROM tasks WHERE state = 'succeeded' "
        "AND duration_ms IS NOT NULL AND run IN "
        "(SELECT id FROM runs WHERE workflow = ? ORDER BY started DESC LIMIT ?)",
        (workflow, HISTORY_RUNS),
    )
    out: dict[str, list[float]] = {}
    for name, ms in rows:
        out.setdefault(name, []).append(ms / 1000)
    return out


def weights(wf: Workflow, history: Mapping[str, list[float]]) -> dict[str, float]:
    """Median past duration per task; unknown ones get the median of the known, or 1."""
    known = {t.name: statistics.median(history[t.name]) for t in wf.tasks if history.get(t.name)}
    default = statistics.median(known.values()) if known else UNKNOWN_S
    return {t.name: known.get(t.name, default) for t in wf.tasks}


def remaining_paths(wf: Workflow, weight: Mapping[str, float]) -> dict[str, float]:
    """Per task: the longest weighted path from its start to the end of the run."""
    dependents: dict[str, list[str]] = {t.name: [] for t in wf.tasks}
    for t in wf.tasks:
        for need in t.needs:
            dependents[need].append(t.name)
    rest: dict[str, float] = {}
    for name in reversed(topological_order(wf)):
        after = max((rest[d] for d in dependents[name]), default=0.0)
        rest[name] = weight[name] + after
    return rest


def priorities(store: Store, wf: Workflow) -> dict[str, float]:
    """The remaining path of every task of ``wf``, weighted by its history in the store."""
    return remaining_paths(wf, weights(wf, past_durations(store, wf.name)))


class ReadyQueue:
    """A run's ready tasks, longest remaining path first (the deque interface it replaces:
    ``append``, ``remove``, ``in``, ``len``, truth, iteration in no particular order)."""

    def __init__(self, priority: Mapping[str, float] | None = None) -> None:
        self.priority: Mapping[str, float] = priority or {}
        self._heap: list[tuple[float, int, str]] = []
        self._live: dict[str, int] = {}  # name -> arrival of its live entry
        self._arrival = itertools.count()

    def append(self, name: str) -> None:
        n = next(self._arrival)
        self._live[name] = n
        heapq.heappush(self._heap, (-self.priority.get(name, 0.0), n, name))

    def remove(self, name: str) -> None:
        del self._live[name]  # (its heap entry is dropped when it surfaces)

    def __contains__(self, name: object) -> bool:
        return name in self._live

    def __len__(self) -> int:
        return len(self._live)

    def __bool__(self) -> bool:
        return bool(self._live)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._live))

    def take(self, allowed: Callable[[str], bool] = lambda _n: True) -> str | None:
        """Remove and return the first task by priority that ``allowed`` accepts."""
        skipped: list[tuple[float, int, str]] = []
        found = None
        while self._heap:
            entry = heapq.heappop(self._heap)
            _, n, name = entry
            if self._live.get(name) != n:
                continue  # removed (or re-added later: that entry counts)
            if allowed(name):
                del self._live[name]
                found = name
                break
            skipped.append(entry)
        for entry in skipped:
            heapq.heappush(self._heap, entry)
        return found
