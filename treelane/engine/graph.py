"""Changes to a live run's graph: tasks added at run time, and best-of-N picks.

Called by the scheduler under its lock, just before the task that caused them
settles (so its dependents see the new graph when they are released).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from treelane.engine.events import OK_STATES
from treelane.engine.workflow import Task

if TYPE_CHECKING:
    from treelane.engine.scheduler import RunRec, TaskRec


def join(run: RunRec, spawner: str, children: list[Task]) -> None:
    """Add the tasks ``spawner`` wrote to ``run``; they start when it settles.

    Every task that needs the spawner then also needs the children that no other
    child needs, so it starts from the merge of the spawner's and children's results.
    Children wait for the spawner's settling, which releases them like any dependents.
    """
    from treelane.engine.scheduler import TaskRec

    parent = run.tasks[spawner]
    before = list(parent.dependents)
    for child in children:
        run.tasks[child.name] = TaskRec(child)
        run.unfinished += 1
    for child in children:
        rec = run.tasks[child.name]
        for need in child.needs:
            run.tasks[need].dependents.append(child.name)
            if need == spawner or run.tasks[need].state not in OK_STATES:
                rec.waiting += 1
    sinks = sinks_of(children)
    for name in before:
        dep = run.tasks[name]
        if dep.state != "queued":
            continue
        rewire(dep, spawner, sinks)
        for sink in sinks:
            run.tasks[sink].dependents.append(name)
        dep.waiting += len(sinks)


def sinks_of(children: list[Task]) -> list[str]:
    needed = {need for child in children for need in child.needs}
    return [child.name for child in children if child.name not in needed]


def rewire(dep: TaskRec, spawner: str, sinks: list[str]) -> None:
    """``dep`` needs ``spawner``: make it need the spawner's children's sinks too."""
    needs: list[str] = []
    for need in dep.spec.needs:
        for name in (need, *sinks) if need == spawner else (need,):
            if name not in needs:
                needs.append(name)
    dep.spec = replace(dep.spec, needs=tuple(needs))


def picks_now(run: RunRec, t: TaskRec) -> bool:
    """pick_first: this candidate just scored at least 1."""
    return bool(
        t.spec.is_candidate
        and t.spec.pick_first
        and t.state in OK_STATES
        and t.score is not None
        and t.score >= 1
    )
