"""How a CLI command ends when it does not succeed (light: imported by every command).

:class:`CliError` prints ``treelane: <reason>`` on stderr and exits with its code (1 a
failure, 2 bad usage); :class:`Stopped` ends a followed run early (130 Ctrl-C, 143 SIGTERM).
"""

from __future__ import annotations

USAGE = 2
FAILED = 1
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM


class CliError(Exception):
    """Ends the command: ``treelane: <message>`` on stderr and exit ``code``."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(one_line(message))
        self.message = one_line(message)
        self.code = code


class Stopped(Exception):
    """Stop following now (second Ctrl-C or SIGTERM); ``code`` is the exit code."""

    def __init__(self, code: int) -> None:
        super().__init__(f"stopped (exit code {code})")
        self.code = code


def one_line(text: str) -> str:
    """Multi-line messages (e.g. every problem of treelane.toml) joined on one line."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    if not lines:
        return "unknown error"
    head, rest = lines[0], lines[1:]
    if not rest:
        return head
    return head + (" " if head.endswith(":") else "; ") + "; ".join(rest)
