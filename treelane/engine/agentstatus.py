"""What status, events, the timeline and resume know about agent-workflow tasks.

The status fields of such tasks are read from the store by
:mod:`treelane.engine.agentqueries`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from treelane.engine import spawn
from treelane.engine.events import OK_STATES, TaskState
from treelane.engine.scheduler import RunRec, TaskRec
from treelane.engine.workflow import ConfigError
from treelane.errors import RequestFailed

if TYPE_CHECKING:
    from treelane.engine.host import EngineHost as Engine


def tag(run: RunRec | None, event: TaskState) -> TaskState:
    """Add the task's group and parent to an event about it."""
    t = run.tasks.get(event.task) if run is not None else None
    if t is None or not (t.spec.group or t.spec.parent):
        return event
    return event._replace(group=t.spec.group or None, parent=t.spec.parent or None)


def tags_of(run: RunRec) -> dict[str, dict[str, str]]:
    """The group and parent of every task of ``run`` that has one (for RunStarted)."""
    out: dict[str, dict[str, str]] = {}
    for name, t in run.tasks.items():
        tags = {"group": t.spec.group, "parent": t.spec.parent}
        tags = {k: v for k, v in tags.items() if v}
        if tags:
            out[name] = tags
    return out


def resume_added(engine: Engine, run_id: str, recs: dict[str, TaskRec]) -> list[str]:
    """Resume: restore candidates' scores and the tasks spawners added; requeued names."""
    rows = engine.store.query("SELECT * FROM tasks WHERE run = ? ORDER BY idx", (run_id,))
    by_name = {r["name"]: r for r in rows}
    for r in rows:
        rec = recs.get(r["name"])
        if rec is not None and r["score"] is not None:
            rec.score = r["score"]
        if rec is not None and r["spec"] and r["state"] in OK_STATES:
            try:
                spawn.rebuild(engine, recs, r["name"], r["spec"])
            except (ConfigError, spawn.SpawnError) as err:
                raise RequestFailed(
                    f"run {run_id} cannot be resumed: the tasks {r['name']} added are no "
                    f"longer valid with this treelane.toml: {err}"
                ) from err
    requeued = []
    for name, rec in recs.items():
        kid = by_name.get(name)
        if kid is None or not rec.spec.parent or rec.state != "queued" or rec.attempt:
            continue
        rec.attempt = kid["attempt"]
        rec.worktree, rec.exit_code = kid["worktree"], kid["exit_code"]
        rec.started, rec.finished = kid["started"], kid["finished"]
        rec.result, rec.score = kid["result_commit"], kid["score"]
        if kid["state"] in OK_STATES:
            rec.state = kid["state"]
        else:
            requeued.append(name)
    return requeued
