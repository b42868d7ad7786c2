"""Shared test helpers: a real git repository in ``tmp_path`` and a ``git`` runner.

``git(*args, cwd=...)`` is both a plain function (``from repokit import git``; never import
conftest itself, several folders have one) and a fixture of the same name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from repokit import git, make_repo

# Hermetic git: no user/system config (signing, hooks, templates, default branch...).
os.environ["GIT_CONFIG_GLOBAL"] = os.devnull
os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
os.environ.pop("GIT_DIR", None)
os.environ.pop("GIT_INDEX_FILE", None)


@pytest.fixture(name="git")
def git_fixture() -> Callable[..., str]:
    """The :func:`git` helper, as a fixture."""
    return git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository (branch ``main``, one commit with README.md) at ``tmp_path/repo``."""
    return make_repo(tmp_path / "repo", toml=None)
