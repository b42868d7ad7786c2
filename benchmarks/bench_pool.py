"""Pool benchmark: cold pools on big repositories, against ``git worktree add`` by hand.

For each generated repository size (``--files``, default 2,000; the README's tables use
21,000 and 100,000):

1. *by hand*: ``git worktree add --detach`` of K worktrees started at once (K = 8 and
   K = 2), time until the last one is done; and one add alone.
2. *treelane, cold pool*: a fresh engine, no worktrees, a workflow of 8 independent
   ``true`` tasks (``isolation = "worktree"``, cache off) with ``max_parallel`` = K and
   ``pool_size`` = ``pool_create_parallel`` = K: from ``start`` to ``runFinished``.
3. *warm acquire*: ``acquire`` of an idle worktree at the same commit (median of reps),
   against one ``git worktree add``.
4. git's own settings, measured on the same repository: ``checkout.workers`` for the
   add, ``core.untrackedCache`` / ``feature.manyFiles`` for the ``git status`` that the
   drift check of every warm acquire runs, and ``--no-checkout`` plus a cone-mode
   sparse checkout of one folder.

By hand and treelane alternate (``--reps``), medians reported. Usage:
``python benchmarks/bench_pool.py [--files N ...] [--reps R] [--dir DIR] [--json PATH]``
(default JSON: ``benchmarks/results/pool.json``). Prints markdown tables.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchkit import ENV, git, make_repo  # noqa: E402

from treelane.engine.core import Engine  # noqa: E402
from treelane.engine.events import Event, RunFinished  # noqa: E402
from treelane.engine.workflow import parse_config  # noqa: E402

DEFAULT_JSON = ROOT / "benchmarks" / "results" / "pool.json"


def drop_worktrees(repo: Path) -> None:
    for line in git("worktree", "list", "--porcelain", cwd=repo).splitlines():
        if line.startswith("worktree ") and Path(line[9:]) != repo:
            shutil.rmtree(line[9:], ignore_errors=True)
    git("worktree", "prune", cwd=repo)
    state = repo / ".git" / "treelane"
    shutil.rmtree(state, ignore_errors=True)


def by_hand(repo: Path, k: int, extra: tuple[str, ...] = ()) -> float:
    """K ``git worktree add`` processes started at once; seconds until all are done."""
    base = repo.parent / f"{repo.name}-hand"
    t0 = time.perf_counter()
    procs = [
        subprocess.Popen(
            ["git", *extra, "worktree", "add", "-q", "--detach", str(base / f"w{i}"), "HEAD"],
            cwd=repo,
            env=ENV,
        )
        for i in range(k)
    ]
    for p in procs:
        if p.wait() != 0:
            raise RuntimeError("git worktree add failed")
    took = time.perf_counter() - t0
    shutil.rmtree(base, ignore_errors=True)
    git("worktree", "prune", cwd=repo)
    return took


class Finished:
    def __init__(self, engine: Engine) -> None:
        self.done: dict[str, str] = {}
        self.at: dict[str, float] = {}
        self.cond = threading.Condition()
        engine.subscribe(self._on)

    def _on(self, ev: Event) -> None:
        if isinstance(ev, RunFinished):
            with self.cond:
                self.done[ev.run] = ev.state
                self.at[ev.run] = time.perf_counter()
                self.cond.notify_all()

    def wait(self, run: str) -> float:
        with self.cond:
            self.cond.wait_for(lambda: run in self.done, 3600)
        if self.done[run] != "succeeded":
            raise RuntimeError(f"run {run}: {self.done[run]}")
        return self.at[run]


def cold_run(repo: Path, k: int) -> float:
    """8 ``true`` tasks on a cold pool with K slots; seconds from start to runFinished."""
    tasks = "".join(f'[workflows.w.tasks.t{i}]\nrun = "true"\ncache = false\n' for i in range(8))
    cfg = parse_config(
        f"[settings]\nmax_parallel = {k}\npool_size = {k}\npool_create_parallel = {k}\n" + tasks
    )
    engine = Engine(repo, config=cfg, monitor_interval=5.0)
    try:
        fin = Finished(engine)
        t0 = time.perf_counter()
        run = engine.start(engine.workflow("w")).run
        return fin.wait(run) - t0
    finally:
        engine.close()
        drop_worktrees(repo)


def warm_acquire(repo: Path, reps: int) -> list[float]:
    engine = Engine(repo, config=parse_config("[settings]\npool_size = 1\n"), monitor_interval=5.0)
    try:
        sha = git("rev-parse", "HEAD", cwd=repo)
        engine.pool.release(engine.pool.acquire(sha).id)
        spans = []
        for _ in range(reps):
            t0 = time.perf_counter()
            lease = engine.pool.acquire(sha)
            spans.append(time.perf_counter() - t0)
            engine.pool.release(lease.id)
        return spans
    finally:
        engine.close()
        drop_worktrees(repo)


def timed(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env or ENV, check=True, capture_output=True)
    return time.perf_counter() - t0


def git_settings(repo: Path, reps: int) -> dict[str, float]:
    """Medians (s) of the variants of an add and of a status that git offers."""
    out: dict[str, list[float]] = {}
    wt = repo.parent / f"{repo.name}-settings"

    def add(name: str, *pre: str, post: tuple[str, ...] = ()) -> None:
        t = timed(["git", *pre, "worktree", "add", "-q", "--detach", *post, str(wt), "HEAD"], repo)
        out.setdefault(name, []).append(t)

    for _ in range(reps):
        add("worktree add (default)")
        # the drift check of a warm acquire: a status over every file
        status = ["git", "status", "--porcelain=v2", "--untracked-files=normal"]
        env = {**ENV, "GIT_OPTIONAL_LOCKS": "0"}
        out.setdefault("status (default)", []).append(timed(status, wt, env))
        git("config", "core.untrackedCache", "true", cwd=wt)
        subprocess.run(["git", "status"], cwd=wt, env=ENV, capture_output=True, check=True)
        out.setdefault("status, core.untrackedCache (cache written once)", []).append(
            timed(status, wt, env)
        )
        git("config", "--unset", "core.untrackedCache", cwd=wt)
        shutil.rmtree(wt)
        git("worktree", "prune", cwd=repo)
        add("worktree add, checkout.workers=0 (one per core)", "-c", "checkout.workers=0",
            "-c", "checkout.thresholdForParallelism=1")  # fmt: skip
        shutil.rmtree(wt)
        git("worktree", "prune", cwd=repo)
        add("worktree add, feature.manyFiles", "-c", "feature.manyFiles=true")
        shutil.rmtree(wt)
        git("worktree", "prune", cwd=repo)
        t0 = time.perf_counter()
        git("worktree", "add", "-q", "--detach", "--no-checkout", str(wt), "HEAD", cwd=repo)
        git("sparse-checkout", "set", "--cone", "src/d0000", cwd=wt)
        git("read-tree", "-mu", "HEAD", cwd=wt)  # populate the index, check out the cone
        out.setdefault("--no-checkout + sparse cone of one folder", []).append(
            time.perf_counter() - t0
        )
        shutil.rmtree(wt)
        git("worktree", "prune", cwd=repo)
    return {k: round(statistics.median(v), 3) for k, v in out.items()}


def measure(
    root: Path, files: int, reps: int, slots: list[int], with_settings: bool
) -> dict[str, Any]:
    repo = make_repo(root / f"repo{files}", files)
    hand: dict[int, list[float]] = {k: [] for k in slots}
    cold: dict[int, list[float]] = {k: [] for k in slots}
    one: list[float] = []
    for _ in range(reps):
        for k in slots:
            hand[k].append(by_hand(repo, k))
            cold[k].append(cold_run(repo, k))
        one.append(by_hand(repo, 1))
    warm = warm_acquire(repo, max(5, reps * 3))
    settings = git_settings(repo, max(1, reps // 2 or 1)) if with_settings else {}
    med = statistics.median
    res: dict[str, Any] = {
        "files": files,
        "one_add_s": round(med(one), 3),
        "warm_acquire_s": round(med(warm), 4),
        "warm_over_add": round(med(warm) / med(one), 4),
        "git_settings_s": settings,
        "cold": {},
    }
    for k in slots:
        res["cold"][k] = {
            "by_hand_s": round(med(hand[k]), 3),
            "by_hand_runs_s": [round(x, 3) for x in hand[k]],
            "treelane_s": round(med(cold[k]), 3),
            "treelane_runs_s": [round(x, 3) for x in cold[k]],
            "ratio": round(med(cold[k]) / med(hand[k]), 3),
        }
    shutil.rmtree(repo, ignore_errors=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, nargs="+", default=[2_000])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--slots", type=int, nargs="+", default=[8, 2], help="K values")
    ap.add_argument("--no-settings", action="store_true", help="skip the git settings part")
    ap.add_argument("--dir", type=Path, default=None, help="where to generate (e.g. /dev/shm)")
    ap.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = ap.parse_args()
    load = [round(v, 2) for v in os.getloadavg()]
    results = []
    with tempfile.TemporaryDirectory(prefix="treelane-bench-pool-", dir=args.dir) as tmp:
        for n in args.files:
            r = measure(Path(tmp), n, args.reps, args.slots, not args.no_settings)
            results.append(r)
            print(f"  {n} files: {json.dumps(r['cold'])}", file=sys.stderr)
    print("| repository | slots (K) | K adds by hand s | treelane 8 tasks, cold pool s | ratio |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        for k, c in r["cold"].items():
            print(
                f"| {r['files']:,} files | {k} | {c['by_hand_s']:.2f} | {c['treelane_s']:.2f} "
                f"| {c['ratio']:.2f} |"
            )
    print("\n| repository | one add s | warm acquire ms | warm / add |")
    print("|---|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['files']:,} files | {r['one_add_s']:.2f} | {r['warm_acquire_s'] * 1000:.1f} "
            f"| {r['warm_over_add']:.4f} |"
        )
    names = list(results[0]["git_settings_s"]) if results else []
    results_s = [r for r in results if r["git_settings_s"]]
    print("\n| git variant | " + " | ".join(f"{r['files']:,} files s" for r in results_s) + " |")
    print("|---|" + "---:|" * len(results_s))
    for name in names:
        cells = " | ".join(f"{r['git_settings_s'][name]:.3f}" for r in results_s)
        print(f"| {name} | {cells} |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "git": git("--version", cwd=ROOT),
                    "load_average_before": load,
                    "load_average_after": [round(v, 2) for v in os.getloadavg()],
                    "dir": str(args.dir or tempfile.gettempdir()),
                },
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
