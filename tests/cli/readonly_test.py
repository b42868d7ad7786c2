"""The read-only commands run in the CLI's own process: no server, no language-server
libraries, no threads, no repairs; yet they show the live state of a run owned by
another process, and agree with the server's answer."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from clikit import lines, make_repo, one_line_reason, popen, treelane

# Run the CLI in-process and report what it loaded and which threads it left.
PROBE = """
import json, sys, threading
from treelane.main import main
code = main(sys.argv[1:])
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"pygls", "lsprotocol", "git", "psutil",
               "sqlite_utils", "rich", "asyncio"} | {m for m in sys.modules if m in (
               "treelane.cli.client", "treelane.engine.core", "treelane.storage.db")})
print(json.dumps({"code": code, "heavy": heavy, "threads": threading.active_count()}),
      file=sys.stderr)
"""


def probe(cwd: Path, *args: str) -> tuple[dict[str, Any], str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    return report, proc.stdout


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    repo = make_repo(tmp_path_factory.mktemp("ro") / "repo")
    proc = treelane("run", "diamond", "--json", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    run = lines(proc.stdout)[-1]["params"]["run"]
    assert treelane("checkpoint", "-m", "one", cwd=repo).returncode == 0
    return repo, run


@pytest.mark.parametrize(
    "args",
    [
        ["status"],
        ["status", "--json"],
        ["status", "RUN"],
        ["worktrees", "--json"],
        ["worktrees"],
        ["log", "RUN", "a"],
        ["report", "RUN", "-o", "page.html"],
        ["trace", "RUN", "-o", "trace.json"],
        ["checkpoints"],
        ["checkpoints", "main", "--json"],
        ["diff", "RUN"],
        ["diff", "RUN", "b", "--against", "input", "--patch"],
        ["diff", "RUN", "--against", "target", "--json"],
    ],
)
def test_read_only_commands_load_no_server_and_start_no_thread(
    finished: tuple[Path, str], args: list[str]
) -> None:
    repo, run = finished
    report, out = probe(repo, *[run if a == "RUN" else a for a in args])
    assert report["code"] == 0, out
    assert report["heavy"] == [], report
    assert report["threads"] == 1
    assert out.strip()


def test_read_only_answers_equal_the_servers(finished: tuple[Path, str]) -> None:
    """The same command implementation on both contexts: the server's answer (through
    the LSP client) and the in-process one are the same data."""
    import asyncio

    from treelane.cli.session import open_session

    repo, run = finished

    async def through_server() -> list[Any]:
        async with open_session(str(repo)) as s:
            return [
                await s.execute("treelane.status", {"run": run}),
                await s.execute("treelane.output", {"run": run, "task": "a"}),
                await s.execute("treelane.checkpoints", {"worktree": "main"}),
                await s.execute("treelane.trace", {"run": run}),
                await s.execute("treelane.diff", {"run": run, "patch": True}),
            ]

    server = asyncio.run(through_server())
    local = [
        json.loads(treelane(*args, "--json", cwd=repo).stdout)
        for args in (
            ["status", run],
            ["log", run, "a"],
            ["checkpoints", "main"],
            ["diff", run, "--patch"],
        )
    ]
    for result in (server[0], local[0]):
        for t in result["runs"][0]["tasks"]:
            t.pop("duration_ms")  # of finished tasks: equal; kept out for clarity
    assert server[0] == local[0]
    assert server[1] == local[1] and server[1]["lines"] == ["made a"]
    assert server[2] == local[2]
    assert server[4] == local[3] and server[4]["files"] and "+A" in server[4]["patch"]
    assert (
        server[3]["traceEvents"]
        == json.loads(treelane("trace", run, cwd=repo).stdout)["traceEvents"]
    )


def test_status_where_treelane_never_ran_creates_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "fresh")
    proc = treelane("status", cwd=repo)
    assert proc.returncode == 0 and "no runs yet" in proc.stdout
    wts = json.loads(treelane("worktrees", "--json", cwd=repo).stdout)["worktrees"]
    assert [w["id"] for w in wts] == ["main"] and wts[0]["branch"] == "main"
    assert not (repo / ".git" / "treelane").exists()


def _wait_running(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    run = ""
    for line in proc.stdout:
        note = json.loads(line)
        run = note["params"].get("run", run)
        if note["method"] == "treelane/output":  # the task is running and printing
            return run
    raise AssertionError("the run ended before its task printed")


def test_status_of_a_run_owned_by_another_live_process(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    owner = popen("run", "slow", "--json", cwd=repo)
    try:
        run = _wait_running(owner)
        report, out = probe(repo, "status", "--json")
        assert report["heavy"] == [] and report["threads"] == 1
        status = json.loads(out)
        (r,) = [r for r in status["runs"] if r["run"] == run]
        assert r["state"] == "running"
        assert [(t["name"], t["state"]) for t in r["tasks"]] == [("sleeper", "running")]
        running_rows = sum(t["state"] == "running" for x in status["runs"] for t in x["tasks"])
        assert (
            status["concurrency"]
            == {"limit": 4, "running": running_rows}
            == {
                "limit": 4,
                "running": 1,
            }
        )
        plain = treelane("status", cwd=repo).stdout
        assert "1 running" in plain and "tasks running: 1 of 4" in plain
    finally:
        owner.send_signal(signal.SIGINT)
        owner.communicate(timeout=60)


def test_a_dead_owners_run_is_shown_interrupted_but_not_repaired(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    owner = subprocess.Popen(
        [sys.executable, "-m", "treelane", "run", "slow", "--json"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    run = _wait_running(owner)
    db = repo / ".git" / "treelane" / "state.db"
    with sqlite3.connect(db) as conn:
        (server,) = conn.execute("SELECT owner_pid FROM runs WHERE id = ?", (run,)).fetchone()
    os.kill(server, signal.SIGKILL)  # the server that owns the run dies without a word
    os.killpg(owner.pid, signal.SIGKILL)
    owner.wait(timeout=30)
    _wait_gone(server)
    try:
        status = json.loads(treelane("status", run, "--json", cwd=repo).stdout)["runs"][0]
        assert status["state"] == "interrupted"
        assert status["tasks"][0]["state"] == "interrupted"
        with sqlite3.connect(db) as conn:  # shown, not written: the next server repairs it
            (state,) = conn.execute("SELECT state FROM runs WHERE id = ?", (run,)).fetchone()
        assert state == "running"
        # A recycled pid: a live process that started at another time is not the owner.
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE runs SET owner_pid = ? WHERE id = ?", (os.getpid(), run))
        status = json.loads(treelane("status", run, "--json", cwd=repo).stdout)["runs"][0]
        assert status["state"] == "interrupted"
    finally:
        # A server's start-up recovery marks the run interrupted and ends its task.
        treelane("cancel", run, cwd=repo)
    with sqlite3.connect(db) as conn:
        (state,) = conn.execute("SELECT state FROM runs WHERE id = ?", (run,)).fetchone()
    assert state == "interrupted"


def _wait_gone(pid: int) -> None:
    """Until ``pid`` is no process (a killed child of ours may linger as a zombie)."""
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(") ", 1)[1].startswith("Z"):
                    return
        except OSError:
            return
        time.sleep(0.05)


def test_a_newer_store_is_read_through_the_server_which_names_the_fix(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    assert treelane("run", "diamond", "--json", cwd=repo).returncode == 0
    db = repo / ".git" / "treelane" / "state.db"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    proc = treelane("status", cwd=repo)
    assert proc.returncode == 1
    reason = one_line_reason(proc.stderr)
    assert "schema version 999" in reason and "upgrade treelane" in reason


def test_read_only_errors_keep_the_cli_exit_codes(finished: tuple[Path, str]) -> None:
    repo, run = finished
    bad = treelane("status", "../etc", cwd=repo)
    assert bad.returncode == 2 and "run id" in one_line_reason(bad.stderr)
    missing = treelane("log", run, "zz", cwd=repo)
    assert missing.returncode == 1
    assert "has no task 'zz' (tasks: a, b, c, d)" in one_line_reason(missing.stderr)
    unknown = treelane("checkpoints", "wt-404", cwd=repo)
    assert unknown.returncode == 1
    reason = one_line_reason(unknown.stderr)
    assert "see: treelane worktrees" in reason and "treelane.worktrees" not in reason
