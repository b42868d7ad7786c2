"""Landing results: each merge style's history commit by commit, --task, branch, merging twice,
and a preview that states what the merge would do or refuse. Real runs, real repositories."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from repokit import git

from treelane.commands import command
from treelane.commands.context import Context
from treelane.errors import RequestFailed

WORKFLOWS = """\
[workflows.fan.tasks.plan]
run = "echo plan > plan.txt"

[workflows.fan.tasks.left]
needs = ["plan"]
run = "echo left > left.txt"

[workflows.fan.tasks.right]
needs = ["plan"]
run = "echo right > right.txt"

[workflows.fan.tasks.join]
needs = ["left", "right"]
run = "cat left.txt right.txt > both.txt"

[workflows.one.tasks.only]
run = "echo only > only.txt"

[workflows.readme.tasks.edit]
run = "echo edited > README.md"
"""


@pytest.fixture
def ctx(repo: Path) -> Iterator[Context]:
    (repo / "treelane.toml").write_text(WORKFLOWS)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "workflows", cwd=repo)
    c = Context(repo)
    yield c
    c.close()


def call(ctx: Context, name: str, arg: Any = None) -> dict[str, Any]:
    return command(f"treelane.{name}")(ctx, arg)


def finished(ctx: Context, workflow: str) -> str:
    run = str(call(ctx, "start", {"workflow": workflow})["run"])
    assert ctx.engine().wait(run, timeout=90) == "succeeded"
    return run


def history(repo: Path, rev: str = "main") -> list[str]:
    """``subject | parent count`` of each commit, newest first, first parents only."""
    out = git("log", "--first-parent", "--format=%s|%p", rev, cwd=repo)
    return [f"{s}|{len(p.split())}" for s, p in (line.split("|") for line in out.splitlines())]


def test_default_merge_is_one_squash_commit_naming_run_workflow_and_tasks(
    ctx: Context, repo: Path
) -> None:
    run = finished(ctx, "fan")
    before = git("rev-parse", "main", cwd=repo)
    preview = call(ctx, "merge", {"run": run, "preview": True})
    assert preview["style"] == "squash" and preview["merged"] is False
    assert preview["summary"] == "4 files, +5 \u22120"
    assert [f["path"] for f in preview["files"]] == ["both.txt", "left.txt", "plan.txt",
                                                     "right.txt"]  # fmt: skip
    assert git("rev-parse", "main", cwd=repo) == before  # the preview moved nothing
    result = call(ctx, "merge", {"run": run})
    assert result["merged"] is True and result["style"] == "squash"
    assert history(repo) == [f"treelane: run {run} (fan)|1", "workflows|1", "init|0"]
    body = git("log", "-1", "--format=%b", "main", cwd=repo)
    assert body == f"Result of run {run} of workflow fan, tasks: plan, left, right, join."
    assert git("rev-parse", "main^", cwd=repo) == before
    assert git("rev-parse", "main^{tree}", cwd=repo) == git(
        "rev-parse", f"refs/treelane/results/{run}^{{tree}}", cwd=repo
    )
    # The main worktree has the files, and nothing is left uncommitted.
    assert (repo / "both.txt").read_text() == "left\nright\n"
    assert git("status", "--porcelain", cwd=repo) == ""


def test_merging_twice_says_so_and_changes_nothing(ctx: Context, repo: Path) -> None:
    run = finished(ctx, "fan")
    call(ctx, "merge", {"run": run})
    tip = git("rev-parse", "main", cwd=repo)
    again = call(ctx, "merge", {"run": run})
    assert again["merged"] is False and again["already"] is True
    assert again["commit"] == tip and git("rev-parse", "main", cwd=repo) == tip
    preview = call(ctx, "merge", {"run": run, "preview": True})
    assert preview["already"] is True
    # The branch moved on: still merged (its commit is on the branch).
    (repo / "later.txt").write_text("x\n")
    git("add", "later.txt", cwd=repo)
    git("commit", "-qm", "later", cwd=repo)
    assert call(ctx, "merge", {"run": run})["already"] is True
    assert history(repo)[:2] == ["later|1", f"treelane: run {run} (fan)|1"]


def test_no_squash_is_one_merge_commit_with_the_result_as_second_parent(
    ctx: Context, repo: Path
) -> None:
    run = finished(ctx, "fan")
    before = git("rev-parse", "main", cwd=repo)
    result = call(ctx, "merge", {"run": run, "squash": False})
    assert result["style"] == "merge"
    assert history(repo) == [f"treelane: run {run} (fan)|2", "workflows|1", "init|0"]
    assert git("rev-parse", "main^1", cwd=repo) == before
    assert git("rev-parse", "main^2", cwd=repo) == git(
        "rev-parse", f"refs/treelane/results/{run}", cwd=repo
    )
    # The per-task history is there, behind the second parent.
    subjects = git("log", "--format=%s", "main^2", f"^{before}", cwd=repo).splitlines()
    assert f"treelane: join ({run})" in subjects and f"treelane: plan ({run})" in subjects
    assert call(ctx, "merge", {"run": run, "squash": False})["already"] is True


def test_a_single_commit_on_top_of_the_target_fast_forwards(ctx: Context, repo: Path) -> None:
    run = finished(ctx, "one")
    result = call(ctx, "merge", {"run": run})
    assert result["style"] == "fast-forward"
    assert git("rev-parse", "main", cwd=repo) == git(
        "rev-parse", f"refs/treelane/results/{run}", cwd=repo
    )
    assert history(repo) == [f"treelane: only ({run})|1", "workflows|1", "init|0"]


def test_merge_one_task_alone(ctx: Context, repo: Path) -> None:
    run = finished(ctx, "fan")
    result = call(ctx, "merge", {"run": run, "task": "left"})
    assert result["merged"] is True
    assert history(repo)[0] == f"treelane: left from run {run} (fan)|1"
    assert sorted(git("ls-tree", "--name-only", "main", cwd=repo).split()) == [
        "README.md", "left.txt", "plan.txt", "treelane.toml"
    ]  # fmt: skip
    assert call(ctx, "merge", {"run": run, "task": "left"})["already"] is True
    # The whole run is still to merge: its other tasks' work is not on main yet.
    assert call(ctx, "merge", {"run": run, "preview": True})["already"] is False


def test_merge_into_a_branch_checked_out_nowhere(ctx: Context, repo: Path) -> None:
    git("branch", "release", cwd=repo)
    run = finished(ctx, "fan")
    main = git("rev-parse", "main", cwd=repo)
    result = call(ctx, "merge", {"run": run, "into": "release"})
    assert result["merged"] is True and "worktree" not in result
    assert history(repo, "release")[0] == f"treelane: run {run} (fan)|1"
    assert git("rev-parse", "main", cwd=repo) == main


def test_preview_states_uncommitted_changes_that_would_block(ctx: Context, repo: Path) -> None:
    run = finished(ctx, "readme")
    (repo / "README.md").write_text("my own edit\n")
    (repo / "notes.txt").write_text("untracked, elsewhere\n")
    preview = call(ctx, "merge", {"run": run, "preview": True})
    assert preview["clean"] is True and preview["uncommitted"] == ["README.md"]
    assert preview["worktree"] == str(repo)
    with pytest.raises(RequestFailed, match=r"uncommitted changes in README\.md"):
        call(ctx, "merge", {"run": run})
    assert (repo / "README.md").read_text() == "my own edit\n"
    git("checkout", "--", "README.md", cwd=repo)
    assert call(ctx, "merge", {"run": run})["merged"] is True
    assert (repo / "notes.txt").read_text() == "untracked, elsewhere\n"


def test_uncommitted_edits_elsewhere_come_out_byte_identical(ctx: Context, repo: Path) -> None:
    (repo / "keep.txt").write_text("committed\n")
    git("add", "keep.txt", cwd=repo)
    git("commit", "-qm", "keep", cwd=repo)
    run = finished(ctx, "fan")
    (repo / "keep.txt").write_bytes(b"edited \x00 bytes\r\n")
    (repo / "staged.txt").write_text("staged\n")
    git("add", "staged.txt", cwd=repo)
    (repo / "untracked.bin").write_bytes(b"\x01\x02")
    status_before = git("status", "--porcelain", cwd=repo)
    call(ctx, "merge", {"run": run})
    assert (repo / "keep.txt").read_bytes() == b"edited \x00 bytes\r\n"
    assert (repo / "untracked.bin").read_bytes() == b"\x01\x02"
    assert git("diff", "--cached", "--name-only", cwd=repo) == "staged.txt"
    assert git("status", "--porcelain", cwd=repo) == status_before
    assert (repo / "both.txt").read_text() == "left\nright\n"


def test_conflicting_preview_and_refused_merge(ctx: Context, repo: Path) -> None:
    run = finished(ctx, "readme")
    (repo / "README.md").write_text("theirs\n")
    git("commit", "-qam", "theirs", cwd=repo)
    preview = call(ctx, "merge", {"run": run, "preview": True})
    assert preview["clean"] is False
    assert preview["conflicts"] == [{"path": "README.md", "kind": "content"}]
    with pytest.raises(RequestFailed, match=r"conflicts in README\.md"):
        call(ctx, "merge", {"run": run})


def test_branch_of_a_result(ctx: Context, repo: Path) -> None:
    run = finished(ctx, "fan")
    made = call(ctx, "branch", {"run": run, "name": "review/fan"})
    assert made == {
        "branch": "review/fan",
        "commit": git("rev-parse", f"refs/treelane/results/{run}", cwd=repo),
        "created": True,
        "moved": False,
    }
    with pytest.raises(RequestFailed, match="branch 'review/fan' exists"):
        call(ctx, "branch", {"run": run, "task": "left", "name": "review/fan"})
    # A commit only that branch has: --force moves it but keeps the commit reachable.
    git("checkout", "-q", "review/fan", cwd=repo)
    (repo / "mine.txt").write_text("mine\n")
    git("add", "mine.txt", cwd=repo)
    git("commit", "-qm", "mine", cwd=repo)
    mine = git("rev-parse", "HEAD", cwd=repo)
    with pytest.raises(RequestFailed, match="checked out in"):
        call(ctx, "branch", {"run": run, "task": "left", "name": "review/fan", "force": True})
    git("checkout", "-q", "main", cwd=repo)
    moved = call(ctx, "branch", {"run": run, "task": "left", "name": "review/fan", "force": True})
    assert moved["moved"] is True
    assert git("rev-parse", "review/fan", cwd=repo) == git(
        "rev-parse", f"refs/treelane/runs/{run}/left", cwd=repo
    )
    saved = git("for-each-ref", "--format=%(objectname)", "refs/treelane/saved/", cwd=repo)
    assert mine in saved.splitlines()
    with pytest.raises(Exception, match="field 'name'"):
        call(ctx, "branch", {"run": run, "name": "bad..name"})
