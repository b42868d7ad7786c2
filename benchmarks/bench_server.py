"""Benchmark the language server as the CLI and editors see it (a real subprocess).

* start: ``python -m treelane serve`` spawned to its ``initialize`` result (median
  over ``--reps`` fresh processes);
* idle RSS of the server after ``initialize`` and one ``treelane.status`` (psutil);
* ``treelane.status`` round trips (p50/p99 over ``--requests``, at least 300) while
  8 tasks each print ~50 lines/s (``max_parallel = 8``, ``cache = false``).

Prints a markdown table with the targets and writes ``benchmarks/results/server.json``.
When the start target is missed it also lists the slowest imports of the server
(``python -X importtime``), which is where the time goes.

    python benchmarks/bench_server.py [--reps N] [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from treelane.cli.client import LspClient

RESULTS = Path(__file__).resolve().parent / "results" / "server.json"
TARGETS = {"start_ms": 600.0, "idle_rss_mb": 60.0, "status_p99_ms": 20.0}
TASKS = 8
LINES_PER_SECOND = 50

CHATTY = f"""\
import os, sys, time
stop, i = sys.argv[1], 0
deadline = time.monotonic() + 120
while not os.path.exists(stop) and time.monotonic() < deadline:
    i += 1
    print(f"line {{i}}: " + "x" * 60, flush=True)
    time.sleep(1 / {LINES_PER_SECOND})
"""


def make_repo(root: Path, stop: Path) -> Path:
    root.mkdir(parents=True)
    script = root.parent / "chatty.py"
    script.write_text(CHATTY)
    lines = ["[settings]", f"max_parallel = {TASKS}", f"pool_size = {TASKS}", ""]
    command = json.dumps(" ".join(shlex.quote(str(a)) for a in (sys.executable, script, stop)))
    for n in range(TASKS):
        lines += [f"[workflows.chatty.tasks.t{n}]", f"run = {command}", "cache = false", ""]
    (root / "treelane.toml").write_text("\n".join(lines))
    (root / "README.md").write_text("bench\n")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (
        ["init", "-q"],
        ["symbolic-ref", "HEAD", "refs/heads/main"],
        ["-c", "user.name=bench", "-c", "user.email=b@example.com", "add", "-A"],
        ["-c", "user.name=bench", "-c", "user.email=b@example.com", "commit", "-qm", "init"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, env=env)
    return root


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def start_once(root: Path) -> tuple[float, float, float]:
    """ms from spawn to the initialize result, the server's CPU ms by then (user + system:
    what the start costs however busy the machine is), RSS in MB after one status call."""
    t0 = time.perf_counter()
    client = await LspClient.spawn(root)
    try:
        await client.initialize(root)
        start_ms = (time.perf_counter() - t0) * 1000
        proc = psutil.Process(client.proc.pid)
        cpu = proc.cpu_times()
        cpu_ms = (cpu.user + cpu.system) * 1000
        await client.execute("treelane.status", {})
        await asyncio.sleep(0.2)
        rss = proc.memory_info().rss / 2**20
    finally:
        await client.close()
    return start_ms, cpu_ms, rss


async def status_under_load(root: Path, stop: Path, requests: int) -> dict[str, Any]:
    client = await LspClient.spawn(root)
    try:
        await client.initialize(root)
        run = (await client.execute("treelane.start", {"workflow": "chatty"}))["run"]
        deadline = time.monotonic() + 60
        while (await client.execute("treelane.status", {}))["concurrency"]["running"] < TASKS:
            if time.monotonic() > deadline:
                raise SystemExit("the 8 tasks did not all start within 60 s")
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # let output reach its steady rate
        lines_before = _drain_lines(client)
        t_load = time.perf_counter()
        rtts = []
        for _ in range(requests):
            t0 = time.perf_counter()
            await client.execute("treelane.status", {})
            rtts.append((time.perf_counter() - t0) * 1000)
        load_s = time.perf_counter() - t_load
        lines = _drain_lines(client) - lines_before
        running = (await client.execute("treelane.status", {}))["concurrency"]["running"]
        stop.write_text("stop\n")
        while True:
            method, params = await asyncio.wait_for(client.notifications.get(), 60)
            if method == "treelane/runFinished" and params["run"] == run:
                break
    finally:
        await client.close()
    return {
        "requests": requests,
        "p50_ms": statistics.median(rtts),
        "p99_ms": percentile(rtts, 99),
        "max_ms": max(rtts),
        "tasks_running_at_end": running,
        "output_lines_per_s": lines / load_s,
    }


_seen_lines = 0


def _drain_lines(client: LspClient) -> int:
    """Count output lines received so far (notifications are consumed here)."""
    global _seen_lines
    while not client.notifications.empty():
        method, params = client.notifications.get_nowait()
        if method == "treelane/output":
            _seen_lines += len(params["lines"])
    return _seen_lines


def slowest_imports(limit: int = 8) -> list[tuple[str, float]]:
    """Import time (ms) of the server module by top-level package (sum of self times)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import treelane.server.server"],
        capture_output=True,
        text=True,
        check=False,
    )
    totals: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        own, _, name = (part.strip() for part in line[12:].split("|"))
        if own.isdigit():
            package = name.split(".")[0]
            totals[package] = totals.get(package, 0) + int(own) / 1000
    return sorted(totals.items(), key=lambda kv: -kv[1])[:limit]


