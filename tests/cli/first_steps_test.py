"""What a new user meets first: treelane init, messages that name the fix, the workflow
list, checkpoints, and where cleanup --force put the work it removed."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from clikit import git, lines, make_repo, one_line_reason, treelane

from treelane.engine.workflow import load_config


def bare_repo(root: Path, files: dict[str, str], commit: bool = True) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test User")
    git(root, "config", "user.email", "test@example.com")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    if commit and files:
        git(root, "add", "-A")
        git(root, "commit", "-qm", "init")
    return root


# --- messages that name the fix ---------------------------------------------------------


def test_no_treelane_toml_says_so_and_how_to_make_one(tmp_path: Path) -> None:
    repo = bare_repo(tmp_path / "r", {"README.md": "hi\n"})
    proc = treelane("run", "feature", cwd=repo)
    assert proc.returncode == 1
    reason = one_line_reason(proc.stderr)
    assert "there is no treelane.toml" in reason and "treelane init" in reason
    listing = treelane("run", cwd=repo)
    assert listing.returncode == 2
    assert "no treelane.toml" in listing.stderr and "treelane init" in listing.stderr


def test_a_repository_without_commits_says_it_has_none_yet(tmp_path: Path) -> None:
    repo = bare_repo(tmp_path / "r", {"treelane.toml": '[workflows.w.tasks.a]\nrun = "true"\n'},
                     commit=False)  # fmt: skip
    proc = treelane("run", "w", cwd=repo)
    assert proc.returncode == 1
    reason = one_line_reason(proc.stderr)
    assert "has no commits yet" in reason and "git commit" in reason


def test_run_without_a_workflow_lists_them_and_exits_2(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    proc = treelane("run", cwd=repo)
    assert proc.returncode == 2 and proc.stdout == ""
    err = proc.stderr.splitlines()
    assert err[0] == "treelane: which workflow? run one with: treelane run WORKFLOW"
    rows = {line.split()[0]: line for line in err[1:]}
    assert list(rows) == ["diamond", "slow", "conflict", "broken"]
    assert "4 tasks, first: a" in rows["diamond"]
    assert "1 task, first: sleeper" in rows["slow"]


def test_the_hint_after_a_cancelled_run_names_the_real_run_and_task(tmp_path: Path) -> None:
    forever = "while true; do echo tick 1; sleep 0.2; done"
    forever = f'[workflows.slow.tasks.sleeper]\nrun = "{forever}"\n'
    repo = make_repo(tmp_path / "repo", forever)
    # The human summary is what a terminal gets: run it in `script`, a real pseudo-terminal.
    command = f"{shlex.quote(sys.executable)} -m treelane run slow"
    script = subprocess.Popen(
        ["script", "-qfec", command, "/dev/null"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "100"},
    )
    assert script.stdout is not None
    seen = ""
    while "tick 1" not in seen:
        chunk = script.stdout.readline()
        assert chunk, seen
        seen += chunk
    status = json.loads(treelane("status", "--json", cwd=repo).stdout)
    run = next(r["run"] for r in status["runs"] if r["state"] == "running")
    treelane("cancel", run, cwd=repo)
    rest, _ = script.communicate(timeout=60)
    out = seen + rest
    assert f"see: treelane status {run} · treelane log {run} sleeper" in out
    assert "TASK" not in out.split("see:")[-1]


# --- cleanup --force says where the work went --------------------------------------------


def test_cleanup_force_names_the_saved_ref_and_the_work_comes_back(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    assert treelane("run", "diamond", "--json", cwd=repo).returncode == 0
    wts = json.loads(treelane("worktrees", "--json", cwd=repo).stdout)["worktrees"]
    wt = wts[1]
    (Path(wt["path"]) / "notes.txt").write_text("my precious notes\n")
    kept = treelane("cleanup", cwd=repo)
    assert kept.returncode == 0 and wt["id"] in kept.stdout  # kept: it has changes
    proc = treelane("cleanup", "--force", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(treelane("cleanup", "--force", "--json", cwd=repo).stdout)
    assert result["saved"] == []  # nothing left to save the second time
    out = proc.stdout
    assert f"the uncommitted work of {wt['id']} was saved first, as refs/treelane/saved/" in out
    ref = out.split(" as ", 1)[1].split()[0]
    assert ref.startswith(f"refs/treelane/saved/{wt['id']}/")
    assert f"git switch -c {wt['id']}-saved {ref}" in out
    git(repo, "switch", "-q", "-c", f"{wt['id']}-saved", ref)  # the hint, as printed
    assert (repo / "notes.txt").read_text() == "my precious notes\n"


# --- checkpoints -------------------------------------------------------------------------


def test_checkpoints_lists_id_time_message_files_and_the_current_one(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    empty = treelane("checkpoints", cwd=repo)
    assert empty.returncode == 0 and "no checkpoints yet" in empty.stdout
    assert treelane("checkpoint", "-m", "clean start", cwd=repo).returncode == 0
    (repo / "a.txt").write_text("a\n")
    (repo / "b.txt").write_text("b\n")
    assert treelane("checkpoint", "-m", "two new files", cwd=repo).returncode == 0
    (repo / "a.txt").write_text("changed\n")
    assert treelane("checkpoint", "-m", "edit a", cwd=repo).returncode == 0
    assert treelane("undo", cwd=repo).returncode == 0

    result = json.loads(treelane("checkpoints", "--json", cwd=repo).stdout)
    assert result["worktree"] == "main"
    rows = result["checkpoints"]
    assert [(c["message"], c["files_changed"], c["current"]) for c in rows] == [
        ("clean start", 0, False),
        ("two new files", 2, True),
        ("edit a", 1, False),
    ]
    assert result["current"] == rows[1]["checkpoint"]
    assert all(c["time"].endswith("+00:00") and len(c["commit"]) == 40 for c in rows)
    plain = treelane("checkpoints", "main", cwd=repo).stdout.splitlines()
    assert "* = current" in plain[0]
    current = [line for line in plain if line.startswith("*")]
    assert len(current) == 1 and "two new files" in current[0]

    # From inside a managed worktree, its own checkpoints are listed.
    assert treelane("run", "diamond", "--json", cwd=repo).returncode == 0
    wt = json.loads(treelane("worktrees", "--json", cwd=repo).stdout)["worktrees"][1]
    inside = json.loads(treelane("checkpoints", "--json", cwd=Path(wt["path"])).stdout)
    assert inside == {"worktree": wt["id"], "current": None, "checkpoints": []}


# --- treelane init -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"pyproject.toml": "[project]\nname = 'x'\n[tool.ruff]\n", "tests/t.py": ""},
         {"pytest": "-m pytest -q", "ruff": "-m ruff check ."}),
        ({"package.json": '{"scripts": {"build": "tsc", "test": "jest", "lint": "eslint ."}}'},
         {"npm-build": "npm run build", "npm-test": "npm test", "npm-lint": "npm run lint"}),
        ({"Cargo.toml": "[package]\nname = 'x'\n"},
         {"cargo-test": "cargo test", "cargo-clippy": "cargo clippy -- -D warnings"}),
        ({"go.mod": "module x\n"}, {"go-test": "go test ./...", "go-vet": "go vet ./..."}),
        ({"Makefile": "build:\n\tcc x.c\ntest: build\n\t./t\nCC := gcc\n"},
         {"make-build": "make build", "make-test": "make test"}),
        ({"README.md": "nothing to build\n"}, {"hello": "echo hello from treelane"}),
    ],
)  # fmt: skip
def test_init_detects_the_projects_tools(
    tmp_path: Path, files: dict[str, str], expected: dict[str, str]
) -> None:
    repo = bare_repo(tmp_path / "r", files)
    proc = treelane("init", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    path = repo / "treelane.toml"
    text = path.read_text()
    wf = load_config(path).workflows["check"]
    got = {t.name: t.run for t in wf.tasks}
    assert set(got) == set(expected)
    for name, run in expected.items():
        assert got[name].endswith(run), (name, got[name])
    assert "# [workflows.check.tasks.review]" in text  # the agent example, commented out
    assert "next: treelane run check" in proc.stdout


def test_init_refuses_to_overwrite_and_its_file_runs(tmp_path: Path) -> None:
    repo = bare_repo(tmp_path / "r", {"Makefile": "test:\n\t@echo tests pass\n"})
    assert treelane("init", cwd=repo).returncode == 0
    first = (repo / "treelane.toml").read_text()
    again = treelane("init", cwd=repo)
    assert again.returncode == 1
    assert "already exists" in one_line_reason(again.stderr)
    assert (repo / "treelane.toml").read_text() == first
    run = treelane("run", "check", "--json", cwd=repo)  # uncommitted treelane.toml: used
    assert run.returncode == 0, run.stderr
    assert lines(run.stdout)[-1]["params"]["state"] == "succeeded"


def test_init_warns_when_python_bytecode_would_end_up_in_results(tmp_path: Path) -> None:
    repo = bare_repo(tmp_path / "r", {"src/calc.py": "X = 1\n", "Makefile": "test:\n\ttrue\n"})
    proc = treelane("init", cwd=repo)
    assert proc.returncode == 0 and "echo __pycache__/ >> .gitignore" in proc.stdout
    ignored = bare_repo(tmp_path / "i", {"src/calc.py": "", ".gitignore": "__pycache__/\n"})
    assert "__pycache__" not in treelane("init", cwd=ignored).stdout


def test_init_outside_a_repository(tmp_path: Path) -> None:
    proc = treelane("init", cwd=tmp_path)
    assert proc.returncode == 1
    assert "git init" in one_line_reason(proc.stderr)
    assert not (tmp_path / "treelane.toml").exists()


def test_sigint_exit_code_is_documented_in_run_help(tmp_path: Path) -> None:
    out = treelane("run", "--help", cwd=tmp_path).stdout
    assert "130" in out and "Ctrl-C" in out
