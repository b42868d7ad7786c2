"""treelane.storage.db: migrations, transactions, and concurrent writers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from treelane.storage.db import Store
from treelane.storage.schema import MIGRATIONS, SCHEMA_VERSION

TABLES = {
    "meta",
    "task_checkpoints",
    "worktrees",
    "checkpoints",
    "checkpoint_heads",
    "runs",
    "tasks",
    "attempts",
    "output",
    "events",
    "cache",
    "samples",
    "cancel_requests",
    "merges",
    "resolutions",
    "owners",
}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "state" / "state.db")
    yield s
    s.close()


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {r[0] for r in rows} - {"sqlite_sequence"}


def test_migrations_create_the_latest_schema(store: Store) -> None:
    assert MIGRATIONS[-1][0] == SCHEMA_VERSION
    assert store.schema_version == SCHEMA_VERSION
    assert _tables(store.path) == TABLES
    assert store.one("PRAGMA journal_mode")["journal_mode"] == "wal"  # type: ignore[index]
    assert store.one("PRAGMA foreign_keys")["foreign_keys"] == 1  # type: ignore[index]


def test_reopening_is_idempotent(store: Store) -> None:
    store.event("hello", run="r1", n=1)
    store.close()
    for _ in range(2):
        again = Store(store.path)
        assert again.schema_version == SCHEMA_VERSION
        rows = again.query("SELECT kind, run, data FROM events")
        assert rows == [{"kind": "hello", "run": "r1", "data": '{"n": 1}'}]
        assert again.query("SELECT * FROM meta") == [
            {"key": "schema_version", "value": str(SCHEMA_VERSION)}
        ]
        again.close()


def test_newer_schema_is_refused_and_left_alone(store: Store) -> None:
    store.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    store.close()
    newer = rf"schema version 99, newer than this treelane \({SCHEMA_VERSION}\)"
    with pytest.raises(RuntimeError, match=newer):
        Store(store.path)
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT value FROM meta").fetchall() == [("99",)]


def test_a_version_1_database_is_migrated_forward_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as conn:  # what treelane 0.1 with schema 1 left behind
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        for stmt in MIGRATIONS[0][1]:
            conn.execute(stmt)
        conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        conn.execute("INSERT INTO events (time, kind) VALUES (1.0, 'old')")
    store = Store(path)
    try:
        assert store.schema_version == SCHEMA_VERSION
        assert "cancel_requests" in _tables(path)
        assert store.query("SELECT kind FROM events") == [{"kind": "old"}]
    finally:
        store.close()


def test_a_version_2_database_gets_the_agent_columns_keeping_its_tasks(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        for version, statements in MIGRATIONS:
            if version <= 2:
                for stmt in statements:
                    conn.execute(stmt)
        conn.execute("INSERT INTO meta VALUES ('schema_version', '2')")
        conn.execute("INSERT INTO tasks (run, name, idx, state) VALUES ('r1', 'a', 0, 'failed')")
    store = Store(path)
    try:
        assert store.schema_version == SCHEMA_VERSION
        rows = store.query("SELECT name, state, kind, grp, parent, score FROM tasks")
        assert rows == [
            {
                "name": "a",
                "state": "failed",
                "kind": "run",
                "grp": None,
                "parent": None,
                "score": None,
            }
        ]
        assert "task_checkpoints" in _tables(path)
    finally:
        store.close()


def test_write_that_raises_rolls_back(store: Store) -> None:
    with pytest.raises(KeyError), store.write() as db:
        db["events"].insert({"time": 1.0, "kind": "a", "data": "{}"})
        store.execute("INSERT INTO events (time, kind) VALUES (2, 'b')")  # nested: joins
        raise KeyError("boom")
    assert store.query("SELECT * FROM events") == []
    assert not store._conn().in_transaction
    # The connection is usable afterwards and commits normally.
    with store.write() as db:
        db["events"].insert({"time": 3.0, "kind": "c", "data": "{}"})
    assert [r["kind"] for r in store.query("SELECT kind FROM events")] == ["c"]


def test_committed_writes_are_visible_to_other_connections(store: Store) -> None:
    with store.write() as db:
        db["events"].insert({"time": 1.0, "kind": "a", "data": "{}"})
        # Not yet committed: another connection does not see it.
        with sqlite3.connect(store.path) as other:
            assert other.execute("SELECT COUNT(*) FROM events").fetchone() == (0,)
    with sqlite3.connect(store.path) as other:
        assert other.execute("SELECT COUNT(*) FROM events").fetchone() == (1,)


def test_each_thread_has_its_own_connection(store: Store) -> None:
    seen: list[int] = []
    t = threading.Thread(target=lambda: seen.append(id(store._conn())))
    t.start()
    t.join()
    assert seen and seen[0] != id(store._conn())


def test_close_then_reuse(store: Store) -> None:
    store.event("a")
    store.close()
    store.event("b")
    assert [r["kind"] for r in store.query("SELECT kind FROM events ORDER BY id")] == ["a", "b"]


_CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from treelane.storage.db import Store

    store = Store(Path(sys.argv[1]))
    for i in range(int(sys.argv[2])):
        with store.write():
            # Read-modify-write: lost updates would show as a short count.
            row = store.one("SELECT value FROM meta WHERE key = 'counter'")
            store.execute("UPDATE meta SET value = ? WHERE key = 'counter'",
                          (str(int(row["value"]) + 1),))
        store.event("proc", n=i)
    store.close()
    """
)


