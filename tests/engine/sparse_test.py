"""Sparse worktrees through real runs: only the listed folders are checked out, results are
still complete trees, and a pool worktree changes its folder list when it is reused."""

from __future__ import annotations

from pathlib import Path

import pytest
from enginekit import config, engines_fixture, run, run_state, task_states
from repokit import git

from treelane.engine.workflow import ConfigError, parse_config

engines = engines_fixture()


@pytest.fixture
def project(repo: Path) -> Path:
    for rel in ("src/a.txt", "tests/t.txt", "docs/big/manual.txt", "assets/logo.txt"):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(f"{rel}\n")
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "project", cwd=repo)
    return repo


def test_sparse_task_sees_its_folders_and_gives_a_complete_result(engines, project, tmp_path):
    out = tmp_path / "seen"
    out.mkdir()
    listing = f"find . -path ./.git -prune -o -type f -print | sort > {out}/$TREELANE_TASK"
    wf = {
        "narrow": {
            "run": f"{listing}; echo changed >> src/a.txt; mkdir -p docs; echo new > docs/new.txt",
            "sparse": ["src/", "tests"],
            "cache": False,
        },
        "wide": {"run": listing, "needs": ["narrow"], "cache": False},
    }
    e = engines(config({"w": wf}, {"pool_size": 1, "max_parallel": 1}))
    r = run(e, "w")
    assert run_state(e, r) == "succeeded", task_states(e, r)
    narrow = (out / "narrow").read_text().split()
    assert narrow == ["./README.md", "./src/a.txt", "./tests/t.txt"], "cone: folders + top files"
    wide = (out / "wide").read_text().split()
    assert "./docs/big/manual.txt" in wide and "./assets/logo.txt" in wide
    assert "./docs/new.txt" in wide, "a file written outside the cone is in the result"
    result = e.result_commit(r)
    files = git("ls-tree", "-r", "--name-only", result, cwd=project).split()
    assert {"docs/big/manual.txt", "assets/logo.txt", "docs/new.txt", "src/a.txt"} <= set(files)
    assert git("show", f"{result}:src/a.txt", cwd=project) == "src/a.txt\nchanged"
    (wt,) = e.pool.list()
    assert wt.drift is None and not wt.dirty
    row = e.store.one("SELECT sparse FROM worktrees")
    assert row is not None and row["sparse"] is None, "the reuse by 'wide' made it full again"
    assert git("config", "--bool", "core.sparseCheckout", cwd=project, check=False) in ("", "false")


def test_workflow_level_sparse_and_reuse_with_the_same_folders(engines, project, tmp_path):
    out = tmp_path / "seen"
    out.mkdir()
    listing = f"ls > {out}/$TREELANE_TASK"
    wf = {"a": {"run": listing, "cache": False}, "b": {"run": listing, "cache": False}}
    text = (
        "[settings]\npool_size = 1\nmax_parallel = 1\n"
        '[workflows.w]\nsparse = ["src"]\n'
        + "".join(
            f"[workflows.w.tasks.{n}]\nrun = {body['run']!r}\ncache = false\n"
            for n, body in wf.items()
        )
    )
    e = engines(parse_config(text))
    r = run(e, "w")
    assert run_state(e, r) == "succeeded"
    for task in ("a", "b"):
        assert (out / task).read_text().split() == ["README.md", "src"]
    assert len(e.pool.list()) == 1


def test_sparse_is_checked() -> None:
    bad = (
        "[workflows.w.tasks.a]\nrun = 'x'\nsparse = ['/abs', 'src/*', '../up']\n"
        "[workflows.w.tasks.b]\nrun = 'x'\nneeds = ['a']\nisolation = 'shared'\nsparse = ['src']\n"
    )
    with pytest.raises(ConfigError) as err:
        parse_config(bad)
    messages = [p.message for p in err.value.problems]
    assert messages == [
        'workflows.w.tasks.a.sparse[0]: must be a path relative to the repository root, got "/abs"',
        'workflows.w.tasks.a.sparse[1]: must be a folder (cone mode takes no globs), got "src/*"',
        "workflows.w.tasks.a.sparse[2]: must not contain '..', got \"../up\"",
        "task 'b' has sparse but isolation = \"shared\" (it uses its need's worktree)",
    ]
