"""A real ``treelane serve`` subprocess over stdio, driven by pytest-lsp.

Every test that takes ``client`` runs twice: with the capabilities of VS Code and
of Neovim 0.7 (which has no window/workDoneProgress support).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_lsp
from lsp_helpers import CLIENTS, Notes, make_repo
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "treelane", "serve"]),
    params=CLIENTS,
)
async def client(
    lsp_client: LanguageClient, request: pytest.FixtureRequest, workspace: Path
) -> AsyncIterator[None]:
    lsp_client.notes = Notes(lsp_client)  # type: ignore[attr-defined]
    params = types.InitializeParams(
        capabilities=client_capabilities(request.param),
        root_uri=workspace.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="repo")],
    )
    lsp_client.init_result = await lsp_client.initialize_session(params)  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()
