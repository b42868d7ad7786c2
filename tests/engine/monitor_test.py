"""The psutil sampler, alone and inside an engine: real processes, real samples."""

from __future__ import annotations

import subprocess
import threading
import time

import psutil
from enginekit import attempts, config, engines_fixture, max_overlap, run, run_state, wait_for

from treelane.engine.events import Notice, Resources
from treelane.engine.monitor import Monitor, Sample, TaskProc, auto_limit

engines = engines_fixture()


class Samples:
    def __init__(self) -> None:
        self.items: list[Sample] = []
        self.lock = threading.Lock()

    def __call__(self, s: Sample) -> None:
        with self.lock:
            self.items.append(s)

    def __len__(self) -> int:
        with self.lock:
            return len(self.items)


def test_task_proc_measures_the_whole_tree() -> None:
    proc = subprocess.Popen(
        [
            "sh",
            "-c",
            "sleep 5 & sleep 5 & python3 -c 'x = bytearray(30 << 20); import time; time.sleep(5)'",
        ],
        start_new_session=True,
    )
    try:
        tp = TaskProc("r1", "t", proc.pid)
        wait_for(
            lambda: (m := tp.measure()) is not None and m["processes"] == 4 and m["rss_mb"] > 30
        )
        m = tp.measure()
        assert m is not None
        assert (m["run"], m["task"], m["pid"]) == ("r1", "t", proc.pid)
        assert m["cpu_percent"] >= 0
    finally:
        for p in psutil.Process(proc.pid).children(recursive=True):
            p.kill()
        proc.kill()
        proc.wait()
    assert TaskProc("r1", "t", proc.pid).measure() is None


def test_sample_shape() -> None:
    mon = Monitor(lambda s: None, lambda: {"limit": 3, "running": 1})
    s = mon.sample()
    assert set(s) == {"time", "system", "tasks", "concurrency"}
    assert set(s["system"]) == {"cpu_percent", "memory_percent", "memory_available_mb"}
    assert s["system"]["memory_available_mb"] > 0
    assert 0 <= s["system"]["memory_percent"] <= 100
    assert s["concurrency"] == {"limit": 3, "running": 1}
    assert s["tasks"] == []
    assert mon.last is s


def test_samples_only_while_tasks_run() -> None:
    got = Samples()
    running = {"n": 0}
    mon = Monitor(got, lambda: {"limit": 2, "running": running["n"]}, interval=0.02)
    mon.start()
    try:
        time.sleep(0.15)
        assert len(got) == 0, "idle: no samples"
        proc = subprocess.Popen(["sleep", "5"])
        running["n"] = 1
        mon.track("r", "t", proc.pid)
        wait_for(lambda: len(got) >= 3, 5, "samples")
        with got.lock:
            tasks = [t for s in got.items for t in s["tasks"]]
        assert tasks and tasks[-1]["pid"] == proc.pid and tasks[-1]["processes"] == 1
        mon.untrack("r", "t")
        running["n"] = 0
        proc.kill()
        proc.wait()
        time.sleep(0.1)
        n = len(got)
        time.sleep(0.2)
        assert len(got) == n, "idle again: sampling stops"
        # wake() alone does not sample while nothing runs.
        mon.wake()
        time.sleep(0.1)
        assert len(got) == n
    finally:
        mon.stop()


def test_stop_is_prompt() -> None:
    mon = Monitor(lambda s: None, lambda: {"running": 1}, interval=30)
    mon.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    mon.stop()
    assert time.monotonic() - t0 < 1


def test_auto_limit_bounds() -> None:
    cpus = psutil.cpu_count() or 1
    assert 1 <= auto_limit(1) <= cpus
    assert auto_limit(1, ceiling=1) == 1
    assert auto_limit(10**9) == 1, "never below one"


# --- inside an engine -------------------------------------------------------------------


def test_engine_records_samples_and_streams_resources(engines) -> None:
    cfg = config({"w": {"t": {"run": "sleep 0.3"}}}, {"max_parallel": 2})
    e = engines(cfg, monitor_interval=0.05)
    r = run(e, "w")
    assert run_state(e, r) == "succeeded"
    res = engines.events(e).of(Resources)
    assert len(res) >= 2
    with_task = [ev.sample for ev in res if ev.sample["tasks"]]
    assert with_task and with_task[0]["tasks"][0]["run"] == r
    assert with_task[0]["concurrency"]["running"] == 1
    data = e.report_data(r)
    assert len(data["samples"]) >= 2
    assert {"cpu_percent", "memory_percent", "limit", "running"} <= set(data["samples"][0])
    counters = [ev for ev in e.trace(r)["traceEvents"] if ev["ph"] == "C"]
    assert len(counters) == len(data["samples"])


def test_short_memory_holds_tasks_back(engines) -> None:
    cfg = config(
        {"w": {f"t{i}": {"run": "sleep 0.15"} for i in range(3)}},
        {"max_parallel": 3, "memory_per_task_mb": 10**8},
    )
    e = engines(cfg, monitor_interval=0.05)
    e.monitor.sample()  # a sample exists before the run starts
    r = run(e, "w")
    assert run_state(e, r) == "succeeded"
    spans = [(a["started"], a["finished"]) for a in attempts(e, r)]
    assert max_overlap(spans) == 1, "with memory short, one task at a time"
    notes = [n for n in engines.events(e).of(Notice) if "memory is short" in n.message]
    assert len(notes) == 1


def test_enough_memory_runs_in_parallel(engines) -> None:
    cfg = config(
        {"w": {f"t{i}": {"run": "sleep 0.15"} for i in range(3)}},
        {"max_parallel": 3, "memory_per_task_mb": 1},
    )
    e = engines(cfg, monitor_interval=0.05)
    e.monitor.sample()
    r = run(e, "w")
    spans = [(a["started"], a["finished"]) for a in attempts(e, r)]
    assert max_overlap(spans) == 3
    assert e.concurrency() == {"limit": 3, "running": 0}
