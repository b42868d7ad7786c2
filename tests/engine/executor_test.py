"""LocalExecutor and CancelToken: real /bin/sh subprocesses, real process trees."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import psutil
import pytest
from enginekit import SPAWNED, alive, pids_in, reap, spawn_script, wait_for

from treelane.engine import executor
from treelane.engine.executor import MAX_LINE, CancelToken, Job, LocalExecutor, kill_tree


@pytest.fixture(autouse=True, params=["pidfd", "threaded"])
def wait_path(request, monkeypatch) -> str:
    """Every test runs both ways: one thread with a pidfd (Linux), and the portable one."""
    if request.param == "threaded":
        monkeypatch.setattr(executor, "_pidfd", lambda pid: None)
    else:
        fd = executor._pidfd(os.getpid())
        if fd is None:
            pytest.skip("no pidfd_open here")
        os.close(fd)
    return str(request.param)


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self.lock:
            self.lines.append(line)


def execute(cmd: str, cwd: Path, env: dict[str, str] | None = None, **kw):  # type: ignore[no-untyped-def]
    lines = Lines()
    token = kw.pop("cancel", None) or CancelToken()
    ex = LocalExecutor(grace=kw.pop("grace", 1.0))
    out = ex.execute(Job(cmd, cwd, env or {}, kw.pop("timeout", None)), lines, token, **kw)
    return out, lines.lines


# --- output ----------------------------------------------------------------------


def test_output_lines_arrive_in_order_with_stderr(tmp_path) -> None:
    out, lines = execute(
        "i=1; while [ $i -le 300 ]; do echo line$i; i=$((i+1)); done; echo oops >&2; printf tail",
        tmp_path,
    )
    assert out.exit_code == 0 and not out.timed_out and not out.cancelled and out.error is None
    assert lines == [f"line{i}" for i in range(1, 301)] + ["oops", "tail"]


def test_long_lines_are_capped(tmp_path) -> None:
    n = MAX_LINE * 3
    out, lines = execute(f"head -c {n} /dev/zero | tr '\\0' x; echo; echo short", tmp_path)
    assert out.exit_code == 0
    assert len(lines) == 2
    assert lines[0] == "x" * MAX_LINE + "…"
    assert lines[1] == "short"


def test_crlf_and_invalid_utf8_do_not_break_lines(tmp_path) -> None:
    out, lines = execute("printf 'a\\r\\nb\\377c\\n'", tmp_path)
    assert out.exit_code == 0
    assert lines == ["a", "b\ufffdc"]


def test_lines_split_across_reads_are_joined(tmp_path) -> None:
    cmd = (
        "printf 'ab'; sleep 0.05; printf 'c\\nd'; sleep 0.05; printf '\\303'; sleep 0.05; "
        "printf '\\251\\n'; printf 'last'"
    )
    out, lines = execute(cmd, tmp_path)
    assert out.exit_code == 0
    assert lines == ["abc", "dé", "last"]


def test_huge_line_without_newline_is_capped(tmp_path) -> None:
    out, lines = execute("head -c 5000000 /dev/zero | tr '\\0' y", tmp_path)
    assert out.exit_code == 0
    assert lines == ["y" * MAX_LINE + "…"]


def test_timeout_holds_after_the_command_closed_its_output(tmp_path) -> None:
    t0 = time.monotonic()
    out, lines = execute("echo bye; exec >/dev/null 2>&1; sleep 100", tmp_path, timeout=0.3)
    assert out.timed_out and lines == ["bye"]
    assert time.monotonic() - t0 < 3


# --- exit codes, env, cwd ---------------------------------------------------------------


@pytest.mark.parametrize("code", [0, 1, 3, 255])
def test_exit_codes(tmp_path, code: int) -> None:
    out, _ = execute(f"exit {code}", tmp_path)
    assert out.exit_code == code
    assert out.error is None and not out.timed_out and not out.cancelled


def test_killed_by_signal_is_not_success(tmp_path) -> None:
    out, _ = execute("kill -KILL $$", tmp_path)
    assert out.exit_code not in (0, None)


def test_env_and_cwd_are_passed(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FROM_PARENT", "inherited")
    (tmp_path / "here.txt").write_text("x")
    out, lines = execute(
        'echo "$GREETING|$FROM_PARENT|$EMPTY|"; ls',
        tmp_path,
        {"GREETING": "hello  world $HOME", "EMPTY": ""},
    )
    assert out.exit_code == 0
    assert lines == ["hello  world $HOME|inherited||", "here.txt"]


def test_job_env_overrides_the_parent(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("WHO", "parent")
    _, lines = execute('echo "$WHO"', tmp_path, {"WHO": "job"})
    assert lines == ["job"]


def test_on_start_gets_the_shell_pid(tmp_path) -> None:
    seen: list[int] = []
    out, lines = execute("echo $$", tmp_path, on_start=seen.append)
    assert out.exit_code == 0
    assert seen == [int(lines[0])]


def test_missing_cwd_is_an_error_not_an_exception(tmp_path) -> None:
    out, lines = execute("true", tmp_path / "nope")
    assert out.exit_code is None and lines == []
    assert out.error is not None and out.error.startswith("could not start")


# --- cancellation --------------------------------------------------------------------


def test_cancel_before_start_runs_nothing(tmp_path) -> None:
    token = CancelToken()
    token.cancel()
    started: list[int] = []
    out, lines = execute(
        f"touch {tmp_path / 'ran'}", tmp_path, cancel=token, on_start=started.append
    )
    assert out == (None, False, True, "cancelled")
    assert lines == [] and started == []
    assert not (tmp_path / "ran").exists()


def test_cancel_while_running_ends_the_tree(tmp_path) -> None:
    script = spawn_script(tmp_path)
    pidfile = tmp_path / "pids"
    token = CancelToken()
    threading.Thread(
        target=lambda: (wait_for(lambda: len(pids_in(pidfile)) == SPAWNED), token.cancel()),
        daemon=True,
    ).start()
    t0 = time.monotonic()
    try:
        out, _ = execute(f"sh {script} {pidfile}", tmp_path, cancel=token)
        assert out.cancelled and out.error == "cancelled" and not out.timed_out
        assert out.exit_code != 0
        assert time.monotonic() - t0 < 5
        assert len(pids_in(pidfile)) == SPAWNED
        assert [p for p in pids_in(pidfile) if alive(p)] == []
    finally:
        reap(pids_in(pidfile))


def test_sigterm_ignoring_process_gets_sigkill_after_grace(tmp_path) -> None:
    pidfile = tmp_path / "pids"
    cmd = f"trap '' TERM; echo $$ > {pidfile}; while :; do sleep 0.05; done"
    t0 = time.monotonic()
    try:
        out, _ = execute(cmd, tmp_path, timeout=0.3, grace=0.3)
        assert out.timed_out and out.error == "timed out after 0.3 s"
        assert 0.5 <= time.monotonic() - t0 < 3
        assert [p for p in pids_in(pidfile) if alive(p)] == []
    finally:
        reap(pids_in(pidfile))


# --- time-outs and leftovers -------------------------------------------------------------


def test_timeout_kills_children_and_setsid_grandchild(tmp_path) -> None:
    script = spawn_script(tmp_path)
    pidfile = tmp_path / "pids"
    try:
        out, _ = execute(f"sh {script} {pidfile}", tmp_path, timeout=0.5)
        assert out.timed_out and not out.cancelled
        assert out.error == "timed out after 0.5 s"
        assert out.exit_code not in (0, None), "the exit status must be the killed shell's"
        pids = pids_in(pidfile)
        assert len(pids) == SPAWNED
        assert [p for p in pids if alive(p)] == []
    finally:
        reap(pids_in(pidfile))


def test_timeout_kills_an_orphaned_setsid_grandchild(tmp_path) -> None:
    """The grandchild's parent exits at once, so no process tree leads to it any more."""
    pidfile = tmp_path / "pids"
    inner = f"setsid sh -c 'echo \\$\\$ >> {pidfile}; exec sleep 100' &"  # \$: not the outer $$
    cmd = f'sh -c "{inner}"; sleep 100'
    try:
        out, _ = execute(cmd, tmp_path, timeout=0.5)
        assert out.timed_out
        (pid,) = pids_in(pidfile)
        assert pid not in {p.pid for p in psutil.Process().children(recursive=True)}
        assert not alive(pid)
    finally:
        reap(pids_in(pidfile))


