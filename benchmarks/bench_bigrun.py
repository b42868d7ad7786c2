"""Big graphs as a whole process: ``treelane run`` of N ``true`` tasks against ``ninja -j2``.

The graph is chains of 10 (N / 10 chains), ``isolation = "shared"``, cache off,
``max_parallel = 2``; ninja runs the same DAG (``true && touch $out``). Each treelane
run is a fresh ``treelane run WORKFLOW --json`` process (its own server, store and
engine), timed from spawn to exit, with the peak RSS of its server process. The two
alternate, ``--reps`` times; medians.

Usage: ``python benchmarks/bench_bigrun.py [--tasks 1000 10000] [--reps 3] [--json PATH]``
(default JSON: ``benchmarks/results/bigrun.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "bigrun.json"
ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True)


def make_repo(path: Path, tasks: int) -> Path:
    path.mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=path)
    git("config", "user.name", "Bench", cwd=path)
    git("config", "user.email", "bench@example.com", cwd=path)
    lines = ["[settings]", "max_parallel = 2", "pool_size = 2"]
    for c in range(tasks // 10):
        for i in range(10):
            lines.append(f"[workflows.big.tasks.c{c}_{i}]")
            lines.append('run = "true"\nisolation = "shared"\ncache = false')
            if i:
                lines.append(f'needs = ["c{c}_{i - 1}"]')
    (path / "treelane.toml").write_text("\n".join(lines) + "\n")
    (path / "README.md").write_text("bench\n")
    git("add", "-A", cwd=path)
    git("commit", "-q", "-m", "init", cwd=path)
    return path


def ninja_dir(path: Path, tasks: int) -> Path:
    path.mkdir(parents=True)
    lines = ["rule task", "  command = true && touch $out", ""]
    for c in range(tasks // 10):
        for i in range(10):
            order = f" || s/c{c}_{i - 1}" if i else ""
            lines.append(f"build s/c{c}_{i}: task{order}")
    (path / "build.ninja").write_text("\n".join(lines) + "\n")
    return path


def time_ninja(folder: Path) -> float:
    for junk in ("s", ".ninja_log", ".ninja_deps"):
        p = folder / junk
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    t0 = time.perf_counter()
    subprocess.run(["ninja", "-j2", "-C", str(folder)], check=True, capture_output=True)
    return time.perf_counter() - t0


def time_treelane(repo: Path) -> tuple[float, float, int]:
    """(seconds, peak server RSS in MB, notifications printed)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "treelane", "run", "big", "--json"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=ENV,
    )
    peak = [0]

    def watch() -> None:
        me = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                for child in me.children(recursive=True):
                    peak[0] = max(peak[0], child.memory_info().rss)
            except psutil.Error:
                pass
            time.sleep(0.2)

    w = threading.Thread(target=watch, daemon=True)
    w.start()
    assert proc.stdout is not None
    lines = sum(1 for _ in proc.stdout)
    rc = proc.wait()
    took = time.perf_counter() - t0
    w.join()
    if rc != 0:
        raise RuntimeError(f"treelane run exited {rc}")
    return took, peak[0] / 2**20, lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=int, nargs="+", default=[1_000, 10_000])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = ap.parse_args()
    load = [round(v, 2) for v in os.getloadavg()]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="treelane-bench-bigrun-") as tmp:
        for n in args.tasks:
            repo = make_repo(Path(tmp) / f"repo{n}", n)
            nd = ninja_dir(Path(tmp) / f"ninja{n}", n)
            tl, nj, rss, notes = [], [], [], 0
            for _ in range(args.reps):
                t, r, notes = time_treelane(repo)
                tl.append(t)
                rss.append(r)
                nj.append(time_ninja(nd))
            t, k = statistics.median(tl), statistics.median(nj)
            rows.append(
                {
                    "tasks": n,
                    "treelane_s": round(t, 3),
                    "treelane_runs_s": [round(x, 3) for x in tl],
                    "ninja_s": round(k, 3),
                    "ninja_runs_s": [round(x, 3) for x in nj],
                    "ratio": round(t / k, 2),
                    "treelane_ms_per_task": round(t / n * 1000, 3),
                    "server_peak_rss_mb": round(max(rss), 1),
                    "lines_printed": notes,
                }
            )
            print(f"  {n} tasks: {rows[-1]}", file=sys.stderr)
    print("| tasks | `treelane run` s | ms per task | `ninja -j2` s | ratio | server peak RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['tasks']:,} | {r['treelane_s']:.2f} | {r['treelane_ms_per_task']:.2f} "
            f"| {r['ninja_s']:.2f} | {r['ratio']:.1f}x | {r['server_peak_rss_mb']:.0f} |"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "load_average_before": load,
                    "load_average_after": [round(v, 2) for v in os.getloadavg()],
                },
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
