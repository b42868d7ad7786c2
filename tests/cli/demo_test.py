"""``treelane demo``: the newcomer's first command, end to end, offline."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from clikit import git, one_line_reason, treelane

from treelane.demo import project
from treelane.engine.workflow import parse_config

AGENT_FILES = {
    "PLAN.md",
    "REVIEW.md",
    "docs/API.md",
    "src/textstats/top.py",
    "tests/test_textstats.py",
}


def test_demo_runs_merges_and_reports(tmp_path: Path) -> None:
    target = tmp_path / "demo repo"
    proc = treelane("demo", str(target), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    on_main = set(git(target, "ls-tree", "-r", "--name-only", "main").splitlines())
    assert on_main >= AGENT_FILES, on_main
    assert git(target, "status", "--porcelain") == ""
    assert "top_words" in (target / "src/textstats/__init__.py").read_text()
    review = (target / "REVIEW.md").read_text()
    assert "word_count()" in review and "no docstring" in review  # it read the code
    assert "OK" in treelane("log", _run_id(proc.stdout), "test", cwd=target).stdout

    out = proc.stdout
    assert "task time ÷ wall time: " in out
    assert "speed-up" not in out
    # The hint names a treelane that works: the one that ran (not on PATH in this test).
    hint = next(line for line in out.splitlines() if line.startswith("try: "))
    status = hint.split(" && ")[-1].split()
    assert status[-1] == "status"
    again = subprocess.run(status, cwd=target, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert "succeeded" in again.stdout
    report = tmp_path / "demo repo-report.html"
    assert f"report: {report}" in out
    assert report.read_text().lstrip().lower().startswith("<!doctype html")
    for task in ("plan", "build", "test", "review", "document"):
        assert f"{task} succeeded" in out


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file.txt").write_text("mine\n")
    proc = treelane("demo", str(tmp_path / "busy"), cwd=tmp_path)
    assert proc.returncode == 1
    assert "not empty" in one_line_reason(proc.stderr)
    assert (tmp_path / "busy" / "file.txt").read_text() == "mine\n"


def test_workflow_quotes_odd_interpreter_paths() -> None:
    python = '/opt/my python\'s "env"/bin/python3'
    config = parse_config(project.workflow_toml(python))
    wf = config.workflows[project.WORKFLOW]
    assert wf.names() == ["plan", "build", "test", "review", "document"]
    assert wf.sinks() == ["test", "review", "document"]
    argv = shlex.split(wf.task("review").run)
    assert argv == [python, "-B", str(project.AGENTS / "review.py")]
    assert all(not t.cache for t in wf.tasks)


def _run_id(stdout: str) -> str:
    for line in stdout.splitlines():
        if line.startswith("run ") and "(feature)" in line:
            return line.split()[1]
    raise AssertionError(stdout)