def test_background_job_in_the_group_ends_with_the_command(tmp_path) -> None:
    pidfile = tmp_path / "pids"
    t0 = time.monotonic()
    try:
        cmd = (
            f"sh -c 'echo $$ > {pidfile}; exec sleep 100' & "
            f"while [ ! -s {pidfile} ]; do sleep 0.01; done; echo done"
        )
        out, lines = execute(cmd, tmp_path)
        assert out.exit_code == 0 and lines == ["done"]
        wait_for(lambda: not alive(pids_in(pidfile)[0]), 3, "background job to end")
        assert time.monotonic() - t0 < 3
    finally:
        reap(pids_in(pidfile))


def test_escaped_daemon_holding_the_output_does_not_hang_the_job(tmp_path) -> None:
    pidfile = tmp_path / "pids"
    cmd = (
        f"setsid sh -c 'echo $$ > {pidfile}; exec sleep 100' & "
        f"while [ ! -s {pidfile} ]; do sleep 0.01; done; echo done"
    )
    t0 = time.monotonic()
    try:
        out, lines = execute(cmd, tmp_path)
        assert out.exit_code == 0 and lines == ["done"]
        assert time.monotonic() - t0 < 3
        assert not alive(pids_in(pidfile)[0])
    finally:
        reap(pids_in(pidfile))


def test_kill_tree_of_a_gone_pid_is_harmless(tmp_path) -> None:
    proc = psutil.Popen(["true"])
    proc.wait()
    kill_tree(proc.pid, grace=0.1)


def test_kill_tree_leaves_the_exit_status_to_the_parent(tmp_path) -> None:
    import subprocess

    proc = subprocess.Popen(["sh", "-c", "sleep 100"], start_new_session=True)
    kill_tree(proc.pid, grace=1.0)
    assert proc.wait(timeout=5) == -15


# --- CancelToken ---------------------------------------------------------------------


def test_cancel_token_callbacks() -> None:
    token = CancelToken()
    calls: list[str] = []
    token.on_cancel(lambda: calls.append("a"))
    unregister = token.on_cancel(lambda: calls.append("b"))
    unregister()
    assert not token.is_set()
    token.cancel()
    token.cancel()
    assert token.is_set() and calls == ["a"]
    token.on_cancel(lambda: calls.append("late"))
    assert calls == ["a", "late"]


def test_no_process_left_by_a_plain_job(tmp_path) -> None:
    before = {p.pid for p in psutil.Process(os.getpid()).children(recursive=True)}
    out, _ = execute("sleep 0.01 & sleep 0.01; echo x", tmp_path)
    assert out.exit_code == 0
    after = {
        p.pid
        for p in psutil.Process(os.getpid()).children(recursive=True)
        if p.status() != psutil.STATUS_ZOMBIE
    }
    assert after <= before
