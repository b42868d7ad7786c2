"""treelane.toml that points outside: refused as a diagnostic with its position."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))

from clikit import make_repo, treelane

from treelane.engine.workflow import check_config
from treelane.engine.workspace import open_workspace


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("/", "system directory"),
        ("/proc", "system directory"),
        ("/usr/lib/wt", "system directory"),
        (".git", "git directory itself"),
    ],
)
def test_worktrees_dir_outside_is_a_diagnostic(value: str, says: str) -> None:
    text = f'[settings]\nmax_parallel = 2\nworktrees_dir = "{value}"\n'
    (problem,) = check_config(text)
    assert says in problem.message and problem.severity == "error"
    assert (problem.range.start_line, problem.range.start_col) == (2, 0)


@pytest.mark.parametrize("value", ["../repo.treelane", "/home/me/wt", "/var/tmp/wt", ""])
def test_ordinary_worktrees_dirs_pass(value: str) -> None:
    assert check_config(f'[settings]\nworktrees_dir = "{value}"\n') == []


def test_the_git_dir_by_another_path_is_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    with pytest.raises(ValueError, match="git directory itself"):
        open_workspace(repo, "../repo/.git")


def test_a_run_with_worktrees_dir_root_is_refused_and_creates_nothing(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "repo",
        '[settings]\nworktrees_dir = "/"\n\n[workflows.w.tasks.a]\nrun = "true"\n',
    )
    before = set(Path("/").iterdir())
    proc = treelane("run", "w", cwd=repo)
    assert proc.returncode == 1
    assert "system directory" in proc.stderr and "treelane.toml:2:1:" in proc.stderr
    assert set(Path("/").iterdir()) == before


def test_a_failing_setup_command_is_a_clear_task_error_with_its_output(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
    from enginekit import Engines, config

    repo = make_repo(tmp_path / "repo", None)
    engines = Engines(repo)
    try:
        engine = engines(
            config(
                {"w": {"a": {"run": "true", "cache": False}}},
                {"setup": "echo preparing the tree; echo broken >&2; exit 3"},
            )
        )
        started = engine.start(engine.workflow("w"))
        assert engine.wait(started.run, 60) == "failed"
        row = engine.store.one("SELECT error FROM tasks WHERE run = ?", (started.run,))
        assert row is not None
        assert row["error"] == (
            "setup command failed in new worktree (exit 3): preparing the tree | broken"
        )
    finally:
        engines.close()


def _include_run(tmp_path: Path, link_to: Path) -> tuple[str, str | None, Path]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
    from enginekit import Engines, config

    repo = make_repo(tmp_path / "repo", None)
    (repo / ".gitignore").write_text(".venv\n")
    (repo / ".venv").symlink_to(link_to, target_is_directory=True)
    engines = Engines(repo)
    try:
        engine = engines(
            config(
                {"w": {"a": {"run": "cat .venv/marker", "cache": False}}},
                {"include": [".venv"]},
            )
        )
        started = engine.start(engine.workflow("w"))
        state = engine.wait(started.run, 60)
        row = engine.store.one("SELECT error FROM tasks WHERE run = ?", (started.run,))
        lines, _ = engine.output_page(started.run, "a")
        return state, (row or {}).get("error") or "\n".join(lines), repo
    finally:
        engines.close()


def test_a_symlinked_include_folder_elsewhere_is_linked(tmp_path: Path) -> None:
    venv = tmp_path / "venvs" / "project"
    venv.mkdir(parents=True)
    (venv / "marker").write_text("the real venv\n")
    state, out, _ = _include_run(tmp_path, venv)
    assert state == "succeeded", out
    assert out == "the real venv"


def test_a_symlinked_include_into_the_git_dir_is_a_clear_task_error(tmp_path: Path) -> None:
    target = tmp_path / "repo" / ".git"
    state, error, _ = _include_run(tmp_path, target)
    assert state == "failed"
    assert error is not None and error.startswith("include '.venv' is a symlink to")
    assert "internal error" not in error
