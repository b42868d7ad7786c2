"""Write the demo repository: a tiny Python package and a treelane.toml whose tasks are
the shipped agents (plan -> build -> [test, review, document]; the CLI then merges).

Works offline: git, this Python interpreter and the files below are all it needs.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

AGENTS = Path(__file__).resolve().parent / "agents"
WORKFLOW = "feature"
PIPELINE = (  # task, needs, what it does
    ("plan", (), "reads the code and the request, writes PLAN.md"),
    ("build", ("plan",), "implements the plan: src/textstats/top.py"),
    ("test", ("build",), "writes tests/ and runs them"),
    ("review", ("build",), "reads the code, writes REVIEW.md"),
    ("document", ("build",), "writes docs/API.md from the docstrings"),
)

FILES = {
    "README.md": """\
# textstats

Small statistics about text (a treelane demo project).

> add top_words(text, n): the n most frequent words of a text

Try `PYTHONPATH=src python -c "import textstats; print(textstats.word_count('a b c'))"`.
""",
    ".gitignore": "__pycache__/\n*.pyc\n",
    "src/textstats/__init__.py": '''\
"""textstats: small statistics about text."""

from textstats.core import word_count, words

__all__ = ["word_count", "words"]
''',
    "src/textstats/core.py": '''\
"""Splitting text into words."""

from __future__ import annotations

import re

WORD = re.compile(r"[A-Za-z']+")


def words(text: str) -> list[str]:
    """The words of ``text``, lower-cased, in order."""
    return [w.lower() for w in WORD.findall(text)]


def word_count(text):
    return len(words(text))
''',
}


class DemoError(Exception):
    """The demo repository cannot be made where asked (the message says why)."""


def toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML ones)."""
    return json.dumps(text)


def task_command(task: str, python: str = sys.executable) -> str:
    """The shell command of one agent: this interpreter running its shipped script
    (``-B``: no ``__pycache__`` next to the installed agents)."""
    script = AGENTS / f"{task}.py"
    return f"{shlex.quote(os.path.abspath(python))} -B {shlex.quote(str(script))}"


def workflow_toml(python: str = sys.executable) -> str:
    lines = [
        "# treelane demo: plan -> build -> [test, review, document], then merge into main.",
        "# Every task is a small agent script shipped with treelane; each edits files in",
        "# its own git worktree, and test, review and document run side by side.",
        "",
        "[settings]",
        "max_parallel = 3",
        "pool_size = 3",
        "",
        f"[workflows.{WORKFLOW}]",
        'description = "Add top_words() to textstats"',
    ]
    for task, needs, what in PIPELINE:
        lines += ["", f"[workflows.{WORKFLOW}.tasks.{task}]  # {what}"]
        if needs:
            lines.append(f"needs = {json.dumps(list(needs))}")
        lines += [f"run = {toml_string(task_command(task, python))}", "cache = false"]
    return "\n".join(lines) + "\n"


def create(target: Path, python: str = sys.executable) -> Path:
    """Make the demo repository at ``target`` (new or empty); its absolute path."""
    target = target.expanduser().resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise DemoError(f"{target} already exists and is not empty: choose a new folder")
    target.mkdir(parents=True, exist_ok=True)
    for name, text in {**FILES, "treelane.toml": workflow_toml(python)}.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    _git(target, "init", "-q")
    _git(target, "symbolic-ref", "HEAD", "refs/heads/main")
    _git(target, "config", "user.name", "treelane demo")
    _git(target, "config", "user.email", "demo@treelane.invalid")
    _git(target, "config", "commit.gpgsign", "false")
    _git(target, "add", "-A")
    _git(target, "commit", "-q", "--no-verify", "-m", "textstats: words and word_count")
    return target


def _git(cwd: Path, *args: str) -> str:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise DemoError("git is not installed (treelane needs git on the PATH)") from None
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        raise DemoError(f"git {args[0]} failed in {cwd}: {reason}")
    return proc.stdout
