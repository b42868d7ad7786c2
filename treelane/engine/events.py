"""What the engine tells its listeners (the LSP server, the CLI, tests).

Listeners are called from engine threads and must return quickly (the server
hands each event to its own event loop).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from treelane.engine.states import FINAL_STATES as FINAL_STATES
from treelane.engine.states import OK_STATES as OK_STATES

TASK_STATES = (
    "queued",
    "running",
    "succeeded",
    "failed",
    "cached",
    "skipped",
    "cancelled",
    "interrupted",
)
RUN_STATES = ("running", "succeeded", "failed", "cancelled", "interrupted")


class TaskState(NamedTuple):
    run: str
    task: str
    state: str
    attempt: int
    worktree: str | None
    exit_code: int | None
    duration_ms: int | None
    error: str | None = None
    group: str | None = None  # a matrix expansion or candidate: the task it expands
    parent: str | None = None  # a task added at run time: the task that spawned it

    def to_dict(self) -> dict[str, Any]:
        d = self._asdict()
        for key in ("error", "group", "parent"):
            if d[key] is None:
                del d[key]
        return d


class Output(NamedTuple):
    run: str
    task: str
    lines: list[str]

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


class Resources(NamedTuple):
    sample: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return self.sample


class RunStarted(NamedTuple):
    run: str
    workflow: str
    tasks: list[str]
    kept: dict[str, str] | None = None  # a resumed run's tasks that keep their state
    tags: dict[str, dict[str, str]] | None = None  # task -> {"group"?, "parent"?}

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run, "workflow": self.workflow, "tasks": self.tasks}


class RunFinished(NamedTuple):
    run: str
    workflow: str
    state: str
    duration_ms: int
    counts: dict[str, int]
    failed: list[str]
    reason: str | None = None  # one line: why the run failed or was cancelled
    conflicts: list[dict[str, Any]] | None = None  # [{"path", "kind", "tasks": [a, b]}]

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


class Notice(NamedTuple):
    level: str  # info | warning | error
    message: str
    run: str | None = None
    code: str | None = None  # what it is about, for clients: "uncommitted", "run-failed", ...

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


Event = TaskState | Output | Resources | RunStarted | RunFinished | Notice
Listener = Callable[[Event], None]
