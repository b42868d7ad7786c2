"""Validation of the agent-workflow task keys: matrix, candidates/pick, retry_on.

These keys are checked here, beside the generic task keys of :mod:`validate`,
so the rules for fan-out and best-of-N live in one place.
"""

from __future__ import annotations

import itertools
import re
from typing import TYPE_CHECKING, Any

from treelane.engine.workflow.convert import _describe, _Invalid, _list_of, _render_path, _table

if TYPE_CHECKING:
    from treelane.engine.workflow.validate import _Table

MATRIX_MAX = 256  # expansions of one task
_MATRIX_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MATRIX_VALUE = re.compile(r"[A-Za-z0-9_.-]+")


def parse_matrix(table: _Table) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``matrix = { key = ["v1", "v2"] }``: keys are env-var names, values name-like strings."""
    if "matrix" not in table.data:
        return ()
    raw = table.get("matrix", _table)
    if raw is None:
        return ()
    checker = table.checker
    if not raw:
        checker.report(table.at("matrix"), f"{_render_path(table.at('matrix'))}: has no keys")
        return ()
    out: list[tuple[str, tuple[str, ...]]] = []
    for key, values in raw.items():
        at = table.at("matrix", key)
        if not _MATRIX_KEY.fullmatch(key):
            checker.report(
                at,
                f"invalid matrix key '{key}': expected letters, digits and '_', "
                "not starting with a digit (it becomes TREELANE_MATRIX_<KEY>)",
            )
            continue
        try:
            items = _list_of("value")(values)
        except _Invalid as err:
            checker.invalid(at, str(err), values)
            continue
        if not items:
            checker.report(at, f"{_render_path(at)}: expected at least one value")
            continue
        seen: list[str] = []
        for index, item in enumerate(items):
            where = (*at, index)
            if isinstance(item, bool) or not isinstance(item, (str, int)):
                checker.invalid(where, "expected a string or an integer", item)
                continue
            text = str(item)
            if not _MATRIX_VALUE.fullmatch(text):
                checker.report(
                    where,
                    f"{_render_path(where)}: matrix values may hold only letters, digits, "
                    f"'_', '.' and '-' (they are part of task names), got {_describe(item)}",
                )
            elif text in seen:
                checker.report(where, f"{_render_path(where)}: '{text}' is listed twice")
            else:
                seen.append(text)
        out.append((key, tuple(seen)))
    count = 1
    for _, values in out:
        count *= max(1, len(values))
    if count > MATRIX_MAX:
        checker.report(
            table.at("matrix"),
            f"{_render_path(table.at('matrix'))}: expands to {count} tasks, at most "
            f"{MATRIX_MAX} allowed",
        )
    return tuple(out)


def check_agent_keys(table: _Table, values: dict[str, Any], has_matrix: bool) -> None:
    """Keys that only make sense together."""
    checker, name = table.checker, table.path[-1] if table.path else ""
    if "candidates" in values and "pick" not in values:
        checker.report(
            table.at("candidates"),
            f"task '{name}' has candidates but no pick: add pick = \"command\" to score them",
        )
    if "candidates" in values and has_matrix:
        checker.report(
            table.at("candidates"),
            f"task '{name}' has both candidates and matrix: with a matrix and pick, each "
            "expansion is one candidate; remove candidates",
        )
    if "pick" in values and "candidates" not in values and not has_matrix:
        checker.report(
            table.at("pick"),
            f"task '{name}' has pick but nothing to pick from: add candidates = N or a matrix",
        )
    if values.get("pick_first") and "pick" not in values:
        checker.report(table.at("pick_first"), f"task '{name}': pick_first needs pick")
    if not values.get("retries"):
        for key in ("retry_delay", "retry_delay_max", "retry_on"):
            if key in table.data:
                message = f"{_render_path(table.at(key))}: has no effect when retries = 0"
                checker.report(table.at(key), message, "warning")


def combinations(
    matrix: tuple[tuple[str, tuple[str, ...]], ...],
) -> list[tuple[tuple[str, str], ...]]:
    """The cross product, first key varying slowest: ((k1, v1), (k2, v2)) per expansion."""
    keys = [key for key, _ in matrix]
    return [
        tuple(zip(keys, combo, strict=True)) for combo in itertools.product(*(v for _, v in matrix))
    ]
