"""Attempts on a real Dask cluster: ``distributed.LocalCluster(n_workers=2, processes=True)``.

The workers are separate processes started from another working directory, each with
its own local directory; nothing of the coordinator's repository path reaches them (the
attempt's spec carries names, a command and commits; the objects travel as git bundles).
"""

from __future__ import annotations

import os
import pickle
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from enginekit import (
    config,
    engines_fixture,
    max_overlap,
    run_state,
    task_row,
    task_states,
    toml,
    wait_for,
)

from treelane.commands.engineview import EngineView
from treelane.engine import queries
from treelane.engine.core import Engine
from treelane.engine.executor import marked
from treelane.errors import RequestFailed
from treelane.report.timeline import render_timeline

distributed = pytest.importorskip("distributed")
from treelane.engine.cluster.client import DaskBackend  # noqa: E402

engines = engines_fixture()

DIAMOND = {
    "a": {"run": "echo A > a.txt && echo made a"},
    "b": {"run": "cat a.txt > b.txt && echo B >> b.txt", "needs": ["a"]},
    "c": {"run": "echo C > c.txt && mkdir -p sub && echo deep > sub/x.txt", "needs": ["a"]},
    "d": {"run": "cat b.txt c.txt > d.txt && rm README.md", "needs": ["b", "c"]},
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    elsewhere = tmp_path_factory.mktemp("workers-cwd")
    scratch = tmp_path_factory.mktemp("workers")
    here = os.getcwd()
    os.chdir(elsewhere)  # the worker processes start here, far from any repository
    try:
        c = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=2,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            local_directory=str(scratch),
            resources={"gpu": 1},
        )
    finally:
        os.chdir(here)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def dask(cluster: Any) -> Iterator[DaskBackend]:
    backend = DaskBackend(cluster.scheduler_address)
    try:
        yield backend
    finally:
        backend.close()


def _wait(e: Engine, run_id: str, timeout: float = 120.0) -> str:
    e.wait(run_id, timeout)
    return run_state(e, run_id)


def _tree(git: Any, repo: Path, commit: str) -> str:
    return str(git("rev-parse", f"{commit}^{{tree}}", cwd=repo))


def _where(e: Engine, run_id: str, task: str) -> str:
    return str(task_row(e, run_id, task)["worktree"] or "")


def test_diamond_on_the_cluster_equals_the_local_run(engines, repo, git, dask) -> None:
    cfg = config({"diamond": DIAMOND}, {"max_parallel": 4})
    remote = engines(cfg, backend=dask)
    r = remote.start(remote.workflow("diamond")).run
    assert _wait(remote, r) == "succeeded", remote.status(r)
    assert set(task_states(remote, r).values()) == {"succeeded"}
    # Every task ran on a worker (its address is where the worktree is shown).
    for name in DIAMOND:
        assert _where(remote, r, name).startswith("tcp://127.0.0.1:"), name
    assert remote.output(r, "a") == ["made a"]
    remote.close()
    local = engines(cfg)
    lr = local.start(local.workflow("diamond"), cache=False).run
    assert _wait(local, lr) == "succeeded"
    for name in DIAMOND:
        assert "tcp://" not in _where(local, lr, name)
    assert _tree(git, repo, remote.result_commit(r)) == _tree(git, repo, local.result_commit(lr))
    # Each task's result under refs/treelane/runs, fetched from its worker's bundle.
    for name in DIAMOND:
        assert git("rev-parse", f"refs/treelane/runs/{r}/{name}", cwd=repo)


def test_the_workers_never_see_the_coordinators_path(engines, repo, git, dask, monkeypatch) -> None:
    cmd = "pwd > pwd.txt && env > env.txt && git rev-parse --git-common-dir > gd.txt"
    e = engines(config({"where": {"w": {"run": cmd}}}), backend=dask)
    client = dask.client()
    real, sent = client.submit, []

    def spy(fn: Any, *args: Any, **kw: Any) -> Any:
        sent.append((fn.__name__, pickle.dumps(args)))
        return real(fn, *args, **kw)

    monkeypatch.setattr(client, "submit", spy)
    r = e.start(e.workflow("where")).run
    assert _wait(e, r) == "succeeded", e.status(r)
    result = e.result_commit(r)
    pwd = git("show", f"{result}:pwd.txt", cwd=repo)
    env = git("show", f"{result}:env.txt", cwd=repo)
    common = git("show", f"{result}:gd.txt", cwd=repo)
    for text in (pwd, env, common):
        assert str(repo) not in text
    assert "/treelane/" in pwd and common.endswith("repo.git")  # the worker's own clone
    # What went to the cluster: one attempt (a spec: names, command, commits) and, before
    # it, each worker's preparation (a key, a commit, a bundle); no path anywhere.
    assert sorted(name for name, _ in sent) == ["prepare", "prepare", "run_attempt"]
    for _, data in sent:
        assert str(repo).encode() not in data


