"""``treelane init``: write a commented starter treelane.toml for the repository.

It looks at the top of the repository for the tools a project uses (Python with pytest
and ruff, Node with npm scripts, Rust with cargo, Go, a Makefile), writes one workflow
``check`` with a task for each, and an agent task commented out as an example. It never
overwrites a file, and checks what it wrote with the same parser ``treelane run`` uses.
"""

from __future__ import annotations

import json
import os
import re
from argparse import Namespace
from pathlib import Path
from typing import NamedTuple

from treelane.cli.errors import CliError
from treelane.cli.render import Printer, self_command

CONFIG_FILE = "treelane.toml"
WORKFLOW = "check"


class Task(NamedTuple):
    name: str
    run: str
    why: str  # what was detected, for the comment and the summary
    shared: bool = False  # read-only: may share a worktree with other such tasks


def detect(root: Path) -> list[Task]:
    """Tasks for the tools found at the top of ``root`` (names unique, in a stable order)."""
    tasks: list[Task] = []
    tasks += _python(root)
    tasks += _node(root)
    if (root / "Cargo.toml").is_file():
        tasks += [
            Task("cargo-test", "cargo test", "Cargo.toml"),
            Task("cargo-clippy", "cargo clippy -- -D warnings", "Cargo.toml"),
        ]
    if (root / "go.mod").is_file():
        tasks += [
            Task("go-test", "go test ./...", "go.mod"),
            Task("go-vet", "go vet ./...", "go.mod", shared=True),
        ]
    tasks += _make(root)
    seen: set[str] = set()
    unique = []
    for t in tasks:
        if t.name not in seen:
            seen.add(t.name)
            unique.append(t)
    return unique


def _python(root: Path) -> list[Task]:
    markers = [m for m in ("pyproject.toml", "setup.py", "setup.cfg", "requirements.txt")
               if (root / m).is_file()]  # fmt: skip
    if not markers:
        return []
    text = _read(root / "pyproject.toml") + _read(root / "setup.cfg")
    py = ".venv/bin/python" if (root / ".venv" / "bin" / "python").exists() else "python3"
    out = []
    if (root / "tests").is_dir() or "pytest" in text or (root / "pytest.ini").is_file():
        out.append(Task("pytest", f"{py} -m pytest -q", f"{markers[0]} with pytest"))
    if "[tool.ruff" in text or (root / "ruff.toml").is_file() or (root / ".ruff.toml").is_file():
        out.append(Task("ruff", f"{py} -m ruff check .", "ruff settings", shared=True))
    return out


def _node(root: Path) -> list[Task]:
    try:
        scripts = json.loads(_read(root / "package.json") or "{}").get("scripts", {})
    except (ValueError, AttributeError):
        scripts = {}
    if not (root / "package.json").is_file():
        return []
    out = []
    for script in ("build", "test", "lint"):
        if isinstance(scripts, dict) and script in scripts:
            cmd = "npm test" if script == "test" else f"npm run {script}"
            out.append(Task(f"npm-{script}", cmd, f'package.json script "{script}"',
                            shared=script == "lint"))  # fmt: skip
    return out


def _make(root: Path) -> list[Task]:
    text = _read(root / "Makefile") or _read(root / "makefile")
    if not text:
        return []
    targets = set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", text, re.MULTILINE))
    return [Task(f"make-{t}", f"make {t}", f"Makefile target {t}")
            for t in ("build", "test", "lint", "check") if t in targets]  # fmt: skip


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _q(text: str) -> str:
    return json.dumps(text)  # a TOML basic string is a JSON string for these characters


