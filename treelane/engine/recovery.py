"""Resuming and recovering runs: re-queue what did not succeed, take over a run whose owner
stopped, and mark runs a dead process left 'running' as interrupted (ending their leftover
processes). Functions of the engine they act on (typed against :class:`~.host.EngineHost`).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from typing import TYPE_CHECKING, Any

import psutil

from treelane.engine import clusterinfo, landing, owners, resolve
from treelane.engine.agentstatus import resume_added, tags_of
from treelane.engine.events import OK_STATES, Notice, RunStarted
from treelane.engine.executor import kill_tree, marked
from treelane.engine.pool import HOST
from treelane.engine.scheduler import RunRec, TaskRec
from treelane.engine.workflow import CONFIG_FILE, Workflow
from treelane.errors import RequestFailed

if TYPE_CHECKING:
    from treelane.engine.host import EngineHost as Engine


def definition_changes(engine: Engine, run_id: str) -> list[str] | None:
    """Tasks of the run whose definition in treelane.toml differs from the stored one
    (None when the file has no such workflow any more)."""
    row = run_row(engine, run_id)
    current = engine.config.workflows.get(row["workflow"])
    if current is None:
        return None
    stored = json.loads(row["definition"]).get("tasks", {})
    now = current.to_dict()["tasks"]
    names = list(dict.fromkeys([*stored, *now]))
    return [n for n in names if stored.get(n) != now.get(n)]


def _reloaded(engine: Engine, row: dict[str, Any], requeue: set[str]) -> Workflow:
    """The run's workflow with treelane.toml's definitions for the tasks to re-run."""
    current = engine.config.workflows.get(row["workflow"])
    if current is None:
        raise RequestFailed(
            f"{CONFIG_FILE} has no workflow {row['workflow']!r} any more: nothing to reload"
        )
    stored = json.loads(row["definition"])
    new = current.to_dict()["tasks"]
    added = sorted(set(new) - set(stored["tasks"]))
    removed = sorted(set(stored["tasks"]) - set(new))
    if added or removed:
        raise RequestFailed(
            f"the tasks of workflow {row['workflow']!r} changed (added: "
            f"{', '.join(added) or 'none'}; removed: {', '.join(removed) or 'none'}): "
            "start a new run instead"
        )
    data = {
        **stored,
        "tasks": {n: new[n] if n in requeue else t for n, t in stored["tasks"].items()},
    }
    try:
        return engine.parse_workflow(row["workflow"], data)
    except ValueError as exc:
        raise RequestFailed(f"the reloaded definition is invalid: {exc}") from None


def resume(engine: Engine, run_id: str, *, force: bool = False, reload: bool = False) -> list[str]:
    """Re-queue what did not succeed (interrupted, failed, skipped, cancelled, queued).

    A run still marked running by another live process is refused, unless that process
    has stopped beating (no heartbeat for ``owners.STALE_AFTER`` s) and ``force`` is set.
    """
    row = run_row(engine, run_id)
    if run_id in engine.scheduler.runs:
        raise RequestFailed(f"run {run_id} is already running")
    if row["state"] == "running":
        mine = (row["owner_pid"], row["owner_host"]) == (os.getpid(), HOST)
        if not mine and owner_alive(row):
            _check_takeover(engine, run_id, row, force)
        interrupt(engine, run_id)
    if row["state"] == "succeeded":
        raise RequestFailed(f"run {run_id} already succeeded: nothing to resume")
    resolve.collect(engine, run_id)  # resolved conflicts become inputs (or the result)
    tasks = {
        r["name"]: r for r in engine.store.query("SELECT * FROM tasks WHERE run = ?", (run_id,))
    }
    if reload:
        requeue = {n for n, r in tasks.items() if r["state"] not in OK_STATES}
        wf = _reloaded(engine, row, requeue)
        engine.store.execute(
            "UPDATE runs SET definition = ? WHERE id = ?", (json.dumps(wf.to_dict()), run_id)
        )
    else:
        wf = engine.parse_workflow(row["workflow"], json.loads(row["definition"]))
    recs: dict[str, TaskRec] = {}
    requeued = []
    for t in wf.tasks:
        r = tasks[t.name]
        rec = TaskRec(
            t,
            attempt=r["attempt"],
            worktree=r["worktree"],
            exit_code=r["exit_code"],
            started=r["started"],
            finished=r["finished"],
            result=r["result_commit"],
        )
        if r["state"] in OK_STATES:
            rec.state = r["state"]
        else:
            requeued.append(t.name)
        recs[t.name] = rec
    requeued += resume_added(engine, run_id, recs)
    idle = float(row.get("idle") or 0.0) + _stopped_for(engine, run_id, row)
    with engine.store.write():
        engine.store.execute(
            "UPDATE runs SET state = 'running', finished = NULL, error = NULL, "
            "conflicts = NULL, owner_pid = ?, owner_host = ?, owner_started = ?, "
            "owner_boot = ?, idle = ? WHERE id = ?",
            (os.getpid(), HOST, owners.me().started, owners.me().boot, idle, run_id),
        )
        for name in requeued:
            engine.store.execute(
                "UPDATE tasks SET state = 'queued', error = NULL WHERE run = ? AND name = ?",
                (run_id, name),
            )
    clusterinfo.record(engine.store, run_id, engine.backend)
    run_rec = RunRec(run_id, wf, row["base_commit"], row["started"], recs, idle=idle)
    with contextlib.suppress(ValueError, AttributeError):
        run_rec.use_cache = json.loads(row["settings"] or "{}").get("cache", True) is not False
    kept = {n: t.state for n, t in recs.items() if n not in requeued}
    engine.emit(RunStarted(run_id, wf.name, list(recs), kept, tags_of(run_rec)))
    engine.monitor.wake()
    engine.scheduler.submit(run_rec)
    return requeued


def _stopped_for(engine: Engine, run_id: str, row: dict[str, Any]) -> float:
    """Seconds since the run last did anything (its idle gap before this resume)."""
    last = engine.store.one(
        "SELECT MAX(t) AS t FROM (SELECT MAX(started) AS t FROM attempts WHERE run = ? "
        "UNION ALL SELECT MAX(finished) FROM attempts WHERE run = ? "
        "AND state != 'interrupted' UNION ALL SELECT MAX(time) FROM output WHERE run = ?)",
        (run_id, run_id, run_id),
    )
    t = last["t"] if last and last["t"] is not None else row["started"]
    return max(0.0, time.time() - max(float(t), float(row["started"])))


def _check_takeover(engine: Engine, run_id: str, row: dict[str, Any], force: bool) -> None:
    """May this process take over a run whose owner is alive? RequestFailed if not."""
    pid, host = row["owner_pid"], row["owner_host"]
    who = f"process {pid} on {host}"
    silent = owners.silent_for(engine.store, pid, host, row.get("owner_started"))
    if silent is not None and silent < owners.STALE_AFTER:
        raise RequestFailed(
            f"run {run_id} is being run by {who}, which is alive and responding "
            f"(last heartbeat {silent:.0f} s ago): cancel it there, or stop that process"
        )
    if not force:
        quiet = (
            "has never written a heartbeat"
            if silent is None
            else f"has written no heartbeat for {silent:.0f} s"
        )
        raise RequestFailed(
            f"run {run_id} is being run by {who}, which is alive but {quiet}; if it is "
            f"stuck, take the run over with: treelane resume --force {run_id}"
        )


def run_row(engine: Engine, run_id: str) -> dict[str, Any]:
    row = engine.store.one("SELECT * FROM runs WHERE id = ?", (run_id,))
    if row is None:
        raise RequestFailed(f"unknown run {run_id!r}")
    return row


def recover(engine: Engine) -> list[str]:
    """Runs left 'running' by a dead process become 'interrupted' (their processes end)."""
    stale = []
    for row in engine.store.query("SELECT * FROM runs WHERE state = 'running'"):
        if row["id"] in engine.scheduler.runs:
            continue
        if row["owner_pid"] == os.getpid() or not owner_alive(row):
            interrupt(engine, row["id"])
            stale.append(row["id"])
    engine.pool.reclaim_dead()
    try:
        landing.recover(engine)  # a merge into a worktree that a dead process left half-done
    except (RequestFailed, OSError) as exc:
        engine.emit(Notice("error", f"could not finish an interrupted merge: {exc}"))
    return stale


def interrupt(engine: Engine, run_id: str) -> None:
    """Mark a run whose owner is gone as interrupted and end its leftover processes."""
    engine.store.flush_deferred()  # this process's attempts that began meanwhile
    for a in engine.store.query(
        "SELECT * FROM attempts WHERE run = ? AND state = 'running'", (run_id,)
    ):
        _kill_leftover(run_id, a["task"], a["pid"], a["started"])
    _kill_marked(run_id)
    now = time.time()
    with engine.store.write():
        engine.store.execute(
            "UPDATE attempts SET state = 'interrupted', finished = ? "
            "WHERE run = ? AND state = 'running'",
            (now, run_id),
        )
        engine.store.execute(
            "UPDATE tasks SET state = 'interrupted', finished = ? "
            "WHERE run = ? AND state = 'running'",
            (now, run_id),
        )
        engine.store.execute(
            "UPDATE runs SET state = 'interrupted', finished = ? WHERE id = ?", (now, run_id)
        )


def owner_alive(row: dict[str, Any]) -> bool:
    """Is the process recorded as a run's owner still that process?"""
    return owners.alive(
        row["owner_pid"], row["owner_host"], row.get("owner_started"), row.get("owner_boot")
    )


def _kill_leftover(run_id: str, task: str, pid: int | None, started: float | None) -> None:
    """End a task's process tree left by a dead treelane, if that pid is still that process."""
    if not pid:
        return
    try:
        proc = psutil.Process(pid)
        try:
            env = proc.environ()
            mine = env.get("TREELANE_RUN") == run_id and env.get("TREELANE_TASK") == task
        except (psutil.AccessDenied, OSError):
            # No environment to check: a process started before the attempt is not it.
            mine = started is None or proc.create_time() >= started - 1
        if not mine:
            return  # the pid was reused by another program
    except psutil.NoSuchProcess:
        return
    kill_tree(pid, grace=2.0, mark=("TREELANE_RUN", run_id))


def _kill_marked(run_id: str) -> None:
    """End every process still carrying the run's mark (orphans, pids never recorded)."""
    for proc in marked("TREELANE_RUN", run_id):
        kill_tree(proc.pid, grace=2.0)
