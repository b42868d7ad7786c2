"""Tasks added at run time ("skills"): a task writes a table of tasks at ``$TREELANE_SPAWN``.

When the task succeeds its file is validated like treelane.toml; its tasks join
the run as the spawner's children, named ``<spawner>.<child>`` (``needs`` between
children use the names as written). A child without needs starts from the
spawner's result; tasks that need the spawner wait for every child and start
from the merge (see :mod:`treelane.engine.graph`). Children are stored before
they run (the spawner's row keeps its document in ``tasks.spec``) and resumed
like any task.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from treelane.engine.scheduler import RunRec, TaskRec
from treelane.engine.workflow import ConfigError, Task
from treelane.engine.workflow.expand import ref_part
from treelane.engine.workflow.tasksdoc import parse_tasks

if TYPE_CHECKING:
    from treelane.engine.host import EngineHost as Engine

SPAWN_ENV = "TREELANE_SPAWN"


class SpawnError(Exception):
    """The spawn file is invalid or exceeds a limit; the message names file, line, column."""


# Spawn folders this process uses, by (state folder, run): the folder, and True if it
# was made here (so no old file is there). Worked out once per run, not once per task.
_made: dict[tuple[str, str], tuple[str, bool]] = {}


def spawn_path(engine: Engine, run: RunRec, t: TaskRec) -> Path:
    """Where the attempt may write its tasks (outside its worktree; removed first)."""
    key = (str(engine.ws.state_dir), run.id)
    known = _made.get(key)
    if known is None:
        folder = engine.ws.state_dir / "spawn" / run.id
        try:
            folder.mkdir(parents=True)
            fresh = True  # made here now: it holds no file of an earlier process
        except FileExistsError:
            fresh = False
        known = _made[key] = (str(folder), fresh)
    folder_name, fresh = known
    path = os.path.join(folder_name, f"{ref_part(t.spec.name)}.{t.attempt}")
    if not fresh:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    return Path(path)


def depth(run: RunRec, name: str) -> int:
    """How many spawners are above ``name`` (0 for a task of the workflow file)."""
    d, parent = 0, run.tasks[name].spec.parent
    while parent:
        d += 1
        parent = run.tasks[parent].spec.parent if parent in run.tasks else ""
    return d


def read(engine: Engine, run: RunRec, t: TaskRec, path: Path) -> str | None:
    """The spawn file's text, or None when the task wrote none."""
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as err:
        raise SpawnError(f"{path}: not valid UTF-8: {err.reason}") from err


def children(engine: Engine, run: RunRec, t: TaskRec, text: str, source: str) -> list[Task]:
    """Validate a spawn document and turn it into the spawner's children."""
    try:
        tasks = parse_tasks(text, source, engine.config.limits)
    except ConfigError as err:
        raise SpawnError(str(err)) from err
    if not tasks:
        return []
    s = engine.settings
    if depth(run, t.spec.name) >= s.spawn_depth:
        raise SpawnError(
            f"{source}: task '{t.spec.name}' may not add tasks: it is at depth "
            f"{depth(run, t.spec.name)} (spawn_depth = {s.spawn_depth} in [settings])"
        )
    if len(tasks) > s.max_spawn:
        raise SpawnError(
            f"{source}: {len(tasks)} tasks, more than max_spawn = {s.max_spawn} ([settings])"
        )
    return qualify(t.spec.name, tasks, set(run.tasks), source)


def qualify(spawner: str, tasks: tuple[Task, ...], taken: set[str], source: str) -> list[Task]:
    """``child`` -> ``spawner.child``; needs follow; a child without needs needs the spawner."""
    prefix = spawner + "."
    out: list[Task] = []
    for task in tasks:
        name = prefix + task.name
        if name in taken:
            raise SpawnError(f"{source}: task '{name}' already exists in this run")
        needs = tuple(prefix + n for n in task.needs) or (spawner,)
        group = prefix + task.group if task.group else ""
        out.append(replace(task, name=name, needs=needs, group=group, parent=spawner))
    return out


def rebuild(engine: Engine, recs: dict[str, TaskRec], spawner: str, text: str) -> None:
    """Resume: add a succeeded spawner's stored children to ``recs`` and rewire its dependents.

    The stored spawn document is parsed again, so the children are exactly those of
    the first run (their rows keep their states).
    """
    from treelane.engine.graph import rewire, sinks_of

    tasks = parse_tasks(text, f"{spawner} (stored)", engine.config.limits)
    kids = qualify(spawner, tasks, set(), f"{spawner} (stored)")
    dependents = [r for r in recs.values() if spawner in r.spec.needs]
    for kid in kids:
        recs.setdefault(kid.name, TaskRec(kid)).spec = kid
    sinks = sinks_of(kids)
    for dep in dependents:
        rewire(dep, spawner, sinks)