def test_fan_out_wider_than_a_workers_slots(engines, repo, dask) -> None:
    # 6 tasks of 1 s on 2 workers x 2 threads: more than one worker can hold at once.
    tasks = {f"t{i}": {"run": f"sleep 1 && echo {i} > t{i}.txt", "cache": False} for i in range(6)}
    e = engines(config({"fan": tasks}, {"max_parallel": 6}), backend=dask)
    r = e.start(e.workflow("fan")).run
    assert _wait(e, r) == "succeeded", e.status(r)
    workers = {_where(e, r, t).rsplit("/", 1)[0] for t in tasks}
    assert len(workers) == 2  # both workers took some


def test_a_task_killed_with_its_worker_finishes_on_another(engines, repo, git, dask) -> None:
    cmd = "echo started && sleep 3 && echo done > survived.txt"
    e = engines(config({"kill": {"k": {"run": cmd, "cache": False}}}), backend=dask)
    r = e.start(e.workflow("kill")).run
    wait_for(lambda: "started" in e.output(r, "k"), 60, "the task running on a worker")
    assert task_states(e, r)["k"] == "running"
    first = _where(e, r, "k").rsplit("/", 1)[0]
    client = dask.client()
    pids = client.run(os.getpid)
    os.kill(pids[first], signal.SIGKILL)
    try:
        assert _wait(e, r) == "succeeded", e.status(r)
        assert git("show", f"{e.result_commit(r)}:survived.txt", cwd=repo) == "done"
        assert _where(e, r, "k").rsplit("/", 1)[0] != first
        out = e.output(r, "k")
        assert any(line.startswith("(treelane: the attempt runs again on tcp://") for line in out)
        assert out.count("started") == 2  # once per worker, each line once
        rows = e.store.query("SELECT * FROM attempts WHERE run = ?", (r,))
        assert len(rows) == 1  # one attempt, run again by Dask, one result
    finally:
        for p in marked("TREELANE_RUN", r):
            p.kill()


def test_cancel_and_time_out_leave_no_process_on_the_workers(engines, repo, dask) -> None:
    slow = "echo begin; sleep 60 & sleep 60; echo never"
    cfg = config(
        {
            "slow": {"s": {"run": slow, "cache": False}},
            "late": {"t": {"run": slow, "cache": False, "timeout": 1}},
        }
    )
    e = engines(cfg, backend=dask)
    r = e.start(e.workflow("slow")).run
    wait_for(lambda: "begin" in e.output(r, "s"), 60, "output streamed from the worker")
    assert _where(e, r, "s").startswith("tcp://")
    assert marked("TREELANE_RUN", r)  # its processes run (on a worker process)
    e.cancel(r)
    assert _wait(e, r) == "cancelled"
    wait_for(lambda: not marked("TREELANE_RUN", r), 15, "no process of the run left")
    t = e.start(e.workflow("late")).run
    assert _wait(e, t) == "failed"
    assert "timed out" in (task_row(e, t, "t")["error"] or "")
    wait_for(lambda: not marked("TREELANE_RUN", t), 15, "no process of the run left")


def test_a_cached_task_is_not_sent_to_a_worker(engines, repo, dask) -> None:
    e = engines(config({"diamond": DIAMOND}), backend=dask)
    first = e.start(e.workflow("diamond")).run
    assert _wait(e, first) == "succeeded"
    sent = dask.submitted
    again = e.start(e.workflow("diamond")).run
    assert _wait(e, again) == "succeeded"
    assert set(task_states(e, again).values()) == {"cached"}
    assert dask.submitted == sent
    assert e.output(again, "a") == ["made a"]


def test_no_scheduler_at_the_address_refuses_the_run(engines, repo) -> None:
    backend = DaskBackend("tcp://127.0.0.1:9", timeout=1.0)
    e = engines(config({"diamond": DIAMOND}), backend=backend)
    with pytest.raises(RequestFailed, match=r"tcp://127\.0\.0\.1:9"):
        e.start(e.workflow("diamond"))
    assert e.store.query("SELECT * FROM runs") == []


