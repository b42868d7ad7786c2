"""Helpers for the CLI tests: a repository with workflows, and ``python -m treelane``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

WORKFLOWS = """\
[settings]
max_parallel = 4
pool_size = 4

[workflows.diamond.tasks.a]
run = "echo A > a.txt && echo made a"

[workflows.diamond.tasks.b]
needs = ["a"]
run = "cat a.txt > b.txt && echo B >> b.txt"

[workflows.diamond.tasks.c]
needs = ["a"]
run = "echo C > c.txt"

[workflows.diamond.tasks.d]
needs = ["b", "c"]
run = "cat b.txt c.txt > d.txt"

[workflows.slow.tasks.sleeper]
run = "for i in 1 2 3 4 5 6 7 8 9 10; do echo tick $i; echo tick $i >> ticks.txt; sleep 0.4; done"
cache = false

[workflows.conflict.tasks.left]
run = "echo left > README.md"

[workflows.broken.tasks.fails]
run = "echo 'about to fail'; exit 3"
cache = false
"""


def make_repo(root: Path, toml: str = WORKFLOWS) -> Path:
    """A git repository on ``main`` with README.md and treelane.toml committed."""
    root.mkdir(parents=True, exist_ok=True)
    for args in (
        ["init", "-q"],
        ["symbolic-ref", "HEAD", "refs/heads/main"],
        ["config", "user.name", "Test User"],
        ["config", "user.email", "test@example.com"],
    ):
        git(root, *args)
    (root / "README.md").write_text("hello\n")
    (root / "treelane.toml").write_text(toml)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root.resolve()


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