async def main_async(reps: int, requests: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="treelane-bench-") as tmp:
        stop = Path(tmp) / "stop"
        root = make_repo(Path(tmp) / "repo", stop)
        await start_once(root)  # warm the OS file cache: measure the server, not the disk
        starts, cpus, rss = [], [], []
        for _ in range(reps):
            s, c, r = await start_once(root)
            starts.append(s)
            cpus.append(c)
            rss.append(r)
        load = await status_under_load(root, stop, requests)
    return {
        "start_ms": {"median": statistics.median(starts), "all": starts},
        "start_cpu_ms": {"median": statistics.median(cpus), "all": cpus},
        "idle_rss_mb": {"median": statistics.median(rss), "all": rss},
        "status_under_load": load,
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_1min": os.getloadavg()[0],
        },
        "targets": TARGETS,
    }


def table(r: dict[str, Any]) -> str:
    load = r["status_under_load"]
    rows = [
        ("server start -> initialize (median)", r["start_ms"]["median"], "ms", "start_ms"),
        ("server CPU time until initialize (median)", r["start_cpu_ms"]["median"], "ms", None),
        ("idle RSS after initialize + status", r["idle_rss_mb"]["median"], "MB", "idle_rss_mb"),
        ("treelane.status p50 under load", load["p50_ms"], "ms", None),
        ("treelane.status p99 under load", load["p99_ms"], "ms", "status_p99_ms"),
    ]
    out = ["| metric | measured | target | result |", "|---|---:|---:|:---:|"]
    for name, value, unit, key in rows:
        target = f"< {TARGETS[key]:.0f} {unit}" if key else "-"
        verdict = ("pass" if value < TARGETS[key] else "FAIL") if key else "-"
        out.append(f"| {name} | {value:.1f} {unit} | {target} | {verdict} |")
    out.append("")
    out.append(
        f"{len(r['start_ms']['all'])} fresh servers; {load['requests']} status requests while "
        f"{load['tasks_running_at_end']} tasks streamed {load['output_lines_per_s']:.0f} "
        f"lines/s in total (max round trip {load['max_ms']:.1f} ms); "
        f"Python {r['environment']['python']}, {r['environment']['cpus']} CPUs, "
        f"load average {r['environment']['load_average_1min']:.1f}."
    )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="fresh servers to start (median)")
    parser.add_argument("--requests", type=int, default=300, help="status calls under load")
    args = parser.parse_args()
    if args.requests < 300:
        parser.error("--requests must be at least 300")
    result = asyncio.run(main_async(max(1, args.reps), args.requests))
    if result["start_ms"]["median"] >= TARGETS["start_ms"]:
        result["slowest_imports_ms"] = dict(slowest_imports())
    print(table(result))
    if "slowest_imports_ms" in result:
        print("\nimport time of treelane.server.server by package (ms, one run):")
        for name, ms in result["slowest_imports_ms"].items():
            print(f"- {name}: {ms:.0f}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")


if __name__ == "__main__":
    main()
