"""Pure helpers for the diagnostics the server publishes (no pygls here).

* Problems of ``treelane.toml`` (from the workflow parser) as they are.
* A failed task: one diagnostic on its table in ``treelane.toml``.
* ``path:line[:col]: message`` lines in a task's output (compilers, pytest, ruff,
  mypy), mapped from the task's worktree to the same file in the workspace.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import NamedTuple

from treelane.engine.workflow import Range

# path:line[:col]: message   (pytest's "path:line: Error", ruff/mypy/gcc "path:line:col: msg")
_LOCATION = re.compile(
    r"^(?P<path>[^\s:][^:]*?\.[A-Za-z0-9_]+):(?P<line>\d+)(?::(?P<col>\d+))?:\s*(?P<msg>\S.*)$"
)
_SEVERITY = re.compile(r"\b(warning|note|info)\b", re.IGNORECASE)
MAX_PER_TASK = 200


class FileDiagnostic(NamedTuple):
    path: Path  # absolute path in the workspace
    line: int  # 0-based
    col: int  # 0-based
    message: str
    severity: str  # error | warning | information


def parse_output_line(line: str, worktree: Path | None, root: Path) -> FileDiagnostic | None:
    """A diagnostic for ``line`` if it names a file location inside the task's worktree."""
    m = _LOCATION.match(line.strip())
    if m is None:
        return None
    raw = Path(m["path"])
    rel: Path | None = None
    if raw.is_absolute():
        for base in (worktree, root):
            if base is not None and _inside(raw, base):
                rel = Path(os.path.relpath(raw, base))
                break
    else:
        rel = raw
    if rel is None or ".." in rel.parts:
        return None
    msg = m["msg"].strip()
    sev = _SEVERITY.match(msg)
    severity = "error"
    if sev:
        severity = "warning" if sev[1].lower() == "warning" else "information"
    col = int(m["col"]) - 1 if m["col"] else 0
    return FileDiagnostic(root / rel, max(0, int(m["line"]) - 1), max(0, col), msg, severity)


def _inside(path: Path, base: Path) -> bool:
    p, b = os.path.realpath(path), os.path.realpath(base)
    return p == b or p.startswith(b + os.sep)


def task_table_range(text: str, workflow: str, task: str) -> Range:
    """The range of ``[workflows.<workflow>.tasks.<task>]`` in the file (line 0 if absent)."""
    seg = r"\s*(?:{name}|\"{name}\"|'{name}')\s*"
    pattern = re.compile(
        r"^\s*\["
        + seg.format(name="workflows")
        + r"\."
        + seg.format(name=re.escape(workflow))
        + r"\."
        + seg.format(name="tasks")
        + r"\."
        + seg.format(name=re.escape(task))
        + r"\]"
    )
    for i, line in enumerate(text.splitlines()):
        if pattern.match(line):
            return Range(i, 0, i, len(line.rstrip()))
    # inline or dotted definitions: the line that names the task under its workflow
    for i, line in enumerate(text.splitlines()):
        if re.search(r"\b" + re.escape(task) + r"\b", line) and "tasks" in line:
            return Range(i, 0, i, len(line.rstrip()))
    return Range(0, 0, 0, 0)


def failure_message(task: str, exit_code: int | None, error: str | None, tail: list[str]) -> str:
    head = f"task {task!r} failed"
    if exit_code is not None:
        head += f" (exit code {exit_code})"
    elif error:
        head += f": {error}"
    if error and exit_code is not None and not error.startswith("exit code"):
        head += f": {error}"
    if tail:
        head += "\n" + "\n".join(tail)
    return head
