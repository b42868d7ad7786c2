"""Content-addressed result cache: the same command on the same input tree gives the same tree.

The key hashes the cache format version, the command, its env, the git tree hash
of the task's input (which no edit can change mid-run) and a ``cache_salt``
setting. An entry holds the result tree (kept alive by a ref under
``refs/treelane/cache/``) and the task's output, with a checksum. Reads verify the
checksum, the expiry and that the tree still exists: anything unreadable is a miss,
never an error. Only successful results are stored.
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
from treelane.storage.db import Store

FORMAT_VERSION = 1
CACHE_REFS = "refs/treelane/cache"


class Hit(NamedTuple):
    tree: str
    output: list[str]
    spawn: str | None = None  # the tasks the cached task added to its run (TREELANE_SPAWN)


def cache_key(command: str, env: Mapping[str, str], input_tree: str, salt: str = "") -> str:
    material = json.dumps(
        [FORMAT_VERSION, command, sorted(env.items()), input_tree, salt], separators=(",", ":")
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
            output = json.loads(row["output"])
        except ValueError:
            return None
        if not isinstance(output, list):
            return None
        return Hit(row["tree"], [str(x) for x in output], spawn)

    def put(
        self,
        key: str,
        tree: str,
        output: Sequence[str],
        ttl: float | None = None,
        spawn: str | None = None,
    ) -> None:
        text = json.dumps(list(output))
        now = time.time()
        git.update_ref(self.repo, f"{CACHE_REFS}/{key}", tree)
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
