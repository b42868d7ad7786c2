"""A task's declared file sets: the ``inputs`` its cache key reads, the ``outputs`` it keeps.

Patterns are git pathspec globs relative to the repository root (``src/**``,
``*.toml``, ``docs/*.md``); a leading ``!`` excludes (``!**/*.md``). Each becomes a
``:(glob)`` or ``:(exclude,glob)`` pathspec, so git itself does the matching:

* :func:`input_digest` lists the matching files of a tree (one ``git diff-tree``
  against the empty tree: mode, blob id and path of each) and hashes the listing.
  An edit outside the patterns leaves the digest, and so the cache key, unchanged.
* :func:`collect_outputs` turns the ignored files a task produced that match its
  ``outputs`` into a tree (a private index, never the worktree's own). Results
  are made from non-ignored files only, so outputs never reach a merge.
* :func:`overlay` lays trees over each other (later ones win per path), and
  :func:`restore` writes a tree's files into a worktree without touching its index.
* :func:`clean` removes ignored files matching patterns from a worktree.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from treelane.engine import git, snapshot

EMPTY_TREE = snapshot.EMPTY_TREE

_memo: dict[tuple[Path, str, tuple[str, ...]], str] = {}
_memo_lock = threading.Lock()
_MEMO_MAX = 4096


def pathspecs(patterns: Sequence[str]) -> list[str]:
    """The patterns as git pathspecs (``!x`` excludes x)."""
    out = []
    for p in patterns:
        if p.startswith("!"):
            out.append(f":(exclude,top,glob){p[1:]}")
        else:
            out.append(f":(top,glob){p}")
    if out and all(p.startswith(":(exclude") for p in out):
        out.insert(0, ":(top)")  # only exclusions: everything but them
    return out


def input_digest(repo: Path, tree: str, patterns: Sequence[str]) -> str:
    """A hash of the files of ``tree`` that match ``patterns`` (their paths, modes, blobs)."""
    if not patterns:  # no file at all (an empty pathspec would be every file)
        return hashlib.sha256(b"").hexdigest()
    key = (repo, tree, tuple(patterns))
    with _memo_lock:
        hit = _memo.get(key)
    if hit is not None:
        return hit
    listing = git.run(
        ["diff-tree", "-r", "-z", "--no-commit-id", EMPTY_TREE, tree, "--", *pathspecs(patterns)],
        repo,
        binary=True,
    ).stdout
    digest = hashlib.sha256(listing).hexdigest()  # type: ignore[arg-type]
    with _memo_lock:
        if len(_memo) >= _MEMO_MAX:
            _memo.clear()
        _memo[key] = digest
    return digest


def _excluded(wt: Path) -> list[str]:
    return [f":(exclude,top,literal){p}" for p in snapshot.included(wt)]


def ignored_files(wt: Path, patterns: Sequence[str]) -> list[str]:
    """Ignored, untracked files in ``wt`` that match ``patterns`` (paths from the top)."""
    if not patterns:
        return []
    res = git.run(
        [
            "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--full-name",
            "--", *pathspecs(patterns), *_excluded(wt),
        ],
        wt,
    )  # fmt: skip
    return sorted(p for p in res.stdout.split("\0") if p)


def collect_outputs(wt: Path, patterns: Sequence[str]) -> str:
    """The tree of the ignored files matching ``patterns`` in ``wt`` (EMPTY_TREE if none)."""
    files = ignored_files(wt, patterns)
    if not files:
        return EMPTY_TREE
    with snapshot.temp_index(wt, seed=False) as env:
        git.run(
            ["update-index", "--add", "-z", "--stdin"], wt, env=env, input="\0".join(files) + "\0"
        )
        return git.out(["write-tree"], wt, env=env)


def overlay(repo: Path, trees: Sequence[str]) -> str:
    """One tree holding every path of ``trees``; where several hold a path, the last wins."""
    todo = list(dict.fromkeys(t for t in trees if t and t != EMPTY_TREE))
    if not todo:
        return EMPTY_TREE
    if len(todo) == 1:
        return todo[0]
    fd, name = tempfile.mkstemp(prefix="treelane-overlay.", dir=_git_dir(repo))
    os.close(fd)
    os.unlink(name)  # git creates it; an empty file is not a valid index
    env = {"GIT_INDEX_FILE": name}
    try:
        git.run(["read-tree", todo[0]], repo, env=env)
        for tree in todo[1:]:
            listing = git.run(["ls-tree", "-r", "-z", tree], repo).stdout
            # --replace: a path that is a folder in one tree and a file in the next is
            # the later tree's.
            git.run(
                ["update-index", "--replace", "-z", "--index-info"], repo, env=env, input=listing
            )
        return git.out(["write-tree"], repo, env=env)
    finally:
        for leftover in (name, name + ".lock"):
            if os.path.exists(leftover):
                os.unlink(leftover)


def restore(wt: Path, tree: str) -> None:
    """Write the files of ``tree`` into ``wt`` (overwriting); its index stays as it was."""
    if not tree or tree == EMPTY_TREE:
        return
    with snapshot.temp_index(wt, seed=False) as env:
        git.run(["read-tree", tree], wt, env=env)
        git.run(["checkout-index", "-a", "-f", "-q"], wt, env=env)


def clean(wt: Path, patterns: Sequence[str]) -> None:
    """Remove ignored files matching ``patterns`` from ``wt`` (included paths stay)."""
    if not patterns:
        return
    git.run(["clean", "-q", "-f", "-d", "-X", "--", *pathspecs(patterns), *_excluded(wt)], wt)


_git_dirs: dict[Path, Path] = {}


def _git_dir(repo: Path) -> Path:
    gdir = _git_dirs.get(repo)
    if gdir is None:
        out = git.out(["rev-parse", "--git-common-dir"], repo)
        gdir = Path(out) if Path(out).is_absolute() else repo / out
        _git_dirs[repo] = gdir
    return gdir
