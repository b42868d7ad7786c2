"""The agent-workflow steps of a task body: spawn files, retry waits, checkpoints.

:mod:`treelane.engine.taskrun` calls these at fixed points of an attempt, so the
features live here and the body stays one readable sequence.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

from treelane.engine import retry, spawn
from treelane.engine.events import TaskState
from treelane.engine.periodic import PeriodicCheckpoints
from treelane.engine.pool import Lease
from treelane.engine.scheduler import AttemptKey, RunRec, TaskRec

if TYPE_CHECKING:
    from treelane.engine.host import EngineHost as Engine


# --- retries -------------------------------------------------------------------


def retry_matches(engine: Engine, run: RunRec, t: TaskRec) -> str | None:
    """The retry_on entry the failed attempt's output matched ("" without retry_on)."""
    if not t.spec.retry_on:
        return ""
    return retry.matches(t.spec, engine.stored_output(run.id, t.spec.name, t.attempt), t.error)


def wait_to_retry(engine: Engine, run: RunRec, t: TaskRec, wait: float, matched: str) -> None:
    """Queue the task again in ``wait`` seconds; it shows as queued with the reason."""
    cause = f"'{matched}' in the output" if matched else (t.error or "failure")
    reason = f"retrying in {wait:.1f} s after {cause} (attempt {t.attempt + 1})"
    at = time.time() + wait
    engine.store.execute(
        "UPDATE tasks SET state = 'queued', retry_at = ?, reason = ?, error = ? "
        "WHERE run = ? AND name = ?",
        (at, reason, t.error, run.id, t.spec.name),
    )
    engine.scheduler.retry_later(run, t.spec.name, wait)
    engine.emit(
        TaskState(
            run.id,
            t.spec.name,
            "queued",
            t.attempt,
            t.worktree,
            t.exit_code,
            t.duration_ms,
            reason,
        )
    )


# --- spawned tasks -----------------------------------------------------------------


def spawn_env(engine: Engine, run: RunRec, t: TaskRec, env: dict[str, str]) -> Path:
    path = spawn.spawn_path(engine, run, t)
    env[spawn.SPAWN_ENV] = str(path)
    return path


def spawn_text(t: TaskRec, path: Path) -> str | None:
    """What the attempt wrote at $TREELANE_SPAWN (None: nothing)."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None


def spawned(
    engine: Engine,
    run: RunRec,
    t: TaskRec,
    text: str | None,
    source: str,
    file: Path | None = None,
) -> bool:
    """Validate what the task wrote; False (and ``t.error``) if it is invalid.

    A valid ``file`` is removed (its text is stored with the task); an invalid one stays
    for a look at what the message names.
    """
    t.spawned, t.spawn_doc = [], None
    if text is None or not text.strip():
        return True
    try:
        kids = spawn.children(engine, run, t, text, source)
    except spawn.SpawnError as err:
        t.error = f"invalid spawned tasks: {err}"
        return False
    t.spawned, t.spawn_doc = kids, text
    if file is not None:
        with contextlib.suppress(OSError):
            file.unlink(missing_ok=True)
    return True


def finishing(
    engine: Engine, run: RunRec, t: TaskRec, attempt_id: AttemptKey, state: str, ended: float
) -> None:
    """In the final-state transaction: end the attempt, store the spawned tasks."""
    engine.end_attempt(attempt_id, t, state, finished=ended)
    engine.store.execute(
        "UPDATE tasks SET retry_at = NULL, reason = NULL WHERE run = ? AND name = ?",
        (run.id, t.spec.name),
    )
    if state not in ("succeeded", "cached") or not t.spawned:
        t.spawned = []
        return
    row = engine.store.one("SELECT MAX(idx) AS idx FROM tasks WHERE run = ?", (run.id,))
    first = int(row["idx"]) + 1 if row and row["idx"] is not None else 0
    engine.store.execute(
        "UPDATE tasks SET spec = ? WHERE run = ? AND name = ?",
        (t.spawn_doc, run.id, t.spec.name),
    )
    for i, kid in enumerate(t.spawned):
        engine.store.execute(
            "INSERT INTO tasks (run, name, idx, state, grp, kind, parent) "
            "VALUES (?, ?, ?, 'queued', ?, ?, ?)",
            (run.id, kid.name, first + i, kid.group or None, kid.kind, kid.parent),
        )


# --- checkpoints while it runs ----------------------------------------------------------


def checkpointing(
    engine: Engine, run: RunRec, t: TaskRec, lease: Lease
) -> contextlib.AbstractContextManager[object]:
    every = t.spec.checkpoint_every or engine.settings.checkpoint_every
    if not every or t.spec.isolation != "worktree":
        return contextlib.nullcontext()
    return PeriodicCheckpoints(engine, run.id, t.spec.name, lease, every)
