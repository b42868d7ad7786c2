"""kill -9 of an undo at seeded random points, git included (the process group).

Afterwards the main worktree is either before or after the undo, never in between, once the
next treelane command ran. While a restore is interrupted, `treelane worktrees` says
"restore pending". The next command completes it and says so: it does not report it as a
saved checkpoint. No index.lock is left behind.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))

import contextlib

from clikit import treelane
from repokit import git, make_repo
from rpc import count

from treelane.engine.checkpoints import Checkpoints
from treelane.engine.workspace import open_workspace
from treelane.storage.db import Store

FILES = 1500
CHILD = """
import sys
from pathlib import Path
from treelane.engine.checkpoints import Checkpoints
from treelane.engine.workspace import open_workspace
from treelane.storage.db import Store

repo = Path(sys.argv[1])
ws = open_workspace(repo)
Checkpoints(ws, Store(ws.db_path)).undo("main", repo)
"""


def prepare(root: Path) -> tuple[Path, str, str]:
    """A repository whose main worktree has checkpoints A (v1) then B (v2); their trees."""
    repo = make_repo(root, None)
    for i in range(FILES):
        (repo / f"f{i:04}.txt").write_text(f"v1 {i}\n" * 20)
    ws = open_workspace(repo)
    store = Store(ws.db_path)
    try:
        cps = Checkpoints(ws, store)
        a = cps.checkpoint("main", repo, "A")
        for i in range(FILES):
            (repo / f"f{i:04}.txt").write_text(f"v2 {i}\n" * 20)
        (repo / "new-in-b.txt").write_text("b\n")
        b = cps.checkpoint("main", repo, "B")
        return repo, a.tree, b.tree
    finally:
        store.close()


def files_tree(repo: Path) -> str:
    env = {**os.environ, "GIT_INDEX_FILE": str(repo / ".git" / "check-index")}
    git("add", "-A", cwd=repo, env=env)
    tree = git("write-tree", cwd=repo, env=env)
    (repo / ".git" / "check-index").unlink()
    return tree


def test_undo_killed_at_random_points_is_completed_by_the_next_command(tmp_path: Path) -> None:
    points = count(2, 24)
    rng = random.Random(20261201)
    pending_seen = 0
    for n in range(points):
        repo, tree_a, tree_b = prepare(tmp_path / f"repo{n}")
        script = tmp_path / "undo.py"
        script.write_text(CHILD)
        child = subprocess.Popen(
            [sys.executable, str(script), str(repo)],
            start_new_session=True,  # its own group: the kill takes its git processes too
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 2.0))  # the seeded kill point (not a timing assertion)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()

        listed = json.loads(treelane("worktrees", "--json", cwd=repo).stdout)["worktrees"]
        main = listed[0]
        store = Store(repo / ".git" / "treelane" / "state.db")
        row = store.one("SELECT pending FROM checkpoint_heads WHERE worktree = 'main'")
        store.close()
        pending = row is not None and row["pending"] is not None
        assert main["pending"] == ("restore" if pending else None)
        pending_seen += pending

        nxt = treelane("checkpoint", "-m", "after", "--json", cwd=repo)
        assert nxt.returncode == 0, nxt.stderr
        result = json.loads(nxt.stdout)
        if pending:
            assert result.get("completed_restore"), result
            plain = treelane("worktrees", cwd=repo)
            assert "restore pending" not in plain.stdout
        assert not (repo / ".git" / "index.lock").exists()
        assert files_tree(repo) in (tree_a, tree_b), f"kill point {n}: worktree in between"
    print(f"undo kill points: {points}, interrupted mid-restore: {pending_seen}")
    (tmp_path.parent / "undo-kill-points").write_text(f"{points} {pending_seen}\n")
