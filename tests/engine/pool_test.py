"""treelane.engine.pool: leasing, reusing, checking and removing managed worktrees."""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from repokit import git

from treelane.engine import snapshot
from treelane.engine.pool import SAVED_REFS, Lease, PoolConfig, WorktreePool
from treelane.engine.workspace import Workspace, open_workspace
from treelane.errors import RequestFailed
from treelane.storage.db import Store

ROOT = Path(__file__).resolve().parents[2]

PoolFactory = Callable[..., WorktreePool]


@pytest.fixture
def project(repo: Path) -> Path:
    (repo / ".gitignore").write_text("build/\n.env\n.venv/\n*.log\n")
    (repo / "src").mkdir()
    (repo / "src" / "a.txt").write_text("a\n")
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "project", cwd=repo)
    return repo


@pytest.fixture
def make_pool(ws: Workspace, store: Store) -> PoolFactory:
    def make(**config: object) -> WorktreePool:
        return WorktreePool(ws, store, PoolConfig(**config))  # type: ignore[arg-type]

    return make


@pytest.fixture
def pool(make_pool: PoolFactory) -> WorktreePool:
    return make_pool()


def head(path: Path) -> str:
    return git("rev-parse", "HEAD", cwd=path)


def status(path: Path) -> str:
    return git("status", "--porcelain", "--untracked-files=all", cwd=path)


def worktree_paths(repo: Path) -> list[str]:
    out = git("worktree", "list", "--porcelain", cwd=repo)
    return [line[len("worktree ") :] for line in out.splitlines() if line.startswith("worktree ")]


def second_commit(repo: Path) -> str:
    (repo / "src" / "a.txt").write_text("a2\n")
    (repo / "src" / "new.txt").write_text("new\n")
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "second", cwd=repo)
    return head(repo)


# --- acquire / release ----------------------------------------------------------------


def test_acquire_gives_clean_detached_worktree(pool: WorktreePool, project: Path) -> None:
    first = head(project)
    second = second_commit(project)
    lease = pool.acquire(first)
    assert lease.commit == first and head(lease.path) == first
    assert lease.path.parent == project / ".git" / "treelane" / "worktrees"
    assert git("symbolic-ref", "-q", "HEAD", cwd=lease.path, check=False) == ""  # detached
    assert status(lease.path) == ""
    assert (lease.path / "src" / "a.txt").read_text() == "a\n"
    assert str(lease.path) in worktree_paths(project)
    # The user's checkout sees nothing of it, not even as an ignored folder.
    assert status(project) == ""
    assert git("status", "--porcelain", "--ignored", cwd=project) == ""
    assert git("rev-parse", "HEAD", cwd=project) == second
    assert git("symbolic-ref", "HEAD", cwd=project) == "refs/heads/main"
    (info,) = pool.list()
    assert (info.id, info.state, info.commit, info.dirty) == (lease.id, "busy", first, False)
    assert info.owner == f"{os.getpid()}@{pool.owner.host}"


def test_acquire_resolves_names_and_refuses_bad_ones(pool: WorktreePool, project: Path) -> None:
    lease = pool.acquire("main")
    assert lease.commit == head(project)
    for bad in ["no-such-branch", "--orphan", "main~42"]:
        with pytest.raises((RequestFailed, ValueError)):
            pool.acquire(bad)
    assert len(pool.list()) == 1
    assert len(worktree_paths(project)) == 2


def test_release_and_acquire_reuses_warm_worktree(pool: WorktreePool, project: Path) -> None:
    first = head(project)
    second = second_commit(project)
    lease = pool.acquire(first)
    (lease.path / "untracked.txt").write_text("u\n")
    (lease.path / "newdir" / "deep").mkdir(parents=True)
    (lease.path / "newdir" / "deep" / "f").write_text("f\n")
    (lease.path / "src" / "a.txt").write_text("modified\n")
    git("add", "src/a.txt", cwd=lease.path)
    (lease.path / "build").mkdir()
    (lease.path / "build" / "out.o").write_text("object\n")
    (lease.path / "debug.log").write_text("log\n")
    pool.release(lease.id)
    (info,) = pool.list()
    assert (info.state, info.dirty, info.drift, info.owner) == ("idle", False, None, None)

    again = pool.acquire(second)
    assert (again.id, again.path) == (lease.id, lease.path)
    assert head(again.path) == second
    assert status(again.path) == ""
    assert not (again.path / "untracked.txt").exists()
    assert not (again.path / "newdir").exists()
    assert (again.path / "src" / "a.txt").read_text() == "a2\n"
    assert (again.path / "src" / "new.txt").read_text() == "new\n"
    # Ignored files survive a normal reset (build caches stay warm).
    assert (again.path / "build" / "out.o").read_text() == "object\n"
    assert (again.path / "debug.log").exists()
    assert len(worktree_paths(project)) == 2


