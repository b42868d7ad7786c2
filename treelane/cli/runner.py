"""Run one subcommand and turn how it ended into the process's exit code.

0 success · 1 the request failed (``treelane: <reason>`` on stderr) · 2 bad arguments ·
130 interrupted by Ctrl-C · 143 terminated (SIGTERM).
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from treelane.cli.errors import EXIT_INTERRUPTED, CliError, Stopped, one_line

if TYPE_CHECKING:
    from argparse import Namespace

Subcommand = Callable[["Namespace"], Any]


def fail(message: str) -> None:
    print(f"treelane: {one_line(message)}", file=sys.stderr, flush=True)


def invoke(fn: Subcommand, args: Namespace) -> int:
    try:
        result = fn(args)
        if isinstance(result, types.CoroutineType):
            import asyncio

            result = asyncio.run(result)
        return int(result)
    except CliError as exc:
        fail(exc.message)
        return exc.code
    except Stopped as exc:
        return exc.code
    except KeyboardInterrupt:
        fail("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `treelane run x --json | head -1`: not an error
        _silence_stdout()
        return 0


def _silence_stdout() -> None:
    """Python would complain again when it flushes stdout at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
