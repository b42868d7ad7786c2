"""Store queries about agent-workflow tasks, for status and the timeline.

Status entries of tasks gain (only when they apply): ``group`` (a matrix
expansion or candidate: the task it expands), ``kind`` ("pick" for the node that
picks among candidates), ``parent`` (a task added at run time: its spawner),
``score`` (a candidate), ``picked`` and ``candidates`` (a pick node), ``reason`` and
``retry_in_ms`` (queued, waiting to retry) and ``checkpoints`` (taken while it ran).
Only the store is read, so the read-only CLI can answer without an engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from treelane.engine.states import OK_STATES

if TYPE_CHECKING:
    from treelane.engine.queries import Reader

CANDIDATE_REFS = "refs/treelane/candidates"


class Extras:
    """The extra status fields of the task rows of one run: ``extras(row, now)``."""

    def __init__(self, fields: Callable[[dict[str, Any], float], dict[str, Any]], cps: set[str]):
        self._fields = fields
        self._cps = cps

    def __call__(self, t: dict[str, Any], now: float) -> dict[str, Any]:
        return self._fields(t, now)

    def has_checkpoints(self, task: str) -> bool:
        return task in self._cps


def task_extras(db: Reader, run_id: str) -> Extras:
    """The extra status fields of the task rows of ``run_id``."""
    cps: dict[str, list[dict[str, Any]]] = {}
    for c in db.query(
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
    rows = db.query(
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
            from treelane.engine.workflow.expand import ref_part

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

    return Extras(extras, set(cps))


_EXPANDING = ("matrix", "candidates")  # keys that make tasks the stored definition names not


def _plain_needs(specs: Any) -> dict[str, tuple[list[str], str]] | None:
    """Each task's needs and isolation as the run's stored definition spells them, when no
    task expands into others (None: the parser must expand them; a definition is stored
    as the parser wrote it, with ``needs`` and ``isolation`` of every task)."""
    if not isinstance(specs, dict):
        return {}
    out: dict[str, tuple[list[str], str]] = {}
    for name, spec in specs.items():
        if not isinstance(spec, dict) or any(k in spec for k in _EXPANDING):
            return None
        needs, isolation = spec.get("needs", []), spec.get("isolation", "worktree")
        if not isinstance(needs, list) or not isinstance(isolation, str):
            return None
        out[name] = ([str(n) for n in needs], isolation)
    return out


def report_tasks(
    db: Reader, row: dict[str, Any], wf: dict[str, Any], attempts: dict[str, list[Any]]
) -> list[dict[str, Any]]:
    """The timeline's tasks: expansions and spawned tasks with their real needs."""
    specs = wf.get("tasks", {})
    needs = _plain_needs(specs)
    if needs is None:  # a matrix or candidates: the parser expands them
        from treelane.engine.workflow import parse_workflow_dict

        limits = {u: 1 for t in specs.values() if isinstance(t, dict) for u in t.get("uses", [])}
        try:
            needs = {
                t.name: (list(t.needs), t.isolation)
                for t in parse_workflow_dict(row["workflow"], wf, limits).tasks
            }
        except Exception:
            needs = {}
    out = []
    for t in db.query("SELECT * FROM tasks WHERE run = ? ORDER BY idx", (row["id"],)):
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
