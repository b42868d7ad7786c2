"""Shared test helpers: a real git repository in ``tmp_path`` and a ``git`` runner.

``git(*args, cwd=...)`` is both a plain function (``from conftest import git``) and a
fixture of the same name, so tests in any folder can use it without importing conftest.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

# Hermetic git: no user/system config (signing, hooks, templates, default branch...).
os.environ["GIT_CONFIG_GLOBAL"] = os.devnull
os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
os.environ.pop("GIT_DIR", None)
os.environ.pop("GIT_INDEX_FILE", None)


def git(
    *args: str,
    cwd: Path | str,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    input: str | None = None,
) -> str:
    """Run ``git ARGS`` in ``cwd``; stdout without the trailing newline (raises on failure)."""
    proc = subprocess.run(
        ["git", *args],
        cwd=str(cwd),
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", **(env or {})},
        input=input,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc.stdout.rstrip("\n")


@pytest.fixture(name="git")
def git_fixture() -> Callable[..., str]:
    """The :func:`git` helper, as a fixture."""
    return git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository (branch ``main``, one commit with README.md) at ``tmp_path/repo``."""
    root = (tmp_path / "repo").resolve()
    root.mkdir()
    git("init", "-q", "-b", "main", cwd=root)
    git("config", "user.name", "Test User", cwd=root)
    git("config", "user.email", "test@example.com", cwd=root)
    (root / "README.md").write_text("hello\n")
    git("add", "README.md", cwd=root)
    git("commit", "-q", "-m", "initial", cwd=root)
    return root
