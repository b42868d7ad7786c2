"""Helpers for the engine tests: real engines on real repositories, no mocks.

``toml(...)`` writes a real ``treelane.toml`` document (parsed by ``parse_config``), an
:class:`Engines` opens engines on a repository and records every event they emit, and
closes them all at the end of the test. Test modules get the fixture with
``engines = engines_fixture()``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import psutil
import pytest

from treelane.engine.core import Engine
from treelane.engine.events import Event
from treelane.engine.workflow import Config, parse_config

E = TypeVar("E")


# --- treelane.toml ------------------------------------------------------------


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {v!r} as TOML")


def toml(
    workflows: Mapping[str, Mapping[str, Mapping[str, Any]]],
    settings: Mapping[str, Any] | None = None,
    limits: Mapping[str, int] | None = None,
) -> str:
    """A treelane.toml document: ``workflows = {wf: {task: {key: value}}}``."""
    lines: list[str] = []
    if settings:
        lines.append("[settings]")
        lines += [f"{k} = {_value(v)}" for k, v in settings.items()]
    if limits:
        lines.append("[limits]")
        lines += [f"{k} = {_value(v)}" for k, v in limits.items()]
    for wf, tasks in workflows.items():
        for task, body in tasks.items():
            lines.append(f"[workflows.{wf}.tasks.{task}]")
            lines += [f"{k} = {_value(v)}" for k, v in body.items()]
    return "\n".join(lines) + "\n"


def config(
    workflows: Mapping[str, Mapping[str, Mapping[str, Any]]],
    settings: Mapping[str, Any] | None = None,
    limits: Mapping[str, int] | None = None,
) -> Config:
    return parse_config(toml(workflows, settings, limits))


# --- engines ------------------------------------------------------------------


class Recorder:
    """Collects every event an engine emits (listeners run on engine threads)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def of(self, kind: type[E]) -> list[E]:
        with self._lock:
            return [e for e in self.events if isinstance(e, kind)]


class Engines:
    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self.open: list[Engine] = []
        self.recorders: dict[int, Recorder] = {}

    def __call__(self, cfg: Config | str, *, monitor_interval: float = 0.2, **kw: Any) -> Engine:
        if isinstance(cfg, str):
            cfg = parse_config(cfg)
        engine = Engine(self.repo, config=cfg, monitor_interval=monitor_interval, **kw)
        rec = Recorder()
        engine.subscribe(rec)
        self.open.append(engine)
        self.recorders[id(engine)] = rec
        return engine

    def events(self, engine: Engine) -> Recorder:
        return self.recorders[id(engine)]

    def close(self) -> None:
        for engine in self.open:
            if not engine.closing:
                engine.close()


def engines_fixture() -> Any:
    @pytest.fixture
    def engines(repo: Path) -> Iterator[Engines]:
        h = Engines(repo)
        try:
            yield h
        finally:
            h.close()

    return engines


def run(engine: Engine, workflow: str, timeout: float = 30.0, base: str | None = None) -> str:
    """Start ``workflow`` and wait for it; the run id."""
    started = engine.start(engine.workflow(workflow), base)
    engine.wait(started.run, timeout)
    return started.run


# --- store views ------------------------------------------------------------


def run_state(engine: Engine, run_id: str) -> str:
    return str(engine.status(run_id)["runs"][0]["state"])


def task_states(engine: Engine, run_id: str) -> dict[str, str]:
    return {t["name"]: t["state"] for t in engine.status(run_id)["runs"][0]["tasks"]}


def task_row(engine: Engine, run_id: str, task: str) -> dict[str, Any]:
    row = engine.store.one("SELECT * FROM tasks WHERE run = ? AND name = ?", (run_id, task))
    assert row is not None
    return row


def attempts(engine: Engine, run_ids: Iterable[str] | str) -> list[dict[str, Any]]:
    ids = [run_ids] if isinstance(run_ids, str) else list(run_ids)
    marks = ", ".join("?" for _ in ids)
    return engine.store.query(
        f"SELECT * FROM attempts WHERE run IN ({marks}) ORDER BY started", tuple(ids)
    )


def max_overlap(intervals: Iterable[tuple[float, float]]) -> int:
    """The most intervals open at one instant (an end at t closes before a start at t)."""
    points = sorted(
        [(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals],
        key=lambda p: (p[0], p[1]),
    )
    best = cur = 0
    for _, d in points:
        cur += d
        best = max(best, cur)
    return best


def stamps(path: Path) -> dict[str, tuple[float, float]]:
    """Intervals written by tasks as lines ``start NAME T`` / ``end NAME T``."""
    starts: dict[str, float] = {}
    out: dict[str, tuple[float, float]] = {}
    for line in path.read_text().splitlines():
        kind, name, t = line.split()
        if kind == "start":
            starts[name] = float(t)
        else:
            out[name] = (starts[name], float(t))
    return out


def stamped(name: str, log: Path, body: str) -> str:
    """A command that logs its start and end time (for overlap checks) around ``body``."""
    now = "$(date +%s.%N)"
    return (
        f'echo "start {name} {now}" >> {log}; {body}; rc=$?; '
        f'echo "end {name} {now}" >> {log}; exit $rc'
    )


# --- processes ---------------------------------------------------------------


def alive(pid: int) -> bool:
    """Is ``pid`` a live process? (A zombie has ended: only its exit status is left.)"""
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def pids_in(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def wait_for(pred: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def reap(pids: Iterable[int]) -> None:
    """Test hygiene: end processes a failing test would otherwise leave behind."""
    for pid in pids:
        try:
            p = psutil.Process(pid)
            p.kill()
        except psutil.Error:
            pass


SPAWN = r"""#!/bin/sh
# A process tree that ignores nothing and lives long: two children in the task's process
# group and one grandchild in a session of its own (setsid). Every pid goes to "$1".
pidfile=$1
sh -c 'echo $$ >> "$0"; exec sleep 100' "$pidfile" &
sh -c 'setsid sh -c '\''echo $$ >> "$0"; exec sleep 100'\'' "$0" & wait' "$pidfile" &
echo $$ >> "$pidfile"
sleep 100
"""
SPAWNED = 3  # pids the script writes: child, setsid grandchild, the script's shell


def spawn_script(folder: Path) -> Path:
    """Write the tree-spawning script (run it as ``sh SCRIPT PIDFILE``)."""
    path = folder / "spawn.sh"
    path.write_text(SPAWN)
    return path
