"""The commits a run left: its base, each task's input and result, the run's result.

Read from the store (and the run's stored definition), for the review commands
(diff, merge, branch, resolve): an engine's store or the read-only CLI's reader; nothing
here writes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, NamedTuple

from treelane.errors import RequestFailed

if TYPE_CHECKING:
    from treelane.engine.queries import Reader


class RunInfo(NamedTuple):
    id: str
    workflow: str
    state: str
    base: str
    result: str | None
    tasks: list[str]  # in file order
    needs: dict[str, list[str]]
    sinks: list[str]


class TaskInfo(NamedTuple):
    run: str
    name: str
    state: str
    input: str | None
    result: str | None


def run_info(store: Reader, run_id: str) -> RunInfo:
    row = store.one("SELECT * FROM runs WHERE id = ?", (run_id,))
    if row is None:
        raise RequestFailed(f"unknown run {run_id!r}")
    definition = json.loads(row["definition"])
    specs: dict[str, Any] = definition.get("tasks", {})
    names = [
        r["name"]
        for r in store.query("SELECT name FROM tasks WHERE run = ? ORDER BY idx", (run_id,))
    ]
    needs = {n: list(specs.get(n, {}).get("needs", [])) for n in names}
    needed = {x for ns in needs.values() for x in ns}
    return RunInfo(
        run_id,
        row["workflow"],
        row["state"],
        row["base_commit"],
        row["result_commit"],
        names,
        needs,
        [n for n in names if n not in needed],
    )


def task_info(store: Reader, run: RunInfo, task: str) -> TaskInfo:
    row = store.one("SELECT * FROM tasks WHERE run = ? AND name = ?", (run.id, task))
    if row is None:
        known = ", ".join(run.tasks) or "none"
        raise RequestFailed(f"run {run.id} has no task {task!r} (tasks: {known})")
    inp = row["input_commit"]
    if inp is None:
        needs = run.needs.get(task, [])
        if not needs:
            inp = run.base
        elif len(needs) == 1:
            one = store.one(
                "SELECT result_commit FROM tasks WHERE run = ? AND name = ?", (run.id, needs[0])
            )
            inp = one["result_commit"] if one else None
    return TaskInfo(run.id, task, row["state"], inp, row["result_commit"])


def head_of(store: Reader, run: RunInfo, task: str | None) -> str:
    """The result commit of a task, or of the run; RequestFailed saying why there is none."""
    if task is not None:
        t = task_info(store, run, task)
        if not t.result:
            raise RequestFailed(f"task {task} of run {run.id} has no result (state: {t.state})")
        return t.result
    if not run.result:
        hint = ""
        if run.state == "failed":
            hint = f"; see why with: treelane status {run.id}, or resolve with: treelane resolve"
        raise RequestFailed(f"run {run.id} has no result (state: {run.state}){hint}")
    return run.result


def describe(run: RunInfo, task: str | None = None) -> str:
    """The message of a commit that lands a run's (or one task's) result."""
    if task is not None:
        return (
            f"treelane: {task} from run {run.id} ({run.workflow})\n\n"
            f"Result of task {task} of run {run.id} of workflow {run.workflow}.\n"
        )
    return (
        f"treelane: run {run.id} ({run.workflow})\n\n"
        f"Result of run {run.id} of workflow {run.workflow}, tasks: {', '.join(run.tasks)}.\n"
    )
