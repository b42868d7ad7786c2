"""Read-only queries of the state database: what ``status``, ``log``, ``report``, ``trace``
and ``checkpoints`` show.

Every function takes a :class:`Reader` (the engine's :class:`~treelane.storage.db.Store`,
or the CLI's light read-only connection) and only reads. This module imports nothing
heavy (no git library, no psutil, no sqlite-utils), so a read-only command can run
without starting an engine.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from typing import Any, Protocol

from treelane.engine import agentqueries, clusterinfo
from treelane.errors import RequestFailed

RECENT_RUNS = 20
_HOST = os.uname().nodename  # = socket.gethostname(), which the engine records


class Reader(Protocol):
    def query(
        self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()
    ) -> list[dict[str, Any]]: ...

    def one(
        self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()
    ) -> dict[str, Any] | None: ...

    def tuples(
        self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()
    ) -> list[tuple[Any, ...]]: ...


def iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds")


def run_row(db: Reader, run_id: str) -> dict[str, Any]:
    row = db.one("SELECT * FROM runs WHERE id = ?", (run_id,))
    if row is None:
        raise RequestFailed(f"unknown run {run_id!r} (see: treelane status)")
    return row


def owner_gone(row: dict[str, Any]) -> bool:
    """A 'running' run whose owning process (on this host) no longer exists.

    The same rule as :func:`treelane.engine.owners.alive`, read from ``/proc`` without
    psutil (the read-only CLI stays light): a zombie, a process started at another time (a
    recycled pid) or in another boot is not the owner. Another host's process cannot be
    checked and counts as alive. The next treelane that acts (a server, ``run``,
    ``resume``) marks such a run interrupted; readers only show it.
    """
    pid, host = row.get("owner_pid"), row.get("owner_host")
    if row.get("state") != "running" or not pid or host != _HOST:
        return False
    boot = row.get("owner_boot")
    if boot and _boot_id() not in (None, boot):
        return True  # recorded before a reboot
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    stat = _proc_stat(int(pid))
    if stat is None:
        return False  # not Linux, or it cannot be read: assume the owner
    state, started = stat
    if state in ("Z", "X"):
        return True  # ended; only its exit status waits to be collected
    recorded = row.get("owner_started")
    if recorded is None or started is None:
        return False  # a row from before start times were recorded
    return abs(started - float(recorded)) >= 1.5  # psutil's own tolerance (owners.py)


def _boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip() or None
    except OSError:
        return None


def _proc_stat(pid: int) -> tuple[str, float | None] | None:
    """A process's state letter and start time (epoch seconds, as psutil's create_time)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(") ", 1)[1].split()
        with open("/proc/stat") as f:
            btime = next(float(line.split()[1]) for line in f if line.startswith("btime "))
        return fields[0], btime + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError, StopIteration):
        return None


# What a task's status needs (not its spec, input, cache key or error: a run of 10,000
# tasks reads in a fraction of the time), as tuples in this order.
_TASK_FIELDS = (
    "name", "state", "attempt", "worktree", "exit_code", "started", "duration_ms",
    "result_commit", "grp", "kind", "parent", "score", "picked", "retry_at", "reason",
)  # fmt: skip
_TASK_COLUMNS = f"SELECT {', '.join(_TASK_FIELDS)} FROM tasks WHERE run = ? ORDER BY idx"


def run_status(db: Reader, row: dict[str, Any]) -> dict[str, Any]:
    now = time.time()
    gone = owner_gone(row)
    extras = agentqueries.task_extras(db, row["id"])
    tasks = []
    for t in db.tuples(_TASK_COLUMNS, (row["id"],)):
        name, state, attempt, worktree, exit_code, started, dur, result, grp, kind = t[:10]
        parent, score, retry_at = t[10], t[11], t[13]
        if state == "running" and started and not gone:
            dur = int((now - started) * 1000)
        if gone and state == "running":
            state = "interrupted"
        entry = {
            "name": name,
            "state": state,
            "attempt": attempt,
            "worktree": worktree,
            "worker": clusterinfo.worker_of(worktree),
            "exit_code": exit_code,
            "duration_ms": dur,
            "result": result,
        }
        plain = grp is None and kind == "run" and parent is None and score is None
        if not (plain and retry_at is None and not extras.has_checkpoints(name)):
            # The row as the agent fields read it (with the state as stored).
            entry.update(extras(dict(zip(_TASK_FIELDS, t, strict=True)), now))
        tasks.append(entry)
    return {
        "run": row["id"],
        "workflow": row["workflow"],
        "state": "interrupted" if gone else row["state"],
        "started": iso(row["started"]),
        "finished": iso(row["finished"]),
        "base": row["base_commit"],
        "result": row["result_commit"],
        "reason": row["error"],
        "conflicts": json.loads(row["conflicts"]) if row.get("conflicts") else [],
        **clusterinfo.run_fields(row),
        "tasks": tasks,
    }


