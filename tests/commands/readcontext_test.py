"""The read-only context's own readers agree with git and with the TOML parser."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from treelane.commands import readonly, repofind

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


def _git_answer(path: Path) -> tuple[str, str] | None:
    """What ``readonly.discover`` made of git's own answer before it looked by itself."""
    proc = subprocess.run(
        ["git", "rev-parse", "--path-format=absolute", "--git-common-dir", "--show-toplevel"],
        cwd=path,
        env=ENV,
        capture_output=True,
        text=True,
    )
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) < 2:
        return None
    common = os.path.realpath(lines[0])
    top = os.path.dirname(common) if os.path.basename(common) == ".git" else lines[1]
    return os.path.realpath(top), common


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "src" / "deep").mkdir(parents=True)
    _git(root, "init", "-q", "-b", "main")
    (root / "src" / "a.txt").write_text("a\n")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "init")
    return root


def test_plain_layouts_are_found_as_git_finds_them(repo: Path, tmp_path: Path) -> None:
    linked = tmp_path / "linked"
    _git(repo, "worktree", "add", "-q", "--detach", str(linked))
    inside = repo / ".git" / "treelane" / "worktrees" / "w1"  # where the pool keeps its own
    inside.parent.mkdir(parents=True)
    _git(repo, "worktree", "add", "-q", "--detach", str(inside))
    for where in (repo, repo / "src", repo / "src" / "deep", linked, inside):
        found = repofind.find(str(where))
        assert found is not None, where
        assert found == _git_answer(where), where
        assert readonly.discover(where) == readonly.Repo(Path(found[0]), Path(found[1]))


def test_other_layouts_are_left_to_git(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    assert repofind.find(str(outside)) is None  # no repository: git says so
    assert repofind.find(str(repo / ".git")) is None  # inside the git directory
    separate = tmp_path / "sep"
    _git(tmp_path, "init", "-q", "--separate-git-dir", str(tmp_path / "sep.git"), str(separate))
    assert repofind.find(str(separate)) is None  # its git directory is not named .git
    assert readonly.discover(separate).common_dir == Path(os.path.realpath(tmp_path / "sep.git"))
    (repo / "broken").mkdir()
    (repo / "broken" / ".git").write_text("not a gitdir line\n")
    assert repofind.find(str(repo / "broken")) is None
    monkeypatch.setenv("GIT_DIR", str(repo / ".git"))
    assert repofind.find(str(repo)) is None  # the environment decides: git answers
    assert readonly.discover(repo / "src").common_dir == Path(os.path.realpath(repo / ".git"))


SETTINGS_FILES = [
    "[settings]\nmax_parallel = 2\npool_size = 3\n",
    "# top\n[settings]  # the settings\npool_size = 3 # three\n\n"
    "max_parallel = 'auto'\n[workflows.w.tasks.a]\nrun = 'true'\n",
    '[settings]\r\nexecutor = "dask"\r\ndask_scheduler = "tcp://h:8786"\r\n',
    "[workflows.w.tasks.a]\nrun = 'true'\n",  # no settings at all
    "[settings]\nmemory_per_task_mb = 1_000\n",  # the TOML parser reads that one
    '[settings]\nmax_parallel = "a\\tb"\n',  # an escape: the TOML parser too
    "[settings]\npool_size = 3\n[settings.limits]\ngpu = 1\n",
    "[settings]\nshared = true\npool_size = -0\n",
    "settings.pool_size = 5\n[workflows.w.tasks.a]\nrun = 'true'\n",  # a dotted key
    "settings = { pool_size = 6 }\n",  # an inline table
    '[ "settings" ]\npool_size = 7\n',
    "[settings]\npool_size = 3\npool_size = 4\n",  # invalid: the parser decides (defaults)
    "[settings]\npool_size = 03\n",  # invalid too
    "[settings]\npool_size = 3\n[workflows\n",  # the rest of the file is broken
    '[settings]\npool_size = """\n[not a table]\n"""\n',  # a header inside a string
]


@pytest.mark.parametrize("text", SETTINGS_FILES)
def test_settings_match_the_toml_parser(tmp_path: Path, text: str) -> None:
    (tmp_path / "treelane.toml").write_text(text, newline="")
    got = readonly._settings_table(tmp_path)
    try:
        expected = tomllib.loads(text).get("settings", {})
    except tomllib.TOMLDecodeError:
        # A broken file: the settings table alone when it parses, else defaults ({}).
        try:
            head = text[text.index("[settings]") :]
            cut = head.find("\n[", 1)
            expected = tomllib.loads(head if cut < 0 else head[:cut]).get("settings", {})
        except (ValueError, tomllib.TOMLDecodeError):
            expected = {}
    assert got == expected


def test_settings_follow_an_edited_file(tmp_path: Path) -> None:
    path = tmp_path / "treelane.toml"
    path.write_text("[settings]\npool_size = 3\n")
    assert readonly.read_settings(tmp_path).pool_size == 3
    path.write_text("[settings]\npool_size = 12\n")
    assert readonly.read_settings(tmp_path).pool_size == 12
