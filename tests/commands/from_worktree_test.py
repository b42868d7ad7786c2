"""Runs from the main worktree's files (``"base": "worktree"``), merged back without losing
anything; and the warning when a run from HEAD leaves uncommitted edits out."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from repokit import git

from treelane.commands import command
from treelane.commands.context import Context
from treelane.engine.events import Notice

WORKFLOWS = """\
[workflows.w.tasks.look]
run = "cat app.txt > seen.txt; ls > listing.txt; echo tested >> app.txt"
"""


@pytest.fixture
def ctx(repo: Path) -> Iterator[Context]:
    (repo / "treelane.toml").write_text(WORKFLOWS)
    (repo / "app.txt").write_text("committed\n")
    (repo / "old.txt").write_text("to delete\n")
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "app", cwd=repo)
    c = Context(repo)
    yield c
    c.close()


def call(ctx: Context, name: str, arg: Any = None) -> dict[str, Any]:
    return command(f"treelane.{name}")(ctx, arg)


def show(repo: Path, spec: str) -> bytes:
    return subprocess.run(
        ["git", "cat-file", "blob", spec], cwd=repo, capture_output=True, check=True
    ).stdout


def dirty(repo: Path) -> dict[str, bytes]:
    """Uncommitted edits of every kind; the files they leave, byte for byte."""
    (repo / "app.txt").write_bytes(b"edited \x00 in place\r\n")
    (repo / "untracked.bin").write_bytes(b"\x01\x02\x03")
    (repo / "staged.txt").write_text("staged\n")
    git("add", "staged.txt", cwd=repo)
    (repo / "old.txt").unlink()
    return {
        p.name: p.read_bytes()
        for p in repo.iterdir()
        if p.is_file() and p.name not in ("treelane.toml",)
    }


def test_a_run_from_the_worktree_sees_uncommitted_files_and_merges_them_back(
    ctx: Context, repo: Path
) -> None:
    files = dirty(repo)
    index = (repo / ".git" / "index").read_bytes()
    status = git("status", "--porcelain", cwd=repo)
    events: list[Any] = []
    ctx.engine().subscribe(events.append)
    run = call(ctx, "start", {"workflow": "w", "base": "worktree"})["run"]
    assert ctx.engine().wait(run, timeout=60) == "succeeded"
    # Taking the snapshot touched neither the index nor the files.
    assert (repo / ".git" / "index").read_bytes() == index
    assert git("status", "--porcelain", cwd=repo) == status
    assert not [e for e in events if isinstance(e, Notice) and e.code == "uncommitted"]
    result = f"refs/treelane/results/{run}"
    assert show(repo, f"{result}:seen.txt") == b"edited \x00 in place\r\n"
    listing = git("show", f"{result}:listing.txt", cwd=repo).split()
    assert "untracked.bin" in listing and "staged.txt" in listing and "old.txt" not in listing
    snap = git("rev-parse", f"refs/treelane/snapshots/{run}", cwd=repo)
    assert git("rev-parse", f"{snap}^", cwd=repo) == git("rev-parse", "HEAD", cwd=repo)
    assert call(ctx, "status", {"run": run})["runs"][0]["base"] == snap

    preview = call(ctx, "merge", {"run": run, "preview": True})
    assert preview["uncommitted"] == [] and preview["clean"] is True
    merged = call(ctx, "merge", {"run": run})
    assert merged["merged"] is True
    # Byte-identical, plus the run's changes (its edit of app.txt is on top of the user's).
    for name, data in files.items():
        want = data + b"tested\n" if name == "app.txt" else data
        assert (repo / name).read_bytes() == want, name
    assert (repo / "seen.txt").read_bytes() == b"edited \x00 in place\r\n"
    assert not (repo / "old.txt").exists()
    # What the run was tested on is what landed: the edits are in the commit, nothing is left.
    assert git("status", "--porcelain", cwd=repo) == ""
    assert show(repo, "HEAD:untracked.bin") == b"\x01\x02\x03"


def test_a_run_from_head_warns_once_about_uncommitted_changes(ctx: Context, repo: Path) -> None:
    dirty(repo)
    (repo / "treelane.toml").write_text(WORKFLOWS + "\n")  # read from disk: not counted
    events: list[Any] = []
    ctx.engine().subscribe(events.append)
    run = call(ctx, "start", {"workflow": "w"})["run"]
    assert ctx.engine().wait(run, timeout=60) == "succeeded"
    notices = [e for e in events if isinstance(e, Notice) and e.code == "uncommitted"]
    assert [(n.message, n.run) for n in notices] == [
        ("uncommitted changes in 4 files are not part of this run (use --from-worktree)", run)
    ]
    assert git("show", f"refs/treelane/results/{run}:seen.txt", cwd=repo) == "committed"
    # A clean worktree: no warning.
    git("stash", "-u", "-q", cwd=repo)
    events.clear()
    run = call(ctx, "start", {"workflow": "w"})["run"]
    ctx.engine().wait(run, timeout=60)
    assert not [e for e in events if isinstance(e, Notice) and e.code == "uncommitted"]
