"""treelane.engine.merge: merge-tree previews and applying merges to branches."""

from __future__ import annotations

from pathlib import Path

import pytest
from repokit import git

from treelane.engine import merge
from treelane.errors import RequestFailed


def commit_on(repo: Path, branch: str, files: dict[str, str | None], msg: str = "c") -> str:
    """Commit ``files`` (None deletes) on ``branch`` without touching the main worktree."""
    env = {"GIT_INDEX_FILE": str(repo / ".git" / "test-index")}
    parent = git("rev-parse", "--verify", "-q", branch, cwd=repo, check=False)
    git("read-tree", parent or "main", cwd=repo, env=env)
    for path, content in files.items():
        if content is None:
            git("rm", "-q", "--cached", path, cwd=repo, env=env)
        else:
            blob = git("hash-object", "-w", "--stdin", cwd=repo, input=content)
            git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", cwd=repo, env=env)
    tree = git("write-tree", cwd=repo, env=env)
    commit = git("commit-tree", tree, "-p", parent or git("rev-parse", "main", cwd=repo),
                 "-m", msg, cwd=repo)  # fmt: skip
    git("update-ref", f"refs/heads/{branch}", commit, cwd=repo)
    return commit


def state(repo: Path) -> tuple[str, str, bytes, str]:
    """Everything a preview must not change: refs, status, index bytes, HEAD."""
    return (
        git("for-each-ref", cwd=repo),
        git("status", "--porcelain=v2", "-z", "--untracked-files=all", cwd=repo),
        (repo / ".git" / "index").read_bytes(),
        git("rev-parse", "HEAD", cwd=repo),
    )


@pytest.fixture
def branches(repo: Path) -> Path:
    """``main`` has a.txt, b.txt, c.txt; ``feature`` and ``other`` branch off it."""
    commit_on(repo, "main", {"a.txt": "a\n1\n2\n3\n", "b.txt": "b\n", "c.txt": "c\n"}, "base")
    git("reset", "-q", "--hard", "main", cwd=repo)
    git("branch", "feature", cwd=repo)
    git("branch", "other", cwd=repo)
    return repo


def test_preview_clean(branches: Path) -> None:
    repo = branches
    commit_on(repo, "feature", {"a.txt": "a\n1\n2\n3\nfeature\n", "new.txt": "n\n"})
    commit_on(repo, "other", {"a.txt": "other\na\n1\n2\n3\n", "b.txt": None})
    before = state(repo)
    p = merge.preview(repo, "feature", "other")
    assert p.clean and p.conflicts == []
    assert not p.base_is_into
    assert p.source == git("rev-parse", "feature", cwd=repo)
    assert p.into == git("rev-parse", "other", cwd=repo)
    assert git("show", f"{p.tree}:a.txt", cwd=repo) == "other\na\n1\n2\n3\nfeature"
    names = sorted(git("ls-tree", "--name-only", p.tree, cwd=repo).split())
    assert names == ["README.md", "a.txt", "c.txt", "new.txt"]
    assert state(repo) == before


def test_preview_fast_forward(branches: Path) -> None:
    commit_on(branches, "feature", {"x": "x\n"})
    p = merge.preview(branches, "feature", "main")
    assert p.clean and p.base_is_into


def test_preview_conflicts_name_paths_and_kinds(branches: Path) -> None:
    repo = branches
    commit_on(repo, "feature", {"a.txt": "feature\n", "b.txt": None, "both.txt": "f\n",
                                "c.txt": "c\n", "fine.txt": "ok\n"})  # fmt: skip
    commit_on(repo, "other", {"a.txt": "other\n", "b.txt": "changed\n", "both.txt": "o\n"})
    (repo / "dirty.txt").write_text("untracked\n")
    (repo / "a.txt").write_text("local edit\n")
    before = state(repo)
    p = merge.preview(repo, "feature", "other")
    assert not p.clean
    assert sorted(p.conflicts) == [
        merge.Conflict("a.txt", "content"),
        merge.Conflict("b.txt", "modify/delete"),
        merge.Conflict("both.txt", "add/add"),
    ]
    assert "<<<<<<<" in git("show", f"{p.tree}:a.txt", cwd=repo)
    assert state(repo) == before
    assert (repo / "a.txt").read_text() == "local edit\n"


