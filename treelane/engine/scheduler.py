"""The event-driven DAG scheduler.

One rule, applied whenever something changes (a run starts, a task ends, a
resource sample arrives): while a slot is free, start the next ready task,
taking runs in turn so none starves and skipping tasks whose named limits are
full. A task is ready the moment its last need succeeds; there are no rounds.
Bookkeeping is O(tasks + edges): each edge is touched once, when its need ends.

Every state change is written to the store before it is acted on; task bodies
run on a thread pool (:mod:`treelane.engine.taskrun`).
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from treelane.engine.critical import ReadyQueue
from treelane.engine.diskfull import describe, is_no_space
from treelane.engine.events import FINAL_STATES, OK_STATES, Event, RunFinished, TaskState
from treelane.engine.executor import CancelToken
from treelane.engine.graph import join, picks_now
from treelane.engine.workflow import Task, Workflow
from treelane.errors import RequestFailed
from treelane.storage.db import Store

log = logging.getLogger("treelane.scheduler")


class AttemptKey(NamedTuple):
    """One attempt of a task in the store (``attempts`` row)."""

    run: str
    task: str
    attempt: int


@dataclass
class TaskRec:
    spec: Task
    state: str = "queued"
    attempt: int = 0
    worktree: str | None = None
    exit_code: int | None = None
    started: float | None = None
    finished: float | None = None
    result: str | None = None
    input: str | None = None  # the commit the task started from
    conflicts: list[Any] = field(default_factory=list)  # its inputs' conflicts, if any
    error: str | None = None
    waiting: int = 0
    dependents: list[str] = field(default_factory=list)
    cancel: CancelToken = field(default_factory=CancelToken)
    score: float | None = None  # a candidate's score (pick)
    spawned: list[Task] = field(default_factory=list)  # tasks it added, joining the run
    retry_at: float | None = None  # waiting to retry (queued, holding no slot)
    spawn_doc: str | None = None  # the document its spawned tasks came from
    cache_key: str | None = None  # set once its input is known (dependents' keys use it)
    outputs: str | None = None  # tree of the ignored outputs it passes on (taskfiles)

    @property
    def duration_ms(self) -> int | None:
        if self.started is None:
            return None
        end = self.finished if self.finished is not None else time.time()
        return int((end - self.started) * 1000)


@dataclass
class RunRec:
    id: str
    workflow: Workflow
    base_commit: str
    started: float
    tasks: dict[str, TaskRec]
    ready: ReadyQueue = field(default_factory=ReadyQueue)  # longest remaining path first
    unfinished: int = 0
    cancelled: bool = False
    use_cache: bool = True  # False: `treelane run --no-cache` (entries are still written)
    idle: float = 0.0  # seconds stopped between an interruption and a resume
    # Merged inputs, shared by the tasks whose needs have the same results (taskrun).
    inputs: dict[tuple[str, ...], Any] = field(default_factory=dict)
    inputs_lock: threading.Lock = field(default_factory=threading.Lock)
    files: Any = None  # which output patterns each task cleans around it (taskfiles)


class Scheduler:
    """Owns the in-memory state of live runs; ``body`` runs one task to its final state."""

    def __init__(
        self,
        store: Store,
        body: Callable[[RunRec, TaskRec], None],
        emit: Callable[[Event], None],
        finish: Callable[[RunRec, str], None],
        fail: Callable[[RunRec, str], None],
        limit: Callable[[int], int],
        limits: dict[str, int] | None = None,
        threads: int = 1024,
    ) -> None:
        self.store = store
        self.body = body
        self.emit = emit
        self.finish = finish
        self.fail = fail  # last resort when finishing raised: write 'failed' with the reason
        self.limit = limit  # running -> how many may run now (adaptive)
        self.limits = dict(limits or {})
        self.runs: OrderedDict[str, RunRec] = OrderedDict()
        self.running = 0
        self._use: dict[str, int] = {}
        self._lock = threading.RLock()
        self._turn = itertools.count()
        # One thread per running task, made only when needed: the cap is far above any
        # limit a machine sets, so a cluster's slots (max_parallel = "auto" on Dask: the
        # threads of all its workers) are never held back to a fixed number here.
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="treelane-task")
        self._idle = threading.Condition(self._lock)
        # Runs whose tasks are all final; finished (results merged) outside the lock.
        self._finishing: deque[RunRec] = deque()
        # Runs whose finishing hit a full disk: tried again (retry_stranded) until it works.
        self._stranded: dict[str, RunRec] = {}
        self._closed = False
        # Per run: each task's remaining path (critical path first); None: arrival order.
        self.weigh: Callable[[RunRec], Mapping[str, float]] | None = None

    # --- entry points (any thread) ---------------------------------------

    def submit(self, run: RunRec) -> None:
        """Take a run whose tasks are already in the store; start what is ready."""
        if self.weigh is not None:
            run.ready.priority = self.weigh(run)
        with self._lock:
            for t in run.tasks.values():
                for need in t.spec.needs:
                    run.tasks[need].dependents.append(t.spec.name)
            for name, t in run.tasks.items():
                if t.state in FINAL_STATES:
                    continue
                run.unfinished += 1
                done = FINAL_STATES if t.spec.kind == "pick" else OK_STATES
                t.waiting = sum(1 for n in t.spec.needs if run.tasks[n].state not in done)
                if t.waiting == 0:
                    run.ready.append(name)
            self.runs[run.id] = run
            if run.unfinished == 0:
                self._finishing.append(run)
            self.dispatch()
        self._finish_runs()

    def cancel(self, run_id: str, task: str | None = None) -> list[str]:
        """Cancel a whole run or one task (its dependents are then skipped)."""
        with self._lock:
            run = self.runs.get(run_id)
            if run is None or run.unfinished == 0:
                return []  # not here, or every task is final and the run is finishing
            names = [task] if task is not None else list(run.tasks)
            if task is not None and task not in run.tasks:
                return []
            if task is None:
                run.cancelled = True
            live = [n for n in names if run.tasks[n].state in ("queued", "running")]
            for name in live:
                t = run.tasks[name]
                if t.state == "queued":
                    if name in run.ready:
                        run.ready.remove(name)
                    self._final(run, name, "cancelled", error="cancelled")
                    self._settle(run, name)
                elif t.state == "running":
                    threading.Thread(target=t.cancel.cancel, daemon=True).start()
            self.dispatch()
        self._finish_runs()
        return live

    def task_done(self, run: RunRec, name: str) -> None:
        """Called by a task body after it wrote the task's final state.

        A task waiting to retry (``retry_later``) is queued again: it only frees its slot.
        """
        with self._lock:
            self.running -= 1
            t = run.tasks[name]
            for lim in t.spec.uses:
                self._use[lim] -= 1
            if t.state == "queued" and t.retry_at is not None:
                self._wake_at(run, name, t.retry_at)
            elif t.state != "queued":
                if t.spawned:
                    join(run, name, t.spawned)
                if picks_now(run, t):
                    self._pick_now(run, t.spec.group)
                self._settle(run, name)
            self.dispatch()
        self._finish_runs()

    def retry_later(self, run: RunRec, name: str, delay: float) -> None:
        """Queue a failed task again after ``delay`` seconds, holding no slot meanwhile.

        The body returns after calling this; its ``task_done`` starts the wait.
        """
        t = run.tasks[name]
        with self._lock:
            t.state, t.retry_at = "queued", time.time() + delay

    def _wake_at(self, run: RunRec, name: str, when: float) -> None:
        t = run.tasks[name]

        def wake() -> None:
            with self._lock:
                if t.state == "queued" and t.retry_at is not None and run.id in self.runs:
                    t.retry_at = None
                    run.ready.append(name)
                    self.dispatch()

        timer = threading.Timer(max(0.0, when - time.time()), wake)
        timer.daemon = True
        timer.start()

    def _pick_now(self, run: RunRec, group: str) -> None:
        """pick_first: a candidate won; the pick node may run, the other candidates end."""
        node = run.tasks.get(group)
        if node is None or node.state != "queued" or node.waiting <= 0:
            return
        node.waiting = 0
        run.ready.append(group)
        for other in node.spec.needs:
            ot = run.tasks[other]
            if ot.state == "queued":
                if other in run.ready:
                    run.ready.remove(other)
                self._final(run, other, "cancelled", error="cancelled: another candidate won")
                self._settle(run, other)
            elif ot.state == "running":
                threading.Thread(target=ot.cancel.cancel, daemon=True).start()

    def dispatch(self) -> None:
        """Start ready tasks while slots are free."""
        with self._lock:
            if self._closed:
                return
            while self.running < self.limit(self.running):
                picked = self._pick()
                if picked is None:
                    break
                run, name = picked
                t = run.tasks[name]
                t.state = "running"
                self.running += 1
                for lim in t.spec.uses:
                    self._use[lim] = self._use.get(lim, 0) + 1
                self._pool.submit(self._run_body, run, t)
            if self.running == 0 and not any(r.ready for r in self.runs.values()):
                self._idle.notify_all()

    def wait_run(self, run_id: str, timeout: float | None = None) -> bool:
        """Block until ``run_id`` is no longer live here; False on time-out."""
        with self._lock:
            return self._idle.wait_for(lambda: run_id not in self.runs, timeout)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- internals (under the lock) --------------------------------------

    def _run_body(self, run: RunRec, t: TaskRec) -> None:
        try:
            self.body(run, t)
        except RequestFailed as exc:  # e.g. a setup command that failed: said as it is
            t.error = str(exc)
            self.final_state(run, t.spec.name, "failed", error=t.error)
        except Exception as exc:  # a bug in a body must not wedge the run
            t.error = describe(exc)
            self.final_state(run, t.spec.name, "failed", error=t.error)
        finally:
            self.task_done(run, t.spec.name)

    def _pick(self) -> tuple[RunRec, str] | None:
        """Runs in turn; in a run, the ready task with the longest remaining path whose
        named limits have room (O(log n) per pick, plus the tasks skipped for limits)."""
        runs = [r for r in self.runs.values() if r.ready]
        if not runs:
            return None
        start = next(self._turn) % len(runs)
        for run in runs[start:] + runs[:start]:
            name = run.ready.take(functools.partial(self._fits, run))
            if name is not None:
                return run, name
        return None

    def _fits(self, run: RunRec, name: str) -> bool:
        uses = run.tasks[name].spec.uses
        return all(self._use.get(u, 0) < self.limits.get(u, 1 << 30) for u in uses)

    def _settle(self, run: RunRec, name: str) -> None:
        """A task reached its final state: release or skip its dependents (iteratively)."""
        stack = [name]
        while stack:
            n = stack.pop()
            t = run.tasks[n]
            run.unfinished -= 1
            for d in t.dependents:
                dt = run.tasks[d]
                if dt.state != "queued":
                    continue
                if t.state in OK_STATES or (dt.spec.kind == "pick" and not run.cancelled):
                    dt.waiting -= 1
                    if dt.waiting == 0:
                        run.ready.append(d)
                else:
                    if d in run.ready:
                        run.ready.remove(d)
                    state = "cancelled" if run.cancelled else "skipped"
                    self._final(run, d, state, error=f"{n} {t.state}")
                    stack.append(d)
        if run.unfinished == 0:
            self._finishing.append(run)

    def _final(self, run: RunRec, name: str, state: str, error: str | None = None) -> None:
        """Give a task that never ran (queued) its final state."""
        t = run.tasks[name]
        t.state, t.error = state, error
        t.finished = time.time()
        self.store.execute(
            "UPDATE tasks SET state = ?, error = ?, finished = ? WHERE run = ? AND name = ?",
            (state, error, t.finished, run.id, name),
        )
        self.emit(TaskState(run.id, name, state, t.attempt, t.worktree, None, None, error))

    def final_state(
        self,
        run: RunRec,
        name: str,
        state: str,
        *,
        also: Callable[[], None] | None = None,
        **fields: Any,
    ) -> None:
        """Record the final state of a task that ran (body threads call this).

        ``also`` runs in the same store transaction (one write instead of two); the
        event goes out after the transaction committed.
        """
        t = run.tasks[name]
        t.state = state
        t.finished = time.time()
        for k, v in fields.items():
            setattr(t, k, v)
        with self.store.write():
            if also is not None:
                also()
            self.store.execute(
                "UPDATE tasks SET state = ?, exit_code = ?, finished = ?, duration_ms = ?, "
                "result_commit = ?, input_commit = ?, error = ?, worktree = ? "
                "WHERE run = ? AND name = ?",
                (
                    state,
                    t.exit_code,
                    t.finished,
                    t.duration_ms,
                    t.result,
                    t.input,
                    t.error,
                    t.worktree,
                    run.id,
                    name,
                ),
            )
        self.emit(
            TaskState(
                run.id, name, state, t.attempt, t.worktree, t.exit_code, t.duration_ms, t.error
            )
        )

    def _finish_runs(self) -> None:
        """Finish the runs whose last task ended (called without holding the lock).

        Finishing merges the run's results (git), so other runs keep being scheduled
        meanwhile; a run leaves ``runs`` only once its final state is written.
        """
        while True:
            with self._lock:
                if not self._finishing:
                    return
                run = self._finishing.popleft()
            self._finish(run)

    def _finish(self, run: RunRec) -> None:
        """Write the run's final state; whatever goes wrong, the run ends (never stays live)."""
        if run.id not in self.runs:
            return
        # Candidates do not decide the run: their pick node does.
        states = [t.state for t in run.tasks.values() if not t.spec.is_candidate]
        if all(s in OK_STATES for s in states):
            state = "succeeded"
        elif run.cancelled or "cancelled" in states:
            state = "cancelled"
        elif "interrupted" in states:
            state = "interrupted"
        else:
            state = "failed"
        try:
            self.finish(run, state)
        except Exception as exc:
            if is_no_space(exc):
                log.warning("run %s: no space to record its end; trying again", run.id)
                with self._lock:
                    self._stranded[run.id] = run
                return  # stays live until the end can be written
            log.exception("finishing run %s failed", run.id)
            try:
                self.fail(run, f"internal error while finishing the run: {exc}")
            except Exception:
                log.exception("could not record the failure of run %s", run.id)
        with self._lock:
            self._stranded.pop(run.id, None)
            self.runs.pop(run.id, None)
            self._idle.notify_all()

    def retry_stranded(self) -> None:
        """Try again to finish runs whose end could not be written (the disk was full)."""
        with self._lock:
            if not self._stranded:
                return
            self._finishing.extend(self._stranded.values())
            self._stranded.clear()
        self._finish_runs()


def run_sinks(run: RunRec) -> list[str]:
    """Tasks of the run (spawned ones included) that no other task needs, in order."""
    needed = {n for t in run.tasks.values() for n in t.spec.needs}
    return [n for n, t in run.tasks.items() if n not in needed and not t.spec.is_candidate]


def run_finished_event(run: RunRec, state: str, finished: float) -> RunFinished:
    counts: dict[str, int] = {}
    for t in run.tasks.values():
        counts[t.state] = counts.get(t.state, 0) + 1
    failed = [n for n, t in run.tasks.items() if t.state == "failed"]
    return RunFinished(
        run.id,
        run.workflow.name,
        state,
        int(max(0.0, finished - run.started - run.idle) * 1000),
        counts,
        failed,
    )