def runs(db: Reader, run_id: str | None = None) -> list[dict[str, Any]]:
    """One run, or the running ones plus the most recent, oldest first."""
    if run_id is not None:
        rows = [run_row(db, run_id)]
    else:
        rows = db.query(
            "SELECT * FROM runs WHERE state = 'running' OR id IN "
            "(SELECT id FROM runs ORDER BY started DESC LIMIT ?) ORDER BY started",
            (RECENT_RUNS,),
        )
    return [run_status(db, r) for r in rows]


def running_tasks(db: Reader) -> int:
    """Tasks running now, by any treelane process: the one count ``status`` shows."""
    n = 0
    live = "SELECT id, state, owner_pid, owner_host FROM runs WHERE state = 'running'"
    for row in db.query(live):
        if owner_gone(row):
            continue
        got = db.one(
            "SELECT COUNT(*) AS n FROM tasks WHERE run = ? AND state = 'running'", (row["id"],)
        )
        n += int(got["n"]) if got else 0
    return n


PREWARM_TASK = "(pre-warm)"  # the task of a lease that pre-warming holds while it creates


def mb(size: int | None) -> float | None:
    return None if size is None else round(size / 2**20, 1)


def pool_stats(db: Reader, size: int) -> dict[str, int | float]:
    """Counts by state; ``warming``: busy ones that pre-warming is still creating;
    ``disk_mb``: what the managed worktrees take, as last measured."""
    rows = db.query(
        "SELECT state, task = ? AS warming, COUNT(*) AS n FROM worktrees GROUP BY state, warming",
        (PREWARM_TASK,),
    )
    counts: dict[str, int] = {}
    for r in rows:
        key = "warming" if r["state"] == "busy" and r["warming"] else r["state"]
        counts[key] = counts.get(key, 0) + r["n"]
    disk = db.one("SELECT SUM(disk_bytes) AS b FROM worktrees")
    return {
        "size": size,
        "idle": counts.get("idle", 0),
        "busy": counts.get("busy", 0),
        "warming": counts.get("warming", 0),
        "disk_mb": mb(disk["b"] if disk else None) or 0.0,
    }


def status(
    db: Reader, run_id: str | None, *, pool_size: int, limit: int, scheduler: str = ""
) -> dict[str, Any]:
    """The ``treelane.status`` result: runs, the pool, the tasks running against the limit,
    and the Dask cluster the workspace is set to use (``scheduler``: its address; '' local).

    ``concurrency.running`` counts the task rows in state ``running`` (so it always agrees
    with the rows shown, whichever process owns the runs).
    """
    return {
        "runs": runs(db, run_id),
        "pool": pool_stats(db, pool_size),
        "concurrency": {"limit": limit, "running": running_tasks(db)},
        "cluster": clusterinfo.cluster(db, scheduler),
    }


def last_sample(db: Reader, newer_than: float) -> dict[str, Any] | None:
    """The latest resource sample a live engine wrote after ``newer_than`` (epoch s)."""
    row = db.one("SELECT time, data FROM samples WHERE time > ? ORDER BY time DESC LIMIT 1",
                 (newer_than,))  # fmt: skip
    if row is None:
        return None
    data: dict[str, Any] = json.loads(row["data"])
    return data


def output_page(
    db: Reader, run_id: str, task: str, offset: int = 0, limit: int | None = None
) -> tuple[list[str], int | None]:
    """Lines ``offset`` .. ``offset + limit`` of a task's last attempt, in emitted order, and
    the offset of the next page (None at the end); RequestFailed for an unknown run or task."""
    run_row(db, run_id)
    if db.one("SELECT 1 FROM tasks WHERE run = ? AND name = ?", (run_id, task)) is None:
        names = [r["name"] for r in db.query("SELECT name FROM tasks WHERE run = ? ORDER BY idx",
                                             (run_id,))]  # fmt: skip
        raise RequestFailed(f"run {run_id} has no task {task!r} (tasks: {', '.join(names)})")
    row = db.one("SELECT MAX(attempt) AS a FROM output WHERE run = ? AND task = ?", (run_id, task))
    if row is None or row["a"] is None:
        return [], None
    page = -1 if limit is None else limit + 1
    rows = db.query(
        "SELECT line FROM output WHERE run = ? AND task = ? AND attempt = ? "
        "ORDER BY seq, id LIMIT ? OFFSET ?",
        (run_id, task, row["a"], page, offset),
    )
    lines = [r["line"] for r in rows]
    if limit is not None and len(lines) > limit:
        return lines[:limit], offset + limit
    return lines, None