def test_settings_select_the_cluster(engines, repo, cluster, monkeypatch) -> None:
    monkeypatch.delenv("TREELANE_DASK_SCHEDULER", raising=False)
    addr = cluster.scheduler_address
    e = engines(config({"diamond": DIAMOND}, {"executor": "dask", "dask_scheduler": addr}))
    assert isinstance(e.backend, DaskBackend) and e.backend.address == addr
    unset = engines(config({"diamond": DIAMOND}, {"executor": "dask"}))
    with pytest.raises(RequestFailed, match="dask_scheduler"):
        unset.start(unset.workflow("diamond"))
    monkeypatch.setenv("TREELANE_DASK_SCHEDULER", addr)
    env = engines(config({"diamond": DIAMOND}))
    assert isinstance(env.backend, DaskBackend)


def test_resources_are_dask_worker_resources(engines, repo, dask) -> None:
    # Each worker has gpu = 1 and two threads: four gpu tasks run at most two at a time.
    body = "echo start $(date +%s.%N); sleep 1; echo end $(date +%s.%N)"
    tasks = {f"g{i}": {"run": body, "cache": False, "resources": {"gpu": 1}} for i in range(4)}
    tasks["big"] = {"run": "true", "cache": False, "resources": {"gpu": 2}}
    e = engines(config({"gpu": tasks}, {"max_parallel": 8}), backend=dask)
    r = e.start(e.workflow("gpu")).run
    assert _wait(e, r) == "failed"
    states = task_states(e, r)
    assert states == {**{f"g{i}": "succeeded" for i in range(4)}, "big": "failed"}
    assert "no Dask worker has the resources gpu=2" in (task_row(e, r, "big")["error"] or "")
    spans = []
    for i in range(4):
        out = dict(line.split() for line in e.output(r, f"g{i}"))
        spans.append((float(out["start"]), float(out["end"])))
    assert max_overlap(spans) <= 2


def test_plain_tcp_to_another_machine_is_refused(engines, repo, monkeypatch) -> None:
    monkeypatch.delenv("TREELANE_DASK_INSECURE", raising=False)
    e = engines(config({"diamond": DIAMOND}), backend=DaskBackend("tcp://10.1.2.3:8786"))
    with pytest.raises(RequestFailed, match=r"tcp://10\.1\.2\.3:8786 is plain tcp:// .* tls://"):
        e.start(e.workflow("diamond"))
    assert e.store.query("SELECT * FROM runs") == []


COORDINATOR = """
import sys, time
from treelane.engine.cluster.client import DaskBackend
from treelane.commands.engineview import EngineView
from treelane.engine import queries
from treelane.engine.core import Engine
from treelane.engine.workflow import parse_config
e = Engine(sys.argv[1], config=parse_config(sys.argv[3]), backend=DaskBackend(sys.argv[2]))
print(e.start(e.workflow("long")).run, flush=True)
time.sleep(600)
"""


