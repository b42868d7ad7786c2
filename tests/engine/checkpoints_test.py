"""treelane.engine.checkpoints: checkpoint, undo and redo of a worktree's whole state."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from repokit import git

from treelane.engine import snapshot
from treelane.engine.checkpoints import (
    CHECKPOINT_REFS,
    DROPPED_REFS,
    RECOVERY_REFS,
    Checkpoint,
    Checkpoints,
)
from treelane.engine.workspace import Workspace, open_workspace
from treelane.errors import RequestFailed
from treelane.storage.db import Store

# --- fixtures and helpers ------------------------------------------------------------

Target = tuple[str, Path]


@pytest.fixture
def project(repo: Path) -> Path:
    """The repository with a few more committed files, an ignore file and an executable."""
    (repo / "src").mkdir()
    (repo / "src" / "a.txt").write_text("a\n")
    (repo / "src" / "b.txt").write_text("b\n")
    (repo / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (repo / "data.bin").write_bytes(bytes(range(256)))
    (repo / "dir with space").mkdir()
    (repo / "dir with space" / "ünïcødé file.txt").write_text("u\n")
    (repo / ".gitignore").write_text("*.log\nbuild/\n")
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "project", cwd=repo)
    return repo


@pytest.fixture
def cps(ws: Workspace, store: Store) -> Checkpoints:
    return Checkpoints(ws, store)


@pytest.fixture(params=["main", "linked"])
def target(request: pytest.FixtureRequest, project: Path, tmp_path: Path) -> Target:
    """The main worktree (id "main", the repository root) or a linked detached worktree."""
    if request.param == "main":
        return "main", project
    path = tmp_path / "linked"
    git("worktree", "add", "-q", "--detach", str(path), cwd=project)
    return "wt-1", path.resolve()


def fs_state(root: Path) -> dict[str, tuple[str, bytes]]:
    """Every file, symlink and folder under ``root`` (but .git) with kind/mode and content."""
    out: dict[str, tuple[str, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        if base == root:
            dirnames[:] = [d for d in dirnames if d != ".git"]
            filenames = [f for f in filenames if f != ".git"]
        for d in list(dirnames):
            rel = str((base / d).relative_to(root))
            if (base / d).is_symlink():
                out[rel] = ("link", os.readlink(base / d).encode())
                dirnames.remove(d)
            else:
                out[rel + "/"] = ("dir", b"")
        for f in filenames:
            p = base / f
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p).encode())
            else:
                kind = "exec" if os.stat(p).st_mode & stat.S_IXUSR else "file"
                out[rel] = (kind, p.read_bytes())
    return out


def index_state(path: Path) -> str:
    return git("ls-files", "-s", "-z", cwd=path)


def state(path: Path) -> tuple[dict[str, tuple[str, bytes]], str]:
    return fs_state(path), index_state(path)


def files_tree(path: Path, tmp: Path) -> str:
    """The tree of every non-ignored file, computed independently of treelane."""
    env = {"GIT_INDEX_FILE": str(tmp / f"files-tree-index-{os.getpid()}")}
    try:
        git("add", "-A", cwd=path, env=env)
        return git("write-tree", cwd=path, env=env)
    finally:
        Path(env["GIT_INDEX_FILE"]).unlink(missing_ok=True)


def refs(repo: Path, prefix: str) -> dict[str, str]:
    lines = git("for-each-ref", "--format=%(refname) %(objectname)", prefix, cwd=repo)
    return dict(line.split(" ") for line in lines.splitlines())


# --- change kinds ------------------------------------------------------------------------


def modify(p: Path) -> None:
    (p / "src" / "a.txt").write_text("a changed\n")


def staged_mix(p: Path) -> None:
    (p / "src" / "a.txt").write_text("a staged\n")
    (p / "src" / "b.txt").write_text("b staged\n")
    git("add", "src", cwd=p)
    (p / "src" / "a.txt").write_text("a staged, then edited again\n")
    (p / "README.md").write_text("unstaged only\n")


def add_untracked(p: Path) -> None:
    (p / "untracked.txt").write_text("new\n")


def add_staged_new(p: Path) -> None:
    (p / "staged-new.txt").write_text("new\n")
    git("add", "staged-new.txt", cwd=p)


def delete(p: Path) -> None:
    (p / "src" / "b.txt").unlink()
    git("rm", "-q", "--cached", "run.sh", cwd=p)
    (p / "run.sh").unlink()


def chmod_x(p: Path) -> None:
    (p / "src" / "a.txt").chmod(0o755)
    (p / "run.sh").chmod(0o644)


def binary(p: Path) -> None:
    (p / "data.bin").write_bytes(b"\x00\xff\xfe" * 1000)
    (p / "new.bin").write_bytes(bytes(range(255, -1, -1)) + b"\x00")


def unicode_paths(p: Path) -> None:
    (p / "dir with space" / "ünïcødé file.txt").write_text("changed ü\n")
    (p / "dir with space" / "nëw fïlé with spaces.txt").write_text("x\n")
    (p / "日本語").mkdir()
    (p / "日本語" / "ファイル 1.txt").write_text("y\n")
    (p / "tab\there.txt").write_text("tab\n")


def nested_dirs(p: Path) -> None:
    (p / "new" / "deep" / "er").mkdir(parents=True)
    (p / "new" / "deep" / "er" / "file.txt").write_text("deep\n")
    (p / "src" / "sub" / "sub2").mkdir(parents=True)
    (p / "src" / "sub" / "sub2" / "x.txt").write_text("x\n")


def replace_file_with_dir(p: Path) -> None:
    (p / "src" / "b.txt").unlink()
    (p / "src" / "b.txt").mkdir()
    (p / "src" / "b.txt" / "inner.txt").write_text("inner\n")


def symlink(p: Path) -> None:
    (p / "link").symlink_to("src/a.txt")


def everything(p: Path) -> None:
    for change in (staged_mix, add_untracked, delete, binary, unicode_paths, nested_dirs):
        change(p)


CHANGES: list[Callable[[Path], None]] = [
    modify,
    staged_mix,
    add_untracked,
    add_staged_new,
    delete,
    chmod_x,
    binary,
    unicode_paths,
    nested_dirs,
    replace_file_with_dir,
    symlink,
    everything,
]


# --- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: c.__name__)
def test_checkpoint_undo_redo_round_trip(
    cps: Checkpoints, target: Target, change: Callable[[Path], None]
) -> None:
    wt_id, path = target
    s0 = state(path)
    c0 = cps.checkpoint(wt_id, path, "base")
    change(path)
    s1 = state(path)
    assert s1 != s0
    c1 = cps.checkpoint(wt_id, path, "changed")
    assert c1.id > c0.id
    assert state(path) == s1  # checkpoint changes nothing

    assert cps.undo(wt_id, path) == c0
    assert state(path) == s0
    assert cps.redo(wt_id, path) == c1
    assert state(path) == s1
    assert cps.undo(wt_id, path) == c0
    assert state(path) == s0
    assert git("status", "--porcelain", cwd=path) == ""


@pytest.mark.parametrize("change", [staged_mix, nested_dirs, everything], ids=lambda c: c.__name__)
def test_undo_saves_the_present_state_first(
    cps: Checkpoints, target: Target, change: Callable[[Path], None]
) -> None:
    wt_id, path = target
    s0 = state(path)
    c0 = cps.checkpoint(wt_id, path)
    change(path)
    s1 = state(path)
    assert cps.undo(wt_id, path) == c0  # no explicit checkpoint of the change
    assert state(path) == s0
    hist = cps.history(wt_id)
    assert [c.message for c in hist.checkpoints] == ["checkpoint", "before undo"]
    assert hist.current == c0.id and hist.pending is None
    assert cps.redo(wt_id, path) == hist.checkpoints[1]
    assert state(path) == s1


def test_staged_state_is_recorded_as_a_second_parent(cps: Checkpoints, project: Path) -> None:
    head = git("rev-parse", "HEAD", cwd=project)
    staged_mix(project)
    index_tree = git("write-tree", cwd=project)
    c = cps.checkpoint("main", project)
    assert c.head == head and c.index_tree == index_tree
    parents = git("log", "-1", "--format=%P", c.commit, cwd=project).split()
    assert parents[0] == head
    assert git("rev-parse", f"{parents[1]}^{{tree}}", cwd=project) == index_tree
    assert git("rev-parse", f"{c.commit}^{{tree}}", cwd=project) == c.tree
    assert git("show", f"{c.commit}:src/a.txt", cwd=project) == "a staged, then edited again"
    # Without staged changes there is a single parent.
    modify(project)
    git("add", "-A", cwd=project)
    c2 = cps.checkpoint("main", project)
    assert git("log", "-1", "--format=%P", c2.commit, cwd=project) == head


def test_ignored_files_are_untouched(cps: Checkpoints, target: Target) -> None:
    wt_id, path = target
    (path / "old.log").write_text("before\n")
    (path / "build").mkdir()
    (path / "build" / "out.o").write_text("obj\n")
    c0 = cps.checkpoint(wt_id, path)
    assert "old.log" not in git("ls-tree", "-r", "--name-only", c0.tree, cwd=path).split("\n")
    (path / "old.log").write_text("after\n")
    (path / "new.log").write_text("new\n")
    (path / "build" / "out.o").write_text("obj 2\n")
    (path / "newdir").mkdir()
    (path / "newdir" / "tracked.txt").write_text("t\n")
    (path / "newdir" / "keep.log").write_text("k\n")
    modify(path)
    cps.checkpoint(wt_id, path)
    cps.undo(wt_id, path)
    assert (path / "old.log").read_text() == "after\n"
    assert (path / "new.log").read_text() == "new\n"
    assert (path / "build" / "out.o").read_text() == "obj 2\n"
    assert not (path / "newdir" / "tracked.txt").exists()
    assert (path / "newdir" / "keep.log").read_text() == "k\n"  # so newdir stays
    assert (path / "src" / "a.txt").read_text() == "a\n"


def test_checkpoint_touches_neither_files_nor_index(cps: Checkpoints, target: Target) -> None:
    wt_id, path = target
    everything(path)
    index_file = Path(git("rev-parse", "--path-format=absolute", "--git-path", "index", cwd=path))
    before = (
        git("status", "--porcelain=v2", "-z", "--untracked-files=all", cwd=path),
        index_file.read_bytes(),
        os.stat(index_file).st_mtime_ns,
        fs_state(path),
        {p: os.stat(path / p).st_mtime_ns for p in fs_state(path) if not p.endswith("/")},
    )
    c = cps.checkpoint(wt_id, path)
    after = (
        git("status", "--porcelain=v2", "-z", "--untracked-files=all", cwd=path),
        index_file.read_bytes(),
        os.stat(index_file).st_mtime_ns,
        fs_state(path),
        {p: os.stat(path / p).st_mtime_ns for p in fs_state(path) if not p.endswith("/")},
    )
    assert after == before
    assert c.tree == files_tree(path, path.parent)
    # No temporary index is left behind in the git dir.
    gdir = Path(git("rev-parse", "--absolute-git-dir", cwd=path))
    assert [p.name for p in gdir.iterdir() if p.name.startswith("treelane-index")] == []


def _next_second() -> None:
    time.sleep(1.0 - time.time() % 1.0 + 0.01)


def test_edit_in_the_same_second_as_the_index_is_seen(cps: Checkpoints, project: Path) -> None:
    """Racy git: an edit right after ``git add`` (same second, same size) is still a change."""
    wt_id, path = "main", project
    f = path / "src" / "a.txt"
    for attempt in range(3):
        _next_second()
        start = int(time.time())
        f.write_text(f"first {attempt}\n")
        git("add", "src/a.txt", cwd=path)
        with f.open("r+") as fh:  # same inode, same size
            fh.write(f"again {attempt}\n")
        if int(time.time()) == start:
            break
    else:
        pytest.skip("could not edit within one second")
    _next_second()
    assert git("status", "--porcelain", cwd=path) == "MM src/a.txt"  # git sees the edit
    c = cps.checkpoint(wt_id, path)
    assert git("show", f"{c.tree}:src/a.txt", cwd=path) == f"again {attempt}"
    assert git("show", f"{c.index_tree}:src/a.txt", cwd=path) == f"first {attempt}"


def test_checkpoint_of_unchanged_worktree_returns_existing(
    cps: Checkpoints, target: Target
) -> None:
    wt_id, path = target
    modify(path)
    c1 = cps.checkpoint(wt_id, path, "first")
    assert cps.checkpoint(wt_id, path, "second") == c1
    assert len(cps.history(wt_id).checkpoints) == 1
    # Staging the same content is a change of the index, hence a new checkpoint.
    git("add", "src/a.txt", cwd=path)
    c2 = cps.checkpoint(wt_id, path)
    assert c2.id != c1.id and c2.tree == c1.tree and c2.index_tree != c1.index_tree


def test_new_checkpoint_after_undo_drops_redo(cps: Checkpoints, target: Target) -> None:
    wt_id, path = target
    repo = cps.ws.root
    c0 = cps.checkpoint(wt_id, path)
    modify(path)
    c1 = cps.checkpoint(wt_id, path)
    add_untracked(path)
    c2 = cps.checkpoint(wt_id, path)
    cps.undo(wt_id, path)
    cps.undo(wt_id, path)
    assert cps.history(wt_id).current == c0.id
    binary(path)
    c3 = cps.checkpoint(wt_id, path, "new branch of history")
    hist = cps.history(wt_id)
    assert [c.id for c in hist.checkpoints] == [c0.id, c3.id]
    assert hist.current == c3.id
    with pytest.raises(RequestFailed, match="nothing to redo"):
        cps.redo(wt_id, path)
    live = refs(repo, f"{CHECKPOINT_REFS}/{wt_id}")
    assert live == {f"{CHECKPOINT_REFS}/{wt_id}/{c.id}": c.commit for c in (c0, c3)}
    dropped = refs(repo, f"{DROPPED_REFS}/{wt_id}")
    assert dropped == {f"{DROPPED_REFS}/{wt_id}/{c.id}": c.commit for c in (c1, c2)}
    # The dropped work is still there to be had.
    assert git("show", f"{DROPPED_REFS}/{wt_id}/{c2.id}:untracked.txt", cwd=repo) == "new"
    assert cps.undo(wt_id, path) == c0


def test_redo_refused_when_worktree_changed(cps: Checkpoints, target: Target) -> None:
    wt_id, path = target
    cps.checkpoint(wt_id, path)
    modify(path)
    cps.checkpoint(wt_id, path)
    cps.undo(wt_id, path)
    (path / "src" / "b.txt").write_text("edited after undo\n")
    add_untracked(path)
    before = state(path)
    hist = cps.history(wt_id)
    with pytest.raises(RequestFailed, match="has changed since checkpoint"):
        cps.redo(wt_id, path)
    assert state(path) == before
    assert cps.history(wt_id) == hist


def test_nothing_to_undo(cps: Checkpoints, target: Target) -> None:
    wt_id, path = target
    with pytest.raises(RequestFailed, match=r"nothing to undo.*no checkpoints"):
        cps.undo(wt_id, path)
    with pytest.raises(RequestFailed, match="nothing to redo"):
        cps.redo(wt_id, path)
    c0 = cps.checkpoint(wt_id, path)
    with pytest.raises(RequestFailed, match=r"nothing to undo.*oldest checkpoint"):
        cps.undo(wt_id, path)
    with pytest.raises(RequestFailed, match="nothing to redo"):
        cps.redo(wt_id, path)
    modify(path)
    assert cps.undo(wt_id, path) == c0
    with pytest.raises(RequestFailed, match="oldest"):
        cps.undo(wt_id, path)
    assert len(cps.history(wt_id).checkpoints) == 2


def test_checkpoints_never_touch_the_users_branch(cps: Checkpoints, project: Path) -> None:
    branch = git("rev-parse", "refs/heads/main", cwd=project)
    log = git("log", "--format=%H %s", "main", cwd=project)
    all_branches = git("for-each-ref", "refs/heads", "refs/tags", cwd=project)
    everything(project)
    c0 = cps.checkpoint("main", project)
    modify(project)
    cps.checkpoint("main", project)
    cps.undo("main", project)
    cps.redo("main", project)
    cps.undo("main", project)
    (project / "src" / "a.txt").chmod(0o755)
    cps.checkpoint("main", project)
    assert git("rev-parse", "refs/heads/main", cwd=project) == branch
    assert git("symbolic-ref", "HEAD", cwd=project) == "refs/heads/main"
    assert git("log", "--format=%H %s", "main", cwd=project) == log
    assert git("for-each-ref", "refs/heads", "refs/tags", cwd=project) == all_branches
    assert c0.head == branch
    assert git("reflog", "main", cwd=project).count("\n") == 1  # init + project commits only


def test_worktrees_have_separate_histories(cps: Checkpoints, project: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    git("worktree", "add", "-q", "--detach", str(other), cwd=project)
    cps.checkpoint("main", project)
    modify(project)
    cps.checkpoint("main", project)
    cps.checkpoint("other", other)
    add_untracked(other)
    cps.undo("main", project)
    assert (other / "untracked.txt").exists()
    assert (project / "src" / "a.txt").read_text() == "a\n"
    assert len(cps.history("other").checkpoints) == 1


def test_worktree_recreated_at_the_same_path(
    cps: Checkpoints, project: Path, tmp_path: Path
) -> None:
    """A worktree re-created where one was gets another admin folder: no stale paths."""
    a, b = tmp_path / "a" / "linked", tmp_path / "b" / "linked"
    git("worktree", "add", "-q", "--detach", str(a), cwd=project)
    cps.checkpoint("wt-a", a)
    git("worktree", "remove", str(a), cwd=project)
    git("worktree", "add", "-q", "--detach", str(b), cwd=project)  # takes the admin name
    (b / "staged.txt").write_text("b's\n")
    git("add", "staged.txt", cwd=b)
    git("worktree", "add", "-q", "--detach", str(a), cwd=project)
    modify(a)
    c = cps.checkpoint("wt-a", a)
    assert c.index_tree == git("write-tree", cwd=a) == git("rev-parse", "HEAD^{tree}", cwd=a)
    assert c.tree == files_tree(a, tmp_path)


def test_unborn_branch(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    git("init", "-q", "-b", "main", cwd=root)
    ws = open_workspace(root)
    store = Store(ws.db_path)
    try:
        cps = Checkpoints(ws, store)
        (root / "a.txt").write_text("a\n")
        c0 = cps.checkpoint("main", root)
        assert c0.head is None
        (root / "b.txt").write_text("b\n")
        cps.undo("main", root)
        assert not (root / "b.txt").exists() and (root / "a.txt").exists()
    finally:
        store.close()


def test_undo_during_a_merge_conflict(cps: Checkpoints, project: Path) -> None:
    git("checkout", "-q", "-b", "side", cwd=project)
    (project / "src" / "a.txt").write_text("side\n")
    git("commit", "-q", "-am", "side", cwd=project)
    git("checkout", "-q", "main", cwd=project)
    (project / "src" / "a.txt").write_text("main\n")
    git("commit", "-q", "-am", "main", cwd=project)
    git("merge", "-q", "side", cwd=project, check=False)
    assert "UU src/a.txt" in git("status", "--porcelain", cwd=project)
    conflicted = (project / "src" / "a.txt").read_text()
    c0 = cps.checkpoint("main", project)
    assert "UU src/a.txt" in git("status", "--porcelain", cwd=project)  # index untouched
    (project / "src" / "a.txt").write_text("resolved\n")
    (project / "extra.txt").write_text("x\n")
    assert cps.undo("main", project) == c0
    assert (project / "src" / "a.txt").read_text() == conflicted
    assert not (project / "extra.txt").exists()
    redo = cps.redo("main", project)
    assert (project / "src" / "a.txt").read_text() == "resolved\n"
    assert cps.history("main").pending is None and redo.id > c0.id


def test_concurrent_checkpoints_of_one_worktree(cps: Checkpoints, project: Path) -> None:
    modify(project)
    results: list[Checkpoint] = []
    threads = [
        threading.Thread(target=lambda: results.append(cps.checkpoint("main", project)))
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6 and len({c.id for c in results}) == 1
    assert len(cps.history("main").checkpoints) == 1


@pytest.mark.parametrize("bad", ["../x", "a/b", "", "-x", "x.lock"])
def test_worktree_ids_are_validated(cps: Checkpoints, project: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="worktree id"):
        cps.checkpoint(bad, project)
    with pytest.raises(ValueError, match="worktree id"):
        cps.undo(bad, project)


# --- crash recovery ---------------------------------------------------------------------


def _journal(store: Store, wt_id: str, current: int, pending: int) -> None:
    """What ``_restore`` writes before touching any file."""
    store.execute(
        "UPDATE checkpoint_heads SET current = ?, pending = ? WHERE worktree = ?",
        (current, pending, wt_id),
    )


def test_crash_mid_restore_saves_unknown_state_and_completes(
    cps: Checkpoints, store: Store, target: Target, tmp_path: Path
) -> None:
    wt_id, path = target
    staged_mix(path)  # the target has a staged state of its own
    s0 = state(path)
    c0 = cps.checkpoint(wt_id, path)
    (path / "README.md").write_text("changed again\n")
    add_untracked(path)
    nested_dirs(path)
    s1 = state(path)
    c1 = cps.checkpoint(wt_id, path)
    # An undo to c0 that died half way: journal written, some files restored.
    _journal(store, wt_id, c1.id, c0.id)
    (path / "README.md").write_text("unstaged only\n")
    (path / "untracked.txt").unlink()
    partial = files_tree(path, tmp_path)
    assert partial not in (c0.tree, c1.tree)
    assert cps.history(wt_id).pending == c0.id

    assert cps.checkpoint(wt_id, path) == c0  # finishes the undo first
    assert state(path) == s0
    hist = cps.history(wt_id)
    assert hist.pending is None and hist.current == c0.id
    recovery = refs(cps.ws.root, f"{RECOVERY_REFS}/{wt_id}")
    assert len(recovery) == 1
    (commit,) = recovery.values()
    assert git("rev-parse", f"{commit}^{{tree}}", cwd=path) == partial
    assert cps.redo(wt_id, path) == c1
    assert state(path) == s1


def test_crash_after_files_before_pointer_then_redo(
    cps: Checkpoints, store: Store, target: Target
) -> None:
    wt_id, path = target
    s0 = state(path)
    c0 = cps.checkpoint(wt_id, path)
    staged_mix(path)
    s1 = state(path)
    c1 = cps.checkpoint(wt_id, path)
    _journal(store, wt_id, c1.id, c0.id)
    with snapshot.session(path) as s:
        s.restore(c0.tree, c0.index_tree)
    with pytest.raises(RequestFailed, match="oldest"):
        cps.undo(wt_id, path)  # the interrupted undo is completed, c0 is the oldest
    assert state(path) == s0
    assert refs(cps.ws.root, RECOVERY_REFS) == {}  # the files were the target: nothing to save
    assert cps.history(wt_id).current == c0.id
    assert cps.redo(wt_id, path) == c1
    assert state(path) == s1


def test_crash_before_any_file_was_written(cps: Checkpoints, store: Store, target: Target) -> None:
    wt_id, path = target
    s0 = state(path)
    c0 = cps.checkpoint(wt_id, path)
    everything(path)
    c1 = cps.checkpoint(wt_id, path)
    _journal(store, wt_id, c1.id, c0.id)
    assert cps.checkpoint(wt_id, path) == c0
    assert state(path) == s0
    assert refs(cps.ws.root, RECOVERY_REFS) == {}  # the files were the current checkpoint


def test_crash_between_files_and_index(cps: Checkpoints, store: Store, target: Target) -> None:
    wt_id, path = target
    s0 = state(path)
    c0 = cps.checkpoint(wt_id, path)
    staged_mix(path)
    c1 = cps.checkpoint(wt_id, path)
    _journal(store, wt_id, c1.id, c0.id)
    with snapshot.session(path) as s:
        s.take()
        s.restore(c0.tree, c1.index_tree)  # files written, index not yet
    assert cps.checkpoint(wt_id, path) == c0
    assert state(path) == s0


_CHILD = textwrap.dedent(
    """
    import random, subprocess, sys
    from pathlib import Path
    from treelane.engine.checkpoints import Checkpoints
    from treelane.engine.workspace import open_workspace
    from treelane.errors import RequestFailed
    from treelane.storage.db import Store

    path, wt_id, seed = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    ws = open_workspace(path)
    cps = Checkpoints(ws, Store(ws.db_path))
    rnd = random.Random(seed)
    print("ready", flush=True)
    n = 0
    while True:
        op = rnd.choice(["edit", "edit", "undo", "undo", "redo"])
        try:
            if op == "edit":
                n += 1
                for i in rnd.sample(range(6), 3):
                    f = path / "d" / f"f{i}.txt"
                    f.parent.mkdir(exist_ok=True)
                    if rnd.random() < 0.25 and f.exists():
                        f.unlink()
                    else:
                        f.write_text(f"{seed} {n} {i}\\n" * 200)
                if rnd.random() < 0.3:
                    subprocess.run(["git", "add", "-A", "d"], cwd=path, check=True)
                cps.checkpoint(wt_id, path, f"edit {n}")
            elif op == "undo":
                cps.undo(wt_id, path)
            else:
                cps.redo(wt_id, path)
        except RequestFailed:
            pass
    """
)


def _wait_gone(procs: list[psutil.Process], timeout: float = 20) -> None:
    """Wait until ``procs`` exit; orphans may stay zombies (no reaper), which counts as gone."""
    deadline = time.monotonic() + timeout
    for p in procs:
        while time.monotonic() < deadline:
            try:
                if p.status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.01)
        else:
            raise AssertionError(f"{p} still running")


def _kill_at_random(path: Path, wt_id: str, seed: int, delay: float) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), wt_id, str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
    time.sleep(delay)
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    os.kill(proc.pid, signal.SIGSTOP)  # freeze it, so that it starts no more git processes
    children = psutil.Process(proc.pid).children(recursive=True)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # Its git processes (if any) run to their end, as they would after a real crash.
    _wait_gone(children)
    proc.stdout.close()
    if proc.stderr:
        proc.stderr.close()


@pytest.mark.timeout(120)
def test_sigkill_at_random_moments_loses_nothing(
    ws: Workspace, project: Path, tmp_path: Path
) -> None:
    wt_id, path = "wt-k", tmp_path / "killme"
    git("worktree", "add", "-q", "--detach", str(path), cwd=project)
    seed = int(os.environ.get("TREELANE_KILL_SEED", "20240607"))
    rnd = random.Random(seed)
    for iteration in range(int(os.environ.get("TREELANE_KILL_ITERATIONS", "6"))):
        _kill_at_random(path, wt_id, seed=seed + iteration, delay=rnd.uniform(0.15, 0.9))
        at_crash = files_tree(path, tmp_path)
        store = Store(ws.db_path)
        try:
            cps = Checkpoints(ws, store)  # a fresh object, as after a restart
            c = cps.checkpoint(wt_id, path)
            hist = cps.history(wt_id)
            assert hist.pending is None and hist.current == c.id
            assert files_tree(path, tmp_path) == c.tree
            assert git("write-tree", cwd=path) == c.index_tree

            # Nothing lost: the state at the crash is a checkpoint or was saved for recovery.
            trees = {r["tree"] for r in store.query("SELECT tree FROM checkpoints")}
            held = refs(project, "refs/treelane")
            recovered = {git("rev-parse", f"{sha}^{{tree}}", cwd=project)
                         for ref, sha in held.items() if ref.startswith(RECOVERY_REFS)}  # fmt: skip
            assert at_crash in trees | recovered, f"seed {seed}, iteration {iteration}"
            # Every checkpoint commit, live or dropped, is held by a ref.
            for row in store.query("SELECT id, commit_sha, dropped FROM checkpoints"):
                kind = DROPPED_REFS if row["dropped"] else CHECKPOINT_REFS
                assert held.get(f"{kind}/{wt_id}/{row['id']}") == row["commit_sha"], row

            # Undo and redo work from here.
            ids = [x.id for x in hist.checkpoints]
            if ids.index(c.id) > 0:
                prev = hist.checkpoints[ids.index(c.id) - 1]
                assert cps.undo(wt_id, path) == prev
                assert files_tree(path, tmp_path) == prev.tree
                assert cps.redo(wt_id, path) == c
                assert files_tree(path, tmp_path) == c.tree
        finally:
            store.close()
