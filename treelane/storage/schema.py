"""Schema of the state database, as forward-only migrations.

Add a new ``(version, [statements])`` entry to change the schema; never edit a
released one. Times are epoch seconds (REAL).
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            # Managed worktrees and their leases. A lease names its owner (pid, host and the
            # process start time, so a recycled pid is not taken for the owner).
            """CREATE TABLE worktrees (
                id TEXT PRIMARY KEY,
                path TEXT NOT NULL UNIQUE,
                commit_sha TEXT,
                tree TEXT,
                state TEXT NOT NULL DEFAULT 'idle',
                owner_pid INTEGER,
                owner_host TEXT,
                owner_started REAL,
                leased_at REAL,
                run TEXT,
                task TEXT,
                created REAL NOT NULL,
                last_used REAL,
                needs_reset INTEGER NOT NULL DEFAULT 0,
                drift TEXT
            )""",
            # Checkpoints form a linear stack per worktree; ``dropped`` ones were cut off by a
            # new checkpoint after undo and live on under refs/treelane/dropped/.
            """CREATE TABLE checkpoints (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                worktree TEXT NOT NULL,
                commit_sha TEXT NOT NULL,
                tree TEXT NOT NULL,
                index_tree TEXT NOT NULL,
                head TEXT,
                message TEXT NOT NULL DEFAULT '',
                created REAL NOT NULL,
                dropped INTEGER NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX checkpoints_wt ON checkpoints (worktree, dropped, id)",
            # Undo pointer per worktree, plus a journal of a restore in flight so a crash
            # between writing files and moving the pointer is completed on the next call.
            """CREATE TABLE checkpoint_heads (
                worktree TEXT PRIMARY KEY,
                current INTEGER,
                pending INTEGER
            )""",
            """CREATE TABLE runs (
                id TEXT PRIMARY KEY,
                workflow TEXT NOT NULL,
                definition TEXT NOT NULL,
                base_rev TEXT NOT NULL,
                base_commit TEXT NOT NULL,
                state TEXT NOT NULL,
                started REAL NOT NULL,
                finished REAL,
                result_commit TEXT,
                owner_pid INTEGER,
                owner_host TEXT,
                settings TEXT NOT NULL DEFAULT '{}',
                error TEXT
            )""",
            """CREATE TABLE tasks (
                run TEXT NOT NULL,
                name TEXT NOT NULL,
                idx INTEGER NOT NULL,
                state TEXT NOT NULL,
                attempt INTEGER NOT NULL DEFAULT 0,
                worktree TEXT,
                exit_code INTEGER,
                started REAL,
                finished REAL,
                duration_ms INTEGER,
                input_commit TEXT,
                result_commit TEXT,
                cache_key TEXT,
                error TEXT,
                PRIMARY KEY (run, name)
            )""",
            """CREATE TABLE attempts (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                run TEXT NOT NULL,
                task TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                state TEXT NOT NULL,
                worktree TEXT,
                pid INTEGER,
                started REAL NOT NULL,
                finished REAL,
                exit_code INTEGER,
                error TEXT
            )""",
            "CREATE INDEX attempts_task ON attempts (run, task, attempt)",
            """CREATE TABLE output (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                run TEXT NOT NULL,
                task TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                time REAL NOT NULL,
                line TEXT NOT NULL
            )""",
            "CREATE INDEX output_task ON output (run, task, attempt, id)",
            """CREATE TABLE events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                time REAL NOT NULL,
                run TEXT,
                task TEXT,
                kind TEXT NOT NULL,
                data TEXT NOT NULL DEFAULT '{}'
            )""",
            "CREATE INDEX events_run ON events (run, id)",
            # Result cache: key -> result tree, verified on read by checksum and object presence.
            """CREATE TABLE cache (
                key TEXT PRIMARY KEY,
                tree TEXT NOT NULL,
                output TEXT NOT NULL,
                created REAL NOT NULL,
                expires REAL,
                checksum TEXT NOT NULL
            )""",
            """CREATE TABLE samples (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                time REAL NOT NULL,
                data TEXT NOT NULL
            )""",
            "CREATE INDEX samples_time ON samples (time)",
        ],
    ),
    (
        2,
        [
            # Cancel requests for runs owned by another treelane process (another editor, or
            # `treelane run` in another terminal): the owner picks them up and acts on them.
            """CREATE TABLE cancel_requests (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                run TEXT NOT NULL,
                task TEXT,
                created REAL NOT NULL
            )""",
        ],
    ),
    (
        3,
        [
            # Why a run failed, as JSON: the conflicts that made it fail (``error`` is the
            # one-line reason).
            "ALTER TABLE runs ADD COLUMN conflicts TEXT",
            # Merges of run results into branches. ``state`` is ``pending`` from before the
            # target is touched until the update is complete (``done``) or undone
            # (``rolled back``): a crash in between is finished or undone by the next process.
            # ``before``/``after`` are the branch tips; for a branch checked out in a worktree
            # ``worktree`` is its path and ``files_before`` the snapshot tree of its files
            # (uncommitted edits included), ``files_after``/``index_*`` what they become;
            # ``git_pid``/``git_started`` name the last git process started for it (which may
            # have left the worktree's index.lock or the branch's ref lock).
            """CREATE TABLE merges (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                run TEXT NOT NULL,
                task TEXT,
                into_branch TEXT NOT NULL,
                source TEXT NOT NULL,
                style TEXT NOT NULL,
                before TEXT NOT NULL,
                after TEXT NOT NULL,
                worktree TEXT,
                files_before TEXT,
                index_before TEXT,
                files_after TEXT,
                index_after TEXT,
                state TEXT NOT NULL,
                owner_pid INTEGER,
                owner_started REAL,
                git_pid INTEGER,
                git_started REAL,
                created REAL NOT NULL,
                finished REAL
            )""",
            "CREATE INDEX merges_run ON merges (run, task, state)",
            # Conflicts put into a worktree for a person (or a resolver command) to resolve.
            # ``task`` is ``_result`` for the merge of the run's final tasks.
            """CREATE TABLE resolutions (
                run TEXT NOT NULL,
                task TEXT NOT NULL,
                worktree TEXT NOT NULL,
                ours TEXT NOT NULL,
                theirs TEXT NOT NULL,
                inputs TEXT NOT NULL,
                files TEXT NOT NULL,
                commit_sha TEXT,
                state TEXT NOT NULL,
                created REAL NOT NULL,
                PRIMARY KEY (run, task)
            )""",
        ],
    ),
    (
        4,
        [
            # Owner identity of a run beyond its pid (start time and boot, so a recycled pid
            # is not taken for it), and a heartbeat per live treelane process.
            "ALTER TABLE runs ADD COLUMN owner_started REAL",
            "ALTER TABLE runs ADD COLUMN owner_boot TEXT",
            # Seconds a resumed run spent stopped (between its interruption and the resume):
            # not counted in its duration, wall time or speed-up.
            "ALTER TABLE runs ADD COLUMN idle REAL NOT NULL DEFAULT 0",
            """CREATE TABLE owners (
                pid INTEGER NOT NULL,
                host TEXT NOT NULL,
                started REAL NOT NULL,
                boot TEXT,
                beat REAL NOT NULL,
                PRIMARY KEY (pid, host, started)
            )""",
            # Output lines carry their emitted order per attempt (batches may be written out
            # of order by the flusher and the task's own final flush).
            "ALTER TABLE output ADD COLUMN seq INTEGER",
            "CREATE INDEX output_seq ON output (run, task, attempt, seq)",
        ],
    ),
    (
        5,
        [
            # Agent workflows: a task's group (matrix expansion or candidate: the task it
            # expands), its kind ("run" or "pick"), its spawner and definition (tasks added
            # at run time), a candidate's score, the candidate a pick node chose, and a
            # retry's wait (reason, time it runs again).
            "ALTER TABLE tasks ADD COLUMN grp TEXT",
            "ALTER TABLE tasks ADD COLUMN kind TEXT NOT NULL DEFAULT 'run'",
            "ALTER TABLE tasks ADD COLUMN parent TEXT",
            "ALTER TABLE tasks ADD COLUMN spec TEXT",
            "ALTER TABLE tasks ADD COLUMN score REAL",
            "ALTER TABLE tasks ADD COLUMN picked TEXT",
            "ALTER TABLE tasks ADD COLUMN retry_at REAL",
            "ALTER TABLE tasks ADD COLUMN reason TEXT",
            # The tasks a cached task spawned, replayed with its result.
            "ALTER TABLE cache ADD COLUMN spawn TEXT",
            # Checkpoints taken while a task ran (checkpoint_every), listed with its run.
            """CREATE TABLE task_checkpoints (
                run TEXT NOT NULL,
                task TEXT NOT NULL,
                checkpoint INTEGER NOT NULL,
                worktree TEXT NOT NULL,
                created REAL NOT NULL
            )""",
            "CREATE INDEX task_checkpoints_run ON task_checkpoints (run, task)",
        ],
    ),
]

MIGRATIONS.append(
    (
        6,
        [
            # Disk the worktree's files and private git dir take, measured in the background
            # (treelane.engine.diskuse); NULL until first measured.
            "ALTER TABLE worktrees ADD COLUMN disk_bytes INTEGER",
            # The folders a sparse worktree checks out (JSON list; NULL: all of them).
            "ALTER TABLE worktrees ADD COLUMN sparse TEXT",
        ],
    )
)

SCHEMA_VERSION = MIGRATIONS[-1][0]
