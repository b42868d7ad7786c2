"""Why a run failed, who conflicts with whom, and resolving it (by git, by a resolver command).

Real runs on real repositories: the conflicts are made by the tasks' own edits.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from repokit import git

from treelane.commands import command
from treelane.commands.context import Context
from treelane.engine.events import RunFinished
from treelane.errors import RequestFailed

SOURCE = "def make():\n    return 1\n\n\ndef other():\n    return 2\n"
TASKS = {
    # format and docstrings both rewrite the first line of src/m.py: a real conflict.
    "format": "sed -i 's/^def make():$/def make() -> int:/' src/m.py",
    "docstrings": "sed -i 's/^def make():$/def make():  # makes/' src/m.py",
    "upgrade": "echo upgraded > other.txt",
    "isort": "sed -i 's/return 2/return 3/' src/m.py",  # same file, other lines: merges
}


def toml(fan_in: bool, resolve: str | None = None) -> str:
    lines = []
    for wf in ("nofanin", "fanin"):
        for name, cmd in TASKS.items():
            lines += [f"[workflows.{wf}.tasks.{name}]", f'run = "{cmd}"']
        if wf == "fanin":
            lines += [
                "[workflows.fanin.tasks.check]",
                f"needs = {list(TASKS)}".replace("'", '"'),
                'run = "grep -c def src/m.py > count.txt"',
            ]
            if resolve:
                lines.append(f'resolve = "{resolve}"')
    if resolve and not fan_in:
        lines.insert(0, f'resolve = "{resolve}"')
        lines.insert(0, "[workflows.nofanin]")
    return "\n".join(lines) + "\n"


@pytest.fixture
def repo_with_source(repo: Path) -> Path:
    (repo / "src").mkdir()
    (repo / "src" / "m.py").write_text(SOURCE)
    return repo


def open_ctx(repo: Path, text: str) -> Context:
    (repo / "treelane.toml").write_text(text)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "setup", cwd=repo)
    return Context(repo)


@pytest.fixture
def ctx(repo_with_source: Path) -> Iterator[Context]:
    c = open_ctx(repo_with_source, toml(fan_in=True))
    yield c
    c.close()


def call(ctx: Context, name: str, arg: Any = None) -> dict[str, Any]:
    return command(f"treelane.{name}")(ctx, arg)


def finished(ctx: Context, workflow: str, events: list[Any] | None = None) -> tuple[str, str]:
    if events is not None:
        ctx.engine().subscribe(events.append)
    run = str(call(ctx, "start", {"workflow": workflow})["run"])
    return run, ctx.engine().wait(run, timeout=90)


def test_final_tasks_that_conflict_fail_the_run_with_the_reason(ctx: Context) -> None:
    events: list[Any] = []
    run, state = finished(ctx, "nofanin", events)
    assert state == "failed"
    reason = "final tasks format and docstrings conflict in src/m.py (content)"
    status = call(ctx, "status", {"run": run})["runs"][0]
    assert status["reason"] == reason
    assert status["conflicts"] == [
        {"path": "src/m.py", "kind": "content", "tasks": ["format", "docstrings"]}
    ]
    done = [e for e in events if isinstance(e, RunFinished)]
    assert len(done) == 1 and done[0].reason == reason
    assert done[0].conflicts == status["conflicts"]
    report = call(ctx, "report", {"run": run})["html"]
    assert "format and docstrings conflict in src/m.py" in report


def test_a_fan_in_conflict_names_only_the_conflicting_pair(ctx: Context) -> None:
    run, state = finished(ctx, "fanin")
    assert state == "failed"
    status = call(ctx, "status", {"run": run})["runs"][0]
    want = "inputs format and docstrings conflict in src/m.py (content)"
    assert status["reason"] == f"task check failed: {want}"
    assert [c["tasks"] for c in status["conflicts"]] == [["format", "docstrings"]]
    row = ctx.engine().store.one("SELECT error FROM tasks WHERE run = ? AND name = 'check'", (run,))
    assert row is not None and row["error"] == want


def markers_and_stages(path: Path, file: str) -> tuple[str, list[str]]:
    text = (path / file).read_text()
    stages = git("ls-files", "-u", "--", file, cwd=path).splitlines()
    return text, [line.split()[2] for line in stages]


def test_resolve_a_fan_in_conflict_with_git_then_resume(ctx: Context, repo: Path) -> None:
    run, _ = finished(ctx, "fanin")
    res = call(ctx, "resolve", {"run": run, "task": "check"})
    wt = Path(res["path"])
    assert res["files"] == ["src/m.py"] and res["theirs"] == "docstrings"
    assert res["ours"] == ["format"]
    text, stages = markers_and_stages(wt, "src/m.py")
    assert "<<<<<<< " in text and ">>>>>>> " in text and "def make() -> int:" in text
    assert stages == ["1", "2", "3"]  # base, ours, theirs: any merge tool works here
    assert call(ctx, "resolve", {"run": run, "task": "check"})["path"] == res["path"]  # again
    with pytest.raises(RequestFailed, match=r"not resolved yet: markers left in src/m\.py"):
        ctx.engine().resume(run)
    # The user resolves with git itself: take theirs, and commit the merge.
    git("checkout", "--theirs", "--", "src/m.py", cwd=wt)
    git("add", "src/m.py", cwd=wt)
    git("commit", "-q", "--no-edit", cwd=wt)
    ctx.engine().resume(run)
    assert ctx.engine().wait(run, timeout=90) == "succeeded"
    ref = git("rev-parse", f"refs/treelane/resolutions/{run}/check", cwd=repo)
    assert git("rev-parse", f"{ref}^2", cwd=repo) == git(
        "rev-parse", f"refs/treelane/runs/{run}/docstrings", cwd=repo
    )
    result = f"refs/treelane/results/{run}"
    merged = git("show", f"{result}:src/m.py", cwd=repo)
    # theirs for the conflicting line, and the other inputs merged on top of the resolution
    assert merged == SOURCE.replace("def make():", "def make():  # makes").replace(
        "return 2", "return 3"
    ).rstrip("\n")
    assert git("show", f"{result}:other.txt", cwd=repo) == "upgraded"
    assert git("show", f"{result}:count.txt", cwd=repo) == "2"
    assert not wt.exists()  # the resolve worktree is gone once taken
    assert call(ctx, "status", {"run": run})["runs"][0]["reason"] is None


def test_resolve_the_final_merge_by_editing_files_then_resume(ctx: Context, repo: Path) -> None:
    run, _ = finished(ctx, "nofanin")
    res = call(ctx, "resolve", {"run": run})
    wt = Path(res["path"])
    assert res["files"] == ["src/m.py"] and res["task"] is None
    # No commit: the user just edits the file so no markers are left.
    fixed = SOURCE.replace("def make():", "def make() -> int:  # makes")
    (wt / "src" / "m.py").write_text(fixed)
    ctx.engine().resume(run)
    assert ctx.engine().wait(run, timeout=90) == "succeeded"
    git("rev-parse", "--verify", f"refs/treelane/resolutions/{run}/_result", cwd=repo)
    got = git("show", f"refs/treelane/results/{run}:src/m.py", cwd=repo)
    assert got == fixed.replace("return 2", "return 3").rstrip("\n")


def test_nothing_to_resolve(ctx: Context) -> None:
    run, _ = finished(ctx, "fanin")
    with pytest.raises(RequestFailed, match="no task 'nope'"):
        call(ctx, "resolve", {"run": run, "task": "nope"})
    with pytest.raises(RequestFailed, match="nothing to resolve: the inputs of task format"):
        call(ctx, "resolve", {"run": run, "task": "format"})


RESOLVER = """#!/bin/sh
# Take both edits of the conflicting line: the annotation and the comment.
test -n "$TREELANE_CONFLICTS" || exit 9
echo "resolving $TREELANE_CONFLICTS"
sed -i -e '/^<<<<<<< /d' -e '/^=======$/,/^>>>>>>> /d' src/m.py
sed -i 's/^def make() -> int:$/def make() -> int:  # resolved/' src/m.py
echo "$TREELANE_TASK" > resolver-ran.txt
"""


@pytest.mark.parametrize("fan_in", [True, False])
def test_a_resolver_command_resolves_without_a_person(repo_with_source: Path, fan_in: bool) -> None:
    script = repo_with_source / "resolver.sh"
    script.write_text(RESOLVER)
    script.chmod(0o755)
    # The resolver runs in the resolve worktree, which has the committed script too.
    ctx = open_ctx(repo_with_source, toml(fan_in, resolve="sh ./resolver.sh"))
    try:
        run, state = finished(ctx, "fanin" if fan_in else "nofanin")
        assert state == "succeeded", call(ctx, "status", {"run": run})["runs"][0]["reason"]
        repo = repo_with_source
        got = git("show", f"refs/treelane/results/{run}:src/m.py", cwd=repo)
        assert got.splitlines()[0] == "def make() -> int:  # resolved"
        assert "return 3" in got
        key = "check" if fan_in else "_result"
        assert git("show", f"refs/treelane/results/{run}:resolver-ran.txt", cwd=repo) == key
        if fan_in:  # what the resolver printed is part of the task's output
            assert "[resolve] resolving src/m.py" in ctx.engine().output(run, "check")
    finally:
        ctx.close()


def test_a_failing_resolver_leaves_the_conflict_for_a_person(repo_with_source: Path) -> None:
    ctx = open_ctx(repo_with_source, toml(True, resolve="exit 4"))
    try:
        run, state = finished(ctx, "fanin")
        assert state == "failed"
        reason = call(ctx, "status", {"run": run})["runs"][0]["reason"]
        assert reason.endswith("(resolver exited 4)")
        res = call(ctx, "resolve", {"run": run, "task": "check"})
        assert "<<<<<<< " in (Path(res["path"]) / "src" / "m.py").read_text()
        subprocess.run(["git", "merge", "--abort"], cwd=res["path"], check=True)
    finally:
        ctx.close()


def test_resolve_worktrees_are_listed_and_cleanup_keeps_them_unless_forced(
    ctx: Context, repo: Path
) -> None:
    run, _ = finished(ctx, "nofanin")
    res = call(ctx, "resolve", {"run": run})
    wt = Path(res["path"])
    listed = [w for w in call(ctx, "worktrees", {})["worktrees"] if w["state"] == "resolving"]
    assert [(w["id"], w["path"], w["run"], w["task"]) for w in listed] == [
        (f"resolve/{run}-_result", str(wt), run, None)
    ]
    assert listed[0]["conflicts_left"] == ["src/m.py"] and listed[0]["dirty"]
    # A plain cleanup keeps it, saying why and what to do.
    out = call(ctx, "cleanup", {})
    assert wt.is_dir()
    (kept,) = [k for k in out["kept"] if k["id"].startswith("resolve/")]
    assert f"treelane resume {run}" in kept["reason"]
    # Half the work is done by hand; a forced cleanup saves it, then removes the worktree.
    (wt / "src" / "m.py").write_text(SOURCE.replace("def make():", "def make() -> int:  # mine"))
    out = call(ctx, "cleanup", {"force": True})
    assert f"resolve/{run}-_result" in out["removed"] and not wt.exists()
    (saved,) = [s for s in out["saved"] if s["worktree"] == f"resolve/{run}-_result"]
    assert git("show", f"{saved['ref']}:src/m.py", cwd=repo).startswith(
        "def make() -> int:  # mine"
    )
    assert str(wt) not in git("worktree", "list", "--porcelain", cwd=repo)
    assert not [w for w in call(ctx, "worktrees", {})["worktrees"] if w["state"] == "resolving"]
    # The conflict is still there to resolve again.
    again = call(ctx, "resolve", {"run": run})
    assert again["files"] == ["src/m.py"] and Path(again["path"]).is_dir()


def test_a_stale_resolve_folder_is_saved_and_removed_by_cleanup(ctx: Context, repo: Path) -> None:
    run, _ = finished(ctx, "nofanin")
    wt = Path(call(ctx, "resolve", {"run": run})["path"])
    store = ctx.engine().store
    with store.write():  # the resolution is forgotten (e.g. its run was pruned)
        store.execute("DELETE FROM resolutions WHERE run = ?", (run,))
    (wt / "notes.txt").write_text("mine\n")
    out = call(ctx, "cleanup", {})
    assert f"resolve/{run}-_result" in out["removed"] and not wt.exists()
    (saved,) = [s for s in out["saved"] if s["worktree"] == f"resolve/{run}-_result"]
    assert git("show", f"{saved['ref']}:notes.txt", cwd=repo) == "mine"
