"""The workflow model: immutable records for settings, workflows, tasks and problems."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

CONFIG_FILE = "treelane.toml"
DEFAULT_BASE = "HEAD"

T = TypeVar("T")
_KeyPath = tuple[str | int, ...]
"""Path of a value in the document: table keys and array indexes."""


# --------------------------------------------------------------------------- public types


@dataclass(frozen=True)
class Range:
    """A span of the source text: 0-based lines and columns, end exclusive."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int


_NOWHERE = Range(0, 0, 0, 0)


@dataclass(frozen=True)
class Problem:
    """One problem of a document. ``code``, ``path``, ``subject`` and ``suggestion`` say
    enough for an editor to offer a fix (see :mod:`treelane.server.codeactions`)."""

    message: str
    range: Range
    severity: str = "error"  # "error" | "warning"
    code: str = ""  # "syntax" | "unknown-key" | "unknown-need" | "unknown-limit" | ""
    path: tuple[str | int, ...] = ()  # key path of the offending key or value
    subject: str = ""  # the unknown key, task or limit name
    suggestion: str = ""  # the close match offered as "did you mean ...?"


class ConfigError(ValueError):
    """The workflow file (or an inline workflow) is invalid; carries every error."""

    def __init__(self, problems: Iterable[Problem], source: str | None = CONFIG_FILE) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.source = source
        super().__init__("\n".join(self._format(problem) for problem in self.problems))

    def _format(self, problem: Problem) -> str:
        if self.source is None:
            return problem.message
        where = problem.range
        return f"{self.source}:{where.start_line + 1}:{where.start_col + 1}: {problem.message}"

    def __reduce__(self) -> tuple[type[ConfigError], tuple[tuple[Problem, ...], str | None]]:
        return (type(self), (self.problems, self.source))


@dataclass(frozen=True)
class Task:
    name: str
    run: str
    needs: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    timeout: float | None = None
    retries: int = 0
    isolation: str = "worktree"  # "worktree" | "shared"
    env: tuple[tuple[str, str], ...] = ()
    cache: bool = True
    cache_ttl: float | None = None
    resolve: str = ""  # a command that resolves conflicts between the task's inputs
    retry_delay: float | None = None  # seconds before the first retry, doubling
    retry_delay_max: float | None = None
    retry_on: tuple[str, ...] = ()  # retry only when the output holds one of these
    matrix: tuple[tuple[str, tuple[str, ...]], ...] = ()  # key -> values (cross product)
    candidates: int = 0  # best of N
    pick: str = ""  # scores a candidate, in its worktree
    pick_first: bool = False
    checkpoint_every: float | None = None
    # Set by treelane, never written in a file (see INTERNAL_FIELDS):
    group: str = ""  # a matrix expansion or a candidate: the task it expands
    parent: str = ""  # a task added at run time: the task that spawned it
    kind: str = "run"  # "run" | "pick" (the node that picks a winner among candidates)
    origin: Task | None = field(default=None, compare=False, repr=False)  # before expansion
    # Git pathspec globs ("src/**", "!**/*.md"): the files the cache key reads (None = all)
    # and the ignored files the task produces that are kept and passed to its dependents.
    inputs: tuple[str, ...] | None = None
    outputs: tuple[str, ...] = ()
    sparse: tuple[str, ...] = ()  # folders its worktree checks out (cone mode); () = all
    # What one attempt holds on a Dask worker ({gpu = 1}: Dask worker resources).
    resources: tuple[tuple[str, float], ...] = ()

    @property
    def env_dict(self) -> dict[str, str]:
        return dict(self.env)

    @property
    def is_candidate(self) -> bool:
        return bool(self.group and self.pick)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form, the same schema as a ``[workflows.X.tasks.Y]`` table."""
        data: dict[str, Any] = {
            "run": self.run,
            "needs": list(self.needs),
            "uses": list(self.uses),
            "timeout": self.timeout,
            "retries": self.retries,
            "isolation": self.isolation,
            "env": self.env_dict,
            "cache": self.cache,
            "cache_ttl": self.cache_ttl,
            "resolve": self.resolve or None,
            "retry_delay": self.retry_delay,
            "retry_delay_max": self.retry_delay_max,
            "retry_on": list(self.retry_on) or None,
            "matrix": {key: list(values) for key, values in self.matrix} or None,
            "candidates": self.candidates or None,
            "pick": self.pick or None,
            "pick_first": self.pick_first or None,
            "checkpoint_every": self.checkpoint_every,
            "inputs": list(self.inputs) if self.inputs is not None else None,
            "outputs": list(self.outputs) if self.outputs else None,
            "sparse": list(self.sparse) if self.sparse else None,
            "resources": dict(self.resources) if self.resources else None,
        }
        return {key: value for key, value in data.items() if value is not None}


INTERNAL_FIELDS = frozenset({"name", "group", "parent", "kind", "origin"})
"""Task fields that treelane sets; they are not keys of a task table."""


@dataclass(frozen=True)
class Workflow:
    name: str
    base: str
    tasks: tuple[Task, ...]  # in file order
    description: str = ""
    resolve: str = ""  # resolver for the final merge, and for tasks without their own
    sparse: tuple[str, ...] = ()  # default folders for its tasks' worktrees (cone mode)

    def sparse_of(self, task: Task) -> tuple[str, ...]:
        return task.sparse or self.sparse

    def task(self, name: str) -> Task:
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(name)

    def names(self) -> list[str]:
        return [task.name for task in self.tasks]

    def sinks(self) -> list[str]:
        """Tasks that no other task needs, in file order."""
        needed = {need for task in self.tasks for need in task.needs}
        return [task.name for task in self.tasks if task.name not in needed]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form that round-trips through :func:`parse_workflow_dict`.

        Matrix expansions and candidates are written once, as the task they expand.
        """
        tasks: dict[str, Any] = {}
        for task in self.tasks:
            source = task.origin or task
            if source.name not in tasks:
                tasks[source.name] = source.to_dict()
        data: dict[str, Any] = {
            "base": self.base,
            "description": self.description,
            **({"resolve": self.resolve} if self.resolve else {}),
            "tasks": tasks,
        }
        if self.sparse:
            data["sparse"] = list(self.sparse)
        return data


