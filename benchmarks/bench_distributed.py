"""Dask backend benchmark: the per-task cost of the Dask path against the local path, and
the makespan of many one-second tasks on 1, 2 and 4 workers.

1. *Bundles* on a generated repository (``--files``, default 10,000): ``git bundle create``
   of the whole history (what a worker's first attempt receives) and of one new commit
   (what later attempts receive, and what a result returns), their sizes, and the
   ``git fetch`` of each into a worker's bare clone.
2. *Per task*: a chain of ``--chain`` tasks (each writes one file; cache off) run locally
   and on a LocalCluster of one worker process (2 threads) on 127.0.0.1, twice on the
   cluster (the first run sends the whole history; the second only new commits). Per-task
   time = makespan / tasks; the Dask path's overhead = its per-task time minus the local one.
3. *Scaling*: ``--tasks`` (default 40) tasks of ``sleep 1`` (independent, cache off) on
   LocalClusters of 1, 2 and 4 worker processes with 2 threads each, ``max_parallel`` =
   the cluster's slots: makespan and speed-up against one worker, measured on ready
   workers (a first run readies each: its clone and worktrees; its makespan is shown
   too), the 1-minute load average while measuring, and the mean time per phase of an
   attempt (``DaskBackend.timings``). On a repository of ``--scale-files`` files (default
   100): the workers here share this machine's cores, and on a 10,000-file worktree each
   attempt's checkout and result snapshot (about 0.1 s of git each, idle) would make the
   cores the limit, which separate machines do not share.

Usage: ``python benchmarks/bench_distributed.py [--files N] [--chain C] [--tasks T]
[--scale-files N] [--workers 1 2 4] [--json PATH]`` (default JSON:
``benchmarks/results/distributed.json``). Prints markdown tables.
Needs ``pip install "treelane[dask]"``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import distributed  # noqa: E402
from benchkit import git, make_repo  # noqa: E402

from treelane.engine.cluster import bundles  # noqa: E402
from treelane.engine.cluster.client import DaskBackend  # noqa: E402
from treelane.engine.core import Engine  # noqa: E402
from treelane.engine.workflow import parse_config  # noqa: E402

DEFAULT_JSON = ROOT / "benchmarks" / "results" / "distributed.json"


@contextlib.contextmanager
def cluster(workers: int, threads: int, scratch: Path) -> Iterator[Any]:
    c = distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=threads,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
        local_directory=str(scratch),
    )
    try:
        yield c
    finally:
        with contextlib.suppress(Exception):  # a slow shutdown is not a result
            c.close(timeout=60)


def timed_run(engine: Engine, workflow: str) -> float:
    t0 = time.perf_counter()
    run = engine.start(engine.workflow(workflow), cache=False).run
    engine.wait(run, 3600)
    took = time.perf_counter() - t0
    state = engine.status(run)["runs"][0]["state"]
    if state != "succeeded":
        raise RuntimeError(f"run {run} of {workflow}: {state}")
    return took


def bench_bundles(repo: Path, tmp: Path) -> dict[str, Any]:
    head = git("rev-parse", "HEAD", cwd=repo)
    t0 = time.perf_counter()
    full = bundles.create(repo, head)
    t_full = time.perf_counter() - t0
    assert full is not None
    (repo / "new.txt").write_text("one change\n")
    git("add", "new.txt", cwd=repo)
    git("commit", "-q", "-m", "one more", cwd=repo)
    new = git("rev-parse", "HEAD", cwd=repo)
    t0 = time.perf_counter()
    inc = bundles.create(repo, new, [head])
    t_inc = time.perf_counter() - t0
    assert inc is not None
    bare = tmp / "worker.git"
    git("init", "-q", "--bare", str(bare), cwd=tmp)
    t0 = time.perf_counter()
    bundles.fetch(bare, full, head, "refs/treelane/have/a")
    f_full = time.perf_counter() - t0
    t0 = time.perf_counter()
    bundles.fetch(bare, inc, new, "refs/treelane/have/b")
    f_inc = time.perf_counter() - t0
    git("reset", "-q", "--hard", head, cwd=repo)
    return {
        "full_create_s": t_full,
        "full_bytes": len(full),
        "full_fetch_s": f_full,
        "commit_create_s": t_inc,
        "commit_bytes": len(inc),
        "commit_fetch_s": f_inc,
    }


def chain_toml(n: int, extra: str = "") -> str:
    lines = ["[settings]", "max_parallel = 2", "pool_size = 2", extra]
    for i in range(n):
        lines += [
            f"[workflows.chain.tasks.t{i}]",
            f'run = "echo {i} > out{i}.txt"',
            "cache = false",
        ]
        if i:
            lines.append(f'needs = ["t{i - 1}"]')
    return "\n".join(lines) + "\n"


def bench_per_task(repo: Path, chain: int, tmp: Path) -> dict[str, Any]:
    cfg = parse_config(chain_toml(chain))
    local = Engine(repo, config=cfg)
    try:
        timed_run(local, "chain")  # warm the local pool
        t_local = timed_run(local, "chain")
    finally:
        local.close()
    with cluster(1, 2, tmp / "scratch-chain") as c:
        backend = DaskBackend(c.scheduler_address)
        engine = Engine(repo, config=cfg, backend=backend)
        try:
            t_cold = timed_run(engine, "chain")  # the worker gets the whole history first
            backend.timings.clear()
            t_warm = timed_run(engine, "chain")
            phases = phase_means(backend)
        finally:
            engine.close()
    return {
        "tasks": chain,
        "local_per_task_s": t_local / chain,
        "dask_first_per_task_s": t_cold / chain,
        "dask_per_task_s": t_warm / chain,
        "dask_overhead_per_task_s": (t_warm - t_local) / chain,
        "dask_phases_s": phases,
    }


def phase_means(backend: DaskBackend) -> dict[str, float]:
    """Mean seconds per phase over the backend's recorded attempts (see AttemptTimes)."""
    by: dict[str, list[float]] = {}
    for t in backend.timings:
        for name, d in t.phases:
            by.setdefault(name, []).append(d)
    return {name: statistics.mean(ds) for name, ds in by.items()}


