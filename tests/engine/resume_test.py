"""Crash-safe resume: a workflow process killed with SIGKILL, then a new Engine takes over.

The run is executed by a real child Python process; the test kills it mid-run and checks
what a new Engine finds (an interrupted run, no busy lease, no leftover process) and
that ``resume`` finishes the run without running a finished task again.
"""

from __future__ import annotations

import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest
from enginekit import (
    alive,
    attempts,
    config,
    engines_fixture,
    reap,
    run,
    run_state,
    task_row,
    task_states,
    toml,
    wait_for,
)

from treelane.engine.events import RunStarted
from treelane.errors import RequestFailed

engines = engines_fixture()

CHILD = """
import sys, time
from pathlib import Path
from treelane.engine.core import Engine
from treelane.engine.workflow import parse_config

repo, cfg_path, out = sys.argv[1:4]
engine = Engine(repo, config=parse_config(Path(cfg_path).read_text()), monitor_interval=0.2)
started = engine.start(engine.workflow("w"))
Path(out).write_text(started.run)
time.sleep(600)
"""


def task(
    name: str, log: Path, needs: list[str] | None = None, gate: Path | None = None
) -> dict[str, object]:
    """A short task; with ``gate``, one that first waits until that file exists (so it is
    still running when the test kills its engine, however slow the machine)."""
    wait = f"while [ ! -e {shlex.quote(str(gate))} ]; do sleep 0.05; done; " if gate else ""
    body: dict[str, object] = {
        "run": f"{wait}sleep 0.4; ls > {name}.txt; echo {name} >> {log}",
        "cache": False,
    }
    if needs:
        body["needs"] = needs
    return body


