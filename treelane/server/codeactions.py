"""Quick fixes for the problems of ``treelane.toml`` (pure: no pygls here).

Each fix is built from the parser's :class:`~treelane.engine.workflow.Problem` (its code,
key path, subject and suggestion) and the document text, and is only offered when the
edited document still parses and differs from the original exactly as the fix says:

* ``unknown-key`` with a close match: "Did you mean 'max_parallel'?" renames the key.
* ``unknown-key``: "Remove unknown key 'x'" deletes the key with its value (or its table).
* ``unknown-need`` / ``unknown-limit`` with a close match: "Did you mean 'build'?".
* ``unknown-need``: "Add missing task 'x'" appends a ``[workflows.W.tasks.x]`` table whose
  placeholder command fails with a reminder until it is written.
"""

from __future__ import annotations

import bisect
import copy
import json
import re
import sys
from typing import Any, NamedTuple

from treelane.engine.workflow import Problem, Range

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_HEADER = re.compile(r"^[ \t]*\[")
_MAX_VALUE_LINES = 500  # a key's value spans at most this many lines (for removal)


class Edit(NamedTuple):
    range: Range
    new_text: str


class Fix(NamedTuple):
    title: str
    problem: Problem
    edits: tuple[Edit, ...]
    preferred: bool = False


def fixes(text: str, problems: list[Problem]) -> list[Fix]:
    """Every quick fix for ``problems`` of the document ``text``."""
    doc = _Doc(text)
    if doc.data is None:
        return []
    found: list[Fix] = []
    for problem in problems:
        found.extend(_fixes_for(doc, problem))
    return found


def overlaps(a: Range, b: Range) -> bool:
    """True when the ranges share a position (an empty range touching the other counts)."""
    a_start, a_end = (a.start_line, a.start_col), (a.end_line, a.end_col)
    b_start, b_end = (b.start_line, b.start_col), (b.end_line, b.end_col)
    return a_start <= b_end and b_start <= a_end


def apply(text: str, edits: tuple[Edit, ...]) -> str:
    """``text`` with non-overlapping ``edits`` applied (as an editor applies a TextEdit list)."""
    doc = _Doc(text, parse=False)
    at = doc.offset
    spans = sorted((at(e.range, True), at(e.range, False), e.new_text) for e in edits)
    out, pos = [], 0
    for start, end, new in spans:
        out.append(text[pos:start])
        out.append(new)
        pos = end
    out.append(text[pos:])
    return "".join(out)


# --------------------------------------------------------------------------- fixes


def _fixes_for(doc: _Doc, problem: Problem) -> list[Fix]:
    found: list[Fix | None] = []
    if problem.code == "unknown-key":
        if problem.suggestion:
            found.append(_rename_key(doc, problem))
        found.append(_remove_key(doc, problem))
    elif problem.code in ("unknown-need", "unknown-limit"):
        if problem.suggestion:
            found.append(_replace_name(doc, problem))
        if problem.code == "unknown-need":
            found.append(_add_task(doc, problem))
    return [fix for fix in found if fix is not None]


def _rename_key(doc: _Doc, problem: Problem) -> Fix | None:
    key, new = problem.subject, problem.suggestion
    start = doc.offset(problem.range, True)
    end = doc.offset(problem.range, False)
    bare = re.escape(key)
    tokens = [bare, f'"{bare}"', f"'{bare}'"]
    edge = r"A-Za-z0-9_\-\"'"
    pattern = re.compile(rf"(?<![{edge}])(?:" + "|".join(tokens) + rf")(?![{edge}])")
    hits = list(pattern.finditer(doc.text, start, end))
    if len(hits) != 1:
        return None
    edit = doc.edit(hits[0].start(), hits[0].end(), _key(new))
    expected = _renamed(doc.data, problem.path, new)
    return _checked(doc, f"Did you mean '{new}'?", problem, (edit,), expected, preferred=True)


def _remove_key(doc: _Doc, problem: Problem) -> Fix | None:
    expected = _without(doc.data, problem.path)
    if expected is None:
        return None
    line = problem.range.start_line
    title = f"Remove unknown key '{problem.subject}'"
    if _HEADER.match(doc.line(line)):
        # A table (or a prefix of headers): every section whose header lies under the key.
        cut = [s for s in doc.sections() if s.path[: len(problem.path)] == problem.path]
        edits = tuple(doc.edit(doc.starts[s.first], doc.line_start(s.end)) for s in cut)
        return _checked(doc, title, problem, edits, expected) if edits else None
    # key = value: the shortest run of whole lines from the key's line that removes it.
    for last in range(line, min(line + _MAX_VALUE_LINES, doc.line_count)):
        edit = doc.edit(doc.starts[line], doc.line_start(last + 1))
        fix = _checked(doc, title, problem, (edit,), expected)
        if fix is not None:
            return fix
    return None


def _replace_name(doc: _Doc, problem: Problem) -> Fix | None:
    new = problem.suggestion
    start, end = doc.offset(problem.range, True), doc.offset(problem.range, False)
    expected = _replaced(doc.data, problem.path, new)
    edit = doc.edit(start, end, json.dumps(new))
    return _checked(doc, f"Did you mean '{new}'?", problem, (edit,), expected, preferred=True)


