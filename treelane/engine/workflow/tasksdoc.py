"""A document that is only a table of tasks (TOML or JSON), as written at ``$TREELANE_SPAWN``.

Same format as ``[workflows.W.tasks]``; every problem names the file, line and
column (JSON positions come from the decoder for syntax errors and from the key's
first occurrence in the text otherwise).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping

from treelane.engine.workflow.model import ConfigError, Problem, Range, Task, _KeyPath
from treelane.engine.workflow.positions import _Lines, _Locator
from treelane.engine.workflow.validate import _Checker, _parse_workflow

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_RESERVED = ("settings", "limits", "workflows")


def parse_tasks(text: str, source: str, limits: Mapping[str, int]) -> tuple[Task, ...]:
    """The tasks of the document, expanded; raises :class:`ConfigError` naming every problem."""
    lines = _Lines(text)
    is_json = text.lstrip().startswith("{")
    data: object
    try:
        data = json.loads(text) if is_json else tomllib.loads(text)
    except json.JSONDecodeError as err:
        where = lines.rest_of_line(err.lineno - 1, err.colno - 1)
        raise ConfigError([Problem(f"JSON syntax error: {err.msg}", where)], source) from err
    except tomllib.TOMLDecodeError as err:
        from treelane.engine.workflow.loader import _syntax_problem

        raise ConfigError([_syntax_problem(lines, str(err))], source) from err
    except RecursionError as err:
        problem = Problem("syntax error: values are nested too deeply", Range(0, 0, 0, 0))
        raise ConfigError([problem], source) from err
    locate = _json_locator(text, lines) if is_json else _Locator(text).range
    checker = _Checker(lambda path: locate(path[1:] if path[:1] == ("tasks",) else path))
    if isinstance(data, dict):
        for key in _RESERVED:
            if key in data:
                checker.report(
                    ("tasks", key),
                    f"'{key}' is not allowed here: this file holds only a table of tasks "
                    "(the format of [workflows.W.tasks])",
                )
        data = {k: v for k, v in data.items() if k not in _RESERVED}
    workflow = _parse_workflow(checker, (), "spawned", {"tasks": data}, frozenset(limits))
    errors = [p for p in checker.problems if p.severity == "error"]
    if errors:
        raise ConfigError(
            sorted(errors, key=lambda p: (p.range.start_line, p.range.start_col)), source
        )
    return workflow.tasks


def _json_locator(text: str, lines: _Lines) -> Callable[[_KeyPath], Range]:
    def locate(path: _KeyPath) -> Range:
        pos, found = 0, (0, 0)
        for part in path:
            if not isinstance(part, str):
                continue
            at = text.find(json.dumps(part), pos)
            if at < 0:
                break
            pos = at
            found = (at, at + len(json.dumps(part)))
        return lines.range(found)

    return locate
