"""Argument checking shared by the commands: each takes one JSON object.

Malformed arguments raise :class:`~treelane.errors.InvalidArgument` naming the field
and what was expected (LSP -32602, CLI exit 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from treelane.engine import git
from treelane.errors import InvalidArgument


def obj(args: Any, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    """The command's argument object; unknown fields are refused (typos should not pass).

    An empty array counts as an empty object: Lua (Neovim) encodes an empty table ``{}``
    as ``[]``.
    """
    if args is None or (isinstance(args, list) and not args):
        return {}
    if not isinstance(args, Mapping):
        raise InvalidArgument(f"expected one JSON object as the argument, got {_kind(args)}")
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        expected = ", ".join(allowed) if allowed else "no fields"
        raise InvalidArgument(f"unknown field {unknown[0]!r} (expected: {expected})")
    return args


def string(args: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = args.get(key)
    if value is None:
        if required:
            raise InvalidArgument(f"missing field {key!r}: expected a string")
        return None
    if not isinstance(value, str) or not value:
        raise InvalidArgument(f"field {key!r}: expected a non-empty string, got {_kind(value)}")
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


def boolean(args: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = args.get(key, default)
    if not isinstance(value, bool):
        raise InvalidArgument(f"field {key!r}: expected true or false, got {_kind(value)}")
    return value


def _valid(value: str, what: str) -> None:
    try:
        git.check_id(value, what=what)
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
