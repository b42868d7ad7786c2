"""How a run ends: its result (the merge of its final tasks) and, if it failed, why.

The reason is one line for people (``runFinished``, ``status``, the report, the CLI);
``conflicts`` name the pairs of inputs that conflict, for tools.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from treelane.engine import conflicts, resolve
from treelane.engine.conflicts import InputConflict
from treelane.engine.scheduler import run_sinks

if TYPE_CHECKING:
    from treelane.engine.host import EngineHost as Engine
    from treelane.engine.scheduler import RunRec


class Outcome(NamedTuple):
    state: str
    result: str | None
    reason: str | None
    conflicts: list[InputConflict]


def finish(engine: Engine, run: RunRec, state: str) -> Outcome:
    if state == "succeeded":
        return _result(engine, run)
    if state == "cancelled":
        return Outcome(state, None, "cancelled", [])
    if state != "failed":
        return Outcome(state, None, None, [])
    failed = [t for t in run.tasks.values() if t.state == "failed"]
    found = [c for t in failed for c in t.conflicts]
    parts = [f"{t.spec.name} failed" + (f": {t.error}" if t.error else "") for t in failed]
    reason = ("task " if len(parts) == 1 else "tasks ") + "; ".join(parts) if parts else None
    return Outcome(state, None, reason, found)


def _result(engine: Engine, run: RunRec) -> Outcome:
    named: list[tuple[str, str]] = []
    for n in run_sinks(run):  # spawned tasks included; a pick node shares its winner's result
        r = run.tasks[n].result
        if r and all(r != c for _, c in named):
            named.append((n, r))
    commits = [c for _, c in named]
    message = f"treelane: result of run {run.id}\n"
    repo = engine.ws.root
    start = resolve.lookup(engine, run.id, resolve.RESULT, commits)
    result, found = conflicts.merge_named(repo, named, message, start)
    why = ""
    if result is None and run.workflow.resolve:
        why = resolve.auto(engine, run.id, None, run.workflow.resolve, None)
        if not why:
            start = resolve.lookup(engine, run.id, resolve.RESULT, commits)
            result, found = conflicts.merge_named(repo, named, message, start)
    if result is None:
        reason = conflicts.describe(found, "final tasks") + (f" ({why})" if why else "")
        return Outcome("failed", None, reason, found)
    return Outcome("succeeded", result, None, [])
