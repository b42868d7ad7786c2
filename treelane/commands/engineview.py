"""The read-only commands' view of a running engine (the server's side of ReadView)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from treelane.engine import git
from treelane.engine.core import Engine
from treelane.engine.queries import Reader, pending


class EngineView:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.root = engine.ws.root

    @property
    def db(self) -> Reader:
        return self.engine.store

    def pool_size(self) -> int:
        return self.engine.pool.config.size

    def limit(self) -> int:
        return self.engine.concurrency()["limit"]

    def scheduler(self) -> str:
        """The Dask scheduler's address the engine uses ('' for local)."""
        return str(getattr(self.engine.backend, "address", "") or "")

    def worktree_paths(self) -> dict[str, Path]:
        return self.engine.pool.paths()

    def worktrees(self) -> list[dict[str, Any]]:
        """The main worktree and every managed one (the pool notices drift as it looks)."""
        root = self.root
        main = {
            "id": "main",
            "path": str(root),
            "commit": git.head_commit(root),
            "state": "idle",
            "dirty": bool(git.out(["status", "--porcelain"], root)),
            "run": None,
            "task": None,
            "branch": git.current_branch(root),
            "drift": None,
            "pending": pending(self.db, "main", str(self.root)),
            "disk_mb": None,
        }
        managed = [
            {
                "id": w.id,
                "path": w.path,
                "commit": w.commit,
                "state": w.state,
                "dirty": w.dirty,
                "run": w.run,
                "task": w.task,
                "branch": None,
                "drift": w.drift,
                "pending": pending(self.db, w.id, w.path),
                "disk_mb": w.disk_mb,
            }
            for w in self.engine.pool.list()
        ]
        return [main, *managed]
