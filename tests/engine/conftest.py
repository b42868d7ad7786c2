"""Fixtures shared by the engine tests (fixtures only: never import this module).

Each test module defines ``project``, the repository it works on; ``ws`` and ``store``
are that repository's workspace and state database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from treelane.engine.workspace import Workspace, open_workspace
from treelane.storage.db import Store


@pytest.fixture
def ws(project: Path) -> Workspace:
    return open_workspace(project)


@pytest.fixture
def store(ws: Workspace) -> Iterator[Store]:
    s = Store(ws.db_path)
    yield s
    s.close()
