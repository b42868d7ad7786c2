"""treelane.engine.git: argv-only plumbing and validation of names, ids and paths."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from repokit import git

from treelane.engine import git as g
from treelane.errors import RequestFailed

# --- check_ref_name ------------------------------------------------------------

_FRAGMENTS = [
    *"ab/.-@{}~^:?*[]\\ \t\x7f\x01é",
    "..",
    "//",
    ".lock",
    "@{",
    "HEAD",
    "refs/heads/",
    "x",
]


@pytest.fixture(scope="module")
def outside_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder in no repository, where ``check-ref-format --branch`` expands nothing."""
    return tmp_path_factory.mktemp("norepo")


def _git_accepts_branch(name: str, cwd: Path) -> bool:
    proc = subprocess.run(
        ["git", "check-ref-format", "--branch", name],
        cwd=cwd,
        env={**os.environ, "GIT_CEILING_DIRECTORIES": str(cwd.parent)},
        capture_output=True,
        check=False,
    )
    return proc.returncode == 0


def _ours_accepts(name: str) -> bool:
    try:
        g.check_ref_name(name)
    except ValueError:
        return False
    return True


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=8).map("".join))
def test_check_ref_name_agrees_with_git(outside_repo: Path, name: str) -> None:
    expected = _git_accepts_branch(name, outside_repo)
    if name == "@":  # deliberately stricter: "@" also means HEAD as a revision
        expected = False
    assert _ours_accepts(name) == expected, name


@pytest.mark.parametrize(
    "name",
    ["main", "feature/x", "a./b", "é", "x@", "a/HEAD", "fix-1.2", "{", "refs/heads/x"],
)
def test_check_ref_name_accepts(name: str, outside_repo: Path) -> None:
    assert g.check_ref_name(name) == name
    assert _git_accepts_branch(name, outside_repo)


@pytest.mark.parametrize(
    "name",
    ["", "@", "HEAD", "/x", "x/", "a//b", "-x", "a.lock", "a.lock/b", "a/.b", ".x", "x.",
     "a..b", "x@{y", "a b", "a\tb", "a\x7fb", "a~1", "a^", "a:b", "a?", "a*", "a[b", "a\\b",
     "a\x00b"],
)  # fmt: skip
def test_check_ref_name_rejects(name: str) -> None:
    with pytest.raises(ValueError, match="invalid branch name"):
        g.check_ref_name(name)


def test_check_ref_name_names_what() -> None:
    with pytest.raises(ValueError, match=r"invalid target branch: 'a\.\.b'"):
        g.check_ref_name("a..b", what="target branch")


# --- check_id --------------------------------------------------------------------


@pytest.mark.parametrize("value", ["main", "wt-1", "a.b_c", "A9", "x" * 64, "run.2024-01-01"])
def test_check_id_accepts(value: str) -> None:
    assert g.check_id(value, what="id") == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "-x",
        ".x",
        "_x",
        "a..b",
        "a/b",
        "a b",
        "ü",
        "x" * 65,
        "a\nb",
        "x\n",
        "x.lock",
        "x.",
        "a@{b",
    ],
)
def test_check_id_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="invalid worktree id"):
        g.check_id(value, what="worktree id")


def test_check_id_rejects_non_strings() -> None:
    with pytest.raises(ValueError):
        g.check_id(7, what="id")  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from([*"aZ09-_./@{ ~"]), min_size=1, max_size=12))
def test_accepted_ids_are_valid_ref_components(value: str) -> None:
    """Whatever check_id accepts can be used in a ref name and as a file name."""
    try:
        g.check_id(value, what="id")
    except ValueError:
        return
    assert "/" not in value and value not in (".", "..")
    assert _ours_accepts(f"treelane/{value}/1")


# --- contained ---------------------------------------------------------------------


def test_contained_accepts_paths_inside(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "a" / "b").mkdir(parents=True)
    assert g.contained(root / "a" / "b", root) == (root / "a" / "b").resolve()
    assert g.contained(root, root) == root.resolve()
    assert g.contained(root / "a" / ".." / "a", root) == (root / "a").resolve()
    # Need not exist yet.
    assert g.contained(root / "new" / "file", root) == (root / "new" / "file").resolve()


def test_contained_rejects_dotdot_escapes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "root2").mkdir()
    for bad in ["..", "../x", "a/../../x", "../root2", "/etc/passwd"]:
        with pytest.raises(ValueError, match="outside"):
            g.contained(root / bad, root)


