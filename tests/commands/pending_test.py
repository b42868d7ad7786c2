"""An undo killed half-way shows as ``pending: restore`` in treelane.worktrees until the next
checkpoint command completes it (a real process, killed with SIGKILL mid-restore)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from repokit import git

from treelane.commands import command
from treelane.commands.context import Context

UNDO = """
import sys
from treelane.engine.core import Engine
e = Engine(sys.argv[1])
e.checkpoints.undo("main", e.ws.root)
"""


def test_an_interrupted_undo_is_pending_until_completed(repo: Path) -> None:
    gen = repo / "gen"
    gen.mkdir()
    for i in range(3000):
        (gen / f"f{i}.txt").write_text(f"line {i}\n")
    ctx = Context(repo)
    try:
        command("treelane.checkpoint")(ctx, {"worktree": "main"})  # with the 3000 files
        for i in range(3000):
            (gen / f"f{i}.txt").write_text(f"changed {i}\n")
        command("treelane.checkpoint")(ctx, {"worktree": "main"})
        ctx.close()
        db = repo / ".git" / "treelane" / "state.db"
        proc = subprocess.Popen([sys.executable, "-c", UNDO, str(repo)], start_new_session=True)
        pending = False
        while proc.poll() is None and not pending:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05) as conn:
                pending = bool(
                    conn.execute(
                        "SELECT 1 FROM checkpoint_heads WHERE pending IS NOT NULL"
                    ).fetchall()
                )
            time.sleep(0.001)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        ctx = Context(repo)
        main = command("treelane.worktrees")(ctx, {})["worktrees"][0]
        # Restoring 3000 files takes far longer than the 1 ms polls: the kill lands mid-restore.
        assert pending and proc.returncode == -signal.SIGKILL
        assert main["pending"] == "restore"
        command("treelane.checkpoint")(ctx, {"worktree": "main"})  # completes it
        assert command("treelane.worktrees")(ctx, {})["worktrees"][0]["pending"] is None
        assert (gen / "f7.txt").read_text() == "line 7\n"  # the undo, done
        assert git("status", "--porcelain", "--", "gen", cwd=repo) == "?? gen/"
    finally:
        ctx.close()