def bench_scaling(repo: Path, tasks: int, workers: list[int], tmp: Path) -> list[dict[str, Any]]:
    """Per cluster: a first run (it readies each worker: clone, worktrees), then the
    measured run on the ready workers, as a cluster of separate machines would be after
    its first run; the first run's makespan is reported beside it."""
    rows = []
    for w in workers:
        lines = ["[settings]", f"max_parallel = {2 * w}"]
        for i in range(tasks):
            lines += [f"[workflows.sleeps.tasks.s{i}]", 'run = "sleep 1"', "cache = false"]
        cfg = parse_config("\n".join(lines) + "\n")
        with cluster(w, 2, tmp / f"scratch-{w}") as c:
            backend = DaskBackend(c.scheduler_address)
            engine = Engine(repo, config=cfg, backend=backend)
            try:
                first = timed_run(engine, "sleeps")
                backend.timings.clear()
                load = os.getloadavg()[0]
                makespan = timed_run(engine, "sleeps")
                load = max(load, os.getloadavg()[0])
                per_worker: dict[str, int] = {}
                for t in backend.timings:
                    per_worker[t.worker] = per_worker.get(t.worker, 0) + 1
            finally:
                engine.close()
        rows.append(
            {
                "workers": w,
                "slots": 2 * w,
                "first_run_s": first,
                "makespan_s": makespan,
                "load_avg_1min": load,
                "tasks_per_worker": sorted(per_worker.values()),
                "phases_s": phase_means(backend),
            }
        )
    base = rows[0]["makespan_s"]
    for r in rows:
        r["speedup"] = base / r["makespan_s"]
        r["ideal_s"] = tasks / r["slots"]
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--chain", type=int, default=10)
    ap.add_argument("--tasks", type=int, default=40)
    ap.add_argument("--scale-files", type=int, default=100)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="treelane-bench-dist-", dir=args.dir))
    try:
        repo = make_repo(tmp / "repo", args.files)
        b = bench_bundles(repo, tmp)
        print("bundles done", file=sys.stderr)
        per = bench_per_task(repo, args.chain, tmp)
        print("per-task done", file=sys.stderr)
        small = make_repo(tmp / "small", args.scale_files)
        scaling = bench_scaling(small, args.tasks, args.workers, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n### Bundles ({args.files:,} files)\n")
    print("| bundle | create | size | fetch into a worker's clone |\n|---|---|---|---|")
    print(f"| whole history | {b['full_create_s']:.3f} s | {b['full_bytes'] / 1e6:.2f} MB | "
          f"{b['full_fetch_s']:.3f} s |")  # fmt: skip
    print(f"| one new commit | {b['commit_create_s']:.3f} s | {b['commit_bytes']:,} B | "
          f"{b['commit_fetch_s']:.3f} s |")  # fmt: skip
    print(f"\n### Per task (a chain of {per['tasks']} tasks, {args.files:,} files)\n")
    print("| path | per task |\n|---|---|")
    print(f"| local (warm pool) | {per['local_per_task_s']:.3f} s |")
    print(f"| Dask, first run (whole history sent) | {per['dask_first_per_task_s']:.3f} s |")
    print(f"| Dask, warm worker | {per['dask_per_task_s']:.3f} s |")
    print(f"| Dask overhead per task | {per['dask_overhead_per_task_s']:.3f} s |")
    print("\nDask warm chain, mean seconds per phase: " + ", ".join(
        f"{n} {d:.3f}" for n, d in per["dask_phases_s"].items()))  # fmt: skip
    print(f"\n### {args.tasks} tasks of `sleep 1`, 2 slots per worker, ready workers "
          f"({args.scale_files:,} files)\n")  # fmt: skip
    print("| workers | slots | makespan | ideal | speed-up | first run | load avg |")
    print("|---|---|---|---|---|---|---|")
    for r in scaling:
        print(f"| {r['workers']} | {r['slots']} | {r['makespan_s']:.1f} s | "
              f"{r['ideal_s']:.1f} s | {r['speedup']:.2f}x | {r['first_run_s']:.1f} s | "
              f"{r['load_avg_1min']:.1f} |")  # fmt: skip
    names = list(scaling[-1]["phases_s"])
    print("\n### Where an attempt's time goes (mean seconds per phase)\n")
    print("| workers | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    for r in scaling:
        cells = " | ".join(f"{r['phases_s'].get(n, 0.0):.3f}" for n in names)
        print(f"| {r['workers']} | {cells} |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "command": " ".join(["python", "benchmarks/bench_distributed.py", *sys.argv[1:]]),
                "files": args.files,
                "scale_files": args.scale_files,
                "bundles": b,
                "per_task": per,
                "scaling": scaling,
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
