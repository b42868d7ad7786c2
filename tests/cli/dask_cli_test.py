"""``treelane run W --dask ADDR``: the run's tasks go to a real Dask cluster (2 processes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clikit import git, lines, make_repo, one_line_reason, treelane

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    c = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=":0",
    )  # fmt: skip
    try:
        yield c
    finally:
        c.close()


def test_run_dask_sends_the_tasks_to_the_workers(tmp_path: Path, cluster: Any) -> None:
    repo = make_repo(tmp_path / "repo")
    proc = treelane("run", "diamond", "--dask", cluster.scheduler_address, "--json", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    states = [m["params"] for m in lines(proc.stdout) if m["method"] == "treelane/taskState"]
    done = {s["task"]: s["worktree"] for s in states if s["state"] == "succeeded"}
    assert set(done) == {"a", "b", "c", "d"}
    workers = set(cluster.scheduler_info["workers"])
    assert all(w.rsplit("/", 1)[0] in workers for w in done.values()), done
    finished = [m for m in lines(proc.stdout) if m["method"] == "treelane/runFinished"][-1]
    run = finished["params"]["run"]
    assert git(repo, "show", f"refs/treelane/results/{run}:d.txt").split() == ["A", "B", "C"]


def test_a_bad_dask_address_is_a_usage_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    proc = treelane("run", "diamond", "--dask", "localhost", cwd=repo)
    assert proc.returncode == 2
    assert "tcp://HOST:PORT" in one_line_reason(proc.stderr)
