"""The review subcommands of the real CLI (diff, merge, resolve, branch) on real repositories."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from clikit import git, lines, make_repo, one_line_reason, treelane

TOML = """\
[workflows.w.tasks.edit]
run = "echo four >> a.txt && rm gone.txt && echo n > new.txt"

[workflows.w.tasks.move]
needs = ["edit"]
run = "mv a.txt moved.txt"
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo", TOML)
    (repo / "a.txt").write_text("one\ntwo\nthree\n")
    (repo / "gone.txt").write_text("old\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "files")
    return repo


def run_ok(workspace: Path, workflow: str = "w") -> str:
    proc = treelane("run", workflow, "--json", cwd=workspace)
    assert proc.returncode == 0, proc.stderr
    return str(lines(proc.stdout)[-1]["params"]["run"])


def test_diff_stat_name_status_patch_and_json(workspace: Path) -> None:
    run = run_ok(workspace)
    stat = treelane("diff", run, cwd=workspace)
    assert stat.returncode == 0, stat.stderr
    out = stat.stdout.splitlines()
    assert out[0].startswith(f"run {run} vs base ") and out[0].endswith("3 files, +2 \u22121")
    assert [line.split()[:2] for line in out[1:]] == [["D", "gone.txt"], ["R", "a.txt"],
                                                      ["A", "new.txt"]]  # fmt: skip
    assert "a.txt \u2192 moved.txt" in stat.stdout
    assert "\x1b[" not in stat.stdout  # no colour in a pipe

    ns = treelane("diff", run, "move", "--against", "input", "--name-status", cwd=workspace)
    assert ns.stdout == "R\ta.txt\tmoved.txt\n"

    patch = treelane("diff", run, "edit", "--patch", cwd=workspace)
    assert "+four" in patch.stdout and "deleted file mode" in patch.stdout

    as_json = json.loads(treelane("diff", run, "--json", cwd=workspace).stdout)
    assert {f["path"]: f["status"] for f in as_json["files"]} == {
        "gone.txt": "D", "moved.txt": "R", "new.txt": "A"
    }  # fmt: skip
    assert len(as_json["commits"]) == 2

    both = treelane("diff", run, "--stat", "--patch", cwd=workspace)
    assert both.returncode == 2 and "not allowed with" in one_line_reason(both.stderr)
    missing = treelane("diff", run, "nope", cwd=workspace)
    assert missing.returncode == 1 and "no task 'nope'" in one_line_reason(missing.stderr)


def test_diff_is_coloured_on_a_terminal(workspace: Path) -> None:
    run = run_ok(workspace)
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    proc = subprocess.run(
        [sys.executable, "-m", "treelane", "diff", run, "--patch"],
        cwd=workspace,
        stdout=follower,
        stderr=subprocess.PIPE,
        env=env,
        timeout=120,
        check=False,
    )
    os.close(follower)
    data = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    os.close(leader)
    assert proc.returncode == 0, proc.stderr
    text = data.decode()
    assert "\x1b[32m+four\x1b[0m" in text and "\x1b[31m-old\x1b[0m" in text


def test_merge_twice_branch_and_the_dirty_worktree_warning(workspace: Path) -> None:
    (workspace / "gone.txt").write_text("my edit\n")  # the run deletes it: it would block
    (workspace / "elsewhere.txt").write_text("untracked\n")
    proc = treelane("run", "w", cwd=workspace)
    assert proc.returncode == 0, proc.stderr
    warning = (
        "treelane: warning: uncommitted changes in 2 files are not part of this run "
        "(use --from-worktree)"
    )
    assert proc.stderr.splitlines() == [warning]
    run = json.loads(treelane("status", "--json", cwd=workspace).stdout)["runs"][-1]["run"]

    preview = treelane("merge", run, "--preview", cwd=workspace)
    assert preview.returncode == 1
    assert "uncommitted changes in gone.txt" in one_line_reason(preview.stderr)
    assert preview.stdout.startswith(f"run {run} would merge into main as one squash commit")
    git(workspace, "checkout", "--", "gone.txt")

    merged = treelane("merge", run, cwd=workspace)
    assert merged.returncode == 0, merged.stderr
    assert merged.stdout.startswith(f"merged run {run} into main: ")
    assert "(one squash commit, 3 files, +2 \u22121)" in merged.stdout
    again = treelane("merge", run, "--json", cwd=workspace)
    assert again.returncode == 0
    assert json.loads(again.stdout)["already"] is True
    assert git(workspace, "log", "--format=%s", "-1") == f"treelane: run {run} (w)"
    assert (workspace / "elsewhere.txt").read_text() == "untracked\n"

    made = treelane("branch", run, "edit", "review/edit", cwd=workspace)
    assert made.returncode == 0 and made.stdout.startswith("created branch review/edit at ")
    exists = treelane("branch", run, "review/edit", cwd=workspace)
    assert exists.returncode == 1 and "exists" in one_line_reason(exists.stderr)
    usage = treelane("branch", run, "a", "b", "c", cwd=workspace)
    assert usage.returncode == 2


def test_resolve_from_the_cli(tmp_path: Path) -> None:
    toml = (
        '[workflows.c.tasks.one]\nrun = "echo one > README.md"\n'
        '[workflows.c.tasks.two]\nrun = "echo two > README.md"\n'
    )
    repo = make_repo(tmp_path / "repo", toml)
    proc = treelane("run", "c", cwd=repo)
    assert proc.returncode == 1
    reason = "final tasks one and two conflict in README.md (content)"
    assert reason in one_line_reason(proc.stderr)
    run = json.loads(treelane("status", "--json", cwd=repo).stdout)["runs"][-1]
    assert run["reason"] == reason
    res = treelane("resolve", run["run"], cwd=repo)
    assert res.returncode == 0, res.stderr
    path = Path(res.stdout.splitlines()[1].strip())
    assert "README.md (content: one and two)" in res.stdout
    ident = f"resolve/{run['run']}-_result"
    listed = treelane("worktrees", cwd=repo).stdout
    assert f"{ident}" in listed and "resolving (1 conflicted)" in listed
    (path / "README.md").write_text("one and two\n")
    assert "resolving (resolved: treelane resume)" in treelane("worktrees", cwd=repo).stdout
    resumed = treelane("resume", run["run"], cwd=repo)
    assert resumed.returncode == 0, resumed.stderr
    merged = treelane("merge", run["run"], cwd=repo)
    assert merged.returncode == 0, merged.stderr
    assert (repo / "README.md").read_text() == "one and two\n"
