"""Output: stored in emitted order, capped per attempt, bounded in memory, paged."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from enginekit import config, engines_fixture
from repokit import make_repo
from rpc import FULL, Rpc, count

engines = engines_fixture()
RSS_BOUND_MB = 200  # the documented bound (docs/reliability.md)


def test_stored_order_is_emitted_order(engines) -> None:
    n, lines = count(6, 100), count(3000, 20000)
    tasks = {f"t{i}": {"run": f"seq 1 {lines}", "cache": False} for i in range(n)}
    engine = engines(config({"w": tasks}, {"max_parallel": 4}))
    started = engine.start(engine.workflow("w"))
    assert engine.wait(started.run, 600) == "succeeded"
    expected = [str(i) for i in range(1, lines + 1)]
    for name in tasks:
        got, after = engine.output_page(started.run, name)
        assert after is None
        assert got == expected, f"{name}: stored order differs from emitted order"


def test_output_is_paged(engines) -> None:
    engine = engines(config({"w": {"a": {"run": "seq 1 2500", "cache": False}}}))
    started = engine.start(engine.workflow("w"))
    assert engine.wait(started.run, 120) == "succeeded"
    pages, offset = [], 0
    while offset is not None:
        lines, offset = engine.output_page(started.run, "a", offset, 1000)
        pages.append(lines)
    assert [len(p) for p in pages] == [1000, 1000, 500]
    assert [ln for p in pages for ln in p] == [str(i) for i in range(1, 2501)]


def test_a_huge_log_is_capped_and_the_server_stays_small(tmp_path: Path) -> None:
    total_mb = 200 if FULL else 10
    cap_mb = 10 if FULL else 1
    # ~100-byte lines, numbered, so the kept head and tail can be checked.
    per_line = 100
    n = total_mb * 1024 * 1024 // per_line
    cmd = f"seq 1 {n} | sed 's/$/ {'x' * (per_line - 12)}/'"
    toml = (
        f"[settings]\nlog_max_mb = {cap_mb}\n\n"
        f'[workflows.big.tasks.print]\nrun = "{cmd}"\ncache = false\n'
    )
    repo = make_repo(tmp_path / "repo", toml)
    rpc = Rpc(repo, keep_output=False)
    peak = [0]
    done = threading.Event()

    def watch() -> None:
        proc = psutil.Process(rpc.proc.pid)
        while not done.wait(0.05):
            try:
                peak[0] = max(peak[0], proc.memory_info().rss)
            except psutil.Error:
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        rpc.initialize()
        run = rpc.command("treelane.start", {"workflow": "big"})["result"]["run"]
        rpc.wait_for(lambda: any(r["run"] == run for r in rpc.notes("treelane/runFinished")), 1800)
        done.set()
        watcher.join()
        assert rpc.output_lines == n  # every line still reached the client, live
        # Paged: the stored log is the head, a marker, and the tail.
        stored: list[str] = []
        offset = 0
        while offset is not None:
            page = rpc.command(
                "treelane.output", {"run": run, "task": "print", "offset": offset, "limit": 5000}
            )["result"]
            assert len(page["lines"]) <= 5000
            stored += page["lines"]
            offset = page["next"]
        markers = [i for i, ln in enumerate(stored) if ln.startswith("[treelane: ")]
        assert len(markers) == 1, "one marker says what was dropped"
        assert "not kept" in stored[markers[0]]
        assert stored[0].split()[0] == "1"
        assert stored[-1].split()[0] == str(n)
        nums = [int(ln.split()[0]) for i, ln in enumerate(stored) if i != markers[0]]
        assert nums == sorted(nums)
        size = sum(len(ln) + 1 for ln in stored)
        assert size <= cap_mb * 1024 * 1024 + 1000
        db = repo / ".git" / "treelane" / "state.db"
        on_disk = sum(os.path.getsize(p) for p in (db, Path(f"{db}-wal")) if p.exists())
        assert on_disk < 4 * cap_mb * 1024 * 1024 + 8 * 1024 * 1024, on_disk
    finally:
        done.set()
        rpc.close()
    peak_mb = peak[0] / (1024 * 1024)
    print(f"peak server RSS {peak_mb:.0f} MB for {total_mb} MB of output")
    (tmp_path.parent / "peak-rss-mb").write_text(f"{peak_mb:.0f}\n")
    assert peak_mb < RSS_BOUND_MB
