"""Editor-agnostic command implementations, shared by the LSP server and the CLI.

Each takes a :class:`~treelane.commands.context.Context` and the command's one JSON
argument, and returns plain JSON-able data. The implementations (and the engine under
them) are imported on first use, so a server answers ``initialize`` without loading them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from treelane.commands.context import Context

Command = Callable[["Context", Any], dict[str, Any]]

# protocol name -> (module, function)
_IMPLEMENTATIONS: dict[str, tuple[str, str]] = {
    "treelane.start": ("start", "start"),
    "treelane.status": ("status", "status"),
    "treelane.cancel": ("cancel", "cancel"),
    "treelane.resume": ("resume", "resume"),
    "treelane.checkpoint": ("checkpoint", "checkpoint"),
    "treelane.undo": ("checkpoint", "undo"),
    "treelane.redo": ("checkpoint", "redo"),
    "treelane.merge": ("merge", "merge"),
    "treelane.diff": ("diff", "diff"),
    "treelane.resolve": ("resolve", "resolve"),
    "treelane.branch": ("branch", "branch"),
    "treelane.worktrees": ("worktrees", "worktrees"),
    "treelane.cleanup": ("cleanup", "cleanup"),
    "treelane.trace": ("trace", "trace"),
    "treelane.report": ("trace", "report"),
    "treelane.output": ("trace", "output"),
    "treelane.workflows": ("workflows", "workflows"),
}

COMMAND_NAMES: tuple[str, ...] = tuple(_IMPLEMENTATIONS)


def command(name: str) -> Command:
    """The implementation of protocol command ``name`` (KeyError if there is none)."""
    module, function = _IMPLEMENTATIONS[name]
    fn: Command = getattr(importlib.import_module(f"treelane.commands.{module}"), function)
    return fn


__all__ = ["COMMAND_NAMES", "Command", "command"]