def _add_task(doc: _Doc, problem: Problem) -> Fix | None:
    task, path = problem.subject, problem.path
    if not _NAME.fullmatch(task) or len(path) < 2 or not isinstance(path[1], str):
        return None
    workflow = path[1]
    header = f"[workflows.{_key(workflow)}.tasks.{_key(task)}]"
    command = f"echo 'task {task} is not written yet: set its run command' >&2; exit 1"
    table = f"{header}\nrun = {json.dumps(command)}\n"
    expected: Any = copy.deepcopy(doc.data)
    try:
        expected["workflows"][workflow].setdefault("tasks", {})[task] = {"run": command}
    except (KeyError, TypeError, AttributeError):
        return None
    mine = [s for s in doc.sections() if s.path[:2] == ("workflows", workflow)]
    title = f"Add missing task '{task}' to workflow '{workflow}'"
    # After the workflow's last section (before its trailing blank lines), else at the end.
    if mine:
        last = mine[-1].first
        for n in range(mine[-1].first, mine[-1].end):
            if doc.line(n).strip():
                last = n
        at = doc.line_start(last + 1)
        sep = "" if doc.text[:at].endswith("\n") else "\n"
        edit = doc.edit(at, at, f"{sep}\n{table}")
        if fix := _checked(doc, title, problem, (edit,), expected):
            return fix
    end = len(doc.text)
    sep = "\n" if doc.text.endswith("\n") else ("\n\n" if doc.text else "")
    return _checked(doc, title, problem, (doc.edit(end, end, sep + table),), expected)


def _checked(
    doc: _Doc,
    title: str,
    problem: Problem,
    edits: tuple[Edit, ...],
    expected: Any,
    *,
    preferred: bool = False,
) -> Fix | None:
    """The fix, if applying it gives a document that parses to ``expected``."""
    try:
        after = tomllib.loads(apply(doc.text, edits))
    except (tomllib.TOMLDecodeError, RecursionError):
        return None
    if expected is None or after != expected:
        return None
    return Fix(title, problem, edits, preferred)


# --------------------------------------------------------------------------- data paths


def _parent(data: Any, path: tuple[str | int, ...]) -> Any:
    node = data
    for part in path[:-1]:
        node = node[part]
    return node


def _without(data: Any, path: tuple[str | int, ...]) -> Any:
    out = copy.deepcopy(data)
    try:
        parent = _parent(out, path)
        del parent[path[-1]]
    except (KeyError, IndexError, TypeError):
        return None
    return out


def _renamed(data: Any, path: tuple[str | int, ...], new: str) -> Any:
    out = copy.deepcopy(data)
    try:
        parent = _parent(out, path)
        if not isinstance(parent, dict) or new in parent:
            return None
        parent[new] = parent.pop(path[-1])
    except (KeyError, IndexError, TypeError):
        return None
    return out


def _replaced(data: Any, path: tuple[str | int, ...], new: str) -> Any:
    out = copy.deepcopy(data)
    try:
        parent = _parent(out, path)
        parent[path[-1]] = new
    except (KeyError, IndexError, TypeError):
        return None
    return out


def _key(name: str) -> str:
    return name if _BARE.fullmatch(name) else json.dumps(name)


# --------------------------------------------------------------------------- the document


class _Section(NamedTuple):
    path: tuple[str, ...]  # the header's key path
    first: int  # the header's line
    end: int  # the line of the next header (or the line count)


class _Doc:
    def __init__(self, text: str, *, parse: bool = True) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.line_count = len(self.starts)
        self.data: dict[str, Any] | None = None
        if parse:
            try:
                self.data = tomllib.loads(text)
            except (tomllib.TOMLDecodeError, RecursionError):
                self.data = None

    def line(self, n: int) -> str:
        if not 0 <= n < self.line_count:
            return ""
        return self.text[self.starts[n] : self.line_start(n + 1)].rstrip("\r\n")

    def line_start(self, n: int) -> int:
        return self.starts[n] if n < self.line_count else len(self.text)

    def offset(self, r: Range, start: bool) -> int:
        line, col = (r.start_line, r.start_col) if start else (r.end_line, r.end_col)
        if line >= self.line_count:
            return len(self.text)
        return min(self.starts[line] + col, self.line_start(line + 1), len(self.text))

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset) - 1
        return line, offset - self.starts[line]

    def edit(self, start: int, end: int, new_text: str = "") -> Edit:
        return Edit(Range(*self.position(start), *self.position(end)), new_text)

    def sections(self) -> list[_Section]:
        """The document's table headers with their path and extent, in order."""
        heads: list[tuple[int, tuple[str, ...]]] = []
        for n in range(self.line_count):
            line = self.line(n)
            if _HEADER.match(line):
                heads.append((n, _header_path(line)))
        ends = [n for n, _ in heads[1:]] + [self.line_count]
        return [_Section(path, first, end) for (first, path), end in zip(heads, ends, strict=True)]


def _header_path(line: str) -> tuple[str, ...]:
    """``[a."b c".d]  # x`` -> ("a", "b c", "d"); () when the line does not parse alone."""
    try:
        node: Any = tomllib.loads(line)
    except tomllib.TOMLDecodeError:
        return ()
    path: list[str] = []
    while isinstance(node, dict) and len(node) == 1:
        ((key, node),) = node.items()
        path.append(key)
    return tuple(path)
