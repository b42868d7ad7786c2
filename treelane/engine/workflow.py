"""Parse and validate the workflow file ``treelane.toml``.

The module is pure (standard library only) and reports *every* problem of a
document in one pass, each with a precise source range, so that the language
server can publish them as diagnostics and the CLI can print them all at once.

File format::

    [settings]
    max_parallel = "auto"       # or a positive int
    pool_size = 4               # warm worktrees kept (int >= 0)
    memory_per_task_mb = 500    # estimate used by "auto" (int > 0)
    log_max_mb = 10             # output stored per task attempt: its first and last halves
    cache_salt = ""             # mixed into every cache key
    worktrees_dir = ""          # "" = default inside the git dir
    include = [".env"]          # ignored files copied into new worktrees (relative paths)
    setup = "npm ci"            # run once when a worktree is created
    reset = "keep-ignored"      # or "pristine"

    [limits]                    # named concurrency limits: name -> positive int
    api = 2

    [workflows.feature]
    base = "HEAD"               # any commit-ish; default "HEAD"
    description = "..."

    [workflows.feature.tasks.plan]
    run = "python tools/plan.py > PLAN.md"   # required
    uses = ["api"]              # limit names
    needs = []                  # task names of the same workflow (order matters)
    timeout = 900               # seconds > 0
    retries = 1                 # int >= 0
    isolation = "worktree"      # or "shared" (at most one need)
    env = { DOCS_STRICT = "1" }
    cache = true
    cache_ttl = 3600            # seconds > 0

``tomllib`` gives no positions, so :class:`_Locator` scans the (already
validated) source text once and maps every key path - table headers, dotted
keys, inline tables and array elements - to its span.
"""

from __future__ import annotations

import bisect
import contextlib
import difflib
import heapq
import json
import math
import posixpath
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path, PureWindowsPath
from types import MappingProxyType
from typing import Any, TypeVar

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_BASE",
    "Config",
    "ConfigError",
    "Problem",
    "Range",
    "Settings",
    "Task",
    "Workflow",
    "check_config",
    "load_config",
    "parse_config",
    "parse_workflow_dict",
    "topological_order",
]

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
    message: str
    range: Range
    severity: str = "error"  # "error" | "warning"


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

    @property
    def env_dict(self) -> dict[str, str]:
        return dict(self.env)

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
        }
        return {key: value for key, value in data.items() if value is not None}


@dataclass(frozen=True)
class Workflow:
    name: str
    base: str
    tasks: tuple[Task, ...]  # in file order
    description: str = ""

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
        """JSON-able form that round-trips through :func:`parse_workflow_dict`."""
        return {
            "base": self.base,
            "description": self.description,
            "tasks": {task.name: task.to_dict() for task in self.tasks},
        }


@dataclass(frozen=True)
class Settings:
    max_parallel: int | str = "auto"
    pool_size: int = 4
    memory_per_task_mb: int = 500
    log_max_mb: int = 10  # output stored per task attempt: the first and last 5 MB
    cache_salt: str = ""
    worktrees_dir: str = ""
    include: tuple[str, ...] = ()
    setup: str = ""
    reset: str = "keep-ignored"  # "keep-ignored" | "pristine"


def _frozen_mapping(data: Mapping[str, T] | None = None) -> Mapping[str, T]:
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True)
class Config:
    settings: Settings = field(default_factory=Settings)
    limits: Mapping[str, int] = field(default_factory=_frozen_mapping)
    workflows: Mapping[str, Workflow] = field(default_factory=_frozen_mapping)
    problems: tuple[Problem, ...] = ()  # warnings only


# --------------------------------------------------------------------------- public functions


def parse_config(text: str) -> Config:
    """Parse a ``treelane.toml`` document; raise :class:`ConfigError` with every error."""
    return _parse_config(text, CONFIG_FILE)


def check_config(text: str) -> list[Problem]:
    """Every problem of a document (errors and warnings), sorted by position; never raises."""
    return _analyze(text)[1]