def test_contained_rejects_symlinks_out_of_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "out").symlink_to(outside)
    (root / "out-file").symlink_to(outside / "secret")
    (root / "in").symlink_to(root)
    with pytest.raises(ValueError):
        g.contained(root / "out", root)
    with pytest.raises(ValueError):
        g.contained(root / "out" / "x", root)
    with pytest.raises(ValueError):
        g.contained(root / "out-file", root)
    assert g.contained(root / "in" / "x", root) == (root / "x").resolve()


# --- running git ---------------------------------------------------------------------


def test_resolve_commit(repo: Path) -> None:
    head = git("rev-parse", "HEAD", cwd=repo)
    git("tag", "v1", cwd=repo)
    assert g.resolve_commit(repo, "HEAD") == head
    assert g.resolve_commit(repo, "main") == head
    assert g.resolve_commit(repo, "v1") == head
    assert g.resolve_commit(repo, head[:10]) == head


@pytest.mark.parametrize("rev", ["-x", "--all", "--output=/tmp/treelane-x", "", "a\nb"])
def test_resolve_commit_rejects_option_looking_names(repo: Path, rev: str) -> None:
    with pytest.raises(ValueError, match="invalid revision"):
        g.resolve_commit(repo, rev)
    assert not Path("/tmp/treelane-x").exists()


def test_resolve_commit_names_unknown_revisions(repo: Path) -> None:
    with pytest.raises(RequestFailed, match="'nope'"):
        g.resolve_commit(repo, "nope")
    tree = git("rev-parse", "HEAD^{tree}", cwd=repo)
    with pytest.raises(RequestFailed, match="not a commit"):
        g.resolve_commit(repo, tree)


def test_run_raises_git_error_with_gits_words(repo: Path) -> None:
    with pytest.raises(g.GitError) as info:
        g.run(["rev-parse", "--verify", "no-such-ref"], repo)
    assert "git rev-parse --verify failed" in str(info.value)
    assert info.value.returncode != 0
    assert isinstance(info.value, RequestFailed)
    res = g.run(["rev-parse", "--verify", "no-such-ref"], repo, check=False)
    assert res.returncode != 0


def test_update_ref_old_value_guards(repo: Path) -> None:
    head = git("rev-parse", "HEAD", cwd=repo)
    g.update_ref(repo, "refs/treelane/test", head, "")
    with pytest.raises(g.GitError):
        g.update_ref(repo, "refs/treelane/test", head, "")  # must not exist
    with pytest.raises(g.GitError):
        g.update_ref(repo, "refs/treelane/test", head, "1" * 40)
    assert git("for-each-ref", "--format=%(objectname)", "refs/treelane", cwd=repo) == head


def test_discover_from_subfolder_and_linked_worktree(repo: Path, tmp_path: Path) -> None:
    (repo / "sub").mkdir()
    info = g.discover(repo / "sub")
    assert info.toplevel == repo
    assert info.common_dir == repo / ".git"
    git("worktree", "add", "-q", "--detach", str(tmp_path / "linked"), cwd=repo)
    assert g.discover(tmp_path / "linked") == info
    with pytest.raises(RequestFailed, match="not inside a git repository"):
        g.discover(tmp_path)


def test_discover_refuses_bare_repositories(tmp_path: Path) -> None:
    git("init", "-q", "--bare", str(tmp_path / "bare.git"), cwd=tmp_path)
    with pytest.raises(RequestFailed):
        g.discover(tmp_path / "bare.git")


def test_commit_tree_without_identity_uses_treelane(tmp_path: Path) -> None:
    root = tmp_path / "anon"
    root.mkdir()
    git("init", "-q", cwd=root)
    tree = g.out(["mktree"], root, input="")
    commit = g.commit_tree(root, tree, [], "msg\n")
    assert (
        git("log", "-1", "--format=%an <%ae>", commit, cwd=root) == "treelane <treelane@localhost>"
    )


def test_commit_tree_with_identity_keeps_it(repo: Path) -> None:
    tree = git("rev-parse", "HEAD^{tree}", cwd=repo)
    head = git("rev-parse", "HEAD", cwd=repo)
    commit = g.commit_tree(repo, tree, [head], "child\n")
    assert git("log", "-1", "--format=%an|%P|%s", commit, cwd=repo) == f"Test User|{head}|child"


def test_git_path_of_linked_worktree(repo: Path, tmp_path: Path) -> None:
    git("worktree", "add", "-q", "--detach", str(tmp_path / "wt"), cwd=repo)
    assert g.git_path(repo, "index") == repo / ".git" / "index"
    assert g.git_path(tmp_path / "wt", "index") == repo / ".git" / "worktrees" / "wt" / "index"
