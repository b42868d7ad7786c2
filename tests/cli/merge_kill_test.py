"""SIGKILL of ``treelane merge``'s whole process group (the CLI, its server, git) half-way.

Seeded kill points: a delay after the merge's journal entry appears in the store, or the
moment git's index.lock exists. Seeded victims: everything (the CLI's process group and
its server's, which has a session of its own, git included), or the CLI alone (its
server goes on with the merge). After each kill the next treelane command (``status``)
must leave the main worktree either as before the merge or as after it (files, index and
branch; the user's uncommitted edits intact either way) and no lock file behind: a merge
that a live server is still doing is waited for, one whose process died is finished.
``TREELANE_KILL_SEEDS`` sets how many seeds run (default 6; 24 for the full count).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from clikit import git, lines, make_repo, treelane

N_FILES = 1500
TOML = f"""\
[workflows.big.tasks.write]
run = "mkdir -p gen && for i in $(seq 1 {N_FILES}); do echo line $i > gen/f$i.txt; done"
"""
SEEDS = int(os.environ.get("TREELANE_KILL_SEEDS", "6"))


def files_tree(repo: Path) -> str:
    """The tree of every file in the worktree (a private index; the real one untouched)."""
    env = {**os.environ, "GIT_INDEX_FILE": str(repo / ".git" / "test-snapshot-index")}
    subprocess.run(["git", "read-tree", "HEAD"], cwd=repo, env=env, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
    out = subprocess.run(
        ["git", "write-tree"], cwd=repo, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    os.unlink(env["GIT_INDEX_FILE"])
    return out


def state(repo: Path) -> tuple[str, str, str]:
    return (git(repo, "rev-parse", "main"), files_tree(repo), git(repo, "write-tree"))


def make_dirty(repo: Path) -> None:
    (repo / "README.md").write_bytes(b"my uncommitted edit\r\n")
    (repo / "notes.txt").write_text("untracked notes\n")


def pending_merge(db: Path) -> bool:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05) as conn:
            row = conn.execute("SELECT 1 FROM merges WHERE state = 'pending'").fetchone()
            return row is not None
    except sqlite3.Error:
        return False


def merge_and_kill(repo: Path, run: str, rng: random.Random) -> tuple[str, list[psutil.Process]]:
    """Start ``treelane merge``, kill its process group at a seeded point; what was hit,
    and the processes left alive (the server, when only the CLI was killed)."""
    db = repo / ".git" / "treelane" / "state.db"
    lock = repo / ".git" / "index.lock"
    proc = subprocess.Popen(
        [sys.executable, "-m", "treelane", "merge", run],
        cwd=repo,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    mode = rng.choice(["early", "journal", "journal", "lock"])
    delay = rng.uniform(0.0, 0.25)
    hit = "finished"
    start = time.monotonic()
    early = rng.uniform(0.5, 6.0)  # somewhere in start-up, the preview or the plan
    while proc.poll() is None and time.monotonic() < start + 120:
        if mode == "early" and time.monotonic() - start > early:
            hit = f"{early:.1f} s after start"
            break
        if mode == "lock" and lock.exists():
            hit = "index.lock held"
            break
        if mode == "journal" and pending_merge(db):
            time.sleep(delay)
            hit = f"journal + {delay * 1000:.0f} ms"
            break
        time.sleep(0.001)
    victims = rng.choice(["everything", "everything", "the CLI"])
    servers: list[psutil.Process] = []
    if proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            servers = psutil.Process(proc.pid).children(recursive=True)
        os.killpg(proc.pid, signal.SIGKILL)
        if victims == "everything":
            for child in servers:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(child.pid, signal.SIGKILL)  # a server leads its own group
    proc.wait()
    alive = [c for c in servers if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    return f"{hit}, killed {victims}", alive


@pytest.mark.timeout(900)
def test_sigkill_during_merge_leaves_before_or_after_and_no_lock(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", TOML)
    proc = treelane("run", "big", "--json", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    run = lines(proc.stdout)[-1]["params"]["run"]
    base = git(repo, "rev-parse", "main")
    make_dirty(repo)
    before = state(repo)
    # The reference: an uninterrupted merge, to know what "after" is.
    assert treelane("merge", run, cwd=repo).returncode == 0
    after = state(repo)
    assert after != before and (repo / "README.md").read_bytes() == b"my uncommitted edit\r\n"
    outcomes: dict[str, int] = {"before": 0, "after": 0}
    hits: list[str] = []
    locks_seen = 0
    for seed in range(SEEDS):
        git(repo, "update-ref", "refs/heads/main", base)
        git(repo, "reset", "-q", "--hard", base)
        git(repo, "clean", "-fdq")
        make_dirty(repo)
        assert state(repo) == before
        hit, alive = merge_and_kill(repo, run, random.Random(seed))
        hits.append(hit)
        locks_seen += (repo / ".git" / "index.lock").exists()
        status = treelane("status", cwd=repo)  # the next treelane command
        assert status.returncode == 0, (seed, hit, status.stderr)
        assert not (repo / ".git" / "index.lock").exists(), (seed, hit)
        assert not (repo / ".git" / "refs" / "heads" / "main.lock").exists(), (seed, hit)
        now = state(repo)
        assert now in (before, after), (seed, hit, now, before, after)
        # A server whose CLI was killed goes on with the merge and then exits: whatever it
        # does from here on, the worktree is still before or after.
        _, running = psutil.wait_procs(alive, timeout=120)
        assert not running, (seed, hit, "a server outlived its merge by 120 s")
        now = state(repo)
        assert now in (before, after), (seed, hit, now, before, after)
        outcomes["before" if now == before else "after"] += 1
        assert (repo / "README.md").read_bytes() == b"my uncommitted edit\r\n"
        assert (repo / "notes.txt").read_text() == "untracked notes\n"
        if now == before:  # and the merge can be done afterwards
            again = treelane("merge", run, cwd=repo)
            assert again.returncode == 0, (seed, hit, again.stderr)
            assert state(repo) == after
    print(f"kill seeds {SEEDS}: {outcomes}; index.lock left by the kill: {locks_seen}; {hits}")