def report_data(db: Reader, run_id: str) -> dict[str, Any]:
    """Everything the timeline page shows (see treelane.report.timeline)."""
    row = run_row(db, run_id)
    wf = json.loads(row["definition"])
    attempts: dict[str, list[dict[str, Any]]] = {}
    for a in db.query("SELECT * FROM attempts WHERE run = ? ORDER BY id", (run_id,)):
        attempts.setdefault(a["task"], []).append(
            {
                "attempt": a["attempt"],
                "worktree": a["worktree"],
                "start": a["started"],
                "end": a["finished"],
                "state": a["state"],
                "exit_code": a["exit_code"],
            }
        )
    tasks = agentqueries.report_tasks(db, row, wf, attempts)
    end = row["finished"] or time.time()
    samples = []
    for s in db.query(
        "SELECT time, data FROM samples WHERE time BETWEEN ? AND ? ORDER BY time",
        (row["started"] - 1, end + 1),
    ):
        d = json.loads(s["data"])
        samples.append({"time": s["time"], **d["system"], **d.get("concurrency", {})})
    return {
        "run": run_id,
        "workflow": row["workflow"],
        "state": row["state"],
        "started": row["started"],
        "finished": row["finished"],
        "idle": row.get("idle") or 0.0,
        "reason": row["error"],
        "conflicts": json.loads(row["conflicts"]) if row.get("conflicts") else [],
        "tasks": tasks,
        "samples": samples,
    }


def trace(db: Reader, run_id: str) -> dict[str, Any]:
    """The run as Chrome Trace Event JSON (open in Perfetto or chrome://tracing)."""
    data = report_data(db, run_id)
    t0 = data["started"]
    lanes: dict[str, int] = {}
    events: list[dict[str, Any]] = [
        {
            "name": "process_name",
            "ph": "M",
            "pid": 1,
            "tid": 0,
            "args": {"name": f"treelane {data['workflow']} ({run_id})"},
        }
    ]
    # A Dask run's attempts: one trace process per worker, its worktrees as threads.
    workers: dict[str, int] = {}
    for t in data["tasks"]:
        for a in t["attempts"]:
            worker, wid = clusterinfo.split_where(a["worktree"])
            pid = workers.setdefault(worker, len(workers) + 2) if worker else 1
            lane = (wid or worker or "") if worker else (a["worktree"] or "(no worktree)")
            tid = lanes.setdefault(f"{pid}\0{lane}", len(lanes) + 1)
            end = a["end"] or time.time()
            events.append(
                {
                    "name": t["name"],
                    "cat": a["state"],
                    "ph": "X",
                    "pid": pid,
                    "tid": tid,
                    "ts": round((a["start"] - t0) * 1e6),
                    "dur": round((end - a["start"]) * 1e6),
                    "args": {
                        "attempt": a["attempt"],
                        "state": a["state"],
                        "exit_code": a["exit_code"],
                        "worktree": a["worktree"],
                    },
                }
            )
        if not t["attempts"] and t["resolved"]:
            events.append(
                {
                    "name": t["name"],
                    "cat": t["state"],
                    "ph": "i",
                    "s": "p",
                    "pid": 1,
                    "tid": 0,
                    "ts": round((t["resolved"] - t0) * 1e6),
                    "args": {"state": t["state"]},
                }
            )
    for worker, pid in workers.items():
        events.append(
            {"name": "process_name", "ph": "M", "pid": pid, "args": {"name": f"worker {worker}"}}
        )
    for key, tid in lanes.items():
        pid_text, lane = key.split("\0", 1)
        events.append(
            {"name": "thread_name", "ph": "M", "pid": int(pid_text), "tid": tid,
             "args": {"name": lane}}
        )  # fmt: skip
    for s in data["samples"]:
        events.append(
            {
                "name": "system",
                "ph": "C",
                "pid": 1,
                "tid": 0,
                "ts": round((s["time"] - t0) * 1e6),
                "args": {"cpu_percent": s["cpu_percent"], "memory_percent": s["memory_percent"]},
            }
        )
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {"run": run_id, "workflow": data["workflow"], "state": data["state"]},
    }


def checkpoint_rows(db: Reader, worktree: str) -> tuple[list[dict[str, Any]], int | None]:
    """A worktree's checkpoints (oldest first, dropped ones left out) and the current id."""
    rows = db.query(
        "SELECT * FROM checkpoints WHERE worktree = ? AND dropped = 0 ORDER BY id", (worktree,)
    )
    head = db.one("SELECT current FROM checkpoint_heads WHERE worktree = ?", (worktree,))
    return rows, (head["current"] if head else None)


def pending(db: Reader, wt_id: str, path: str) -> str | None:
    """An interrupted operation on a worktree that the next command completes: ``merge``
    (a journalled merge into it), ``restore`` (an undo or redo), or None."""
    if db.one("SELECT 1 FROM merges WHERE state = 'pending' AND worktree = ?", (path,)):
        return "merge"
    head = db.one(
        "SELECT pending FROM checkpoint_heads WHERE worktree = ? AND pending IS NOT NULL",
        (wt_id,),
    )
    return "restore" if head else None


def repairs_pending(db: Reader) -> bool:
    """Whether an interrupted merge or restore waits for the next treelane process to
    complete it (the read-only CLI then goes through a server, which does)."""
    merge = db.one("SELECT 1 FROM merges WHERE state = 'pending' LIMIT 1")
    restore = db.one("SELECT 1 FROM checkpoint_heads WHERE pending IS NOT NULL LIMIT 1")
    return merge is not None or restore is not None
