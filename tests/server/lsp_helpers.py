"""Helpers for the server tests: a repository with workflows, notification collection."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient
from repokit import WORKFLOWS, make_repo

__all__ = ["CLIENTS", "WORKFLOWS", "Notes", "execute", "make_repo"]

CLIENTS = ["visual-studio-code", "neovim@v0.7.0"]


class Notes:
    """Collects treelane's custom notifications as they arrive (registered up front)."""

    def __init__(self, client: LanguageClient) -> None:
        self.items: list[tuple[str, Any]] = []
        self.client = client
        for method in (
            "treelane/taskState",
            "treelane/output",
            "treelane/resources",
            "treelane/runFinished",
        ):
            client.feature(method)(self._collector(method))

    def _collector(self, method: str) -> Callable[[Any], None]:
        def collect(params: Any) -> None:
            self.items.append((method, _plain(params)))

        return collect

    @property
    def messages(self) -> list[types.ShowMessageParams]:
        return self.client.messages

    def of(self, method: str, run: str | None = None) -> list[dict[str, Any]]:
        return [p for m, p in self.items if m == method and (run is None or p.get("run") == run)]

    async def finished(self, run: str, timeout: float = 60) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            done = self.of("treelane/runFinished", run)
            if done:
                return done[0]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"run {run} did not finish; got {self.items[-5:]}")
            await asyncio.sleep(0.05)


def _plain(value: Any) -> Any:
    """pygls hands custom notification params over as attribute objects: make them dicts."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "_asdict"):  # pygls turns JSON objects into named tuples
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "__dict__"):
        return {k: _plain(v) for k, v in vars(value).items()}
    return value


async def execute(client: LanguageClient, command: str, arg: Any = None) -> Any:
    args = [] if arg is None else [arg]
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command, arguments=args)
    )
    return _plain(result)
