"""Validation: turn a decoded document into the model, reporting every problem."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from treelane.engine.workflow.agentkeys import check_agent_keys, parse_matrix
from treelane.engine.workflow.convert import (
    _ENV_VAR,
    Converter,
    _boolean,
    _choice,
    _closest,
    _describe,
    _did_you_mean,
    _include_problem,
    _integer,
    _Invalid,
    _list_of,
    _max_parallel,
    _name_problem,
    _non_empty_string,
    _pattern_problem,
    _render_path,
    _seconds,
    _string,
    _table,
)
from treelane.engine.workflow.expand import expand
from treelane.engine.workflow.model import (
    DEFAULT_BASE,
    INTERNAL_FIELDS,
    Config,
    Problem,
    Range,
    Settings,
    T,
    Task,
    Workflow,
    _frozen_mapping,
    _KeyPath,
)
from treelane.engine.workflow.places import worktrees_dir_problem

_SETTINGS_SCHEMA: Mapping[str, Converter[Any]] = {
    "max_parallel": _max_parallel,
    "pool_size": _integer(0),
    "pool_create_parallel": _integer(1),
    "pool_max_disk_mb": _integer(0),
    "memory_per_task_mb": _integer(1),
    "log_max_mb": _integer(1),
    "cache_salt": _string,
    "worktrees_dir": _string,
    "setup": _string,
    "reset": _choice("keep-ignored", "pristine"),
    "checkpoint_every": _seconds,
    "spawn_depth": _integer(0),
    "max_spawn": _integer(0),
    "schedule": _choice("critical-path", "fifo"),
    "executor": _choice("local", "dask"),
    "dask_scheduler": _string,
}
_WORKFLOW_SCHEMA: Mapping[str, Converter[Any]] = {
    "base": _non_empty_string,
    "description": _string,
    "resolve": _string,
}
_TASK_SCHEMA: Mapping[str, Converter[Any]] = {
    "run": _non_empty_string,
    "timeout": _seconds,
    "retries": _integer(0),
    "isolation": _choice("worktree", "shared"),
    "cache": _boolean,
    "cache_ttl": _seconds,
    "resolve": _string,
    "retry_delay": _seconds,
    "retry_delay_max": _seconds,
    "candidates": _integer(1),
    "pick": _non_empty_string,
    "pick_first": _boolean,
    "checkpoint_every": _seconds,
}


def _keys_of(cls: type[Any]) -> tuple[str, ...]:
    """The keys of a table are the fields of its dataclass (minus the name)."""
    return tuple(f.name for f in fields(cls) if f.name not in INTERNAL_FIELDS)


_TOP_LEVEL_KEYS = ("settings", "limits", "workflows")
_SETTINGS_KEYS = _keys_of(Settings)
_WORKFLOW_KEYS = _keys_of(Workflow)
_TASK_KEYS = _keys_of(Task)


class _Checker:
    """Collects problems, turning key paths into source ranges."""

    def __init__(self, locate: Callable[[_KeyPath], Range]) -> None:
        self.problems: list[Problem] = []
        self._locate = locate

    def report(
        self,
        path: _KeyPath,
        message: str,
        severity: str = "error",
        *,
        code: str = "",
        subject: str = "",
        suggestion: str = "",
    ) -> None:
        where = self._locate(path)
        self.problems.append(Problem(message, where, severity, code, path, subject, suggestion))

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
                close = _closest(key, known)
                message = f"unknown key '{key}' {self.where}{_did_you_mean(key, known)}"
                self.checker.report(
                    self.at(key), message, code="unknown-key", subject=key, suggestion=close
                )

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
        data, out = self.data, {}
        for key, convert in schema.items():
            if key in data:  # most tasks spell a few of the keys: skip the rest cheaply
                value = self.get(key, convert)
                if value is not None:
                    out[key] = value
        return out

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
    sparse = _parse_folders(table, "sparse") if "sparse" in body else ()
    return Workflow(
        name=name,
        base=values.get("base", DEFAULT_BASE),
        tasks=expand(tuple(draft.task for draft in drafts)),
        description=values.get("description", ""),
        resolve=values.get("resolve", ""),
        sparse=sparse,
    )


def _parse_folders(table: _Table, key: str) -> tuple[str, ...]:
    """``sparse``: folders relative to the repository root (cone mode)."""
    folders = table.strings(key, "folder")
    for folder, index in folders.items():
        message = _include_problem(folder)
        if message is None and any(ch in folder for ch in "*?[]!"):
            message = "must be a folder (cone mode takes no globs)"
        if message:
            at = table.at(key, index)
            table.checker.report(at, f"{_render_path(at)}: {message}, got {_describe(folder)}")
    return tuple(folders)


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
    matrix = parse_matrix(table)
    check_agent_keys(table, values, bool(matrix) or "matrix" in table.data)
    retry_on = table.strings("retry_on", "string")
    for text, index in retry_on.items():
        if not text.strip():
            at = table.at("retry_on", index)
            checker.report(at, f"{_render_path(at)}: must not be empty")
    inputs = _parse_patterns(table, "inputs") if "inputs" in table.data else None
    outputs = _parse_patterns(table, "outputs") if "outputs" in table.data else ()
    sparse = _parse_folders(table, "sparse") if "sparse" in table.data else ()
    if sparse and values.get("isolation") == "shared":
        message = (
            f"task '{name}' has sparse but isolation = \"shared\" (it uses its need's worktree)"
        )
        checker.report(table.at("sparse"), message)
    if outputs and values.get("isolation") == "shared":
        message = (
            f"task '{name}' has outputs but isolation = \"shared\": outputs need a worktree "
            'of their own (isolation = "worktree")'
        )
        checker.report(table.at("outputs"), message)
    task = Task(
        name=name,
        run=values.pop("run", ""),
        needs=tuple(needs),
        uses=tuple(uses),
        env=_parse_env(table.child("env")),
        resources=_parse_resources(table.child("resources")),
        retry_on=tuple(retry_on),
        matrix=matrix,
        inputs=inputs,
        outputs=outputs,
        sparse=sparse,
        **values,
    )
    return _TaskDraft(task, path, needs, uses)


def _parse_patterns(table: _Table, key: str) -> tuple[str, ...]:
    """``inputs``/``outputs``: a list of git pathspec globs relative to the repository root."""
    patterns = table.strings(key, "glob")
    for pattern, index in patterns.items():
        if message := _pattern_problem(pattern):
            at = table.at(key, index)
            table.checker.report(at, f"{_render_path(at)}: {message}, got {_describe(pattern)}")
    return tuple(patterns)


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


def _parse_resources(table: _Table | None) -> tuple[tuple[str, float], ...]:
    """``resources = {gpu = 1}``: names and positive amounts (Dask worker resources)."""
    if table is None:
        return ()
    pairs: list[tuple[str, float]] = []
    for name in table.data:
        amount = table.get(name, _amount)
        if amount is not None:
            pairs.append((name, amount))
    return tuple(pairs)


def _amount(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise _Invalid("expected a positive number (how much of the resource one attempt holds)")
    return float(value)


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
            others = names - {task.name}
            message = f"task '{task.name}' needs unknown task '{need}'{_did_you_mean(need, others)}"
            close = _closest(need, others)
            checker.report(at, message, code="unknown-need", subject=need, suggestion=close)
    for limit, index in draft.uses.items():
        if limit not in limits:
            hint = _did_you_mean(limit, limits)
            message = f"task '{task.name}' uses undefined limit '{limit}'{hint}"
            close = _closest(limit, limits)
            at = (*draft.path, "uses", index)
            checker.report(at, message, code="unknown-limit", subject=limit, suggestion=close)
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
