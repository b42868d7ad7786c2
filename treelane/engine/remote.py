"""Attempts on another machine: which tasks go, and how one is handed to the backend.

The backend (``treelane.engine.dask``) takes an :class:`~treelane.engine.attempt.AttemptSpec`
and the repository, runs the attempt on a worker and, on success, leaves the result's
objects in the repository (fetched from the worker's bundle) before it returns.
Cache hits never get here (``taskrun`` answers them first); named limits and
``max_parallel`` are the scheduler's, here on the coordinator.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable

from treelane.engine import taskfiles
from treelane.engine.attempt import AttemptResult, AttemptSpec, LocalBackend
from treelane.engine.executor import CancelToken
from treelane.engine.scheduler import RunRec, TaskRec

if TYPE_CHECKING:
    from treelane.engine.host import EngineHost


@runtime_checkable
class RemoteBackend(Protocol):
    @property
    def name(self) -> str: ...
    def run(self, repo: Path, spec: AttemptSpec, io: RemoteIO) -> AttemptResult: ...
    def close(self) -> None: ...


class RemoteIO(NamedTuple):
    cancel: CancelToken
    on_line: Callable[[str], None]
    on_worker: Callable[[str, str], None]  # (worker address, worktree id): it started there

    def line(self, text: str) -> None:
        self.on_line(text)

    def started(self, pid: int) -> None:  # a remote pid means nothing here
        return None


class _Where(NamedTuple):
    id: str  # shown where a worktree id is: the worker's address and its worktree


def why_local(run: RunRec, t: TaskRec) -> str | None:
    """Why task ``t`` must run here even with a cluster (None: it may go)."""
    spec = t.spec
    if spec.isolation != "worktree":
        return "shared isolation"
    if spec.kind != "run" or spec.is_candidate:
        return "candidates are scored here"
    if spec.checkpoint_every is not None:
        return "periodic checkpoints"
    if taskfiles.passes_outputs(run):
        return "the workflow passes outputs between tasks"
    return None


def takes(engine: EngineHost, run: RunRec, t: TaskRec) -> bool:
    backend = engine.backend
    # A runtime Protocol check costs ~0.1 ms: the common local case is answered first.
    if isinstance(backend, LocalBackend) or t.spec.isolation != "worktree":
        return False
    if not isinstance(backend, RemoteBackend):
        return False
    if engine.settings.checkpoint_every is not None:
        return False
    return why_local(run, t) is None


def attempt(
    engine: EngineHost,
    run: RunRec,
    t: TaskRec,
    spec: AttemptSpec,
    on_line: Callable[[str], None],
) -> AttemptResult:
    backend = engine.backend
    assert isinstance(backend, RemoteBackend)

    def on_worker(address: str, worktree: str) -> None:
        where = f"{address}/{worktree}"
        with engine.store.write():  # status shows the worker while the attempt runs
            engine.store.execute(
                "UPDATE attempts SET worktree = ? WHERE run = ? AND task = ? AND attempt = ?",
                (where, run.id, t.spec.name, t.attempt),
            )
            engine.store.execute(
                "UPDATE tasks SET worktree = ? WHERE run = ? AND name = ?",
                (where, run.id, t.spec.name),
            )
        engine.running_in(run, t, _Where(where))

    return backend.run(engine.ws.root, spec, RemoteIO(t.cancel, on_line, on_worker))
