"""treelane.diff on real runs: files, statuses, line counts, commits, against base/input/target."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from repokit import git

from treelane.commands import command
from treelane.commands.context import Context
from treelane.errors import InvalidArgument, RequestFailed

WORKFLOWS = """\
[workflows.w.tasks.edit]
run = "echo four >> a.txt && rm gone.txt && echo n > new.txt && printf '\\\\000\\\\001' > b.bin"

[workflows.w.tasks.move]
needs = ["edit"]
run = "mv a.txt moved.txt"
"""


@pytest.fixture
def ctx(repo: Path) -> Iterator[Context]:
    (repo / "treelane.toml").write_text(WORKFLOWS)
    (repo / "a.txt").write_text("one\ntwo\nthree\n")
    (repo / "gone.txt").write_text("old\n")
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "files", cwd=repo)
    c = Context(repo)
    yield c
    c.close()


def call(ctx: Context, name: str, arg: Any = None) -> dict[str, Any]:
    return command(f"treelane.{name}")(ctx, arg)


def finished_run(ctx: Context, workflow: str = "w") -> str:
    run = str(call(ctx, "start", {"workflow": workflow})["run"])
    assert ctx.engine().wait(run, timeout=60) == "succeeded"
    return run


def by_path(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in result["files"]}


def test_diff_of_a_run_against_its_base(ctx: Context, repo: Path) -> None:
    run = finished_run(ctx)
    d = call(ctx, "diff", {"run": run})
    assert d["base"] == git("rev-parse", "HEAD", cwd=repo)
    assert d["head"] == git("rev-parse", f"refs/treelane/results/{run}", cwd=repo)
    files = by_path(d)
    assert sorted(files) == ["b.bin", "gone.txt", "moved.txt", "new.txt"]
    moved = files["moved.txt"]
    assert (moved["status"], moved["old_path"], moved["additions"], moved["deletions"]) == (
        "R", "a.txt", 1, 0
    )  # fmt: skip
    assert git("cat-file", "-p", moved["new_blob"], cwd=repo) == "one\ntwo\nthree\nfour"
    assert git("cat-file", "-p", moved["old_blob"], cwd=repo) == "one\ntwo\nthree"
    gone = files["gone.txt"]
    assert gone["status"] == "D" and gone["deletions"] == 1 and "new_blob" not in gone
    new = files["new.txt"]
    assert new["status"] == "A" and new["additions"] == 1 and "old_blob" not in new
    assert files["b.bin"]["binary"] is True and files["b.bin"]["status"] == "A"
    assert "old_path" not in new
    assert d["summary"] == "4 files, +2 \u22121"
    subjects = [c["subject"] for c in d["commits"]]
    assert subjects == [f"treelane: move ({run})", f"treelane: edit ({run})"]
    assert d["commits"][0]["parents"] == [d["commits"][1]["commit"]]
    assert "patch" not in d


def test_diff_of_a_task_against_its_input_is_what_that_task_did(ctx: Context) -> None:
    run = finished_run(ctx)
    d = call(ctx, "diff", {"run": run, "task": "move", "against": "input"})
    assert [(f["status"], f.get("old_path"), f["path"]) for f in d["files"]] == [
        ("R", "a.txt", "moved.txt")
    ]
    edit = call(ctx, "diff", {"run": run, "task": "edit"})
    assert sorted(by_path(edit)) == ["a.txt", "b.bin", "gone.txt", "new.txt"]
    assert by_path(edit)["a.txt"]["status"] == "M"
    whole = call(ctx, "diff", {"run": run, "task": "move"})  # against base: both tasks' work
    assert sorted(by_path(whole)) == ["b.bin", "gone.txt", "moved.txt", "new.txt"]


def test_patch_is_gits_unified_diff(ctx: Context) -> None:
    run = finished_run(ctx)
    d = call(ctx, "diff", {"run": run, "task": "edit", "against": "input", "patch": True})
    patch = d["patch"]
    assert "diff --git a/a.txt b/a.txt" in patch and "+four" in patch
    assert "deleted file mode 100644" in patch and "-old" in patch
    assert "Binary files /dev/null and b/b.bin differ" in patch


def test_diff_against_the_target_shows_what_the_merge_would_change(
    ctx: Context, repo: Path
) -> None:
    run = finished_run(ctx)
    # The target moved on: it already has new.txt as the run made it, and another file.
    (repo / "new.txt").write_text("n\n")
    (repo / "other.txt").write_text("x\n")
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "target moved", cwd=repo)
    d = call(ctx, "diff", {"run": run, "against": "target"})
    assert d["base"] == git("rev-parse", "main", cwd=repo) and d["into"] == "main"
    files = by_path(d)
    assert sorted(files) == ["b.bin", "gone.txt", "moved.txt"]  # new.txt is there already
    assert d["conflicts"] == []
    assert len(d["commits"]) == 2  # the run's commits, not the preview commit
    # The target branch did not move.
    assert d["base"] == git("rev-parse", "main", cwd=repo)
    assert git("show", f"{d['head']}:other.txt", cwd=repo) == "x"


def test_diff_arguments_and_missing_results(ctx: Context, repo: Path) -> None:
    run = finished_run(ctx)
    with pytest.raises(InvalidArgument, match="field 'against': expected one of base"):
        call(ctx, "diff", {"run": run, "against": "head"})
    with pytest.raises(InvalidArgument, match="field 'patch'"):
        call(ctx, "diff", {"run": run, "patch": "yes"})
    with pytest.raises(RequestFailed, match="has no task 'nope'"):
        call(ctx, "diff", {"run": run, "task": "nope"})
    with pytest.raises(RequestFailed, match="unknown run 'r000000'"):
        call(ctx, "diff", {"run": "r000000"})
    with pytest.raises(RequestFailed, match="no branch 'gone'"):
        call(ctx, "diff", {"run": run, "against": "target", "into": "gone"})
