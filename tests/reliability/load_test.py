"""Many runs at once on one server (real stdio, real git, real SQLite).

Every run must reach a final state and say so (``treelane/runFinished``); every CLI that
started a run exits. Reduced counts by default, the issue's full load (20 runs x 50
tasks) with TREELANE_FULL=1.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from repokit import make_repo
from rpc import FULL, Rpc, count

OWN, SHARED = (10, 40) if FULL else (4, 16)


def load_toml(own: int = OWN, shared: int = SHARED) -> str:
    lines = [
        "[settings]",
        "max_parallel = 4",
        "pool_size = 4",
        "",
    ]
    for i in range(own):
        lines += [
            f"[workflows.load.tasks.w{i}]",
            f'run = "echo w{i} > w{i}.txt"',
            "cache = false",
            "",
        ]
    for i in range(shared):
        lines += [
            f"[workflows.load.tasks.s{i}]",
            *([f'needs = ["w{i % own}"]'] if i % 2 else []),
            'isolation = "shared"',
            f'run = "cat w{i % own}.txt"' if i % 2 else f'run = "echo s{i}"',
            "cache = false",
            "",
        ]
    return "\n".join(lines)


def test_concurrent_runs_all_reach_a_final_state(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", load_toml())
    runs = count(6, 20)
    rpc = Rpc(repo)
    try:
        rpc.initialize()
        # All at once: the starts are answered concurrently by the server's threads.
        sent = [
            rpc.request_async(
                "workspace/executeCommand",
                {"command": "treelane.start", "arguments": [{"workflow": "load"}]},
            )
            for _ in range(runs)
        ]
        ids = []
        for msg_id in sent:
            res = rpc.answer(msg_id)
            assert "result" in res, res
            ids.append(res["result"]["run"])

        def finished() -> set[str]:
            return {n["run"] for n in rpc.notes("treelane/runFinished")}

        rpc.wait_for(lambda: finished() >= set(ids), timeout=1200)
        status = rpc.command("treelane.status", {})["result"]
        states = {r["run"]: r["state"] for r in status["runs"] if r["run"] in ids}
        stuck = sorted(set(ids) - finished())
        assert not stuck, f"runs never finished: {stuck}; states {states}"
        assert all(s == "succeeded" for s in states.values()), f"{states}\n{rpc.stderr_text(200)}"
        done = {n["run"]: n for n in rpc.notes("treelane/runFinished")}
        assert all(done[r]["counts"] == {"succeeded": OWN + SHARED} for r in ids)
    finally:
        code = rpc.close()
    assert code == 0


def test_concurrent_cli_runs_all_exit(tmp_path: Path) -> None:
    """Several `treelane run` at once (each its own server) on one repository."""
    repo = make_repo(tmp_path / "repo", load_toml(count(3, 10), count(6, 40)))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "treelane", "run", "load", "--json"],
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count(2, 8))
    ]
    for p in procs:
        out, err = p.communicate(timeout=1200)
        assert p.returncode == 0, err
        assert '"treelane/runFinished"' in out.splitlines()[-1]