def render(root: Path, tasks: list[Task]) -> str:
    """The text of the starter file."""
    include = [p for p in (".venv", "node_modules", ".env") if (root / p).exists()]
    lines = [
        "# treelane.toml: workflows (DAGs of shell tasks), each task in its own git worktree.",
        "# Written by `treelane init`; edit freely. Run a workflow: treelane run check",
        "# An uncommitted treelane.toml is used as it is; tasks start from the last commit.",
        "",
        "[settings]",
        'max_parallel = "auto"     # or a number; "auto" follows CPUs and free memory',
        "pool_size = 4             # idle worktrees kept warm for the next tasks",
    ]
    if include:
        lines.append(
            f"include = [{', '.join(_q(p) for p in include)}]"
            "  # ignored files copied (folders linked) into each worktree"
        )
    else:
        lines.append('# include = [".venv"]   # ignored files/folders brought into each worktree')
    lines += [
        '# setup = "npm ci"      # run once in each new worktree',
        "",
        "# [limits]              # named limits for shared resources, e.g. an API's rate",
        "# api = 2",
        "",
        f"[workflows.{WORKFLOW}]",
        'base = "HEAD"             # the commit every run starts from',
    ]
    if not tasks:
        lines += [
            "",
            "# No build or test tool was recognised: replace this task with your own.",
            f"[workflows.{WORKFLOW}.tasks.hello]",
            'run = "echo hello from treelane"',
        ]
    for t in tasks:
        lines += [
            "",
            f"# from {t.why}",
            f"[workflows.{WORKFLOW}.tasks.{t.name}]",
            f"run = {_q(t.run)}",
        ]
        if t.shared:
            lines.append('isolation = "shared"     # read-only: shares a worktree, no checkout')
    after = tasks[0].name if tasks else "hello"
    lines += [
        "",
        "# An agent as a task: it edits files in its worktree, its changes become the task's",
        "# result commit, and `treelane merge RUN` brings them into your branch.",
        f"# [workflows.{WORKFLOW}.tasks.review]",
        f"# needs = [{_q(after)}]",
        "# run = \"my-agent --prompt 'review the code and write REVIEW.md'\"",
        '# uses = ["api"]          # counts against [limits] api',
        "# timeout = 900           # seconds",
        "",
    ]
    return "\n".join(lines)


def init(args: Namespace) -> int:
    from treelane.commands.readonly import discover
    from treelane.errors import RequestFailed

    cwd = Path(os.path.abspath(getattr(args, "directory", None) or os.getcwd()))
    try:
        root = discover(cwd).root
    except RequestFailed:
        raise CliError(
            f"not a git repository: {cwd} (treelane works in git repositories: git init first)"
        ) from None
    path = root / CONFIG_FILE
    tasks = detect(root)
    try:
        with open(path, "x", encoding="utf-8") as f:
            f.write(render(root, tasks))
    except FileExistsError:
        raise CliError(
            f"{path} already exists; treelane init never overwrites it "
            "(edit it, or move it away and run treelane init again)"
        ) from None
    _check(path)
    p = Printer()
    p.line(f"wrote {path}", "bold")
    for t in tasks:
        p.line(f"  task {t.name:<13} {t.run}   (from {t.why})")
    if not tasks:
        p.line("  no build or test tool recognised: it has one example task, hello")
    p.line("next: treelane run check    (the file works uncommitted; commit it to share it)")
    if _bytecode_not_ignored(root):
        p.line(
            "note: __pycache__/ is not in .gitignore, so .pyc files a task writes would become "
            "part of its result; add it: echo __pycache__/ >> .gitignore",
            "yellow",
        )
    me = self_command()
    if me != "treelane":
        p.line(f"(treelane is not on your PATH; this works: {me} run check)", "dim")
    return 0


def _bytecode_not_ignored(root: Path) -> bool:
    """Python code here, and git would not ignore the bytecode Python writes beside it."""
    from treelane.commands.readonly import git

    if not any(root.glob("*.py")) and not any(root.glob("*/*.py")):
        return False
    probe = git(["check-ignore", "-q", "--no-index", "__pycache__/x.cpython.pyc"], root)
    return probe.returncode == 1


def _check(path: Path) -> None:
    """Load the file as ``treelane run`` will; if it is invalid (treelane's bug), remove it."""
    from treelane.engine.workflow import ConfigError, load_config

    try:
        load_config(path)
    except ConfigError as exc:
        path.unlink()
        raise CliError(f"treelane init made an invalid {CONFIG_FILE} (removed it): {exc}") from None