def load_config(path: Path) -> Config:
    """Parse the workflow file at ``path`` (or ``path / treelane.toml`` for a directory).

    A missing file yields the default configuration with no workflows.
    """
    if path.is_dir():
        path = path / CONFIG_FILE
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return Config()
    except UnicodeDecodeError as err:
        problem = Problem(f"file is not valid UTF-8: {err.reason}", _NOWHERE)
        raise ConfigError([problem], source=str(path)) from err
    return _parse_config(text, str(path))


def parse_workflow_dict(name: str, data: object, limits: Mapping[str, int]) -> Workflow:
    """Validate one inline workflow (same schema as a ``[workflows.X]`` table), e.g. from JSON.

    Messages name the field path (``tasks.build.needs: ...``); ranges are meaningless.
    """
    checker = _Checker(lambda _path: _NOWHERE)
    workflow = _parse_workflow(checker, (), name, data, frozenset(limits))
    errors = [problem for problem in checker.problems if problem.severity == "error"]
    if errors:
        raise ConfigError(errors, source=None)
    return workflow


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


# --------------------------------------------------------------------------- driver


def _parse_config(text: str, source: str) -> Config:
    config, problems = _analyze(text)
    errors = [problem for problem in problems if problem.severity == "error"]
    if config is None or errors:
        raise ConfigError(errors, source=source)
    return config


