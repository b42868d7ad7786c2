"""The engine: one object per repository that owns the store, the pool and the scheduler.

Front ends (``treelane.commands``, and through them the LSP server and the CLI)
create one :class:`Engine` and call its methods; it never imports pygls.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from treelane.engine import (
    backends,
    clusterinfo,
    critical,
    git,
    outcome,
    owners,
    queries,
    recovery,
    worktree_base,
)
from treelane.engine.agentstatus import tag, tags_of
from treelane.engine.attempt import Backend
from treelane.engine.cache import ResultCache
from treelane.engine.checkpoints import Checkpoints
from treelane.engine.events import (
    Event,
    Listener,
    Notice,
    Resources,
    RunStarted,
    TaskState,
)
from treelane.engine.executor import Executor, LocalExecutor
from treelane.engine.monitor import Monitor, Sample, auto_limit
from treelane.engine.outputlog import OutputBuffer
from treelane.engine.outputs import LiveOutput
from treelane.engine.pool import HOST, PoolConfig, WorktreePool
from treelane.engine.scheduler import (
    AttemptKey,
    RunRec,
    Scheduler,
    TaskRec,
    run_finished_event,
)
from treelane.engine.shared import SharedTree, SharedTrees
from treelane.engine.shared import release as release_shared
from treelane.engine.taskrun import run_task
from treelane.engine.workflow import CONFIG_FILE, Config, Settings, Workflow, load_config
from treelane.engine.workflow import parse_workflow_dict as _parse_workflow_dict
from treelane.engine.workspace import open_workspace
from treelane.errors import RequestFailed
from treelane.storage.db import Store

RESULT_REFS = "refs/treelane/results"


def pool_config(s: Settings) -> PoolConfig:
    return PoolConfig(
        size=s.pool_size,
        include=tuple(s.include),
        setup=s.setup,
        pristine=s.reset == "pristine",
        create_parallel=s.pool_create_parallel,
        max_disk_mb=s.pool_max_disk_mb,
    )


class Engine:
    def __init__(
        self,
        path: Path | str,
        config: Config | None = None,
        executor: Executor | None = None,
        backend: Backend | None = None,
        monitor_interval: float = 1.0,
        prewarm: bool = False,
    ) -> None:
        """``prewarm``: fill the pool to ``pool_size`` in the background whenever a run is
        queued (front ends do; tests and scripts opt in). See also :meth:`prewarm_pool`."""
        root = git.discover(path).toplevel
        cfg = config if config is not None else load_config(root / CONFIG_FILE)
        self.ws = open_workspace(root, cfg.settings.worktrees_dir)
        self.store = Store(self.ws.db_path)
        self.config = cfg
        self.pool = WorktreePool(self.ws, self.store, pool_config(cfg.settings))
        self.checkpoints = Checkpoints(self.ws, self.store)
        self.cache = ResultCache(self.ws.root, self.store)
        self.executor: Executor = executor or LocalExecutor()
        self.backend: Backend = backend or backends.from_settings(cfg.settings)
        self._listeners: list[Listener] = []
        self.outputs = LiveOutput(
            self.store, self.emit, lambda: int(self.settings.log_max_mb * 1024 * 1024)
        )
        self._shared = SharedTrees()
        self._auto = auto_limit(cfg.settings.memory_per_task_mb)
        self._held = False
        self.closing = False
        self.scheduler = Scheduler(
            self.store,
            body=lambda run, t: run_task(self, run, t),
            emit=self.emit,
            finish=self._finish_run,
            fail=self._fail_run,
            limit=self._limit,
            limits=dict(cfg.limits),
        )
        self.scheduler.weigh = self._weigh
        self.monitor = Monitor(self._on_sample, self.concurrency, interval=monitor_interval)
        self.monitor.start()
        self._stop = threading.Event()
        self._heartbeat = owners.Heartbeat(self.store)
        self._flusher = threading.Thread(
            target=self._flush_loop, name="treelane-output", daemon=True
        )
        self._flusher.start()
        self.recover()
        self._prewarm = prewarm

    # --- configuration and listeners ---------------------------------------

    @property
    def settings(self) -> Settings:
        return self.config.settings

    def configure(self, cfg: Config) -> None:
        """Apply a (re)loaded treelane.toml: limits, pool and concurrency settings."""
        self.config = cfg
        self.pool.config = pool_config(cfg.settings)
        self.backend = backends.reconfigure(self.backend, cfg.settings)
        self.scheduler.limits = dict(cfg.limits)
        self._auto = auto_limit(cfg.settings.memory_per_task_mb)
        self.scheduler.dispatch()

    def reload_config(self) -> Config:
        cfg = load_config(self.ws.root / CONFIG_FILE)
        self.configure(cfg)
        return cfg

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def emit(self, event: Event) -> None:
        if isinstance(event, TaskState) and event.group is None and event.parent is None:
            event = tag(self.scheduler.runs.get(event.run), event)
        for listener in list(self._listeners):
            with contextlib.suppress(Exception):
                listener(event)

    # --- concurrency -------------------------------------------------------

    def _limit(self, running: int) -> int:
        mp = self.settings.max_parallel
        limit = mp if isinstance(mp, int) else backends.limit(self.backend, self._auto)
        last = self.monitor.last
        avail = last["system"]["memory_available_mb"] if last is not None else None
        if avail is not None and avail < self.settings.memory_per_task_mb:
            # Short of memory: start nothing new while tasks run (when none runs, one may
            # start, so runs still progress); warn once per shortage, not once per task.
            if running > 0:
                if not self._held:
                    self._held = True
                    self.emit(
                        Notice(
                            "warning",
                            f"memory is short ({avail:.0f} MB available): "
                            "treelane holds new tasks back until it frees up",
                        )
                    )
                return running
            return limit
        self._held = False
        return limit

    def _weigh(self, run: RunRec) -> dict[str, float]:
        """Remaining paths weighted by past durations (``schedule = "fifo"``: none)."""
        if self.settings.schedule == "fifo":
            return {}
        return critical.priorities(self.store, run.workflow)

    def concurrency(self) -> dict[str, int]:
        return {"limit": self._limit(self.scheduler.running), "running": self.scheduler.running}

    def _on_sample(self, sample: Sample) -> None:
        if not isinstance(self.settings.max_parallel, int):
            avail = sample["system"]["memory_available_mb"]
            cpus = psutil.cpu_count() or 1
            by_mem = int(avail * 0.8 // max(1, self.settings.memory_per_task_mb))
            self._auto = max(1, min(cpus, by_mem))
        self.store.execute(
            "INSERT INTO samples (time, data) VALUES (?, ?)", (sample["time"], json.dumps(sample))
        )
        self.emit(Resources(sample))
        self.scheduler.dispatch()

    # --- runs ----------------------------------------------------------------

    def prewarm_pool(self) -> int:
        """Fill the pool to ``pool_size`` at HEAD in the background (a server that starts
        in a trusted workspace, when its client asks); how many worktrees it started."""
        head = git.run(["rev-parse", "--verify", "--quiet", "HEAD"], self.ws.root, check=False)
        if head.returncode != 0:  # an unborn branch: nothing to check out yet
            return 0
        return self.pool.prewarm(head.stdout.strip())

    def parse_workflow(self, name: str, data: object) -> Workflow:
        return _parse_workflow_dict(name, data, self.config.limits)

    def workflow(self, name: str) -> Workflow:
        wf = self.config.workflows.get(name)
        if wf is None:
            known = ", ".join(sorted(self.config.workflows)) or "none"
            raise RequestFailed(f"no workflow {name!r} in {CONFIG_FILE} (workflows: {known})")
        return wf

    def start(
        self,
        wf: Workflow,
        base: str | None = None,
        *,
        from_worktree: bool = False,
        cache: bool = True,
    ) -> RunStarted:
        """Start a run of ``wf`` at ``base`` (default: the workflow's), or at a snapshot of
        the main worktree's files (``from_worktree``); returns at once.

        ``cache=False`` (``treelane run --no-cache``) reads no cache entry in this run
        (and in its resumes); results are still stored.
        """
        backends.ready(self.backend)  # no cluster reachable: the run does not start
        run_id = self._new_run_id()
        if from_worktree:
            base_rev = worktree_base.WORKTREE
            base_commit = worktree_base.snapshot_commit(self.ws.root, run_id)
        else:
            base_rev = base or wf.base
            base_commit = git.resolve_commit(self.ws.root, base_rev)
            note = worktree_base.left_out(self.ws.root, base_commit)
            if note:
                self.emit(Notice("warning", note, run_id, "uncommitted"))
        now = time.time()
        with self.store.write() as db:
            db.table("runs").insert(
                {
                    "id": run_id,
                    "workflow": wf.name,
                    "definition": json.dumps(wf.to_dict()),
                    "base_rev": base_rev,
                    "base_commit": base_commit,
                    "state": "running",
                    "started": now,
                    "owner_pid": os.getpid(),
                    "owner_host": HOST,
                    "owner_started": owners.me().started,
                    "owner_boot": owners.me().boot,
                    "settings": json.dumps(
                        {"cache_salt": self.settings.cache_salt, "cache": cache}
                    ),
                }
            )
            self.store.execute_many(
                "INSERT INTO tasks (run, name, idx, state, grp, kind) "
                "VALUES (?, ?, ?, 'queued', ?, ?)",
                ((run_id, t.name, i, t.group or None, t.kind) for i, t in enumerate(wf.tasks)),
            )
        clusterinfo.record(self.store, run_id, self.backend)
        rec = RunRec(run_id, wf, base_commit, now, {t.name: TaskRec(t) for t in wf.tasks})
        rec.use_cache = cache
        started = RunStarted(run_id, wf.name, wf.names(), tags=tags_of(rec))
        self.emit(started)
        self.monitor.wake()
        if self._prewarm:
            self.pool.prewarm(base_commit)
        self.scheduler.submit(rec)
        return started

    def _new_run_id(self) -> str:
        while True:
            run_id = "r" + secrets.token_hex(3)
            if self.store.one("SELECT 1 FROM runs WHERE id = ?", (run_id,)) is None:
                return run_id

    def cancel(self, run_id: str, task: str | None = None) -> list[str]:
        """Cancel a run (or one task of it) run here or by another live treelane process."""
        row = recovery.run_row(self, run_id)
        live = self.scheduler.runs.get(run_id)
        if live is not None:
            members = [n for n, t in live.tasks.items() if task and t.spec.group == task]
            if task is not None and task not in live.tasks and members:
                # A matrix task: cancel every expansion.
                return [c for m in members for c in self.scheduler.cancel(run_id, m)]
            if task is not None and task not in live.tasks:
                raise RequestFailed(f"run {run_id} has no task {task!r}")
            return self.scheduler.cancel(run_id, task)
        if row["state"] != "running" or not recovery.owner_alive(row):
            raise RequestFailed(f"run {run_id} is not running (state: {row['state']})")
        rows = self.store.query(
            "SELECT name, grp FROM tasks WHERE run = ? AND state IN ('queued', 'running') "
            "ORDER BY idx",
            (run_id,),
        )
        names = [r["name"] for r in rows]
        if task is not None:
            known = self.store.one(
                "SELECT 1 FROM tasks WHERE run = ? AND (name = ? OR grp = ?)", (run_id, task, task)
            )
            if known is None:
                raise RequestFailed(f"run {run_id} has no task {task!r}")
            names = [r["name"] for r in rows if task in (r["name"], r["grp"])]
        self.store.execute(
            "INSERT INTO cancel_requests (run, task, created) VALUES (?, ?, ?)",
            (run_id, task, time.time()),
        )
        return names

    def _take_cancel_requests(self) -> None:
        """Act on cancel requests that other processes left for runs running here."""
        live = list(self.scheduler.runs)
        if not live:
            return
        marks = ",".join("?" * len(live))
        with self.store.write():
            rows = self.store.query(
                f"SELECT * FROM cancel_requests WHERE run IN ({marks}) ORDER BY id", tuple(live)
            )
            if rows:
                self.store.execute(
                    f"DELETE FROM cancel_requests WHERE id IN ({','.join('?' * len(rows))})",
                    tuple(r["id"] for r in rows),
                )
        for r in rows:
            run = self.scheduler.runs.get(r["run"])
            if run is not None and (r["task"] is None or r["task"] in run.tasks):
                self.scheduler.cancel(r["run"], r["task"])
            elif run is not None:  # a matrix task: its expansions
                for name in [n for n, t in run.tasks.items() if t.spec.group == r["task"]]:
                    self.scheduler.cancel(r["run"], name)

    def definition_changes(self, run_id: str) -> list[str] | None:
        """Tasks of the run whose definition in treelane.toml differs from the stored one
        (None when the file has no such workflow any more)."""
        return recovery.definition_changes(self, run_id)

    def resume(self, run_id: str, *, force: bool = False, reload: bool = False) -> list[str]:
        """Re-queue what did not succeed (see :func:`.recovery.resume`)."""
        return recovery.resume(self, run_id, force=force, reload=reload)

    def recover(self) -> list[str]:
        """Runs left 'running' by a dead process become 'interrupted' (their processes end)."""
        return recovery.recover(self)

    def _finish_run(self, run: RunRec, state: str) -> None:
        """Called by the scheduler when every task of ``run`` is final."""
        now = time.time()
        end = outcome.finish(self, run, state)
        state, result = end.state, end.result
        if result is not None:
            git.update_ref(self.ws.root, f"{RESULT_REFS}/{run.id}", result)
        self._release_shared(run)
        found = [c.to_dict() for c in end.conflicts]
        with self.store.write():
            self.store.execute(
                "UPDATE runs SET state = ?, finished = ?, result_commit = ?, error = ?, "
                "conflicts = ? WHERE id = ?",
                (state, now, result, end.reason, json.dumps(found) if found else None, run.id),
            )
            # A task whose final state could not be written then (a full disk) gets it now.
            for name, t in run.tasks.items():
                self.store.execute(
                    "UPDATE tasks SET state = ?, error = ?, finished = ? "
                    "WHERE run = ? AND name = ? AND state IN ('queued', 'running')",
                    (t.state, t.error, t.finished or now, run.id, name),
                )
        event = run_finished_event(run, state, now)._replace(
            reason=end.reason, conflicts=found or None
        )
        self.emit(event)
        if state == "failed":
            self.emit(
                Notice(
                    "warning",
                    f"run {run.id} ({run.workflow.name}) failed: {end.reason}",
                    run.id,
                    "run-failed",
                )
            )

    def _fail_run(self, run: RunRec, reason: str) -> None:
        """Finishing raised: the run still gets a final state, 'failed' with the reason."""
        now = time.time()
        with contextlib.suppress(Exception):
            self._release_shared(run)
        self.store.execute(
            "UPDATE runs SET state = 'failed', finished = ?, error = ? WHERE id = ?",
            (now, reason[:2000], run.id),
        )
        self.emit(run_finished_event(run, "failed", now))
        self.emit(Notice("error", f"run {run.id} ({run.workflow.name}) failed: {reason}", run.id))

    # --- hooks used by task bodies ---------------------------------------

    def begin_attempt(self, run: RunRec, t: TaskRec) -> AttemptKey:
        """The attempt begins: its rows go in with the next write transaction (the task's
        final state, its output, or the next flush tick), not one of their own.

        Every later write comes after them (deferred writes lead the next transaction),
        so a crash loses at most this recent tail: the store then shows the task queued,
        a resume runs it again, and recovery ends its process by its mark.
        """
        self.store.defer(
            "UPDATE tasks SET state = 'running', attempt = ?, started = ?, finished = NULL, "
            "exit_code = NULL, error = NULL WHERE run = ? AND name = ?",
            (t.attempt, t.started, run.id, t.spec.name),
        )
        self.store.defer(
            "INSERT INTO attempts (run, task, attempt, state, started) "
            "VALUES (?, ?, ?, 'running', ?)",
            (run.id, t.spec.name, t.attempt, t.started),
        )
        self.emit(TaskState(run.id, t.spec.name, "running", t.attempt, t.worktree, None, 0))
        return AttemptKey(run.id, t.spec.name, t.attempt)

    def end_attempt(
        self, key: AttemptKey, t: TaskRec, state: str, finished: float | None = None
    ) -> None:
        self.store.execute(
            "UPDATE attempts SET state = ?, finished = ?, exit_code = ?, error = ?, worktree = ? "
            "WHERE run = ? AND task = ? AND attempt = ?",
            (
                state,
                finished if finished is not None else time.time(),
                t.exit_code,
                t.error,
                t.worktree,
                *key,
            ),
        )

    def running_in(self, run: RunRec, t: TaskRec, lease: Any) -> None:
        """The task has its worktree (the lease row already names the run and task).

        The task row learns it in the same transaction as the process id
        (:meth:`started_process`), or with the final state if no process starts.
        """
        t.worktree = lease.id
        self.emit(
            TaskState(run.id, t.spec.name, "running", t.attempt, lease.id, None, t.duration_ms)
        )

    def started_process(self, run: RunRec, t: TaskRec, pid: int) -> None:
        # Deferred to the next transaction (at most a flush tick away): a short task's
        # pid and worktree go in with its final state. A crash before then loses only
        # the pid, and recovery finds the process by its mark anyway (_kill_marked).
        self.store.defer(
            "UPDATE attempts SET pid = ?, worktree = ? WHERE run = ? AND task = ? AND attempt = ?",
            (pid, t.worktree, run.id, t.spec.name, t.attempt),
        )
        self.store.defer(
            "UPDATE tasks SET worktree = ? WHERE run = ? AND name = ?",
            (t.worktree, run.id, t.spec.name),
        )
        self.monitor.track(run.id, t.spec.name, pid)

    def output_buffer(self, run: RunRec, t: TaskRec) -> OutputBuffer:
        return self.outputs.open(run.id, t.spec.name, t.attempt)

    def flush_output(self, run: RunRec, t: TaskRec) -> None:
        self.monitor.untrack(run.id, t.spec.name)
        self.outputs.close(run.id, t.spec.name)

    def replay(self, run: RunRec, t: TaskRec, lines: list[str]) -> None:
        """A cache hit: store and send the output the cached run printed."""
        self.outputs.replay(run.id, t.spec.name, t.attempt, lines)

    def _flush_loop(self) -> None:
        """Ten times a second: flush output; every few ticks, take cancel requests."""
        tick = 0
        while not self._stop.wait(0.1):
            self.outputs.flush_all()
            with contextlib.suppress(Exception):
                self.store.flush_deferred()  # processes started since the last tick
            with contextlib.suppress(Exception):
                self._heartbeat.tick()
            tick += 1
            if tick % 3 == 0:
                with contextlib.suppress(Exception):
                    self._take_cancel_requests()
            if tick % 10 == 0:
                with contextlib.suppress(Exception):
                    self.scheduler.retry_stranded()

    def shared_tree(self, run: RunRec, commit: str) -> SharedTree:
        return self._shared.get(run.id, commit)

    def _release_shared(self, run: RunRec) -> None:
        release_shared(self, run, self._shared.take(run.id))

    # --- queries -------------------------------------------------------------

    def status(self, run_id: str | None = None) -> dict[str, Any]:
        return queries.status(
            self.store, run_id, pool_size=self.pool.config.size, limit=self.concurrency()["limit"]
        )

    def result_commit(self, run_id: str) -> str:
        row = recovery.run_row(self, run_id)
        if row["state"] != "succeeded" or not row["result_commit"]:
            raise RequestFailed(f"run {run_id} has no result to merge (state: {row['state']})")
        return str(row["result_commit"])

    def output(self, run_id: str, task: str) -> list[str]:
        """The lines of the task's last attempt, in emitted order."""
        return self.output_page(run_id, task)[0]

    def output_page(
        self, run_id: str, task: str, offset: int = 0, limit: int | None = None
    ) -> tuple[list[str], int | None]:
        """Lines ``offset`` .. ``offset + limit`` of the task's last attempt, in emitted order,
        and the offset of the next page (None at the end)."""
        return queries.output_page(self.store, run_id, task, offset, limit)

    def stored_output(self, run_id: str, task: str, attempt: int) -> list[str]:
        rows = self.store.query(
            "SELECT line FROM output WHERE run = ? AND task = ? AND attempt = ? ORDER BY seq, id",
            (run_id, task, attempt),
        )
        return [r["line"] for r in rows]

    def report_data(self, run_id: str) -> dict[str, Any]:
        """Everything the timeline page shows (see treelane.report.timeline)."""
        return queries.report_data(self.store, run_id)

    def trace(self, run_id: str) -> dict[str, Any]:
        """The run as Chrome Trace Event JSON (open in Perfetto or chrome://tracing)."""
        return queries.trace(self.store, run_id)

    # --- lifecycle -------------------------------------------------------------

    def wait(self, run_id: str, timeout: float | None = None) -> str:
        """Block until ``run_id`` is no longer running here; its final state."""
        if not self.scheduler.wait_run(run_id, timeout):
            raise TimeoutError(f"run {run_id} still running after {timeout} s")
        return str(recovery.run_row(self, run_id)["state"])

    def close(self, interrupt: bool = True) -> None:
        """Stop: running tasks end and their runs become 'interrupted' (resumable)."""
        self.closing = True
        live = list(self.scheduler.runs.values())
        for run in live:
            for t in run.tasks.values():
                if t.state == "running":
                    t.cancel.cancel()
        deadline = time.monotonic() + 10
        while self.scheduler.running and time.monotonic() < deadline:
            time.sleep(0.02)
        self.scheduler.close()
        for run in live:
            recovery.interrupt(self, run.id)
            self._release_shared(run)
        self.pool.stop_warming()
        self.pool.meter.stop()  # its thread writes to the store: stopped before it closes
        with contextlib.suppress(Exception):
            self.backend.close()
        self._stop.set()
        self.monitor.stop()
        with contextlib.suppress(Exception):
            self._heartbeat.stop()
        with contextlib.suppress(Exception):
            self.store.flush_deferred()
        self.store.close()