def test_resume_after_the_coordinator_was_killed_finishes_on_the_cluster(
    engines, repo, git, dask, cluster
) -> None:
    wf = {
        "long": {
            "slow": {"run": "echo begin; sleep 4; echo s > s.txt", "cache": False},
            "after": {"run": "cat s.txt > a.txt", "needs": ["slow"], "cache": False},
        }
    }
    text = toml(wf)
    proc = subprocess.Popen(
        [sys.executable, "-c", COORDINATOR, str(repo), cluster.scheduler_address, text],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        r = proc.stdout.readline().strip()
        e = engines(config(wf), backend=dask)
        wait_for(lambda: "begin" in e.output(r, "slow"), 60, "the task running on a worker")
        assert _where(e, r, "slow").startswith("tcp://")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert set(e.resume(r)) >= {"slow", "after"}
    assert _wait(e, r) == "succeeded", e.status(r)
    assert git("show", f"{e.result_commit(r)}:a.txt", cwd=repo) == "s"
    assert _where(e, r, "after").startswith("tcp://")
    # The killed coordinator's attempt is not left running on the cluster.
    client = dask.client()
    wait_for(lambda: not any(client.processing().values()), 30, "an idle cluster")


LANE_LABEL = re.compile(
    r'<text class="lane-label([^"]*)"[^>]*><title>([^<]*)</title>([^<]*)</text>'
)


def test_timeline_lanes_are_per_worker_then_worktree(engines, dask) -> None:
    # 4 tasks of 1 s at once on 2 workers x 2 threads: both workers run two each.
    tasks = {f"t{i}": {"run": "sleep 1", "cache": False} for i in range(4)}
    e = engines(config({"lanes": tasks}, {"max_parallel": 4}), backend=dask)
    r = e.start(e.workflow("lanes")).run
    assert _wait(e, r) == "succeeded", e.status(r)
    where = {_where(e, r, t) for t in tasks}
    workers = sorted({w.rsplit("/", 1)[0] for w in where})
    assert len(workers) == 2, where
    page = render_timeline(e.report_data(r))
    labels = LANE_LABEL.findall(page)
    # Each worker's heading (its address), then its worktrees' lanes, shown by their ids.
    headings = [title for cls, title, _ in labels if "lane-worker" in cls]
    assert headings == sorted(headings, key=layout_key) and set(headings) == set(workers)
    current = None
    for cls, title, text in labels:
        if "lane-worker" in cls:
            current = title
            assert text == f"worker {title.split('://', 1)[1]}"
            continue
        assert current is not None and title.startswith(current + "/"), (title, current)
        assert text == title.rsplit("/", 1)[1] and re.fullmatch(r"w\d+", text)
    assert {title for cls, title, _ in labels if "lane-worker" not in cls} == where
    # The trace: one process per worker, its worktrees as threads, every attempt on them.
    events = e.trace(r)["traceEvents"]
    procs = {ev["pid"]: ev["args"]["name"] for ev in events if ev["name"] == "process_name"}
    assert sorted(n for n in procs.values() if n.startswith("worker ")) == [
        f"worker {w}" for w in workers
    ]
    threads = {(ev["pid"], ev["tid"]): ev["args"]["name"] for ev in events
               if ev["name"] == "thread_name"}  # fmt: skip
    bars = [ev for ev in events if ev.get("ph") == "X"]
    assert len(bars) == 4
    for ev in bars:
        worker = procs[ev["pid"]].removeprefix("worker ")
        assert f"{worker}/{threads[(ev['pid'], ev['tid'])]}" == ev["args"]["worktree"]


def layout_key(address: str) -> tuple[object, ...]:
    from treelane.report.fmt import _natural_key

    return _natural_key(address)


def test_status_records_the_executor_and_each_tasks_worker(engines, dask) -> None:
    e = engines(config({"diamond": DIAMOND}), backend=dask)
    r = e.start(e.workflow("diamond"), cache=False).run
    assert _wait(e, r) == "succeeded", e.status(r)
    run = e.status(r)["runs"][0]
    assert run["executor"] == "dask"
    assert run["dashboard"] == dask.client().dashboard_link  # the cluster has one (bokeh)
    workers = set(dask.client().scheduler_info()["workers"])
    for t in run["tasks"]:
        assert t["worker"] in workers, t
        assert t["worktree"].startswith(t["worker"] + "/")
    view = EngineView(e)
    got = queries.status(e.store, r, pool_size=1, limit=1, scheduler=view.scheduler())
    assert got["cluster"] == {
        "executor": "dask",
        "scheduler": dask.address,
        "dashboard": run["dashboard"],
    }


def test_each_worker_is_readied_once_then_attempts_carry_no_history(
    engines, repo, dask, monkeypatch
) -> None:
    client = dask.client()
    real, sent = client.submit, []

    def spy(fn: Any, *args: Any, **kw: Any) -> Any:
        sent.append((fn.__name__, args, kw))
        return real(fn, *args, **kw)

    monkeypatch.setattr(client, "submit", spy)
    tasks = {f"t{i}": {"run": f"echo {i} > t{i}.txt", "cache": False} for i in range(4)}
    e = engines(config({"fan": tasks}, {"max_parallel": 4}), backend=dask)
    r = e.start(e.workflow("fan")).run
    assert _wait(e, r) == "succeeded", e.status(r)
    workers = set(client.scheduler_info()["workers"])
    prepares = [(args, kw) for name, args, kw in sent if name == "prepare"]
    # One preparation per worker, pinned to it: the whole history (one bundle for all of
    # them) and a worktree per thread.
    assert sorted(kw["workers"][0] for _, kw in prepares) == sorted(workers)
    assert all(kw["allow_other_workers"] is False for _, kw in prepares)
    assert len({args[2] for args, _ in prepares}) == 1 and prepares[0][0][2]
    assert all(args[3] == 2 for args, _ in prepares)
    attempts = [args for name, args, _ in sent if name == "run_attempt"]
    assert len(attempts) == 4
    assert all(args[2] is None for args in attempts)  # the workers hold the input already
    sent.clear()
    again = e.start(e.workflow("fan")).run
    assert _wait(e, again) == "succeeded", e.status(again)
    assert [name for name, _, _ in sent] == ["run_attempt"] * 4