def test_concurrent_writers_threads_and_processes(store: Store) -> None:
    store.execute("INSERT INTO meta (key, value) VALUES ('counter', '0')")
    per_thread, per_proc, nthreads, nprocs = 40, 60, 8, 2
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(store.path), str(per_proc)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(nprocs)
    ]
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for i in range(per_thread):
                with store.write():
                    row = store.one("SELECT value FROM meta WHERE key = 'counter'")
                    assert row is not None
                    store.execute(
                        "UPDATE meta SET value = ? WHERE key = 'counter'",
                        (str(int(row["value"]) + 1),),
                    )
                store.event("thread", n=i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    assert errors == []
    total = nthreads * per_thread + nprocs * per_proc
    assert store.one("SELECT value FROM meta WHERE key = 'counter'") == {"value": str(total)}
    counts = {
        r["kind"]: r["n"] for r in store.query("SELECT kind, COUNT(*) n FROM events GROUP BY kind")
    }
    assert counts == {"thread": nthreads * per_thread, "proc": nprocs * per_proc}


def test_schema_6_adds_worktree_disk_use(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        for version, statements in MIGRATIONS:
            if version <= 2:
                for stmt in statements:
                    conn.execute(stmt)
        conn.execute("INSERT INTO meta VALUES ('schema_version', '2')")
        conn.execute(
            "INSERT INTO worktrees (id, path, state, created) VALUES ('wt-1', '/x', 'idle', 1)"
        )
    store = Store(path)
    try:
        assert store.schema_version == SCHEMA_VERSION
        assert store.query("SELECT id, disk_bytes FROM worktrees") == [
            {"id": "wt-1", "disk_bytes": None}
        ]
    finally:
        store.close()


def _other_connection_sees(store: Store, sql: str) -> list[tuple[object, ...]]:
    """What a reader outside this Store (another process's view) finds committed."""
    with sqlite3.connect(store.path) as conn:
        return conn.execute(sql).fetchall()


def test_deferred_writes_go_in_with_the_next_transaction_of_any_thread(store: Store) -> None:
    store.execute("INSERT INTO events (time, kind) VALUES (1.0, 'first')")
    store.defer("UPDATE events SET kind = 'deferred' WHERE kind = 'first'")
    assert _other_connection_sees(store, "SELECT kind FROM events") == [("first",)]

    def other_thread() -> None:  # a transaction of another thread takes them along
        store.execute("INSERT INTO events (time, kind) VALUES (2.0, 'second')")

    t = threading.Thread(target=other_thread)
    t.start()
    t.join()
    assert _other_connection_sees(store, "SELECT kind FROM events ORDER BY time") == [
        ("deferred",),
        ("second",),
    ]


def test_flush_deferred_writes_them_and_a_rollback_keeps_them(store: Store) -> None:
    store.defer("INSERT INTO events (time, kind) VALUES (1.0, 'late')")
    with pytest.raises(RuntimeError), store.write():
        raise RuntimeError("the transaction that would have carried them fails")
    assert _other_connection_sees(store, "SELECT kind FROM events") == []
    store.flush_deferred()
    assert _other_connection_sees(store, "SELECT kind FROM events") == [("late",)]
    store.flush_deferred()  # nothing left: no second copy
    assert _other_connection_sees(store, "SELECT COUNT(*) FROM events") == [(1,)]


def test_writers_of_one_process_wait_for_each_other_without_busy_errors(store: Store) -> None:
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(200):
                with store.write():
                    store.execute("INSERT INTO events (time, kind) VALUES (?, 'w')", (k + i,))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k * 1000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.one("SELECT COUNT(*) AS n FROM events") == {"n": 800}
