"""What status, events, the timeline and resume know about agent-workflow tasks.

Status entries of tasks gain (only when they apply): ``group`` (a matrix
expansion or candidate: the task it expands), ``kind`` ("pick" for the node that
picks among candidates), ``parent`` (a task added at run time: its spawner),
``score`` (a candidate), ``picked`` and ``candidates`` (a pick node), ``reason`` and
``retry_in_ms`` (queued, waiting to retry) and ``checkpoints`` (taken while it ran).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from treelane.engine import spawn
from treelane.engine.candidates import CANDIDATE_REFS
from treelane.engine.events import OK_STATES, TaskState
from treelane.engine.scheduler import RunRec, TaskRec
from treelane.engine.workflow import ConfigError
from treelane.engine.workflow.expand import ref_part
from treelane.errors import RequestFailed

if TYPE_CHECKING:
    from treelane.engine.core import Engine


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


def task_extras(engine: Engine, run_id: str) -> Callable[[dict[str, Any], float], dict[str, Any]]:
    """A function giving the extra status fields of one task row of ``run_id``."""
    cps: dict[str, list[dict[str, Any]]] = {}
    for c in engine.store.query(
        "SELECT tc.task, tc.checkpoint, tc.worktree, tc.created, c.commit_sha "
        "FROM task_checkpoints tc JOIN checkpoints c ON c.id = tc.checkpoint "
        "WHERE tc.run = ? ORDER BY tc.created",
        (run_id,),
    ):
        cps.setdefault(c["task"], []).append(
            {
                "id": c["checkpoint"],
                "worktree": c["worktree"],
                "commit": c["commit_sha"],
                "created": c["created"],
            }
        )
    rows = engine.store.query(
        "SELECT name, grp, state, score, result_commit FROM tasks "
        "WHERE run = ? AND grp IS NOT NULL ORDER BY idx",
        (run_id,),
    )
    members: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        members.setdefault(r["grp"], []).append(r)

    def extras(t: dict[str, Any], now: float) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if t["grp"]:
            out["group"] = t["grp"]
        if t["kind"] and t["kind"] != "run":
            out["kind"] = t["kind"]
        if t["parent"]:
            out["parent"] = t["parent"]
        if t["score"] is not None:
            out["score"] = t["score"]
        if t["kind"] == "pick":
            out["picked"] = t["picked"]
            out["candidates"] = [
                {
                    "task": m["name"],
                    "state": m["state"],
                    "score": m["score"],
                    "result": m["result_commit"],
                    "ref": f"{CANDIDATE_REFS}/{run_id}/{ref_part(t['name'])}/{i}"
                    if m["state"] in OK_STATES and t["picked"]
                    else None,
                }
                for i, m in enumerate(members.get(t["name"], []), 1)
            ]
        if t["state"] == "queued" and t["retry_at"]:
            out["reason"] = t["reason"]
            out["retry_in_ms"] = max(0, int((t["retry_at"] - now) * 1000))
        if t["name"] in cps:
            out["checkpoints"] = cps[t["name"]]
        return out

    return extras


def report_tasks(
    engine: Engine, row: dict[str, Any], wf: dict[str, Any], attempts: dict[str, list[Any]]
) -> list[dict[str, Any]]:
    """The timeline's tasks: expansions and spawned tasks with their real needs."""
    try:
        needs = {
            t.name: (list(t.needs), t.isolation)
            for t in engine.parse_workflow(row["workflow"], wf).tasks
        }
    except Exception:
        needs = {}
    out = []
    for t in engine.store.query("SELECT * FROM tasks WHERE run = ? ORDER BY idx", (row["id"],)):
        task_needs, isolation = needs.get(
            t["name"], ([t["parent"]] if t["parent"] else [], "worktree")
        )
        entry: dict[str, Any] = {
            "name": t["name"],
            "state": t["state"],
            "needs": task_needs,
            "isolation": isolation,
            "attempts": attempts.get(t["name"], []),
            "resolved": t["finished"],
        }
        if t["grp"]:
            entry["group"] = t["grp"]
        if t["parent"]:
            entry["parent"] = t["parent"]
        out.append(entry)
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
