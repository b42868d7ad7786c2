"""Merging a task's inputs (or a run's final tasks), and naming who conflicts with whom.

The inputs are merged in their listed order (``merge.merged_commit``). When that fails,
every pair is merged as git would merge it (``git merge-tree --write-tree``, with its own
merge base) so that the conflicts name the inputs that really conflict, not all of them.
Only when no pair conflicts (the combination does), the inputs up to the one whose merge
failed are named.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from treelane.engine import merge


class InputConflict(NamedTuple):
    path: str
    kind: str
    tasks: tuple[str, ...]  # the two inputs that conflict (more only if just their union does)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "tasks": list(self.tasks)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InputConflict:
        return cls(str(d["path"]), str(d["kind"]), tuple(d["tasks"]))


def merge_named(
    repo: Path, named: Sequence[tuple[str, str]], message: str, start: str | None = None
) -> tuple[str | None, list[InputConflict]]:
    """One commit merging the commits of ``named`` ((name, commit), in order), or the
    conflicts. ``start``: a resolution to merge them onto (it holds some of them already)."""
    commits = list(dict.fromkeys(c for _, c in named))
    if start is not None:
        commits = [start, *commits]
    if not commits:
        raise ValueError("nothing to merge")
    merged, found = merge.merged_commit(repo, commits, message)
    if merged is not None:
        return merged, []
    return None, culprits(repo, named, found, start)


def culprits(
    repo: Path,
    named: Sequence[tuple[str, str]],
    fallback: list[merge.Conflict],
    start: str | None = None,
) -> list[InputConflict]:
    """The conflicting pairs of ``named``; ``fallback``: the conflicts of the ordered merge."""
    pool = list(named)
    if start is not None:
        pool = [("(resolution)", start), *pool]
    out: list[InputConflict] = []
    for i, (a, ca) in enumerate(pool):
        for b, cb in pool[i + 1 :]:
            if ca == cb:
                continue
            p = merge.preview(repo, cb, ca)
            out += [InputConflict(c.path, c.kind, (a, b)) for c in p.conflicts]
    if out:
        return out
    # No pair conflicts on its own: the inputs up to the first one that fails to merge.
    for k in range(2, len(pool) + 1):
        commits = list(dict.fromkeys(c for _, c in pool[:k]))
        if merge.merged_commit(repo, commits, "probe\n")[0] is None:
            names = tuple(n for n, _ in pool[:k])
            return [InputConflict(c.path, c.kind, names) for c in fallback]
    names = tuple(n for n, _ in pool)
    return [InputConflict(c.path, c.kind, names) for c in fallback]


def describe(conflicts: Sequence[InputConflict], what: str) -> str:
    """One line: ``inputs format and docstrings conflict in src/a.py (content)``."""
    by_pair: dict[tuple[str, ...], list[str]] = {}
    for c in conflicts:
        by_pair.setdefault(c.tasks, []).append(f"{c.path} ({c.kind})")
    parts = []
    for tasks, paths in by_pair.items():
        names = " and ".join(tasks) if len(tasks) == 2 else ", ".join(tasks)
        parts.append(f"{names} conflict in {', '.join(paths)}")
    return f"{what} " + "; ".join(parts) if parts else f"{what} conflict"
