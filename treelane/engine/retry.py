"""Retries that fit rate-limited agents: which failures to retry, and how long to wait.

``retry_on`` lists substrings (case-insensitive) of a failed attempt's output or
error; with it, only matching failures are retried. ``retry_delay`` is the wait
before the first retry, doubling each attempt, with +-25% jitter, capped by
``retry_delay_max`` (default 300 s). While it waits the task is ``queued`` and
holds no slot (see ``Scheduler.retry_later``).
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from treelane.engine.workflow import Task

DEFAULT_DELAY_MAX = 300.0
JITTER = 0.25


def matches(task: Task, lines: Iterable[str], error: str | None) -> str | None:
    """The ``retry_on`` entry the failed attempt matched; None if none did.

    A task without ``retry_on`` retries every failure (the entry is then "").
    """
    if not task.retry_on:
        return ""
    needles = [(entry, entry.lower()) for entry in task.retry_on]
    for text in [*([error] if error else []), *lines]:
        low = text.lower()
        for entry, needle in needles:
            if needle in low:
                return entry
    return None


def delay(task: Task, attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based); 0 without a delay."""
    if not task.retry_delay:
        return 0.0
    cap = task.retry_delay_max if task.retry_delay_max is not None else DEFAULT_DELAY_MAX
    base = task.retry_delay * 2 ** max(0, attempt - 1)
    jitter = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return float(min(cap, base * jitter))
