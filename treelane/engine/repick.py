"""``treelane pick RUN TASK N``: make candidate N the result of a best-of-N task.

Before the task's dependents have started, they are simply re-pointed (they will
start from candidate N). Once the run has finished, the dependents (and everything
downstream of them) are queued again and the run is resumed, so they re-run from
candidate N. While the run goes on with some dependents already started, those still
running are cancelled (what has not started is skipped) and, when the run has ended,
all of them re-run from candidate N the same way.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from treelane.engine.candidates import set_picked
from treelane.engine.events import OK_STATES, Notice
from treelane.errors import RequestFailed

if TYPE_CHECKING:
    from treelane.engine.host import EngineHost as Engine


def repick(engine: Engine, run_id: str, task: str, n: int) -> dict[str, Any]:
    row = engine.store.one("SELECT * FROM runs WHERE id = ?", (run_id,))
    if row is None:
        raise RequestFailed(f"unknown run {run_id!r}")
    node = engine.store.one("SELECT * FROM tasks WHERE run = ? AND name = ?", (run_id, task))
    if node is None:
        raise RequestFailed(f"run {run_id} has no task {task!r}")
    if node["kind"] != "pick":
        raise RequestFailed(
            f"task {task!r} of run {run_id} is not a best-of-N task (it has no candidates)"
        )
    members = engine.store.query(
        "SELECT * FROM tasks WHERE run = ? AND grp = ? ORDER BY idx", (run_id, task)
    )
    if not 1 <= n <= len(members):
        raise RequestFailed(f"task {task!r} has candidates 1 to {len(members)}, not {n}")
    cand = members[n - 1]
    if cand["state"] not in OK_STATES or not cand["result_commit"]:
        raise RequestFailed(
            f"candidate {n} ({cand['name']}) has no result to pick (state: {cand['state']})"
        )
    downstream = _downstream(engine, run_id, row, task)
    live = engine.scheduler.runs.get(run_id)
    if live is not None:
        return _repick_live(engine, live, task, n, cand, downstream)
    if node["state"] not in OK_STATES:
        raise RequestFailed(f"task {task!r} of run {run_id} did not pick (state: {node['state']})")
    set_picked(engine, run_id, task, cand["name"], cand["result_commit"])
    rows = {
        r["name"]: r for r in engine.store.query("SELECT * FROM tasks WHERE run = ?", (run_id,))
    }
    rerun = [d for d in downstream if d in rows]
    with engine.store.write():
        for name in rerun:
            engine.store.execute(
                "UPDATE tasks SET state = 'queued', result_commit = NULL, spec = NULL "
                "WHERE run = ? AND name = ?",
                (run_id, name),
            )
        _drop_children(engine, run_id, set(rerun))
        engine.store.execute(
            "UPDATE runs SET state = 'interrupted', result_commit = NULL WHERE id = ?", (run_id,)
        )
    # Resuming re-runs what is queued and merges the run's result again (from the new pick).
    engine.resume(run_id)
    return {"run": run_id, "task": task, "picked": cand["name"], "rerun": rerun}


def _repick_live(
    engine: Engine, live: Any, task: str, n: int, cand: dict[str, Any], downstream: list[str]
) -> dict[str, Any]:
    with engine.scheduler._lock:
        rec = live.tasks[task]
        if rec.state not in OK_STATES:
            raise RequestFailed(f"task {task!r} has not picked yet (state: {rec.state})")
        started = [d for d in downstream if d in live.tasks and live.tasks[d].state != "queued"]
        if not started:
            rec.result = cand["result_commit"]
            set_picked(engine, live.id, task, cand["name"], cand["result_commit"])
            return {"run": live.id, "task": task, "picked": cand["name"], "rerun": []}
        running = [d for d in downstream if d in live.tasks and live.tasks[d].state == "running"]
    # Started from the old pick: stop them now and re-run them from the new one at the end.
    threading.Thread(
        target=_rerun_when_finished, args=(engine, live.id, task, n), daemon=True
    ).start()
    for name in running:
        engine.scheduler.cancel(live.id, name)
    return {"run": live.id, "task": task, "picked": cand["name"], "rerun": downstream}


def _rerun_when_finished(engine: Engine, run_id: str, task: str, n: int) -> None:
    """Wait for the run to end, then pick candidate ``n`` as after any finished run."""
    try:
        engine.scheduler.wait_run(run_id, None)
        if not engine.closing:
            repick(engine, run_id, task, n)
    except Exception as exc:  # a background task: say what went wrong, never lose it silently
        engine.emit(
            Notice("error", f"could not re-run run {run_id} from {task} candidate {n}: {exc}")
        )


def _downstream(engine: Engine, run_id: str, row: dict[str, Any], task: str) -> list[str]:
    """Every task that needs ``task``, directly or not (spawned tasks included)."""
    wf = engine.parse_workflow(row["workflow"], json.loads(row["definition"]))
    needs = {t.name: set(t.needs) for t in wf.tasks}
    for r in engine.store.query(
        "SELECT name, parent FROM tasks WHERE run = ? AND parent IS NOT NULL", (run_id,)
    ):
        needs.setdefault(r["name"], set()).add(r["parent"])
    # Dependents of a spawner also wait for its children.
    out: list[str] = []
    frontier = {task}
    while frontier:
        nxt = {n for n, ns in needs.items() if ns & frontier and n not in out and n != task}
        out += sorted(nxt)
        frontier = nxt
    return out


def _drop_children(engine: Engine, run_id: str, spawners: set[str]) -> None:
    """Tasks spawned by tasks that re-run are spawned again: forget the old ones."""
    while spawners:
        kids = [
            r["name"]
            for r in engine.store.query(
                "SELECT name, parent FROM tasks WHERE run = ? AND parent IS NOT NULL", (run_id,)
            )
            if r["parent"] in spawners
        ]
        for kid in kids:
            engine.store.execute("DELETE FROM tasks WHERE run = ? AND name = ?", (run_id, kid))
        spawners = set(kids)
