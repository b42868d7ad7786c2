"""One attempt of one task: the unit of work that can cross a wire.

An :class:`AttemptSpec` (command, environment, time-out, the attempt's names and the
input commit) goes in; an :class:`AttemptResult` (exit code, the result tree when the
command succeeded, the output lines, timings, where it ran) comes out. Both are
immutable and picklable.

:func:`execute` runs a spec in a worktree that is already at the input commit. It knows
nothing of the engine, the store or events: it gets an :class:`AttemptIO` (emit a line,
a process started, a cancel token). The local path (``taskrun``) calls it in a worktree
from the local pool; a remote backend (``treelane.engine.dask``) calls it on a worker in
that worker's own pool.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple, Protocol

from treelane.engine import snapshot
from treelane.engine.executor import CancelToken, Executor, Job


class AttemptSpec(NamedTuple):
    run: str
    task: str
    attempt: int
    command: str
    env: tuple[tuple[str, str], ...]  # the task's own variables (TREELANE_* added by the runner)
    timeout: float | None
    input_commit: str
    input_tree: str
    message: str  # the result commit's message
    setup: str = ""  # run once in a new worktree (the pool's ``setup``)
    resources: tuple[tuple[str, float], ...] = ()  # e.g. (("gpu", 1.0),)

    def env_dict(self) -> dict[str, str]:
        return dict(self.env)


class AttemptResult(NamedTuple):
    exit_code: int | None  # None when the command never started
    cancelled: bool
    timed_out: bool
    error: str | None  # why it failed (None when it succeeded)
    tree: str | None  # every file of the worktree after a successful command
    lines: tuple[str, ...]
    started: float
    finished: float
    where: str = "local"  # "local" or the worker's address
    worktree: str = ""  # the worktree's id where it ran

    @property
    def ok(self) -> bool:
        return self.error is None and not self.cancelled and self.exit_code == 0


class AttemptIO(Protocol):
    """All an attempt runner may touch outside its worktree."""

    @property
    def cancel(self) -> CancelToken: ...
    def line(self, text: str) -> None: ...
    def started(self, pid: int) -> None: ...


class Backend(Protocol):
    """Where attempts run: ``local`` (this process's pool) or a cluster."""

    @property
    def name(self) -> str: ...
    def close(self) -> None: ...


class LocalBackend:
    """Attempts run here, in the engine's own worktree pool (see ``taskrun``)."""

    name = "local"

    def close(self) -> None:
        return None


def attempt_env(spec: AttemptSpec, worktree: Path) -> dict[str, str]:
    return {
        **spec.env_dict(),
        "TREELANE_RUN": spec.run,
        "TREELANE_TASK": spec.task,
        "TREELANE_WORKTREE": str(worktree),
        "TREELANE_ATTEMPT": str(spec.attempt),
    }


def execute(
    spec: AttemptSpec,
    worktree: Path,
    executor: Executor,
    io: AttemptIO,
    env: Mapping[str, str] | None = None,
    *,
    snapshot_tree: bool = True,
    where: str = "local",
    worktree_id: str = "",
) -> AttemptResult:
    """Run ``spec`` in ``worktree`` (already at the input commit); the result tree on success.

    ``env`` defaults to :func:`attempt_env`; ``snapshot_tree=False`` for tasks that must not
    change files (``isolation = "shared"``).
    """
    lines: list[str] = []

    def line(text: str) -> None:
        lines.append(text)
        io.line(text)

    started = time.time()
    outcome = executor.execute(
        Job(
            spec.command,
            worktree,
            env if env is not None else attempt_env(spec, worktree),
            spec.timeout,
        ),
        line,
        io.cancel,
        on_start=io.started,
    )
    error: str | None = None
    if outcome.cancelled:
        error = "cancelled"
    elif outcome.error or outcome.exit_code != 0:
        error = outcome.error or f"exit code {outcome.exit_code}"
    tree = snapshot.files_tree(worktree) if error is None and snapshot_tree else None
    return AttemptResult(
        outcome.exit_code,
        outcome.cancelled,
        outcome.timed_out,
        error,
        tree,
        tuple(lines),
        started,
        time.time(),
        where,
        worktree_id,
    )
