"""The commands layer on a real repository: argument checking, worktree names, merge."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from treelane.commands import command
from treelane.commands.checkpoint import resolve_worktree
from treelane.commands.context import Context
from treelane.errors import InvalidArgument, RequestFailed

WORKFLOWS = """\
[settings]
max_parallel = 2

[workflows.edit.tasks.write]
run = "echo from-task > task.txt && echo wrote task.txt"

[workflows.edit.tasks.shout]
needs = ["write"]
run = "tr a-z A-Z < task.txt > SHOUT.txt"
"""


@pytest.fixture
def ctx(repo: Path, git: Callable[..., str]) -> Iterator[Context]:
    (repo / "treelane.toml").write_text(WORKFLOWS)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "workflows", cwd=repo)
    c = Context(repo)
    yield c
    c.close()


def call(ctx: Context, name: str, arg: Any = None) -> dict[str, Any]:
    return command(f"treelane.{name}")(ctx, arg)


def wait_run(ctx: Context, run: str) -> str:
    return ctx.engine().wait(run, timeout=60)


def test_arguments_must_be_one_object_with_known_fields(ctx: Context) -> None:
    with pytest.raises(InvalidArgument, match="expected one JSON object"):
        call(ctx, "status", ["r1"])
    with pytest.raises(InvalidArgument, match="unknown field 'rn'"):
        call(ctx, "status", {"rn": "r1"})
    with pytest.raises(InvalidArgument, match="missing field 'run'"):
        call(ctx, "resume", {})
    with pytest.raises(InvalidArgument, match="field 'preview': expected true or false"):
        call(ctx, "merge", {"run": "r1", "preview": 1})
    with pytest.raises(InvalidArgument, match="invalid run id"):
        call(ctx, "cancel", {"run": "--all"})
    with pytest.raises(InvalidArgument, match="expected one JSON object as the argument, got null"):
        call(ctx, "status", None)  # `arguments: [null]` is not "no arguments"
    assert call(ctx, "status", {})["runs"] == []


def test_start_by_name_and_inline_definition(ctx: Context, repo: Path) -> None:
    started = call(ctx, "start", {"workflow": "edit"})
    assert started["tasks"] == ["write", "shout"]
    assert wait_run(ctx, started["run"]) == "succeeded"

    inline = {"tasks": {"one": {"run": "echo inline > inline.txt"}}}
    started = call(ctx, "start", {"workflow": inline, "name": "adhoc"})
    assert started["workflow"] == "adhoc"
    assert wait_run(ctx, started["run"]) == "succeeded"

    with pytest.raises(InvalidArgument, match="field 'workflow'"):
        call(ctx, "start", {"workflow": {"tasks": {"one": {"runn": "x"}}}})
    with pytest.raises(RequestFailed, match="no workflow 'nope'"):
        call(ctx, "start", {"workflow": "nope"})


def test_invalid_workflow_file_is_a_request_failure_naming_the_problem(
    ctx: Context, repo: Path
) -> None:
    (repo / "treelane.toml").write_text('[workflows.w.tasks.a]\nrun = "true"\nneeds = ["zz"]\n')
    with pytest.raises(RequestFailed, match=r"treelane\.toml is invalid") as err:
        call(ctx, "start", {"workflow": "w"})
    assert "zz" in str(err.value) and ":3:" in str(err.value)


def test_worktree_names_resolve_by_id_path_and_nested_path(ctx: Context, repo: Path) -> None:
    engine = ctx.engine()
    lease = engine.pool.acquire("HEAD")
    (lease.path / "sub").mkdir()
    assert resolve_worktree(engine, lease.id) == (lease.id, lease.path)
    assert resolve_worktree(engine, str(lease.path / "sub"))[0] == lease.id
    assert resolve_worktree(engine, str(repo / "README.md"))[0] == "main"
    assert resolve_worktree(engine, "main") == ("main", engine.ws.root)
    with pytest.raises(RequestFailed, match="unknown worktree"):
        resolve_worktree(engine, "wt-404")
    with pytest.raises(RequestFailed, match="not inside the repository"):
        resolve_worktree(engine, str(repo.parent))
    with pytest.raises(InvalidArgument):
        resolve_worktree(engine, "--force")


def test_merge_defaults_to_the_checked_out_branch_and_refuses_local_overlap(
    ctx: Context, repo: Path, git: Callable[..., str]
) -> None:
    run = call(ctx, "start", {"workflow": "edit"})["run"]
    assert wait_run(ctx, run) == "succeeded"
    preview = call(ctx, "merge", {"run": run, "preview": True})
    assert {k: preview[k] for k in ("clean", "conflicts", "merged", "commit")} == {
        "clean": True, "conflicts": [], "merged": False, "commit": None
    }  # fmt: skip
    assert preview["uncommitted"] == []

    (repo / "task.txt").write_text("mine, uncommitted\n")
    assert call(ctx, "merge", {"run": run, "preview": True})["uncommitted"] == ["task.txt"]
    with pytest.raises(RequestFailed, match=r"uncommitted changes in task\.txt"):
        call(ctx, "merge", {"run": run})
    assert (repo / "task.txt").read_text() == "mine, uncommitted\n"

    (repo / "task.txt").unlink()
    before = git("rev-parse", "main", cwd=repo)
    result = call(ctx, "merge", {"run": run})
    assert result["merged"] and result["commit"] == git("rev-parse", "main", cwd=repo)
    git("merge-base", "--is-ancestor", before, "main", cwd=repo)  # raises unless ancestor
    assert (repo / "SHOUT.txt").read_text() == "FROM-TASK\n"

    with pytest.raises(InvalidArgument, match="invalid branch name"):
        call(ctx, "merge", {"run": run, "into": "bad..name"})
    with pytest.raises(RequestFailed, match="no branch 'nope'"):
        call(ctx, "merge", {"run": run, "into": "nope"})


def test_merge_into_a_branch_not_checked_out_moves_only_that_branch(
    ctx: Context, repo: Path, git: Callable[..., str]
) -> None:
    git("branch", "integration", cwd=repo)
    main_before = git("rev-parse", "main", cwd=repo)
    run = call(ctx, "start", {"workflow": "edit"})["run"]
    assert wait_run(ctx, run) == "succeeded"
    result = call(ctx, "merge", {"run": run, "into": "integration"})
    assert result["commit"] == git("rev-parse", "integration", cwd=repo)
    assert git("rev-parse", "main", cwd=repo) == main_before
    assert not (repo / "SHOUT.txt").exists()
    assert git("show", "integration:SHOUT.txt", cwd=repo) == "FROM-TASK"


def test_checkpoint_undo_redo_and_cleanup_through_commands(ctx: Context, repo: Path) -> None:
    first = call(ctx, "checkpoint", {"worktree": "main", "message": "start"})
    (repo / "README.md").write_text("edited\n")
    call(ctx, "checkpoint", {"worktree": "main"})
    assert call(ctx, "undo", {"worktree": "main"})["checkpoint"] == first["checkpoint"]
    assert (repo / "README.md").read_text() == "hello\n"
    call(ctx, "redo", {"worktree": "main"})
    assert (repo / "README.md").read_text() == "edited\n"

    run = call(ctx, "start", {"workflow": "edit"})["run"]
    assert wait_run(ctx, run) == "succeeded"
    listed = call(ctx, "worktrees", {})["worktrees"]
    assert listed[0]["id"] == "main" and listed[0]["dirty"] is True
    managed = [w["id"] for w in listed[1:]]
    assert managed and all(w["state"] == "idle" for w in listed[1:])
    result = call(ctx, "cleanup", {})
    assert sorted(result["removed"]) == sorted(managed) and result["kept"] == []
    assert call(ctx, "worktrees", {})["worktrees"][1:] == []


def test_trace_report_and_output(ctx: Context) -> None:
    run = call(ctx, "start", {"workflow": "edit"})["run"]
    assert wait_run(ctx, run) == "succeeded"
    trace = call(ctx, "trace", {"run": run})
    spans = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert sorted(e["name"] for e in spans) == ["shout", "write"]
    write = next(e for e in spans if e["name"] == "write")
    shout = next(e for e in spans if e["name"] == "shout")
    assert shout["ts"] >= write["ts"] + write["dur"] - 1000  # needs are respected
    html = call(ctx, "report", {"run": run})["html"]
    assert html.startswith("<!DOCTYPE html>") or html.lower().startswith("<!doctype html>")
    assert "shout" in html
    assert call(ctx, "output", {"run": run, "task": "write"})["lines"] == ["wrote task.txt"]