def test_preview_binary_conflict(branches: Path) -> None:
    commit_on(branches, "feature", {"bin": "\x00\x01feature"})
    commit_on(branches, "other", {"bin": "\x00\x02other"})
    p = merge.preview(branches, "feature", "other")
    assert not p.clean
    assert [c.path for c in p.conflicts] == ["bin"]
    assert p.conflicts[0].kind in ("binary", "add/add")


@pytest.mark.parametrize("bad", ["nope", "main~99", "-x"])
def test_preview_invalid_revision_is_not_a_conflict(branches: Path, bad: str) -> None:
    for source, into in ((bad, "main"), ("main", bad)):
        with pytest.raises((RequestFailed, ValueError)) as info:
            merge.preview(branches, source, into)
        assert repr(bad) in str(info.value)
        assert "conflict" not in str(info.value)


def test_preview_of_a_tree_is_refused(branches: Path) -> None:
    tree = git("rev-parse", "main^{tree}", cwd=branches)
    with pytest.raises(RequestFailed, match="not a commit"):
        merge.preview(branches, tree, "main")


def test_apply_into_branch_not_checked_out_makes_merge_commit(branches: Path) -> None:
    repo = branches
    f = commit_on(repo, "feature", {"new.txt": "n\n"})
    o = commit_on(repo, "other", {"c.txt": "c2\n"})
    before = state(repo)
    res = merge.apply(repo, "feature", "other", "merge feature")
    assert res.clean and res.merged and res.commit
    assert git("rev-parse", "other", cwd=repo) == res.commit
    assert git("log", "-1", "--format=%P|%s", res.commit, cwd=repo) == f"{o} {f}|merge feature"
    assert git("show", "other:new.txt", cwd=repo) == "n"
    assert git("show", "other:c.txt", cwd=repo) == "c2"
    assert git("reflog", "-1", "--format=%gs", "refs/heads/other", cwd=repo).startswith("treelane")
    # The main worktree and the other branches are untouched.
    _, status, index, head = state(repo)
    assert (status, index, head) == before[1:]
    assert git("rev-parse", "feature", cwd=repo) == f


def test_apply_fast_forwards_when_possible(branches: Path) -> None:
    f = commit_on(branches, "feature", {"new.txt": "n\n"})
    res = merge.apply(branches, "feature", "other", "msg")
    assert res.merged and res.commit == f
    assert git("rev-parse", "other", cwd=branches) == f


def test_apply_when_already_merged_changes_nothing(branches: Path) -> None:
    o = commit_on(branches, "other", {"x": "x\n"})
    res = merge.apply(branches, "main", "other", "msg")
    assert res.clean and not res.merged and res.commit == o
    assert git("rev-parse", "other", cwd=branches) == o


def test_apply_with_conflicts_is_refused(branches: Path) -> None:
    commit_on(branches, "feature", {"a.txt": "f\n"})
    o = commit_on(branches, "other", {"a.txt": "o\n"})
    with pytest.raises(RequestFailed, match=r"conflicts in a\.txt"):
        merge.apply(branches, "feature", "other", "msg")
    assert git("rev-parse", "other", cwd=branches) == o


def test_apply_refuses_bad_branch_names(branches: Path) -> None:
    with pytest.raises(ValueError):
        merge.apply(branches, "feature", "a..b", "msg")
    with pytest.raises(RequestFailed, match="no-such-branch"):
        merge.apply(branches, "feature", "no-such-branch", "msg")


def test_apply_into_checked_out_branch_refuses_overlapping_local_changes(branches: Path) -> None:
    repo = branches
    commit_on(repo, "feature", {"a.txt": "a\n1\n2\n3\nfeature\n", "b.txt": "b2\n", "n.txt": "n\n"})
    git("commit", "-q", "--allow-empty", "-m", "diverge", cwd=repo)  # no fast-forward
    (repo / "a.txt").write_text("local\n")  # unstaged overlap
    (repo / "b.txt").write_text("staged\n")
    git("add", "b.txt", cwd=repo)  # staged overlap
    (repo / "n.txt").write_text("untracked\n")  # untracked overlap
    (repo / "c.txt").write_text("unrelated\n")  # not touched by the merge
    before = state(repo)
    with pytest.raises(RequestFailed) as info:
        merge.apply(repo, "feature", "main", "msg")
    msg = str(info.value)
    assert "a.txt" in msg and "b.txt" in msg and "n.txt" in msg and "c.txt" not in msg
    assert state(repo) == before
    assert (repo / "a.txt").read_text() == "local\n"