def _analyze(text: str) -> tuple[Config | None, list[Problem]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        return None, [_syntax_problem(_Lines(text), str(err))]
    except RecursionError:  # tomllib recurses once per nesting level of arrays/tables
        return None, [Problem("TOML syntax error: values are nested too deeply", _NOWHERE)]
    checker = _Checker(_Locator(text).range)
    config = _parse_document(checker, data)
    problems = sorted(checker.problems, key=lambda p: (p.range.start_line, p.range.start_col))
    warnings = tuple(problem for problem in problems if problem.severity == "warning")
    return replace(config, problems=warnings), problems


_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_AT_END = re.compile(r"\s*\(at end of document\)$")


def _syntax_problem(lines: _Lines, message: str) -> Problem:
    """tomllib reports "... (at line L, column C)" (1-based) or "(at end of document)"."""
    line, col = 0, 0
    if match := _POSITION.search(message):
        line, col = int(match[1]) - 1, int(match[2]) - 1
    elif match := _AT_END.search(message):
        line, col = lines.position(len(lines.text))
    if match:
        message = message[: match.start()]
    return Problem(f"TOML syntax error: {message}", lines.rest_of_line(line, col))


# --------------------------------------------------------------------------- validation

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_NAME_MAX = 64
_ENV_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class _Invalid(Exception):
    """Raised by a converter; the message says what was expected."""


Converter = Callable[[object], T]


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise _Invalid("expected a string")
    return value


def _non_empty_string(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid("expected a non-empty string")
    return value


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Invalid("expected true or false")
    return value


def _integer(minimum: int) -> Converter[int]:
    expected = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"

    def convert(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise _Invalid(f"expected {expected}")
        return value

    return convert


def _seconds(value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (math.isfinite(value) and value > 0)
    ):
        raise _Invalid("expected a positive number of seconds")
    return float(value)


def _choice(*options: str) -> Converter[str]:
    expected = " or ".join(f'"{option}"' for option in options)

    def convert(value: object) -> str:
        if not isinstance(value, str) or value not in options:
            raise _Invalid(f"expected {expected}")
        return value

    return convert


def _max_parallel(value: object) -> int | str:
    if value == "auto":
        return "auto"
    try:
        return _integer(1)(value)
    except _Invalid:
        raise _Invalid('expected "auto" or a positive integer') from None


def _table(value: object) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise _Invalid("expected a table")
    if not all(isinstance(key, str) for key in value):  # only possible for inline workflows
        raise _Invalid("expected a table with string keys")
    return value


def _list_of(noun: str) -> Converter[list[object]]:
    def convert(value: object) -> list[object]:
        if not isinstance(value, list):
            raise _Invalid(f"expected a list of {noun}s")
        return value

    return convert


_SETTINGS_SCHEMA: Mapping[str, Converter[Any]] = {
    "max_parallel": _max_parallel,
    "pool_size": _integer(0),
    "memory_per_task_mb": _integer(1),
    "log_max_mb": _integer(1),
    "cache_salt": _string,
    "worktrees_dir": _string,
    "setup": _string,
    "reset": _choice("keep-ignored", "pristine"),
}
_WORKFLOW_SCHEMA: Mapping[str, Converter[Any]] = {
    "base": _non_empty_string,
    "description": _string,
}
_TASK_SCHEMA: Mapping[str, Converter[Any]] = {
    "run": _non_empty_string,
    "timeout": _seconds,
    "retries": _integer(0),
    "isolation": _choice("worktree", "shared"),
    "cache": _boolean,
    "cache_ttl": _seconds,
}


def _keys_of(cls: type[Any]) -> tuple[str, ...]:
    """The keys of a table are the fields of its dataclass (minus the name)."""
    return tuple(f.name for f in fields(cls) if f.name != "name")


_TOP_LEVEL_KEYS = ("settings", "limits", "workflows")
_SETTINGS_KEYS = _keys_of(Settings)
_WORKFLOW_KEYS = _keys_of(Workflow)
_TASK_KEYS = _keys_of(Task)


def _render_path(path: _KeyPath) -> str:
    """``workflows."my wf".tasks.build.needs[0]``"""
    rendered = ""
    for part in path:
        if isinstance(part, int):
            rendered += f"[{part}]"
        else:
            key = part if _BARE_KEY.fullmatch(part) else json.dumps(part, ensure_ascii=False)
            rendered += f".{key}" if rendered else key
    return rendered


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return json.dumps(shown, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "null" if value is None else type(value).__name__


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, sorted(candidates), n=1)
    return f" (did you mean '{match[0]}'?)" if match else ""


def _name_problem(kind: str, name: str) -> str | None:
    """Names end up in git ref names, so they are restricted."""
    if len(name) > _NAME_MAX or not _NAME.fullmatch(name):
        reason = (
            "names must start with a letter or digit, contain only letters, digits,"
            f" '_', '.' and '-', and be at most {_NAME_MAX} characters"
        )
    elif ".." in name or name.endswith((".", ".lock")):
        reason = "names must not contain '..' or end with '.' or '.lock' (git ref rules)"
    else:
        return None
    return f"invalid {kind} name '{name}': {reason}"


def _include_problem(entry: str) -> str | None:
    if not entry.strip():
        return "must not be empty"
    if entry.startswith(("/", "\\")) or PureWindowsPath(entry).drive:
        return "must be a path relative to the repository root"
    if ".." in re.split(r"[/\\]", entry):
        return "must not contain '..'"
    return None


class _Checker:
    """Collects problems, turning key paths into source ranges."""

    def __init__(self, locate: Callable[[_KeyPath], Range]) -> None:
        self.problems: list[Problem] = []
        self._locate = locate

    def report(self, path: _KeyPath, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(message, self._locate(path), severity))

    def invalid(self, path: _KeyPath, expected: str, value: object) -> None:
        self.report(path, f"{_render_path(path)}: {expected}, got {_describe(value)}")

    def check_name(self, path: _KeyPath, kind: str, name: str) -> None:
        if message := _name_problem(kind, name):
            self.report(path, message)


@dataclass(frozen=True)
class _Table:
    """One table of the document being validated."""

    checker: _Checker
    path: _KeyPath
    data: Mapping[str, object]
    where: str  # for messages: "in task 'build'"

    def at(self, *parts: str | int) -> _KeyPath:
        return self.path + parts

    def check_keys(self, known: tuple[str, ...]) -> None:
        for key in self.data:
            if key not in known:
                message = f"unknown key '{key}' {self.where}{_did_you_mean(key, known)}"
                self.checker.report(self.at(key), message)

    def get(self, key: str, convert: Converter[T]) -> T | None:
        """The converted value; None (and a reported problem) if missing or invalid."""
        if key not in self.data:
            return None
        value = self.data[key]
        try:
            return convert(value)
        except _Invalid as err:
            self.checker.invalid(self.at(key), str(err), value)
            return None

    def values(self, schema: Mapping[str, Converter[Any]]) -> dict[str, Any]:
        """Every valid value of the keys in ``schema``, ready for ``**kwargs``."""
        converted = {key: self.get(key, convert) for key, convert in schema.items()}
        return {key: value for key, value in converted.items() if value is not None}

    def child(self, key: str, where: str = "") -> _Table | None:
        data = self.get(key, _table)
        return None if data is None else _Table(self.checker, self.at(key), data, where)

    def strings(self, key: str, noun: str) -> dict[str, int]:
        """A list of strings as {string: index of first occurrence}; duplicates warn."""
        items = self.get(key, _list_of(noun)) or []
        found: dict[str, int] = {}
        for index, item in enumerate(items):
            at = self.at(key, index)
            if not isinstance(item, str):
                self.checker.invalid(at, f"expected a {noun}", item)
            elif item in found:
                self.checker.report(at, f"{_render_path(at)}: '{item}' is listed twice", "warning")
            else:
                found[item] = index
        return found


def _parse_document(checker: _Checker, data: Mapping[str, object]) -> Config:
    root = _Table(checker, (), data, "at the top level")
    root.check_keys(_TOP_LEVEL_KEYS)
    settings = _parse_settings(root.child("settings", "in [settings]"))
    limits_table = root.child("limits")
    limits = _parse_limits(limits_table)
    defined = frozenset(limits_table.data if limits_table else ())  # valid or not
    workflows: dict[str, Workflow] = {}
    if table := root.child("workflows"):
        for name, body in table.data.items():
            workflows[name] = _parse_workflow(checker, table.at(name), name, body, defined)
    return Config(settings, _frozen_mapping(limits), _frozen_mapping(workflows))


def _parse_settings(table: _Table | None) -> Settings:
    if table is None:
        return Settings()
    table.check_keys(_SETTINGS_KEYS)
    include = table.strings("include", "path")
    for entry, index in include.items():
        if message := _include_problem(entry):
            at = table.at("include", index)
            table.checker.report(at, f"{_render_path(at)}: {message}, got {_describe(entry)}")
    wd = table.data.get("worktrees_dir")
    if isinstance(wd, str) and (message := worktrees_dir_problem(wd)):
        table.checker.report(table.at("worktrees_dir"), f"worktrees_dir: {message}")
    return Settings(include=tuple(include), **table.values(_SETTINGS_SCHEMA))


# Never a place for worktrees (and nothing below the second set either).
SYSTEM_DIRS = frozenset(
    {
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/media",
        "/mnt",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/srv",
        "/sys",
        "/tmp",
        "/usr",
        "/var",
        "/Applications",
        "/Library",
        "/System",
        "/Users",
    }
)
SYSTEM_TREES = frozenset(
    {
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/lib",
        "/lib32",
        "/lib64",
        "/proc",
        "/run",
        "/sbin",
        "/sys",
        "/usr",
    }
)


def worktrees_dir_problem(value: str) -> str | None:
    """Why ``worktrees_dir`` may not be used (checked without the file system), or None."""
    if not value:
        return None
    norm = posixpath.normpath(value)
    top = "/" + norm.lstrip("/").split("/")[0]
    if norm.startswith("/") and (norm in SYSTEM_DIRS or top in SYSTEM_TREES):
        return (
            f"{value!r} is a system directory; choose a folder of your own, "
            "e.g. '../<repo>.treelane'"
        )
    if norm == ".git":
        return "must not be the git directory itself (the default lives inside it already)"
    return None


def _parse_limits(table: _Table | None) -> dict[str, int]:
    limits: dict[str, int] = {}
    if table is None:
        return limits
    for name in table.data:
        table.checker.check_name(table.at(name), "limit", name)
        if (value := table.get(name, _integer(1))) is not None:
            limits[name] = value
    return limits


def _parse_workflow(
    checker: _Checker, path: _KeyPath, name: str, data: object, limits: frozenset[str]
) -> Workflow:
    checker.check_name(path, "workflow", name)
    try:
        body = _table(data)
    except _Invalid as err:
        checker.report(path, f"workflow '{name}': {err}, got {_describe(data)}")
        return Workflow(name, DEFAULT_BASE, ())
    table = _Table(checker, path, body, f"in workflow '{name}'")
    table.check_keys(_WORKFLOW_KEYS)
    values = table.values(_WORKFLOW_SCHEMA)
    if body.get("tasks", {}) == {}:
        checker.report(table.at("tasks"), f"workflow '{name}' has no tasks")
    tasks = table.child("tasks")
    drafts = [_parse_task(tasks, task_name) for task_name in tasks.data] if tasks else []
    _check_graph(checker, drafts, limits)
    return Workflow(
        name=name,
        base=values.get("base", DEFAULT_BASE),
        tasks=tuple(draft.task for draft in drafts),
        description=values.get("description", ""),
    )


@dataclass(frozen=True)
class _TaskDraft:
    """A parsed task plus where its list entries are, for the graph checks."""

    task: Task
    path: _KeyPath
    needs: Mapping[str, int]  # need -> index in the `needs` array
    uses: Mapping[str, int]


def _parse_task(tasks: _Table, name: str) -> _TaskDraft:
    checker, path = tasks.checker, tasks.at(name)
    checker.check_name(path, "task", name)
    body = tasks.get(name, _table)
    if body is not None and "run" not in body:
        checker.report(path, f"missing required key 'run' in task '{name}'")
    table = _Table(checker, path, body or {}, f"in task '{name}'")
    table.check_keys(_TASK_KEYS)
    values = table.values(_TASK_SCHEMA)
    if values.get("cache") is False and "cache_ttl" in values:
        message = f"{_render_path(table.at('cache_ttl'))}: has no effect when cache = false"
        checker.report(table.at("cache_ttl"), message, "warning")
    needs = table.strings("needs", "task name")
    uses = table.strings("uses", "limit name")
    task = Task(
        name=name,
        run=values.pop("run", ""),
        needs=tuple(needs),
        uses=tuple(uses),
        env=_parse_env(table.child("env")),
        **values,
    )
    return _TaskDraft(task, path, needs, uses)


def _parse_env(table: _Table | None) -> tuple[tuple[str, str], ...]:
    if table is None:
        return ()
    pairs: list[tuple[str, str]] = []
    for var in table.data:
        if not _ENV_VAR.fullmatch(var):
            message = (
                f"invalid environment variable name '{var}': "
                "expected letters, digits and '_', not starting with a digit"
            )
            table.checker.report(table.at(var), message)
        value = table.get(var, _string)
        if value is not None:
            pairs.append((var, value))
    return tuple(pairs)


def _check_graph(checker: _Checker, drafts: list[_TaskDraft], limits: frozenset[str]) -> None:
    """Needs and uses must name existing things; needs must form a DAG."""
    names = {draft.task.name for draft in drafts}
    for draft in drafts:
        _check_references(checker, draft, names, limits)
    by_name = {draft.task.name: draft for draft in drafts}
    graph = {
        name: [need for need in draft.needs if need in names and need != name]
        for name, draft in by_name.items()
    }
    for cycle in _find_cycles(graph):
        first = by_name[cycle[0]]
        at = (*first.path, "needs", first.needs[cycle[1]])
        checker.report(at, "cycle: " + " -> ".join(cycle))


def _check_references(
    checker: _Checker, draft: _TaskDraft, names: set[str], limits: frozenset[str]
) -> None:
    task = draft.task
    for need, index in draft.needs.items():
        at = (*draft.path, "needs", index)
        if need == task.name:
            checker.report(at, f"task '{task.name}' needs itself")
        elif need not in names:
            hint = _did_you_mean(need, names - {task.name})
            checker.report(at, f"task '{task.name}' needs unknown task '{need}'{hint}")
    for limit, index in draft.uses.items():
        if limit not in limits:
            hint = _did_you_mean(limit, limits)
            message = f"task '{task.name}' uses undefined limit '{limit}'{hint}"
            checker.report((*draft.path, "uses", index), message)
    if task.isolation == "shared" and len(task.needs) > 1:
        message = (
            f"task '{task.name}' has isolation = \"shared\" but needs {len(task.needs)}"
            " tasks; a shared task may need at most one"
        )
        checker.report((*draft.path, "isolation"), message)


def _find_cycles(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """One cycle per group of tasks, e.g. ["build", "test", "build"] (build needs test).

    Iterative depth-first search in file order; a cycle that shares a task with
    an already reported one is not reported again.
    """
    state: dict[str, bool] = {}  # True while on the stack, False when done
    cycles: list[list[str]] = []
    in_cycle: set[str] = set()
    for root in graph:
        if root in state:
            continue
        stack = [(root, iter(graph[root]))]
        state[root] = True
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                state[node] = False
            elif state.get(child) is True:
                path = [name for name, _ in stack]
                cycle = [*path[path.index(child) :], child]
                if in_cycle.isdisjoint(cycle):
                    cycles.append(cycle)
                    in_cycle.update(cycle)
            elif child not in state:
                state[child] = True
                stack.append((child, iter(graph[child])))
    return cycles


# --------------------------------------------------------------------------- positions

_Span = tuple[int, int]  # offsets into the text, end exclusive
_SCALAR = re.compile(r"[^,\]}#\n]*")  # a number, boolean or date (dates may hold a space)


class _Lines:
    """Offset <-> (line, column) conversion, clamped to the document."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts = [0] + [match.end() for match in re.finditer("\n", text)]

    def position(self, offset: int) -> tuple[int, int]:
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._starts, offset) - 1
        return line, offset - self._starts[line]

    def range(self, span: _Span) -> Range:
        return Range(*self.position(span[0]), *self.position(span[1]))

    def rest_of_line(self, line: int, col: int) -> Range:
        """From (line, col) to the end of that line (without the line break)."""
        line = max(0, min(line, len(self._starts) - 1))
        start = self._starts[line]
        end = self.text.find("\n", start)
        end = len(self.text) if end < 0 else end
        if self.text[start:end].endswith("\r"):
            end -= 1
        col = max(0, min(col, end - start))
        return Range(line, col, line, max(col, end - start))


class _Locator:
    """Source ranges for key paths of a document that tomllib accepted.

    Explicit spans are where a path itself is written (its header, its key, the
    array element); implicit ones are where it is created as a prefix of a
    longer header or dotted key. Lookup falls back to the enclosing table.
    """

    def __init__(self, text: str) -> None:
        self._lines = _Lines(text)
        scanner = _Scanner(text)
        with contextlib.suppress(RecursionError):  # nesting near tomllib's limit: keep the rest
            scanner.scan()
        self._explicit = scanner.explicit
        self._implicit = scanner.implicit

    def range(self, path: _KeyPath) -> Range:
        for end in range(len(path), 0, -1):
            prefix = path[:end]
            span = self._explicit.get(prefix) or self._implicit.get(prefix)
            if span:
                return self._lines.range(span)
        return _NOWHERE


class _Scanner:
    """A forgiving TOML scanner that records spans of keys, headers and array elements.

    It assumes valid TOML (tomllib checked it) but always makes progress and
    never indexes past the end, whatever the input.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.explicit: dict[_KeyPath, _Span] = {}
        self.implicit: dict[_KeyPath, _Span] = {}
        self._table: _KeyPath = ()
        self._array_tables: dict[_KeyPath, int] = {}  # [[x]] path -> current index

    def scan(self) -> None:
        while self._skip_blank():
            start = self.pos
            if self._peek() == "[":
                self._header()
            else:
                self._keyval(self._table)
            if self.pos == start:
                self.pos += 1

    # -- lexical helpers

    def _peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def _skip(self, chars: str) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1

    def _skip_blank(self) -> bool:
        """Skip whitespace, line breaks and comments; False at the end of the text."""
        while True:
            self._skip(" \t\r\n")
            if self._peek() != "#":
                return self.pos < len(self.text)
            end = self.text.find("\n", self.pos)
            self.pos = len(self.text) if end < 0 else end

    def _string_end(self) -> int:
        """End offset of the (possibly multi-line) string starting at pos."""
        text, quote = self.text, self.text[self.pos]
        escapes = quote == '"'
        if text.startswith(quote * 3, self.pos):
            i = self.pos + 3
            while i < len(text):
                if escapes and text[i] == "\\":
                    i += 2
                elif text.startswith(quote * 3, i):
                    end = i + 3
                    while end < len(text) and end - i < 5 and text[end] == quote:
                        end += 1  # up to two quotes may end the content
                    return end
                else:
                    i += 1
            return len(text)
        i = self.pos + 1
        while i < len(text) and text[i] not in (quote, "\n"):
            i += 2 if escapes and text[i] == "\\" else 1
        return min(i + 1, len(text))

    def _record(self, path: _KeyPath, span: _Span, *, explicit: bool) -> None:
        (self.explicit if explicit else self.implicit).setdefault(path, span)

    # -- grammar

    def _header(self) -> None:
        start = self.pos
        is_array = self.text.startswith("[[", self.pos)
        self.pos += 2 if is_array else 1
        names = tuple(name for name, _, _ in self._key())
        self._skip(" \t")
        closing = "]]" if is_array else "]"
        if self.text.startswith(closing, self.pos):
            self.pos += len(closing)
        path = self._resolve(names, is_array)
        for end in range(1, len(path)):
            self._record(path[:end], (start, self.pos), explicit=False)
        self._record(path, (start, self.pos), explicit=True)
        self._table = path

    def _resolve(self, names: tuple[str, ...], is_array: bool) -> _KeyPath:
        """Insert the current index after every array-of-tables part."""
        path: _KeyPath = ()
        for position, name in enumerate(names):
            path += (name,)
            if is_array and position == len(names) - 1:
                self._array_tables[path] = self._array_tables.get(path, -1) + 1
            if path in self._array_tables:
                path += (self._array_tables[path],)
        return path

    def _key(self) -> list[tuple[str, int, int]]:
        """A possibly dotted key as (name, start, end) parts."""
        parts: list[tuple[str, int, int]] = []
        while True:
            self._skip(" \t")
            start = self.pos
            if self._peek() in ('"', "'"):
                end = self._string_end()
                name = _decode_key(self.text[start:end])
            elif match := _BARE_KEY.match(self.text, self.pos):
                end, name = match.end(), match[0]
            else:
                return parts
            parts.append((name, start, end))
            self.pos = end
            self._skip(" \t")
            if self._peek() != ".":
                return parts
            self.pos += 1

    def _keyval(self, table: _KeyPath) -> None:
        parts = self._key()
        if not parts:
            return
        names = tuple(name for name, _, _ in parts)
        first = parts[0][1]
        for position, (_, _, end) in enumerate(parts):
            explicit = position == len(parts) - 1
            self._record(table + names[: position + 1], (first, end), explicit=explicit)
        self._skip(" \t")
        if self._peek() == "=":
            self.pos += 1
            self._skip(" \t")
            self._value(table + names)

    def _value(self, path: _KeyPath) -> None:
        char = self._peek()
        if char in ('"', "'"):
            self.pos = self._string_end()
        elif char == "[":
            self._array(path)
        elif char == "{":
            self._inline_table(path)
        else:
            self._scalar()

    def _array(self, path: _KeyPath) -> None:
        self.pos += 1
        index = 0
        while self._skip_blank() and self._peek() != "]":
            start = self.pos
            self._value((*path, index))
            if self.pos == start:  # not a value: step over it
                self.pos += 1
                continue
            self._record((*path, index), (start, self.pos), explicit=True)
            index += 1
            if self._skip_blank() and self._peek() == ",":
                self.pos += 1
        if self._peek() == "]":
            self.pos += 1

    def _inline_table(self, path: _KeyPath) -> None:
        self.pos += 1
        while self._skip_blank() and self._peek() != "}":
            start = self.pos
            self._keyval(path)
            if (self._skip_blank() and self._peek() == ",") or self.pos == start:
                self.pos += 1
        if self._peek() == "}":
            self.pos += 1

    def _scalar(self) -> None:
        """Numbers, booleans and dates (which may contain a space): up to a delimiter."""
        match = _SCALAR.match(self.text, self.pos)
        if match:
            self.pos += len(match[0].rstrip())


def _decode_key(token: str) -> str:
    """The name of a quoted key token, decoded exactly as tomllib does."""
    try:
        value = tomllib.loads(f"k = {token}")["k"]
    except tomllib.TOMLDecodeError:
        return token
    return value if isinstance(value, str) else token
