"""Helpers for the CLI tests: a repository with workflows, and ``python -m treelane``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import repokit
from repokit import workflows

SLOW = "for i in 1 2 3 4 5 6 7 8 9 10; do echo tick $i; echo tick $i >> ticks.txt; sleep 0.4; done"
WORKFLOWS = workflows(slow=SLOW, broken="echo 'about to fail'; exit 3")


def make_repo(root: Path, toml: str = WORKFLOWS) -> Path:
    """A git repository on ``main`` with README.md and treelane.toml committed."""
    return repokit.make_repo(root, toml)


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def treelane(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m treelane ARGS`` in ``cwd`` (stdout is a pipe: JSON/plain output)."""
    return subprocess.run(
        [sys.executable, "-m", "treelane", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "120"},
        check=False,
    )


def popen(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "treelane", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def lines(stdout: str) -> list[dict[str, Any]]:
    """Every stdout line parsed as one JSON object (fails on any line that is not)."""
    return [json.loads(line) for line in stdout.splitlines()]


def one_line_reason(stderr: str) -> str:
    """The single ``treelane: <reason>`` line the CLI writes on failure."""
    err = stderr.strip().splitlines()
    assert len(err) == 1, stderr
    assert err[0].startswith("treelane: "), stderr
    return err[0]
