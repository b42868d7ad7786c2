"""Content-addressed result cache: the same command on the same input tree gives the same tree.

The key hashes the cache format version, the command, its env, the task's input
(the git tree hash of its input commit, which no edit can change mid-run, or with
``inputs`` a digest of only the files those globs match), a ``cache_salt`` setting
and what its needs gave it (their keys and the ignored ``outputs`` they passed on).
An entry holds the result tree (kept alive by a ref under ``refs/treelane/cache/``),
the tree of the task's own ``outputs`` (under ``refs/treelane/outputs/cache/``) and
its output lines, with a checksum. Reads verify the checksum, the expiry and that
the trees still exist: anything unreadable is a miss, never an error. Only
successful results are stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from treelane.engine import git
from treelane.engine.snapshot import EMPTY_TREE
from treelane.storage.db import Store

FORMAT_VERSION = 2
CACHE_REFS = "refs/treelane/cache"
OUTPUT_CACHE_REFS = "refs/treelane/outputs/cache"


class Hit(NamedTuple):
    tree: str
    output: list[str]
    spawn: str | None = None  # the tasks the cached task added to its run (TREELANE_SPAWN)
    outputs: str = EMPTY_TREE  # the tree of the task's own ignored outputs


def cache_key(
    command: str,
    env: Mapping[str, str],
    input_tree: str,
    salt: str = "",
    needs: Sequence[str] = (),
) -> str:
    """``input_tree``: the input's tree id, or the digest of the files ``inputs`` match;
    ``needs``: what each need contributes (its key and the outputs it passed on)."""
    material = json.dumps(
        [FORMAT_VERSION, command, sorted(env.items()), input_tree, salt, list(needs)],
        separators=(",", ":"),
    )
    return hashlib.sha256(material.encode()).hexdigest()


def _checksum(key: str, tree: str, output: str, spawn: str | None = None) -> str:
    extra = "" if spawn is None else f"\0{spawn}"
    return hashlib.sha256(f"{key}\0{tree}\0{output}{extra}".encode()).hexdigest()


class ResultCache:
    def __init__(self, repo: Path, store: Store) -> None:
        self.repo = repo
        self.store = store

    def get(self, key: str) -> Hit | None:
        try:
            row = self.store.one("SELECT * FROM cache WHERE key = ?", (key,))
        except sqlite3.Error:
            return None
        if row is None:
            return None
        if row["expires"] is not None and row["expires"] < time.time():
            return None
        spawn = row.get("spawn")
        if row["checksum"] != _checksum(key, row["tree"], row["output"], spawn):
            return None
        if not git.object_exists(self.repo, row["tree"]):
            return None
        try:
            entry = json.loads(row["output"])
        except ValueError:
            return None
        if not isinstance(entry, dict):
            return None
        lines, outputs = entry.get("lines"), entry.get("outputs", EMPTY_TREE)
        if not isinstance(lines, list) or not isinstance(outputs, str):
            return None
        if outputs != EMPTY_TREE and not git.object_exists(self.repo, outputs):
            return None
        return Hit(row["tree"], [str(x) for x in lines], spawn, outputs)

    def put(
        self,
        key: str,
        tree: str,
        output: Sequence[str],
        ttl: float | None = None,
        spawn: str | None = None,
        outputs: str = EMPTY_TREE,
    ) -> None:
        text = json.dumps({"lines": list(output), "outputs": outputs})
        now = time.time()
        git.update_ref(self.repo, f"{CACHE_REFS}/{key}", tree)
        if outputs != EMPTY_TREE:
            git.update_ref(self.repo, f"{OUTPUT_CACHE_REFS}/{key}", outputs)
        with contextlib.suppress(sqlite3.Error):
            self.store.execute(
                "INSERT OR REPLACE INTO cache "
                "(key, tree, output, created, expires, checksum, spawn) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    tree,
                    text,
                    now,
                    now + ttl if ttl else None,
                    _checksum(key, tree, text, spawn),
                    spawn,
                ),
            )
