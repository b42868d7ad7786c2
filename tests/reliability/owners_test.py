"""Owners that are not alive: zombies, recycled pids, and live owners that stopped beating.

Real processes: an engine in a child Python process killed with SIGKILL (and left
unreaped, a zombie, as a CLI that has not collected it yet leaves it), and unrelated live
processes recorded as owners.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))

from clikit import treelane
from enginekit import engines_fixture, run_state, toml, wait_for

from treelane.engine import owners
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

TOML = toml({"w": {"a": {"run": "sleep 2; echo a > a.txt", "cache": False}}})
QUICK = toml({"w": {"a": {"run": "echo a > a.txt", "cache": False}}})


def db(repo: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    import sqlite3

    conn = sqlite3.connect(repo / ".git" / "treelane" / "state.db", timeout=30)
    try:
        with conn:
            return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def start_child(repo: Path, tmp_path: Path, text: str) -> tuple[subprocess.Popen[bytes], str]:
    """An engine in a child process running workflow ``w``; (process, run id) once its
    task runs."""
    (tmp_path / "cfg.toml").write_text(text)
    (tmp_path / "child.py").write_text(CHILD)
    out = tmp_path / "run-id"
    child = subprocess.Popen(
        [
            sys.executable,
            str(tmp_path / "child.py"),
            str(repo),
            str(tmp_path / "cfg.toml"),
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: out.exists() and out.read_text(), 60, "the child's run")
    run = out.read_text()
    wait_for(
        lambda: db(repo, "SELECT 1 FROM attempts WHERE run = ? AND pid IS NOT NULL", (run,)),
        60,
        "the child's task to start",
    )
    return child, run


@pytest.fixture
def sleeper() -> Iterator[psutil.Process]:
    """A live process unrelated to treelane."""
    proc = subprocess.Popen(["sleep", "600"])
    try:
        yield psutil.Process(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def test_resume_right_after_sigkill_while_the_owner_is_a_zombie(engines, repo, tmp_path) -> None:
    child, run = start_child(repo, tmp_path, TOML)
    try:
        os.kill(child.pid, signal.SIGKILL)
        wait_for(lambda: psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE, 30, "zombie")
        assert not owners.alive(child.pid, owners.HOST)
        e = engines(QUICK)  # opening recovers the run of the dead owner
        assert run_state(e, run) == "interrupted"
        assert e.resume(run) == ["a"]
        assert e.wait(run, 60) == "succeeded"
        assert psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE  # still unreaped
    finally:
        child.kill()
        child.wait()


def test_a_recycled_pid_is_not_taken_for_the_owner(engines, repo, tmp_path, sleeper) -> None:
    child, run = start_child(repo, tmp_path, TOML)
    child.kill()
    child.wait()
    # The owner's pid now names another live process (pid reuse, or a reboot): the
    # recorded owner started a minute before that process.
    db(
        repo,
        "UPDATE runs SET state = 'running', owner_pid = ?, owner_started = ? WHERE id = ?",
        (sleeper.pid, sleeper.create_time() - 60, run),
    )
    e = engines(QUICK)
    assert run_state(e, run) == "interrupted"
    with pytest.raises(RequestFailed, match="is not running"):
        e.cancel(run)
    e.resume(run)
    assert e.wait(run, 60) == "succeeded"
    # The same for a pid recorded in another boot.
    db(
        repo,
        "UPDATE runs SET state = 'running', owner_pid = ?, owner_started = ?, "
        "owner_boot = 'another-boot' WHERE id = ?",
        (sleeper.pid, sleeper.create_time(), run),
    )
    assert not owners.alive(sleeper.pid, owners.HOST, sleeper.create_time(), "another-boot")
    assert e.recover() == [run]


def test_a_live_owner_without_heartbeat_is_taken_over_only_with_force(
    engines, repo, tmp_path, sleeper
) -> None:
    child, run = start_child(repo, tmp_path, TOML)
    child.kill()
    child.wait()
    # A live process as the owner, identity matching, that never wrote a heartbeat: alive
    # but unresponsive.
    db(repo, "DELETE FROM owners")
    db(
        repo,
        "UPDATE runs SET state = 'running', owner_pid = ?, owner_started = ?, owner_boot = ? "
        "WHERE id = ?",
        (sleeper.pid, sleeper.create_time(), owners.boot_id(), run),
    )
    e = engines(QUICK)
    assert run_state(e, run) == "running"  # a live owner's run is not taken from it
    with pytest.raises(RequestFailed) as refused:
        e.resume(run)
    msg = str(refused.value)
    assert f"process {sleeper.pid}" in msg and "never written a heartbeat" in msg
    assert f"treelane resume --force {run}" in msg

    # A fresh heartbeat: alive and responding, refused even with force.
    db(
        repo,
        "INSERT INTO owners (pid, host, started, boot, beat) VALUES (?, ?, ?, ?, ?)",
        (sleeper.pid, owners.HOST, sleeper.create_time(), owners.boot_id(), time.time()),
    )
    with pytest.raises(RequestFailed, match="alive and responding"):
        e.resume(run, force=True)
    # Silent for longer than STALE_AFTER: force takes the run over.
    db(repo, "UPDATE owners SET beat = ? WHERE pid = ?", (time.time() - 3600, sleeper.pid))
    with pytest.raises(RequestFailed, match="no heartbeat for 3600 s"):
        e.resume(run)
    assert e.resume(run, force=True) == ["a"]
    assert e.wait(run, 60) == "succeeded"
    assert sleeper.is_running()  # taking over ends the run's processes, not the owner


def test_cli_resume_force(repo, tmp_path, sleeper) -> None:
    (repo / "treelane.toml").write_text(QUICK)
    child, run = start_child(repo, tmp_path, TOML)
    child.kill()
    child.wait()
    db(repo, "DELETE FROM owners")
    db(
        repo,
        "UPDATE runs SET state = 'running', owner_pid = ?, owner_started = ?, owner_boot = ? "
        "WHERE id = ?",
        (sleeper.pid, sleeper.create_time(), owners.boot_id(), run),
    )
    refused = treelane("resume", run, cwd=repo)
    assert refused.returncode == 1
    assert "--force" in refused.stderr
    forced = treelane("resume", "--force", run, "--json", cwd=repo)
    assert forced.returncode == 0, forced.stderr
    last = json.loads(forced.stdout.splitlines()[-1])
    assert last["params"]["state"] == "succeeded"