def test_apply_into_checked_out_branch_keeps_non_overlapping_changes(branches: Path) -> None:
    repo = branches
    f = commit_on(repo, "feature", {"a.txt": "a\n1\n2\n3\nfeature\n", "new.txt": "n\n"})
    git("commit", "-q", "--allow-empty", "-m", "diverge", cwd=repo)
    main_before = git("rev-parse", "main", cwd=repo)
    (repo / "c.txt").write_text("local\n")
    (repo / "b.txt").write_text("staged\n")
    git("add", "b.txt", cwd=repo)
    (repo / "untracked.txt").write_text("u\n")
    res = merge.apply(repo, "feature", "main", "merge it")
    assert res.merged
    assert git("rev-parse", "main", cwd=repo) == res.commit
    assert git("log", "-1", "--format=%P", "main", cwd=repo) == f"{main_before} {f}"
    assert git("symbolic-ref", "HEAD", cwd=repo) == "refs/heads/main"
    assert (repo / "a.txt").read_text() == "a\n1\n2\n3\nfeature\n"
    assert (repo / "new.txt").read_text() == "n\n"
    assert (repo / "c.txt").read_text() == "local\n"
    assert (repo / "untracked.txt").read_text() == "u\n"
    status = git("status", "--porcelain", cwd=repo).splitlines()
    assert sorted(status) == sorted(["?? untracked.txt", " M c.txt", "M  b.txt"])


def test_apply_refuses_local_changes_to_renamed_paths(branches: Path) -> None:
    """A merge that renames a.txt deletes it: a local edit of a.txt is an overlap."""
    repo = branches
    content = git("show", "main:a.txt", cwd=repo) + "\n"
    commit_on(repo, "feature", {"a.txt": None, "renamed.txt": content})
    git("commit", "-q", "--allow-empty", "-m", "diverge", cwd=repo)
    (repo / "a.txt").write_text(content + "local\n")
    before = state(repo)
    with pytest.raises(RequestFailed, match=r"uncommitted changes in a\.txt"):
        merge.apply(repo, "feature", "main", "msg")
    assert state(repo) == before


def test_apply_into_branch_of_linked_worktree(branches: Path, tmp_path: Path) -> None:
    repo = branches
    wt = tmp_path / "linked"
    git("worktree", "add", "-q", str(wt), "other", cwd=repo)
    f = commit_on(repo, "feature", {"new.txt": "n\n"})
    assert merge.checked_out_in(repo, "refs/heads/other") == wt.resolve()
    assert merge.checked_out_in(repo, "refs/heads/feature") is None
    res = merge.apply(repo, "feature", "other", "msg")
    assert res.commit == f
    assert (wt / "new.txt").read_text() == "n\n"
    assert git("status", "--porcelain", cwd=wt) == ""


def test_merged_commit_merges_in_order(branches: Path) -> None:
    repo = branches
    base = git("rev-parse", "main", cwd=repo)
    c1 = commit_on(repo, "b1", {"one.txt": "1\n"})
    c2 = commit_on(repo, "b2", {"two.txt": "2\n"})
    c3 = commit_on(repo, "b1", {"three.txt": "3\n"})  # descends from c1
    commit, conflicts = merge.merged_commit(repo, [c1, c2, c3, base], "inputs")
    assert conflicts == [] and commit is not None
    names = sorted(git("ls-tree", "--name-only", commit, cwd=repo).split())
    assert names == ["README.md", "a.txt", "b.txt", "c.txt", "one.txt", "three.txt", "two.txt"]
    for c in (c1, c2, c3, base):
        git("merge-base", "--is-ancestor", c, commit, cwd=repo)

    # A single commit and an ancestor chain need no merge commit.
    assert merge.merged_commit(repo, [c1], "m") == (c1, [])
    assert merge.merged_commit(repo, [c1, c3], "m") == (c3, [])
    assert merge.merged_commit(repo, [c3, c1], "m") == (c3, [])


def test_merged_commit_reports_conflicts(branches: Path) -> None:
    c1 = commit_on(branches, "b1", {"a.txt": "one\n"})
    c2 = commit_on(branches, "b2", {"x.txt": "x\n"})
    c3 = commit_on(branches, "b3", {"a.txt": "three\n"})
    conflicts = [merge.Conflict("a.txt", "content")]
    assert merge.merged_commit(branches, [c1, c2, c3], "m") == (None, conflicts)
