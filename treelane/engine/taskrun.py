"""One task, from its inputs to its final state (runs on a scheduler thread).

1. Input: the run's base (no needs), the need's result (one), or the merge of the
   needs' results in the listed order (several); a conflict fails the task before
   its command runs, naming the paths.
2. Cache: a hit reuses the stored result tree; the task is ``cached`` and its
   output is replayed.
3. Worktree: its own from the pool (``isolation = "worktree"``) or the run's
   shared one at the input commit (``"shared"``, no checkout of its own).
4. Command through the executor; exit 0 turns every change into the result commit
   (``refs/treelane/runs/<run>/<task>``); a failure is retried on a reset worktree
   up to ``retries`` times, each failed attempt's files kept under
   ``refs/treelane/attempts/<run>/<task>/<n>``.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from treelane.engine import (
    agentrun,
    attempt,
    candidates,
    conflicts,
    diskfull,
    git,
    remote,
    resolve,
    retry,
    shared,
    snapshot,
    taskfiles,
)
from treelane.engine.events import TaskState
from treelane.engine.executor import CancelToken
from treelane.engine.outputlog import OutputBuffer
from treelane.engine.pool import Lease
from treelane.engine.scheduler import RunRec, TaskRec
from treelane.engine.workflow.expand import ref_part

if TYPE_CHECKING:
    from treelane.engine.host import EngineHost as Engine

RUN_REFS = "refs/treelane/runs"
ATTEMPT_REFS = "refs/treelane/attempts"


def run_task(engine: Engine, run: RunRec, t: TaskRec) -> None:
    """Take task ``t`` of ``run`` to a final state (the scheduler's task body)."""
    name = t.spec.name
    while True:
        t.attempt += 1
        t.started, t.finished, t.exit_code, t.error = time.time(), None, None, None
        attempt_id = engine.begin_attempt(run, t)
        if t.spec.kind == "pick":
            state, lease = candidates.choose(engine, run, t), None
        else:
            state, lease = _attempt(engine, run, t)
        ended = time.time()
        if engine.closing and state == "cancelled":
            state = "interrupted"  # the engine is stopping: resumable, not cancelled
        again = state == "failed" and t.attempt <= t.spec.retries and not t.cancel.is_set()
        matched = agentrun.retry_matches(engine, run, t) if again else None
        if again and matched is None:
            again = False
            t.error = f"{t.error or 'failed'} (not retried: output matched no retry_on entry)"
        wait = retry.delay(t.spec, t.attempt) if again else 0.0
        if again:
            engine.end_attempt(attempt_id, t, state, finished=ended)
        if lease is not None and t.spec.isolation == "worktree":
            if state == "failed":
                try:
                    _keep_failed_attempt(engine, run, t, lease)
                except Exception as exc:  # e.g. a full disk: the reset below frees it
                    t.error = f"{t.error}; its files could not be kept: {diskfull.describe(exc)}"
            taskfiles.leave(run, t, lease)
            # A result equal to the input (the task changed no file): nothing to reset.
            unchanged = lease.commit if state == "succeeded" and t.result == lease.commit else None
            engine.pool.release(lease.id, unchanged_at=unchanged)
        if not again:
            # The attempt's end and the task's final state: one transaction.
            engine.scheduler.final_state(
                run,
                name,
                state,
                also=functools.partial(
                    agentrun.finishing, engine, run, t, attempt_id, state, ended
                ),
            )
            return
        if wait > 0:
            agentrun.wait_to_retry(engine, run, t, wait, matched or "")
            return
        engine.emit(
            TaskState(
                run.id,
                name,
                "queued",
                t.attempt,
                t.worktree,
                t.exit_code,
                t.duration_ms,
                f"retrying after {t.error or 'failure'}",
            )
        )


def _attempt(engine: Engine, run: RunRec, t: TaskRec) -> tuple[str, Lease | None]:
    repo = engine.ws.root
    try:
        input_commit = _input(engine, run, t)
    except _InputConflict as exc:
        command = t.spec.resolve or run.workflow.resolve
        why = "-"
        if command:
            show = functools.partial(engine.replay, run, t)  # its output is the task's
            why = resolve.auto(engine, run.id, t.spec.name, command, t.spec.timeout, show)
        try:
            if why:
                raise exc
            input_commit = _input(engine, run, t)  # with the resolution the command made
        except _InputConflict as again:
            t.error = str(again) + ("" if why == "-" else f" ({why})")
            t.conflicts = again.conflicts
            return "failed", None
    t.input = input_commit
    # Only the cache key and a worktree task's result need the input's tree.
    needs_tree = t.spec.cache or t.spec.isolation == "worktree"
    input_tree = _tree_of(repo, input_commit) if needs_tree else ""
    key = None
    if t.spec.cache and not t.spec.is_candidate:  # candidates are fresh attempts
        key = taskfiles.key_for(engine, run, t, input_tree)
        hit = engine.cache.get(key) if run.use_cache else None
        if hit is not None:
            if not agentrun.spawned(engine, run, t, hit.spawn, "(cached)"):
                return "failed", None
            t.result = _result_commit(engine, run, t, input_commit, input_tree, hit.tree)
            taskfiles.finish(engine, run, t, None, hit.outputs)
            engine.replay(run, t, hit.output)
            t.exit_code = 0
            return "cached", None
    if t.cancel.is_set():
        t.error = "cancelled"
        return "cancelled", None
    spec = _spec(engine, run, t, input_commit, input_tree)
    if remote.takes(engine, run, t):
        return _remote(engine, run, t, spec, key), None
    lease = _worktree(engine, run, t, input_commit)
    try:
        return _in_worktree(engine, run, t, spec, lease, input_commit, input_tree, key)
    except Exception as exc:  # the lease is still given back (and a full disk said so)
        engine.flush_output(run, t)
        t.error = diskfull.describe(exc, lease.path)
        return "failed", lease


def _in_worktree(
    engine: Engine,
    run: RunRec,
    t: TaskRec,
    spec: attempt.AttemptSpec,
    lease: Lease,
    input_commit: str,
    input_tree: str,
    key: str | None,
) -> tuple[str, Lease | None]:
    repo = engine.ws.root
    t.worktree = lease.id
    if t.spec.isolation == "worktree":
        taskfiles.prepare(engine, run, t, lease)
    engine.running_in(run, t, lease)
    buf = engine.output_buffer(run, t)
    env = attempt.attempt_env(spec, lease.path)
    spawn_file = agentrun.spawn_env(engine, run, t, env)
    io = _LocalIO(buf, t.cancel, lambda pid: engine.started_process(run, t, pid))
    with agentrun.checkpointing(engine, run, t, lease):
        res = attempt.execute(spec, lease.path, engine.executor, io, env, snapshot_tree=False)
    t.exit_code = res.exit_code
    if res.cancelled:
        engine.flush_output(run, t)
        t.error = "cancelled"
        return "cancelled", lease
    if res.error:
        engine.flush_output(run, t)
        t.error = res.error
        if diskfull.low_on_space(lease.path):
            t.error += f": no space left on device (on the filesystem of {lease.path})"
        return "failed", lease
    text = agentrun.spawn_text(t, spawn_file)
    if not agentrun.spawned(engine, run, t, text, str(spawn_file), spawn_file):
        engine.flush_output(run, t)
        return "failed", lease
    if t.spec.isolation == "shared":
        t.result = input_commit  # shared tasks must not change files (checked at run end)
        own = taskfiles.finish(engine, run, t, None, snapshot.EMPTY_TREE)
    else:
        tree = snapshot.files_tree(lease.path)
        t.result = _result_commit(engine, run, t, input_commit, input_tree, tree)
        own = taskfiles.finish(engine, run, t, lease, snapshot.EMPTY_TREE)
    if t.spec.is_candidate:
        candidates.score(engine, run, t, lease, env, buf.add)
    engine.flush_output(run, t)
    if key is not None:
        lines = engine.stored_output(run.id, t.spec.name, t.attempt)
        engine.cache.put(
            key, _tree_of(repo, t.result), lines, t.spec.cache_ttl, spawn=text, outputs=own
        )
    return "succeeded", lease


class _LocalIO(NamedTuple):
    buf: OutputBuffer
    cancel: CancelToken
    on_start: Callable[[int], None]

    def line(self, text: str) -> None:
        self.buf.add(text)

    def started(self, pid: int) -> None:
        self.on_start(pid)


def _spec(
    engine: Engine, run: RunRec, t: TaskRec, input_commit: str, input_tree: str
) -> attempt.AttemptSpec:
    return attempt.AttemptSpec(
        run.id,
        t.spec.name,
        t.attempt,
        t.spec.run,
        t.spec.env,
        t.spec.timeout,
        input_commit,
        input_tree,
        f"treelane: {t.spec.name} ({run.id})\n",
        engine.settings.setup,
        t.spec.resources,
    )


def _remote(
    engine: Engine, run: RunRec, t: TaskRec, spec: attempt.AttemptSpec, key: str | None
) -> str:
    """The attempt on another machine; nothing is written here until its result arrives."""
    buf = engine.output_buffer(run, t)
    res = remote.attempt(engine, run, t, spec, buf.add)
    t.exit_code = res.exit_code
    if res.worktree:  # where it ran last (a lost worker's attempt ran again elsewhere)
        t.worktree = f"{res.where}/{res.worktree}"
    if res.cancelled or res.error or res.tree is None:
        engine.flush_output(run, t)
        t.error = "cancelled" if res.cancelled else (res.error or "no result")
        return "cancelled" if res.cancelled else "failed"
    t.result = _result_commit(engine, run, t, spec.input_commit, spec.input_tree, res.tree)
    own = taskfiles.finish(engine, run, t, None, snapshot.EMPTY_TREE)
    engine.flush_output(run, t)
    if key is not None:
        lines = engine.stored_output(run.id, t.spec.name, t.attempt)
        engine.cache.put(key, res.tree, lines, t.spec.cache_ttl, spawn=None, outputs=own)
    return "succeeded"


class _InputConflict(Exception):
    def __init__(self, found: list[conflicts.InputConflict]) -> None:
        super().__init__(conflicts.describe(found, "inputs"))
        self.conflicts = found


@dataclass
class _Merge:
    lock: threading.Lock = field(default_factory=threading.Lock)
    result: tuple[str | None, list[conflicts.InputConflict]] | None = None


_known_trees: dict[tuple[Path, str], str] = {}
_KNOWN_TREES_MAX = 4096


def _tree_of(repo: Path, commit: str) -> str:
    """A commit's tree, memoised (a commit id always names the same tree)."""
    tree = _known_trees.get((repo, commit))
    if tree is None:
        tree = git.tree_of(repo, commit)
        _remember_tree(repo, commit, tree)
    return tree


def _input(engine: Engine, run: RunRec, t: TaskRec) -> str:
    needs = t.spec.needs
    if not needs:
        return run.base_commit
    named = [(n, r) for n in needs if (r := run.tasks[n].result) is not None]
    commits = [c for _, c in named]
    if len(set(commits)) == 1:
        return commits[0]
    # A resolution of these inputs' conflicts (treelane resolve) is merged onto.
    start = resolve.lookup(engine, run.id, t.spec.name, commits)
    # Tasks whose needs have the same results share one merge (computed once).
    with run.inputs_lock:
        slot: _Merge = run.inputs.setdefault((*commits, start or ""), _Merge())
    with slot.lock:
        if slot.result is None:
            slot.result = conflicts.merge_named(
                engine.ws.root,
                named,
                f"treelane: inputs {', '.join(needs)} ({run.id})\n",
                start,
            )
        commit, found = slot.result
    if commit is None:
        raise _InputConflict(found)
    return commit


def _result_commit(
    engine: Engine, run: RunRec, t: TaskRec, input_commit: str, input_tree: str, tree: str
) -> str:
    repo = engine.ws.root
    if tree == input_tree:
        commit = input_commit
    else:
        commit = git.commit_tree(
            repo, tree, [input_commit], f"treelane: {t.spec.name} ({run.id})\n"
        )
        _remember_tree(repo, commit, tree)
    git.update_ref(repo, f"{RUN_REFS}/{run.id}/{ref_part(t.spec.name)}", commit)
    return commit


def _remember_tree(repo: Path, commit: str, tree: str) -> None:
    """Seed the memo with a commit we just made (its tree is known: no git call later)."""
    if len(_known_trees) >= _KNOWN_TREES_MAX:
        _known_trees.clear()
    _known_trees[(repo, commit)] = tree


def _worktree(engine: Engine, run: RunRec, t: TaskRec, commit: str) -> Lease:
    if t.spec.isolation == "worktree":
        sparse = run.workflow.sparse_of(t.spec)
        return engine.pool.acquire(commit, run=run.id, task=t.spec.name, sparse=sparse)
    return shared.lease(engine, run, t, commit)


def _keep_failed_attempt(engine: Engine, run: RunRec, t: TaskRec, lease: Lease) -> None:
    """A failed attempt's files may be worth a look: keep them reachable before the reset."""
    snap = snapshot.take(lease.path)
    if snap.tree == snap.head_tree or snap.head is None:
        return
    repo = engine.ws.root
    commit = git.commit_tree(
        repo, snap.tree, [snap.head], f"treelane: failed attempt {t.attempt} of {t.spec.name}\n"
    )
    git.update_ref(repo, f"{ATTEMPT_REFS}/{run.id}/{ref_part(t.spec.name)}/{t.attempt}", commit)
