"""The real ``treelane`` CLI as a subprocess, against real git repositories.

Each command starts its own ``treelane serve`` over stdio, as a user's shell would.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest
from clikit import git, lines, make_repo, one_line_reason, popen, treelane
from repokit import workflows

SUBCOMMANDS = [
    "demo", "init", "run", "status", "cancel", "resume", "checkpoint", "undo", "redo",
    "checkpoints", "diff", "merge", "resolve", "branch", "worktrees", "cleanup", "gc", "trace",
    "report", "log", "completion", "pick", "serve",
]  # fmt: skip


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def run_json(workspace: Path, workflow: str) -> tuple[int, list[dict[str, Any]], str]:
    proc = treelane("run", workflow, "--json", cwd=workspace)
    return proc.returncode, lines(proc.stdout), proc.stderr


def test_run_json_prints_each_notification_and_exits_0(workspace: Path) -> None:
    code, notes, stderr = run_json(workspace, "diamond")
    assert code == 0, stderr
    assert stderr == ""
    assert all(set(n) == {"method", "params"} for n in notes)
    assert all(n["method"].startswith("treelane/") for n in notes)
    last = notes[-1]
    assert last["method"] == "treelane/runFinished"
    assert last["params"]["state"] == "succeeded"
    assert last["params"]["counts"] == {"succeeded": 4}
    run = last["params"]["run"]
    states = [n["params"] for n in notes if n["method"] == "treelane/taskState"]
    assert {s["run"] for s in states} == {run}
    for task in "abcd":
        seen = [s["state"] for s in states if s["task"] == task]
        assert seen[0] == "queued" and "running" in seen and seen[-1] == "succeeded", seen
    outputs = [n["params"] for n in notes if n["method"] == "treelane/output"]
    assert any("made a" in line for o in outputs for line in o["lines"])

    status = json.loads(treelane("status", run, "--json", cwd=workspace).stdout)
    assert status["runs"][0]["state"] == "succeeded"
    merged = treelane("merge", run, "--json", cwd=workspace)
    assert merged.returncode == 0, merged.stderr
    assert json.loads(merged.stdout)["merged"] is True
    assert (workspace / "d.txt").read_text() == "A\nB\nC\n"


def test_failing_task_exits_1_with_one_line_reason(workspace: Path) -> None:
    code, notes, stderr = run_json(workspace, "broken")
    assert code == 1
    assert notes[-1]["method"] == "treelane/runFinished"
    assert notes[-1]["params"]["state"] == "failed"
    reason = one_line_reason(stderr)
    assert reason.endswith("failed: task fails failed: exit code 3")

    human = treelane("run", "broken", cwd=workspace)  # stdout is a pipe: still JSON lines
    assert human.returncode == 1
    assert lines(human.stdout)[-1]["params"]["state"] == "failed"
    run = lines(human.stdout)[-1]["params"]["run"]
    log = treelane("log", run, "fails", cwd=workspace)
    assert log.returncode == 0 and log.stdout == "about to fail\n"


@pytest.mark.parametrize(
    "args",
    [
        ["status", "--bogus"],  # unknown option
        ["run", "diamond", "--no-such-flag"],
        ["frobnicate"],  # unknown command
        ["merge"],
        ["log", "r1"],
    ],
)
def test_usage_errors_exit_2(workspace: Path, args: list[str]) -> None:
    proc = treelane(*args, cwd=workspace)
    assert proc.returncode == 2
    assert proc.stdout == ""
    one_line_reason(proc.stderr)


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["run", "diamond", "--base=-oops"], "invalid revision"),  # -32602
        (["status", "../etc"], "run id"),  # -32602
        (["cancel", "r1", "--task", "a b"], "task name"),  # -32602
    ],
)
def test_invalid_params_from_the_server_exit_2(workspace: Path, args: list[str], text: str) -> None:
    proc = treelane(*args, cwd=workspace)
    assert proc.returncode == 2, proc.stderr
    assert text in one_line_reason(proc.stderr)


def test_requests_that_fail_exit_1(workspace: Path) -> None:
    proc = treelane("run", "nope", cwd=workspace)
    assert proc.returncode == 1
    assert "no workflow 'nope'" in one_line_reason(proc.stderr)
    proc = treelane("status", "rmissing", "--json", cwd=workspace)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "unknown run" in one_line_reason(proc.stderr)


def test_invalid_workflow_file_is_one_line(workspace: Path) -> None:
    (workspace / "treelane.toml").write_text(
        '[workflows.w.tasks.a]\nrun = "true"\nneeds = ["missing"]\nretries = "x"\n'
    )
    proc = treelane("run", "w", cwd=workspace)
    assert proc.returncode == 1
    reason = one_line_reason(proc.stderr)
    assert "treelane.toml is invalid" in reason and "missing" in reason


def test_not_a_git_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    for args in (["status"], ["run", "diamond", "--json"]):
        proc = treelane(*args, cwd=plain)
        assert proc.returncode == 1
        assert proc.stdout == ""
        reason = one_line_reason(proc.stderr)
        assert "not a git repository" in reason and str(plain) in reason
    proc = treelane("-C", str(tmp_path / "nowhere"), "status", cwd=tmp_path)
    assert proc.returncode == 1 and "no such directory" in one_line_reason(proc.stderr)


def test_sigint_cancels_the_run_and_exits_130(workspace: Path) -> None:
    proc = popen("run", "slow", "--json", cwd=workspace)
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:  # wait until the task really runs (its output arrives)
        seen.append(json.loads(line))
        if seen[-1]["method"] == "treelane/output":
            break
    proc.send_signal(signal.SIGINT)
    rest, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    notes = seen + lines(rest)
    final = notes[-1]
    assert final["method"] == "treelane/runFinished"
    assert final["params"]["state"] == "cancelled"
    assert "cancelled by Ctrl-C" in stderr.strip().splitlines()[-1]
    run = final["params"]["run"]

    status = treelane("status", run, "--json", cwd=workspace)
    assert status.returncode == 0, status.stderr
    (r,) = json.loads(status.stdout)["runs"]
    assert r["state"] == "cancelled"
    assert r["tasks"][0]["state"] == "cancelled"


def test_cancel_from_another_process_reaches_the_run(tmp_path: Path) -> None:
    """`treelane run` in one terminal, `treelane cancel` in another (its own server).

    The task runs until cancelled (up to two minutes): a second process may take seconds
    to start on a loaded machine, and a short task could end before the cancel arrives.
    """
    forever = "for i in $(seq 1 600); do echo tick $i; sleep 0.2; done"
    workspace = make_repo(tmp_path / "long", workflows(slow=forever))
    proc = popen("run", "slow", "--json", cwd=workspace)
    assert proc.stdout is not None
    run = json.loads(proc.stdout.readline())["params"]["run"]
    for line in proc.stdout:
        if json.loads(line)["method"] == "treelane/output":
            break
    cancel = treelane("cancel", run, "--json", cwd=workspace)
    assert cancel.returncode == 0, cancel.stderr
    assert json.loads(cancel.stdout) == {"cancelled": ["sleeper"]}
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    final = lines(rest)[-1]
    assert final["method"] == "treelane/runFinished"
    assert final["params"]["state"] == "cancelled"
    again = treelane("cancel", run, cwd=workspace)
    assert again.returncode == 1
    assert "is not running (state: cancelled)" in one_line_reason(again.stderr)


def test_second_sigint_stops_at_once_and_resume_finishes_the_run(workspace: Path) -> None:
    proc = popen("run", "slow", "--json", cwd=workspace)
    assert proc.stdout is not None
    first = json.loads(proc.stdout.readline())
    run = first["params"]["run"]
    for line in proc.stdout:
        if json.loads(line)["method"] == "treelane/output":
            break
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    state = json.loads(treelane("status", run, "--json", cwd=workspace).stdout)["runs"][0]
    assert state["state"] in ("interrupted", "cancelled"), state

    resumed = treelane("resume", run, "--json", cwd=workspace)
    assert resumed.returncode == 0, resumed.stderr
    final = lines(resumed.stdout)[-1]
    assert final["method"] == "treelane/runFinished"
    assert final["params"] == {**final["params"], "run": run, "state": "succeeded"}


def test_checkpoint_undo_redo_round_trip(workspace: Path, tmp_path: Path) -> None:
    first = treelane("checkpoint", "-m", "one", "--json", cwd=workspace)
    assert first.returncode == 0, first.stderr
    one = json.loads(first.stdout)
    assert one["worktree"] == "main" and len(one["commit"]) == 40

    (workspace / "README.md").write_text("changed\n")
    (workspace / "new file.txt").write_text("new\n")
    (workspace / "sub").mkdir()
    second = treelane("checkpoint", cwd=workspace / "sub")  # the worktree you are in
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("main: saved checkpoint")

    undone = treelane("-C", str(workspace), "undo", "--json", cwd=tmp_path)
    assert undone.returncode == 0, undone.stderr
    assert json.loads(undone.stdout)["checkpoint"] == one["checkpoint"]
    assert (workspace / "README.md").read_text() == "hello\n"
    assert not (workspace / "new file.txt").exists()

    redone = treelane("redo", "main", cwd=workspace)
    assert redone.returncode == 0, redone.stderr
    assert "restored" in redone.stdout
    assert (workspace / "README.md").read_text() == "changed\n"
    assert (workspace / "new file.txt").read_text() == "new\n"

    again = treelane("redo", cwd=workspace)
    assert again.returncode == 1
    assert "nothing to redo" in one_line_reason(again.stderr)


def test_merge_preview_with_conflicts_exits_1_and_names_the_path(workspace: Path) -> None:
    code, notes, _ = run_json(workspace, "conflict")
    assert code == 0
    run = notes[-1]["params"]["run"]
    (workspace / "README.md").write_text("right\n")
    git(workspace, "commit", "-qam", "right")

    preview = treelane("merge", run, "--preview", cwd=workspace)
    assert preview.returncode == 1
    assert "README.md" in preview.stdout and "content" in preview.stdout
    assert "README.md" in one_line_reason(preview.stderr)

    as_json = treelane("merge", run, "--preview", "--json", cwd=workspace)
    assert as_json.returncode == 1
    result = json.loads(as_json.stdout)
    assert result["clean"] is False and result["merged"] is False
    assert result["conflicts"] == [{"path": "README.md", "kind": "content"}]

    merge = treelane("merge", run, "--into", "main", cwd=workspace)
    assert merge.returncode == 1
    assert "README.md" in merge.stdout and "README.md" in one_line_reason(merge.stderr)
    assert (workspace / "README.md").read_text() == "right\n"

    missing = treelane("merge", run, "--into", "nope", cwd=workspace)
    assert missing.returncode == 1 and "no branch 'nope'" in one_line_reason(missing.stderr)


def test_report_and_trace_write_files(workspace: Path, tmp_path: Path) -> None:
    code, notes, _ = run_json(workspace, "diamond")
    assert code == 0
    run = notes[-1]["params"]["run"]

    report = treelane("report", run, "-o", "run.html", cwd=workspace)
    assert report.returncode == 0, report.stderr
    html = (workspace / "run.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and run in html
    assert str(workspace / "run.html") in report.stdout

    out = tmp_path / "t.json"
    trace = treelane("-C", str(workspace), "trace", run, "-o", str(out), "--json", cwd=tmp_path)
    assert trace.returncode == 0, trace.stderr
    assert json.loads(trace.stdout)["path"] == str(out)
    data = json.loads(out.read_text())
    names = {e["name"] for e in data["traceEvents"] if e.get("ph") == "X"}
    assert names == {"a", "b", "c", "d"}

    to_stdout = treelane("trace", run, cwd=workspace)
    assert json.loads(to_stdout.stdout)["otherData"]["run"] == run


def test_status_worktrees_and_cleanup_plain_and_json(workspace: Path) -> None:
    empty = treelane("status", cwd=workspace)
    assert empty.returncode == 0 and "no runs yet" in empty.stdout
    code, notes, _ = run_json(workspace, "diamond")
    assert code == 0
    run = notes[-1]["params"]["run"]

    status = treelane("status", run, cwd=workspace)
    assert status.returncode == 0
    assert f"run {run}" in status.stdout and "succeeded" in status.stdout
    assert all(task in status.stdout for task in "abcd")

    wts = treelane("worktrees", "--json", cwd=workspace)
    ids = [w["id"] for w in json.loads(wts.stdout)["worktrees"]]
    assert ids[0] == "main" and len(ids) > 1
    plain = treelane("worktrees", cwd=workspace).stdout.splitlines()
    assert plain[0].split()[:2] == ["id", "state"] and plain[1].startswith("main")

    cleaned = treelane("cleanup", "--json", cwd=workspace)
    assert cleaned.returncode == 0, cleaned.stderr
    assert sorted(json.loads(cleaned.stdout)["removed"]) == sorted(ids[1:])

    cancel = treelane("cancel", run, cwd=workspace)  # finished: nothing running here
    assert cancel.returncode == 1 and "not running" in one_line_reason(cancel.stderr)


def test_version_and_help_for_every_subcommand(tmp_path: Path) -> None:
    from treelane import __version__

    version = treelane("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == f"treelane {__version__}"
    top = treelane("--help", cwd=tmp_path)
    assert top.returncode == 0
    for name in SUBCOMMANDS:
        assert name in top.stdout
        sub = treelane(name, "--help", cwd=tmp_path)
        assert sub.returncode == 0, name
        assert sub.stdout.startswith(f"usage: treelane {name}"), sub.stdout
        if name not in ("demo", "init", "completion", "serve"):
            assert "--json" in sub.stdout, name
        # Every positional argument explains itself.
        section = sub.stdout.split("positional arguments:")[-1].split("options:")[0]
        if "positional arguments:" in sub.stdout:
            for line in section.strip().splitlines():
                if line.startswith("  ") and not line.startswith("   "):
                    assert len(line.split(None, 1)) == 2 or "{" in line, (name, line)
    assert "130" in top.stdout and "Ctrl-C" in top.stdout  # exit codes are documented
