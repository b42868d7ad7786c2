"""``treelane run W --dask ADDR``: the run's tasks go to a real Dask cluster (2 processes)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

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


def test_status_shows_each_tasks_worker_and_the_dashboard(
    tmp_path: Path, cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TREELANE_DASK_SCHEDULER", raising=False)
    repo = make_repo(tmp_path / "repo")
    addr = cluster.scheduler_address
    local = _run(repo, "run", "diamond", "--json")
    remote = _run(repo, "run", "diamond", "--no-cache", "--dask", addr, "--json")
    link = cluster.dashboard_link
    assert link and urlparse(link).port
    # Not set to use a cluster: no cluster in status, local runs have no worker.
    plain = json.loads(treelane("status", local, "--json", cwd=repo).stdout)
    assert plain["cluster"] is None
    assert plain["runs"][0]["executor"] == "local" and plain["runs"][0]["dashboard"] is None
    assert all(t["worker"] is None for t in plain["runs"][0]["tasks"])
    assert "worker" not in treelane("status", local, cwd=repo).stdout
    monkeypatch.setenv("TREELANE_DASK_SCHEDULER", addr)
    got = json.loads(treelane("status", remote, "--json", cwd=repo).stdout)
    run = got["runs"][0]
    assert run["executor"] == "dask"
    assert urlparse(run["dashboard"]).port == urlparse(link).port
    assert got["cluster"] == {"executor": "dask", "scheduler": addr, "dashboard": run["dashboard"]}
    workers = set(cluster.scheduler_info["workers"])
    for t in run["tasks"]:
        assert t["worker"] in workers and t["worktree"].startswith(t["worker"] + "/"), t
    text = treelane("status", remote, cwd=repo).stdout
    rows = text.splitlines()
    header = next(line for line in rows if line.split()[:1] == ["task"])
    assert header.split()[:5] == ["task", "state", "attempt", "worker", "worktree"]
    for t in run["tasks"]:
        row = next(line for line in rows if line.split()[:1] == [t["name"]])
        assert t["worker"] in row.split(), row
        assert t["worktree"].rsplit("/", 1)[1] in row.split(), row
    assert f"dashboard {run['dashboard']}" in text
    overview = treelane("status", cwd=repo).stdout
    assert f"executor: dask at {addr} · dashboard: {run['dashboard']}" in overview


def _run(repo: Path, *args: str) -> str:
    proc = treelane(*args, cwd=repo)
    assert proc.returncode == 0, proc.stderr
    finished = [m for m in lines(proc.stdout) if m["method"] == "treelane/runFinished"][-1]
    assert finished["params"]["state"] == "succeeded", finished
    return str(finished["params"]["run"])