def db_rows(repo: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(repo / ".git" / "treelane" / "state.db", timeout=30)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def tree_pids(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            p = psutil.Process(pid)
            out += [pid, *(c.pid for c in p.children(recursive=True))]
        except psutil.NoSuchProcess:
            continue
    return out


def test_sigkilled_workflow_process_is_resumed_without_rerunning_finished_tasks(
    engines, repo, git, tmp_path
) -> None:
    log = tmp_path / "log"
    gate = tmp_path / "gate"  # c, d and e run until it exists: created after the kill
    tasks = {n: task(n, log, gate=gate if n in "cde" else None) for n in "abcde"}
    tasks["f"] = task("f", log, ["a", "b"])
    text = toml({"w": tasks}, {"max_parallel": 2})
    cfg_path = tmp_path / "treelane.toml"
    cfg_path.write_text(text)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    run_file = tmp_path / "run-id"
    child = subprocess.Popen(
        [sys.executable, str(script), str(repo), str(cfg_path), str(run_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    old: list[int] = []
    try:
        wait_for(lambda: run_file.exists() and run_file.read_text(), 20, "the child's run")
        r = run_file.read_text()

        def mid_run() -> bool:
            states = dict(db_rows(repo, f"SELECT name, state FROM tasks WHERE run = '{r}'"))
            pids = db_rows(
                repo,
                f"SELECT pid FROM attempts WHERE run = '{r}' AND state = 'running' "
                "AND pid IS NOT NULL",
            )
            done = sum(1 for s in states.values() if s == "succeeded")
            return done >= 2 and len(pids) >= 1

        wait_for(mid_run, 20, "some tasks finished and some running")

        # While the child lives, another engine neither interrupts nor resumes its run.
        bystander = engines(text)
        assert run_state(bystander, r) == "running"
        with pytest.raises(RequestFailed, match="is being run by"):
            bystander.resume(r)
        bystander.close()

        running = [
            p
            for (p,) in db_rows(
                repo,
                f"SELECT pid FROM attempts WHERE run = '{r}' AND pid > 0 AND state = 'running'",
            )
        ]
        old = tree_pids([int(p) for p in running])  # type: ignore[call-overload]
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        finished = {
            str(n)
            for (n,) in db_rows(
                repo, f"SELECT name FROM tasks WHERE run = '{r}' AND state = 'succeeded'"
            )
        }
        interrupted_now = {
            str(n)
            for (n,) in db_rows(
                repo, f"SELECT name FROM tasks WHERE run = '{r}' AND state = 'running'"
            )
        }
        assert finished and interrupted_now
        assert any(alive(p) for p in old), "the old run's processes outlive their engine"

        e = engines(text)
        assert run_state(e, r) == "interrupted"
        states = task_states(e, r)
        assert {n for n, s in states.items() if s == "succeeded"} == finished
        assert {n for n, s in states.items() if s == "interrupted"} == interrupted_now
        assert set(states.values()) <= {"succeeded", "interrupted", "queued"}
        assert [p for p in old if alive(p)] == [], "no process of the old run survives"
        assert e.pool.stats()["busy"] == 0

        gate.touch()
        requeued = e.resume(r)
        assert set(requeued) == set("abcdef") - finished
        assert e.wait(r, 30) == "succeeded"
        assert task_states(e, r) == dict.fromkeys("abcdef", "succeeded")
        lines = Counter(log.read_text().split())
        for name in finished:
            assert lines[name] == 1, f"{name} had finished and ran again: {lines}"
        assert set(lines) == set("abcdef")
        for name in interrupted_now:
            states_of = [a["state"] for a in attempts(e, r) if a["task"] == name]
            assert states_of[0] == "interrupted" and states_of[-1] == "succeeded"
            assert task_row(e, r, name)["attempt"] == len(states_of)
        result = e.result_commit(r)
        names = set(git("ls-tree", "-r", "--name-only", result, cwd=repo).split())
        assert {f"{n}.txt" for n in "abcdef"} <= names
        f_saw = git("show", f"{result}:f.txt", cwd=repo).split()
        assert {"a.txt", "b.txt"} <= set(f_saw)
        assert e.pool.stats()["busy"] == 0
        busy = e.store.query("SELECT id FROM worktrees WHERE state = 'busy'")
        assert busy == []
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        reap(old)


# --- resume in one process --------------------------------------------------------


def test_resume_failed_run_reruns_only_what_did_not_succeed(engines, tmp_path) -> None:
    flag, log = tmp_path / "flag", tmp_path / "log"
    cfg = config(
        {
            "w": {
                "ok": {"run": f"echo ok >> {log}"},
                "needs_flag": {"run": f"echo needs_flag >> {log}; test -e {flag}", "needs": ["ok"]},
                "after": {"run": f"echo after >> {log}", "needs": ["needs_flag"]},
                "side": {"run": f"echo side >> {log}"},
            }
        },
        {"max_parallel": 2},
    )
    e = engines(cfg)
    r = run(e, "w")
    assert run_state(e, r) == "failed"
    assert task_states(e, r)["after"] == "skipped"
    flag.touch()
    assert e.resume(r) == ["needs_flag", "after"]
    assert e.wait(r, 30) == "succeeded"
    assert Counter(log.read_text().split()) == {"ok": 1, "side": 1, "needs_flag": 2, "after": 1}
    assert task_row(e, r, "needs_flag")["attempt"] == 2
    first, again = engines.events(e).of(RunStarted)
    assert first.kept is None
    assert again.kept == {"ok": "succeeded", "side": "succeeded"}, "what keeps its state"
    tries = Counter(a["task"] for a in attempts(e, r))
    assert tries == {"ok": 1, "side": 1, "needs_flag": 2, "after": 1}
    e.result_commit(r)


def test_resume_after_close_and_cancel(engines, tmp_path) -> None:
    log = tmp_path / "log"
    cfg = config(
        {
            "w": {
                "quick": {"run": f"echo quick >> {log}"},
                "slow": {"run": f"sleep 30; echo slow >> {log}"},
            }
        },
        {"max_parallel": 2},
    )
    e = engines(cfg)
    r = e.start(e.workflow("w")).run
    wait_for(lambda: task_states(e, r) == {"quick": "succeeded", "slow": "running"})
    t0 = time.monotonic()
    e.close()
    assert time.monotonic() - t0 < 5
    e2 = engines(
        config(
            {
                "w": {
                    "quick": {"run": f"echo quick >> {log}"},
                    "slow": {"run": f"echo slow >> {log}"},
                }
            }
        )
    )
    assert run_state(e2, r) == "interrupted"
    assert task_states(e2, r) == {"quick": "succeeded", "slow": "interrupted"}
    # resume runs the definition the run was started with (sleep 30), so cancel it ...
    assert e2.resume(r) == ["slow"]
    wait_for(lambda: task_states(e2, r)["slow"] == "running")
    e2.cancel(r)
    assert e2.wait(r, 10) == "cancelled"
    # ... and a cancelled run can be resumed too (and cancelled again).
    assert e2.resume(r) == ["slow"]
    wait_for(lambda: task_states(e2, r)["slow"] == "running")
    with pytest.raises(RequestFailed, match="already running"):
        e2.resume(r)
    e2.cancel(r, "slow")
    assert e2.wait(r, 10) == "cancelled"
    assert Counter(log.read_text().split()) == {"quick": 1}


def test_resume_refusals(engines) -> None:
    e = engines(config({"w": {"t": {"run": "true"}}}))
    r = run(e, "w")
    with pytest.raises(RequestFailed, match="already succeeded"):
        e.resume(r)
    with pytest.raises(RequestFailed, match="unknown run"):
        e.resume("r000000")
    with pytest.raises(RequestFailed, match="not running"):
        e.cancel(r)
