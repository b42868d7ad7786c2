"""Argument checking shared by the commands: each takes one JSON object.

Malformed arguments raise :class:`~treelane.errors.InvalidArgument` naming the field
and what was expected (LSP -32602, CLI exit 2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from treelane.engine import names
from treelane.errors import InvalidArgument

MAX_STRING = 4096  # characters of a name, ref or path argument


def obj(args: Any, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    """The command's argument object; unknown fields are refused (typos should not pass).

    An empty array counts as an empty object: Lua (Neovim) encodes an empty table ``{}``
    as ``[]``. ``null`` is refused (leave the argument out instead).
    """
    if isinstance(args, list) and not args:
        return {}
    if not isinstance(args, Mapping):
        raise InvalidArgument(f"expected one JSON object as the argument, got {_kind(args)}")
    unknown = sorted(set(args) - set(allowed), key=str)
    if unknown:
        expected = ", ".join(allowed) if allowed else "no fields"
        raise InvalidArgument(f"unknown field {_short(unknown[0])} (expected: {expected})")
    return args


def string(
    args: Mapping[str, Any], key: str, *, required: bool = True, max_len: int = MAX_STRING
) -> str | None:
    """A string field; absent is None (unless required), null is refused (leave it out)."""
    if key not in args:
        if required:
            raise InvalidArgument(f"missing field {key!r}: expected a string")
        return None
    value = args[key]
    if not isinstance(value, str) or not value:
        raise InvalidArgument(f"field {key!r}: expected a non-empty string, got {_kind(value)}")
    if len(value) > max_len:
        raise InvalidArgument(
            f"field {key!r}: {len(value):,} characters is too long (at most {max_len:,})"
        )
    if "\0" in value:
        raise InvalidArgument(f"field {key!r}: contains a NUL character")
    return value


def run_id(args: Mapping[str, Any], *, required: bool = True) -> str | None:
    value = string(args, "run", required=required)
    if value is not None:
        _valid(value, "run id")
    return value


def name(args: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = string(args, key, required=required)
    if value is not None:
        _valid(value, f"{key} name")
    return value


_TASK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.,=\[\]-]*")


def task_name(args: Mapping[str, Any], key: str = "task", *, required: bool = True) -> str | None:
    """A task name, including matrix expansions (``test[shard=1]``) and spawned tasks."""
    value = string(args, key, required=required)
    if value is not None and (len(value) > 512 or not _TASK_NAME.fullmatch(value) or ".." in value):
        raise InvalidArgument(f"invalid {key} name: {value!r}")
    return value


def integer(args: Mapping[str, Any], key: str, *, minimum: int = 0) -> int:
    """A required integer field, at least ``minimum``."""
    if key not in args:
        raise InvalidArgument(f"missing field {key!r}: expected an integer >= {minimum}")
    value = optional_integer(args, key, None, minimum=minimum)
    assert value is not None
    return value


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def boolean(args: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = args.get(key, default)
    if not isinstance(value, bool):
        raise InvalidArgument(f"field {key!r}: expected true or false, got {_kind(value)}")
    return value


def optional_integer(
    args: Mapping[str, Any], key: str, default: int | None, *, minimum: int = 0
) -> int | None:
    """An integer field, at least ``minimum``; ``default`` when it is absent."""
    if key not in args:
        return default
    value = args[key]
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value < 2**62:
        raise InvalidArgument(
            f"field {key!r}: expected an integer of at least {minimum}, got {_kind(value)}"
        )
    return value


def _valid(value: str, what: str) -> None:
    try:
        names.check_id(value, what=what)
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None


def _kind(value: Any) -> str:
    kinds = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
        type(None): "null",
    }
    return kinds.get(type(value), type(value).__name__)