@dataclass(frozen=True)
class Settings:
    max_parallel: int | str = "auto"
    pool_size: int = 4
    pool_create_parallel: int = 4  # new worktrees made at once (git worktree add processes)
    pool_max_disk_mb: int = 0  # idle worktrees evicted (LRU) above this; 0 = no limit
    memory_per_task_mb: int = 500
    log_max_mb: int = 10  # output stored per task attempt: the first and last 5 MB
    cache_salt: str = ""
    worktrees_dir: str = ""
    include: tuple[str, ...] = ()
    setup: str = ""
    reset: str = "keep-ignored"  # "keep-ignored" | "pristine"
    checkpoint_every: float | None = None  # default for tasks (seconds)
    spawn_depth: int = 3  # how deep tasks added at run time may nest
    max_spawn: int = 100  # tasks one task may add
    schedule: str = "critical-path"  # ready tasks: "critical-path" first, or "fifo"
    executor: str = "local"  # where attempts run: "local" or "dask"
    dask_scheduler: str = ""  # "tcp://HOST:PORT" of the Dask scheduler (executor = "dask")


def _frozen_mapping(data: Mapping[str, T] | None = None) -> Mapping[str, T]:
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True)
class Config:
    settings: Settings = field(default_factory=Settings)
    limits: Mapping[str, int] = field(default_factory=_frozen_mapping)
    workflows: Mapping[str, Workflow] = field(default_factory=_frozen_mapping)
    problems: tuple[Problem, ...] = ()  # warnings only


def topological_order(wf: Workflow) -> list[str]:
    """Task names so that every task comes after its needs; file order among ready tasks.

    Raises ValueError for an unknown need or a cycle (impossible for validated workflows).
    """
    index = {name: position for position, name in enumerate(wf.names())}
    dependents: dict[str, list[str]] = {name: [] for name in index}
    pending: dict[str, int] = {}
    for task in wf.tasks:
        for need in task.needs:
            if need not in index:
                raise ValueError(f"task '{task.name}' needs unknown task '{need}'")
            dependents[need].append(task.name)
        pending[task.name] = len(task.needs)
    ready = [index[name] for name, count in pending.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        name = wf.tasks[heapq.heappop(ready)].name
        order.append(name)
        for dependent in dependents[name]:
            pending[dependent] -= 1
            if pending[dependent] == 0:
                heapq.heappush(ready, index[dependent])
    if len(order) != len(wf.tasks):
        raise ValueError(f"workflow '{wf.name}' has a cycle")
    return order
