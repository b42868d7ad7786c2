"""One CLI invocation's connection: find the repository, start and initialize a server.

Errors become :class:`CliError` with the CLI's exit code: bad arguments (-32602) exit
2, everything else that fails exits 1; the message is one line for ``treelane: ...``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from treelane.cli.client import INVALID_PARAMS, LspClient, ServerError
from treelane.cli.errors import FAILED, USAGE, CliError, one_line

__all__ = ["FAILED", "USAGE", "CliError", "Session", "git_toplevel", "one_line", "open_session"]


def git_toplevel(directory: Path) -> Path:
    """The top of the git working tree containing ``directory`` (CliError if none)."""
    if not directory.is_dir():
        raise CliError(f"no such directory: {directory}")
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except FileNotFoundError:
        raise CliError("git is not installed (treelane needs git on the PATH)") from None
    top = proc.stdout.strip()
    if proc.returncode != 0 or not top:
        raise CliError(
            f"not a git repository: {directory} (run treelane inside one, or pass -C DIR)"
        )
    return Path(os.path.realpath(top))


class Session:
    """A running, initialized server for the repository at ``root``."""

    def __init__(self, client: LspClient, root: Path, cwd: Path) -> None:
        self.client = client
        self.root = root
        self.cwd = cwd  # where the user is (``-C DIR`` or the current directory)

    async def execute(self, command: str, argument: Any) -> Any:
        try:
            return await self.client.execute(command, argument)
        except ServerError as exc:
            raise CliError(exc.message, USAGE if exc.code == INVALID_PARAMS else FAILED) from None


@asynccontextmanager
async def open_session(directory: str | None) -> AsyncIterator[Session]:
    cwd = Path(os.path.abspath(directory or os.getcwd()))
    root = git_toplevel(cwd)
    client = await LspClient.spawn(root)
    try:
        try:
            await client.initialize(root)
        except ServerError as exc:
            raise CliError(f"could not start the treelane server: {exc.message}") from None
        yield Session(client, root, cwd)
    finally:
        await client.close()
