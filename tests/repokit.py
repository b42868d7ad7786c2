"""Test repositories shared by the front-end suites (server, CLI, Neovim).

``workflows()`` is a treelane.toml with the workflows they all drive: ``diamond``
(a -> [b, c] -> d), ``slow`` (a long task to cancel or observe), ``conflict`` (rewrites
README.md) and ``broken`` (fails with a compiler-style error line).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

SLOW = "for i in $(seq 1 60); do echo tick $i; echo tick $i >> ticks.txt; sleep 0.25; done"
BROKEN = "echo 'src/app.py:3:5: E999 something is wrong'; exit 3"


def workflows(slow: str = SLOW, broken: str = BROKEN) -> str:
    return f"""\
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
run = "{slow}"
cache = false

[workflows.conflict.tasks.left]
run = "echo left > README.md"

[workflows.broken.tasks.fails]
run = "{broken}"
cache = false
"""


WORKFLOWS = workflows()


def make_repo(root: Path, toml: str | None = WORKFLOWS) -> Path:
    """A git repository on ``main`` with README.md (and treelane.toml) committed."""
    root.mkdir(parents=True, exist_ok=True)

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.name", "Test User")
    git("config", "user.email", "test@example.com")
    (root / "README.md").write_text("hello\n")
    if toml is not None:
        (root / "treelane.toml").write_text(toml)
    git("add", "-A")
    git("commit", "-qm", "init")
    return root.resolve()


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
