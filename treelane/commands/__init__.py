"""Editor-agnostic command implementations, shared by the LSP server and the CLI.

Each takes a :class:`~treelane.commands.context.Context` and the command's one JSON
argument, and returns plain JSON-able data. ``COMMANDS`` maps protocol names to them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from treelane.commands.cancel import cancel
from treelane.commands.checkpoint import checkpoint, redo, undo
from treelane.commands.cleanup import cleanup
from treelane.commands.context import Context
from treelane.commands.merge import merge
from treelane.commands.resume import resume
from treelane.commands.start import start
from treelane.commands.status import status
from treelane.commands.trace import output, report, trace
from treelane.commands.worktrees import worktrees

Command = Callable[[Context, Any], dict[str, Any]]

COMMANDS: dict[str, Command] = {
    "treelane.start": start,
    "treelane.status": status,
    "treelane.cancel": cancel,
    "treelane.resume": resume,
    "treelane.checkpoint": checkpoint,
    "treelane.undo": undo,
    "treelane.redo": redo,
    "treelane.merge": merge,
    "treelane.worktrees": worktrees,
    "treelane.cleanup": cleanup,
    "treelane.trace": trace,
    "treelane.report": report,
    "treelane.output": output,
}

__all__ = ["COMMANDS", "Command", "Context"]
