"""The graph a run had, rebuilt from the store the way a resume rebuilds it.

A run's stored definition names a matrix task where the run had its expansions, and a
spawner where the run also had the tasks it added (and every task that needs a spawner
waited for them too). ``needs_of`` expands the definition as the run did and adds each
succeeded spawner's stored children with its dependents rewired, so what a task merged
(and what the run's final tasks were) can be told after the run: ``treelane.resolve``
opens exactly the merge the run made.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, NamedTuple

from treelane.engine import spawn
from treelane.engine.events import OK_STATES
from treelane.engine.scheduler import TaskRec
from treelane.engine.workflow import ConfigError

if TYPE_CHECKING:
    from treelane.engine.host import EngineHost as Engine


class RunGraph(NamedTuple):
    needs: dict[str, list[str]]  # every task of the run, in the order the scheduler merges them
    sinks: list[str]  # the run's final tasks (no task needs them; candidates excluded)


def needs_of(engine: Engine, run_id: str) -> RunGraph | None:
    """The run's graph; None when its definition no longer parses (a changed limit)."""
    row = engine.store.one("SELECT workflow, definition FROM runs WHERE id = ?", (run_id,))
    if row is None:
        return None
    rows = engine.store.query(
        "SELECT name, state, spec FROM tasks WHERE run = ? ORDER BY idx", (run_id,)
    )
    try:
        wf = engine.parse_workflow(row["workflow"], json.loads(row["definition"]))
        recs = {t.name: TaskRec(t) for t in wf.tasks}
        for r in rows:
            if r["spec"] and r["state"] in OK_STATES and r["name"] in recs:
                spawn.rebuild(engine, recs, r["name"], r["spec"])
    except (ConfigError, spawn.SpawnError, ValueError):
        return None
    needs = {name: list(rec.spec.needs) for name, rec in recs.items()}
    needed = {n for ns in needs.values() for n in ns}
    order = [r["name"] for r in rows if r["name"] in recs]
    sinks = [n for n in order if n not in needed and not recs[n].spec.is_candidate]
    return RunGraph(needs, sinks)
