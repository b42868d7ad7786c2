"""Value converters and message helpers used by the validator."""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import PureWindowsPath

from treelane.engine.workflow.model import T, _KeyPath

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


def _closest(word: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, sorted(candidates), n=1)
    return match[0] if match else ""


def _did_you_mean(word: str, candidates: Iterable[str]) -> str:
    match = _closest(word, candidates)
    return f" (did you mean '{match}'?)" if match else ""


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


def _pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not a usable file glob (``inputs``/``outputs``), or None."""
    body = pattern[1:] if pattern.startswith("!") else pattern
    if not body.strip():
        return "must not be empty"
    if body.startswith(":"):
        return "must be a plain glob (no pathspec magic); start it with '!' to exclude"
    if body.startswith(("/", "\\")) or PureWindowsPath(body).drive:
        return "must be relative to the repository root"
    if ".." in re.split(r"[/\\]", body):
        return "must not contain '..'"
    if "\n" in body or "\0" in body:
        return "must not contain a line break or NUL"
    return None
