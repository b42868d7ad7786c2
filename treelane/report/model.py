"""Run data as the page reads it: normalised tasks, attempts, samples and the run's clock."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from treelane.engine.events import TASK_STATES

NO_WORKTREE_LANE = "no worktree"
SHARED_LANE = "shared checkout"


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
