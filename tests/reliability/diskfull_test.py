"""A full disk: the repository (git dir, state.db and worktrees) on a 20 MB tmpfs.

The run ends 'failed' saying "no space left on device", status still answers, cancel
works, and resume finishes the run once space is freed. Needs root (mount); skipped
with the reason otherwise.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from repokit import make_repo
from rpc import Rpc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from clikit import treelane


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mnt = tmp_path / "fs"
    mnt.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(path: Path) -> None:
    """Fill the filesystem of ``path`` from outside treelane."""
    subprocess.run(
        ["dd", "if=/dev/zero", f"of={path}", "bs=1M", "count=64"],
        capture_output=True,
        check=False,
    )


def task_error(repo: Path, run: str, task: str) -> str:
    conn = sqlite3.connect(repo / ".git" / "treelane" / "state.db", timeout=30)
    try:
        row = conn.execute(
            "SELECT error FROM tasks WHERE run = ? AND name = ?", (run, task)
        ).fetchone()
        return str(row[0])
    finally:
        conn.close()


def finished(rpc: Rpc, run: str) -> dict[str, object]:
    rpc.wait_for(lambda: any(n["run"] == run for n in rpc.notes("treelane/runFinished")), 300)
    done = [n for n in rpc.notes("treelane/runFinished") if n["run"] == run]
    assert done, f"run {run} never finished: {rpc.stderr_text()}"
    return done[-1]


def test_a_task_that_fills_the_disk_fails_and_resumes_after_space_is_freed(
    small_fs: Path, tmp_path: Path
) -> None:
    flag = tmp_path / "space-is-back"
    toml = (
        "[workflows.w.tasks.fill]\n"
        f'run = "if [ -f {flag} ]; then echo fine; '
        'else dd if=/dev/zero of=big bs=1M count=64; fi"\n'
        "cache = false\n"
    )
    repo = make_repo(small_fs / "repo", toml)
    rpc = Rpc(repo)
    try:
        rpc.initialize()
        run = rpc.command("treelane.start", {"workflow": "w"})["result"]["run"]
        assert finished(rpc, run)["state"] == "failed"
        assert "no space left on device" in task_error(repo, run, "fill")
        assert "result" in rpc.command("treelane.status", {"run": run})

        # Filled from outside: status still answers, from this server and from a new one.
        filler = small_fs / "filler"
        fill(filler)
        status = rpc.command("treelane.status", {"run": run})
        assert status["result"]["runs"][0]["state"] == "failed"
        cli = treelane("status", run, "--json", cwd=repo)
        assert cli.returncode == 0, cli.stderr

        filler.unlink()
        flag.write_text("")
        resumed = rpc.command("treelane.resume", {"run": run})
        assert resumed["result"]["requeued"] == ["fill"], resumed
        rpc.wait_for(
            lambda: (
                [n["state"] for n in rpc.notes("treelane/runFinished") if n["run"] == run]
                == ["failed", "succeeded"]
            ),
            300,
        )
        final = rpc.command("treelane.status", {"run": run})["result"]["runs"][0]
        assert final["state"] == "succeeded"
    finally:
        rpc.close()


def test_cancel_works_while_the_disk_is_full(small_fs: Path) -> None:
    toml = '[workflows.w.tasks.wait]\nrun = "echo started; sleep 60"\ncache = false\n'
    repo = make_repo(small_fs / "repo", toml)
    rpc = Rpc(repo)
    filler = small_fs / "filler"
    try:
        rpc.initialize()
        run = rpc.command("treelane.start", {"workflow": "w"})["result"]["run"]
        rpc.wait_for(lambda: any(n["run"] == run for n in rpc.notes("treelane/output")), 120)
        fill(filler)
        assert "result" in rpc.command("treelane.status", {"run": run})
        cancel = rpc.command("treelane.cancel", {"run": run})
        assert cancel["result"] == {"cancelled": ["wait"]}, cancel
        filler.unlink()  # the end is written at the latest once there is space again
        assert finished(rpc, run)["state"] == "cancelled"
        state = rpc.command("treelane.status", {"run": run})["result"]["runs"][0]["state"]
        assert state == "cancelled"
    finally:
        if filler.exists():
            filler.unlink()
        rpc.close()