def test_pristine_removes_ignored_files(make_pool: PoolFactory) -> None:
    pool = make_pool(pristine=True)
    lease = pool.acquire("HEAD")
    (lease.path / "build").mkdir()
    (lease.path / "build" / "out.o").write_text("object\n")
    (lease.path / "debug.log").write_text("log\n")
    (lease.path / "untracked.txt").write_text("u\n")
    pool.release(lease.id)
    again = pool.acquire("HEAD")
    assert again.id == lease.id
    assert not (again.path / "build").exists()
    assert not (again.path / "debug.log").exists()
    assert not (again.path / "untracked.txt").exists()


def test_acquire_prefers_a_worktree_at_the_commit(pool: WorktreePool, project: Path) -> None:
    first = head(project)
    a = pool.acquire(first)
    second = second_commit(project)
    b = pool.acquire(second)
    pool.release(b.id)
    pool.release(a.id)  # most recently used, but at the other commit
    assert pool.acquire(second).id == b.id
    assert pool.acquire(first).id == a.id


def test_concurrent_acquire_in_threads_gives_distinct_worktrees(pool: WorktreePool) -> None:
    leases: list[Lease] = []
    errors: list[BaseException] = []

    def take() -> None:
        try:
            leases.append(pool.acquire("HEAD"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({lease.id for lease in leases}) == 4
    assert len({lease.path for lease in leases}) == 4


# --- include and setup ------------------------------------------------------------------


def test_include_copies_files_and_links_folders(make_pool: PoolFactory, project: Path) -> None:
    (project / ".env").write_text("SECRET=1\n")
    (project / ".venv" / "bin").mkdir(parents=True)
    (project / ".venv" / "bin" / "python").write_text("#!/bin/sh\n")
    pool = make_pool(include=(".env", ".venv", "not-there"))
    lease = pool.acquire("HEAD")
    env, venv = lease.path / ".env", lease.path / ".venv"
    assert env.is_file() and not env.is_symlink() and env.read_text() == "SECRET=1\n"
    assert venv.is_symlink() and venv.resolve() == (project / ".venv").resolve()
    assert (venv / "bin" / "python").exists()
    assert not (lease.path / "not-there").exists()
    env.write_text("SECRET=task\n")  # a copy: the task may change its own
    assert (project / ".env").read_text() == "SECRET=1\n"
    # The included things are not changes of the worktree, nor part of its snapshots.
    (info,) = pool.list()
    assert not info.dirty
    snap = snapshot.take(lease.path)
    assert snap.tree == snap.head_tree
    pool.release(lease.id)
    (info,) = pool.list()
    assert (info.dirty, info.drift) == (False, None)
    again = pool.acquire("HEAD")
    assert again.id == lease.id
    assert venv.is_symlink() and env.read_text() == "SECRET=task\n"


def test_include_survives_pristine_reset(make_pool: PoolFactory, project: Path) -> None:
    (project / ".env").write_text("SECRET=1\n")
    (project / ".venv").mkdir()
    pool = make_pool(include=(".env", ".venv"), pristine=True)
    lease = pool.acquire("HEAD")
    (lease.path / "debug.log").write_text("log\n")
    pool.release(lease.id)
    again = pool.acquire("HEAD")
    assert again.id == lease.id
    assert not (again.path / "debug.log").exists()
    assert (again.path / ".env").read_text() == "SECRET=1\n"
    assert (again.path / ".venv").is_symlink()
    assert (project / ".venv").is_dir()  # the link went, never what it points to


def test_include_outside_the_repository_is_refused(
    make_pool: PoolFactory, project: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret").write_text("s\n")
    pool = make_pool(include=("../secret",))
    with pytest.raises(ValueError, match="outside"):
        pool.acquire("HEAD")
    assert pool.list() == []
    assert worktree_paths(project) == [str(project)]


def test_setup_runs_once_per_new_worktree(
    make_pool: PoolFactory, project: Path, tmp_path: Path
) -> None:
    log = tmp_path / "setup.log"
    pool = make_pool(setup=f"pwd >> {shlex.quote(str(log))}; echo built > built.txt")
    a = pool.acquire("HEAD")
    assert log.read_text().splitlines() == [str(a.path)]
    assert (a.path / "built.txt").exists()
    pool.release(a.id)
    again = pool.acquire("HEAD")
    assert again.id == a.id
    assert log.read_text().splitlines() == [str(a.path)]  # not on reuse
    b = pool.acquire("HEAD")
    assert log.read_text().splitlines() == [str(a.path), str(b.path)]


def test_failing_setup_leaves_no_worktree(
    make_pool: PoolFactory, project: Path, ws: Workspace
) -> None:
    pool = make_pool(setup="echo partial > partial.txt; echo 'npm: not found' >&2; exit 3")
    with pytest.raises(RequestFailed, match=r"exit 3.*npm: not found"):
        pool.acquire("HEAD")
    assert pool.list() == []
    assert worktree_paths(project) == [str(project)]
    assert list(ws.worktrees_dir.iterdir()) == []
    assert git("for-each-ref", SAVED_REFS, cwd=project) == ""


def test_setup_timeout_is_a_request_failure(make_pool: PoolFactory, project: Path) -> None:
    pool = make_pool(setup="sleep 5", setup_timeout=0.3)
    with pytest.raises(RequestFailed, match="timed out"):
        pool.acquire("HEAD")
    assert pool.list() == []
    assert worktree_paths(project) == [str(project)]


# --- drift ---------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["edit", "untracked", "commit", "checkout"])
def test_drift_is_reported_and_left_alone(pool: WorktreePool, project: Path, how: str) -> None:
    first = head(project)
    second_commit(project)
    lease = pool.acquire("HEAD")
    pool.release(lease.id)
    p = lease.path
    if how == "edit":
        (p / "src" / "a.txt").write_text("edited behind treelane's back\n")
    elif how == "untracked":
        (p / "notes.txt").write_text("mine\n")
    elif how == "commit":
        git("commit", "-q", "--allow-empty", "-m", "sneaky", cwd=p)
    else:
        git("checkout", "-q", "--detach", first, cwd=p)
    before = (head(p), status(p), (p / "src" / "a.txt").read_text())

    (info,) = pool.list()
    assert info.drift is not None
    assert ("HEAD moved" in info.drift) == (how in ("commit", "checkout"))
    other = pool.acquire("HEAD")
    assert other.id != lease.id and other.path != p
    assert (head(p), status(p), (p / "src" / "a.txt").read_text()) == before
    infos = {i.id: i for i in pool.list()}
    assert infos[lease.id].drift == info.drift and infos[lease.id].state == "idle"
    # Drifted worktrees are not trimmed; cleanup removes one only if nothing would be lost.
    pool.release(other.id)
    assert pool.trim() == []
    result = pool.cleanup()
    if how == "checkout":  # a commit that main holds, no changes
        assert lease.id in result.removed and not p.exists()
    else:
        assert lease.id in [k["id"] for k in result.kept]
        assert (head(p), status(p)) == before[:2]


def test_drift_found_by_acquire_alone(pool: WorktreePool) -> None:
    lease = pool.acquire("HEAD")
    pool.release(lease.id)
    (lease.path / "src" / "a.txt").write_text("edited\n")
    other = pool.acquire("HEAD")  # no list() in between
    assert other.id != lease.id
    assert (lease.path / "src" / "a.txt").read_text() == "edited\n"
    assert {i.id: i.drift for i in pool.list()}[lease.id] == "files changed outside treelane"


# --- leases across processes ---------------------------------------------------------------

_LEASER = textwrap.dedent(
    """
    import os, random, subprocess, sys, time
    from pathlib import Path
    from treelane.engine.pool import PoolConfig, WorktreePool
    from treelane.engine.workspace import open_workspace
    from treelane.storage.db import Store

    root, out, n, go = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    commits = sys.argv[5:]
    ws = open_workspace(root)
    pool = WorktreePool(ws, Store(ws.db_path), PoolConfig(size=1))
    rnd = random.Random(os.getpid())
    while not go.exists():
        time.sleep(0.005)
    with out.open("a") as f:
        for i in range(n):
            commit = commits[i % len(commits)]
            lease = pool.acquire(commit)
            start = time.monotonic()
            marker = lease.path / f"lease-{os.getpid()}"
            seen = sorted(p.name for p in lease.path.glob("lease-*"))
            marker.write_text("mine")
            time.sleep(rnd.uniform(0, 0.03))
            seen += sorted(p.name for p in lease.path.glob("lease-*") if p != marker)
            at = subprocess.run(["git", "rev-parse", "HEAD"], cwd=lease.path,
                                capture_output=True, text=True).stdout.strip()
            end = time.monotonic()
            f.write(f"{lease.id} {start} {end} {at == commit} {','.join(seen) or '-'}\\n")
            f.flush()
            pool.release(lease.id)
    """
)


def test_leases_across_processes_never_overlap(
    ws: Workspace, project: Path, tmp_path: Path
) -> None:
    commits = [head(project), second_commit(project)]
    out, go = tmp_path / "leases.txt", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _LEASER, str(project), str(out), "12", str(go), *commits],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    records = [line.split() for line in out.read_text().splitlines()]
    assert len(records) == 24
    assert all(r[3] == "True" for r in records), "a lease was not at its commit"
    assert all(r[4] == "-" for r in records), "another process's marker was in a leased worktree"
    by_id: dict[str, list[tuple[float, float]]] = {}
    for wt_id, start, end, *_ in records:
        by_id.setdefault(wt_id, []).append((float(start), float(end)))
    for wt_id, spans in by_id.items():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end <= start, f"{wt_id} leased twice at once"
    store = Store(ws.db_path)
    try:
        rows = store.query("SELECT id, state, path FROM worktrees")
    finally:
        store.close()
    assert all(r["state"] == "idle" for r in rows)
    assert len(rows) <= 1  # trimmed to size 1
    assert sorted(worktree_paths(project)) == sorted([str(project), *(r["path"] for r in rows)])


_DIES_HOLDING = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from treelane.engine.pool import WorktreePool
    from treelane.engine.workspace import open_workspace
    from treelane.storage.db import Store

    ws = open_workspace(Path(sys.argv[1]))
    pool = WorktreePool(ws, Store(ws.db_path))
    lease = pool.acquire("HEAD")
    (lease.path / "work.txt").write_text("unsaved work\\n")
    (lease.path / "src" / "a.txt").write_text("edited\\n")
    # As if a git process died holding the index lock.
    gitdir = Path((lease.path / ".git").read_text().split(":", 1)[1].strip())
    (gitdir / "index.lock").write_text("")
    print(lease.id, flush=True)
    time.sleep(600)
    """
)


def test_lease_of_killed_process_is_reclaimed_and_its_work_saved(
    pool: WorktreePool, project: Path
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _DIES_HOLDING, str(project)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    wt_id = proc.stdout.readline().strip()
    assert wt_id
    (info,) = pool.list()
    assert (info.id, info.state) == (wt_id, "busy")  # the owner is alive: hands off
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()

    lease = pool.acquire("HEAD")
    assert lease.id == wt_id
    assert status(lease.path) == ""
    assert not (lease.path / "work.txt").exists()
    saved = git("for-each-ref", "--format=%(refname)", f"{SAVED_REFS}/{wt_id}", cwd=project)
    assert saved.startswith(f"{SAVED_REFS}/{wt_id}/")
    assert git("show", f"{saved}:work.txt", cwd=project) == "unsaved work"
    assert git("show", f"{saved}:src/a.txt", cwd=project) == "edited"
    (info,) = pool.list()
    assert (info.state, info.owner) == ("busy", f"{os.getpid()}@{pool.owner.host}")


# --- trim and cleanup ------------------------------------------------------------------------


def test_trim_keeps_at_most_size_idle(make_pool: PoolFactory, project: Path) -> None:
    pool = make_pool(size=2)
    leases = [pool.acquire("HEAD") for _ in range(4)]
    for lease in leases:
        pool.release(lease.id)
    infos = pool.list()
    assert len(infos) == 2 and all(i.state == "idle" for i in infos)
    assert {i.id for i in infos} == {leases[2].id, leases[3].id}  # most recently used
    assert sorted(worktree_paths(project)) == sorted([str(project), *(i.path for i in infos)])
    for lease in leases[:2]:
        assert not lease.path.exists()
    stats = pool.stats()
    assert {k: v for k, v in stats.items() if k != "disk_mb"} == {
        "size": 2, "idle": 2, "busy": 0, "warming": 0
    }  # fmt: skip


def test_size_zero_keeps_nothing(make_pool: PoolFactory, project: Path) -> None:
    pool = make_pool(size=0)
    lease = pool.acquire("HEAD")
    pool.release(lease.id)
    assert pool.list() == []
    assert not lease.path.exists()
    assert worktree_paths(project) == [str(project)]


def test_cleanup_never_loses_work(pool: WorktreePool, project: Path) -> None:
    clean, dirty, committed, busy = (pool.acquire("HEAD") for _ in range(4))
    (committed.path / "result.txt").write_text("result\n")
    git("add", "result.txt", cwd=committed.path)
    git("commit", "-q", "-m", "task result", cwd=committed.path)
    result_commit = head(committed.path)
    for lease in (clean, dirty, committed):
        pool.release(lease.id)
    (dirty.path / "src" / "a.txt").write_text("uncommitted\n")
    (dirty.path / "new.txt").write_text("untracked\n")

    result = pool.cleanup()
    assert result.removed == [clean.id]
    kept = {k["id"]: k["reason"] for k in result.kept}
    assert "uncommitted" in kept[dirty.id]
    assert "on no branch" in kept[committed.id] and result_commit[:12] in kept[committed.id]
    assert "busy" in kept[busy.id]
    assert not clean.path.exists()
    assert (dirty.path / "new.txt").exists() and head(committed.path) == result_commit
    assert git("for-each-ref", SAVED_REFS, cwd=project) == ""

    result = pool.cleanup(force=True)
    assert sorted(result.removed) == sorted([dirty.id, committed.id])
    assert [k["id"] for k in result.kept] == [busy.id]
    assert busy.path.is_dir()
    for lease in (dirty, committed):
        assert not lease.path.exists()
    saved = git("for-each-ref", "--format=%(refname) %(objectname)", SAVED_REFS, cwd=project)
    by_wt = {line.split("/")[3]: line.split()[1] for line in saved.splitlines()}
    assert set(by_wt) == {dirty.id, committed.id}
    assert git("show", f"{by_wt[dirty.id]}:src/a.txt", cwd=project) == "uncommitted"
    assert git("show", f"{by_wt[dirty.id]}:new.txt", cwd=project) == "untracked"
    assert by_wt[committed.id] == result_commit
    git("merge-base", "--is-ancestor", result_commit, by_wt[committed.id], cwd=project)
    # git's own bookkeeping has no stale entries.
    assert sorted(worktree_paths(project)) == sorted([str(project), str(busy.path)])
    assert "prunable" not in git("worktree", "list", "--porcelain", cwd=project)
    pool.release(busy.id)
    assert pool.cleanup().removed == [busy.id]
    assert worktree_paths(project) == [str(project)]
    assert pool.list() == []


def test_folder_deleted_by_hand_is_replaced(pool: WorktreePool, project: Path) -> None:
    lease = pool.acquire("HEAD")
    pool.release(lease.id)
    shutil.rmtree(lease.path)
    again = pool.acquire("HEAD")  # git still has the old one registered
    assert again.path.is_dir() and status(again.path) == ""
    assert [i.id for i in pool.list()] == [again.id]
    assert sorted(worktree_paths(project)) == sorted([str(project), str(again.path)])


def test_cleanup_forgets_folders_deleted_by_hand(pool: WorktreePool, project: Path) -> None:
    lease = pool.acquire("HEAD")
    pool.release(lease.id)
    shutil.rmtree(lease.path)
    (info,) = pool.list()
    assert info.drift == "folder is missing"
    assert pool.cleanup().removed == [lease.id]
    assert worktree_paths(project) == [str(project)]


def test_remove_does_not_take_a_worktree_leased_elsewhere(
    pool: WorktreePool, ws: Workspace, store: Store
) -> None:
    lease = pool.acquire("HEAD")
    other = WorktreePool(ws, store)
    other.owner.pid = 1  # another live process (pid 1 always exists)
    other.owner.started = psutil.Process(1).create_time()
    other._set_busy(lease.id, None, None)
    reason = pool.remove(lease.id, force=True)
    assert reason is not None and "busy" in reason
    assert lease.path.is_dir()


def test_acquire_of_a_missing_full_sha_fails_and_keeps_the_worktree_usable(repo: Path) -> None:
    ws = open_workspace(repo)
    store = Store(ws.db_path)
    pool = WorktreePool(ws, store, PoolConfig(size=2))
    lease = pool.acquire("HEAD")
    pool.release(lease.id)
    with pytest.raises(RequestFailed, match="unknown commit"):
        pool.acquire("0123456789abcdef0123456789abcdef01234567")
    (info,) = pool.list()
    assert info.state == "idle" and info.drift is None
    assert pool.acquire("HEAD").id == lease.id
    store.close()
