"""The SQLite store at ``<git-dir>/treelane/state.db``.

One connection per thread (sqlite3 connections are not shared across threads),
WAL journal, a busy timeout, and write transactions that start with
``BEGIN IMMEDIATE`` so that a read-then-write never fails with "database is
locked" half way. Transactions are ours: sqlite-utils (pinned) only runs inside
them, where it nests with savepoints instead of committing.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from treelane.storage.schema import MIGRATIONS, SCHEMA_VERSION

BUSY_TIMEOUT_MS = 30_000


class Store:
    """Thread-safe and process-safe access to treelane's state database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._deferred: list[tuple[str, tuple[Any, ...]]] = []
        self._deferred_lock = threading.Lock()
        self._migrate()

    # --- connections -----------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                str(self.path),
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @property
    def db(self) -> sqlite_utils.Database:
        """A sqlite-utils view of this thread's connection."""
        d: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if d is None:
            d = sqlite_utils.Database(self._conn())
            self._local.db = d
        return d

    def close(self) -> None:
        with self._lock:
            for c in self._all:
                with contextlib.suppress(sqlite3.Error):
                    c.close()
            self._all.clear()
        self._local = threading.local()

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        """A write transaction (``BEGIN IMMEDIATE``); nested calls join the outer one."""
        conn = self._conn()
        if conn.in_transaction:
            yield self.db
            return
        # Writers of this process queue here, not in SQLite: a BEGIN IMMEDIATE that finds
        # the database locked sleeps in SQLite's busy handler (1, 2, 5, 10 ms, ...) even
        # when the other writer is done a few microseconds later. Other processes still
        # meet the busy timeout.
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            with self._deferred_lock:
                deferred, self._deferred = self._deferred, []
            try:
                for sql, params in deferred:
                    conn.execute(sql, params)
                yield self.db
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                with self._deferred_lock:  # not lost with this transaction
                    self._deferred[:0] = deferred
                raise
            else:
                conn.execute("COMMIT")

    def defer(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """A write that may wait: it is made at the start of the next write transaction of
        any thread, or by :meth:`flush_deferred`. Only for what a crash may lose (e.g. a
        process id that is also found by its environment), never for a state change."""
        with self._deferred_lock:
            self._deferred.append((sql, params))

    def flush_deferred(self) -> None:
        """Make the deferred writes now (if there are any)."""
        if self._deferred:
            with self.write():
                pass

    def query(
        self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()
    ) -> list[dict[str, Any]]:
        return [dict(r) for r in self._conn().execute(sql, params).fetchall()]

    def tuples(
        self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()
    ) -> list[tuple[Any, ...]]:
        """Rows as plain tuples (for many rows: no dict per row)."""
        cur = self._conn().cursor()
        cur.row_factory = None
        return cur.execute(sql, params).fetchall()

    def one(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> dict[str, Any] | None:
        row = self._conn().execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def execute(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> int:
        """Run one write statement in its own transaction (or the open one); rows changed."""
        with self.write():
            return self._conn().execute(sql, params).rowcount

    def execute_many(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        """One statement for many rows, in its own transaction (or the open one)."""
        with self.write():
            self._conn().executemany(sql, rows)

    # --- schema ----------------------------------------------------------

    def _migrate(self) -> None:
        conn = self._conn()
        with contextlib.suppress(sqlite3.Error):
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row and int(row[0]) == SCHEMA_VERSION:
                return  # up to date: no write (a full disk still lets treelane read)
        with self.write():
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} has schema version {version}, newer than this treelane "
                    f"({SCHEMA_VERSION}); upgrade treelane"
                )
            for target, statements in MIGRATIONS:
                if target > version:
                    for stmt in statements:
                        conn.execute(stmt)
                    version = target
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(version),),
            )

    @property
    def schema_version(self) -> int:
        row = self.one("SELECT value FROM meta WHERE key = 'schema_version'")
        return int(row["value"]) if row else 0

    # --- events ----------------------------------------------------------

    def event(
        self, kind: str, run: str | None = None, task: str | None = None, **data: Any
    ) -> None:
        with self.write() as db:
            db.table("events").insert(
                {
                    "time": time.time(),
                    "run": run,
                    "task": task,
                    "kind": kind,
                    "data": json.dumps(data, default=str),
                }
            )
