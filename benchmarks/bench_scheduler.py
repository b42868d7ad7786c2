"""Scheduler benchmarks: real runs of real workflows on generated git repositories.

Three parts, measured in one invocation:

1. The seed documents' scenarios, executed with simulated agents (tasks that
   ``sleep``). Phase times are the midpoints of the ranges in the seed's bottleneck
   table (plan 2-3, build 5-7, test 3-4, review 2-3, document 2-3 minutes: 17 minutes
   in all, the seed's one-agent baseline), scaled 1 minute -> 0.1 s. Each scenario is
   run with ``max_parallel`` = its parallelism and again with ``max_parallel = 1``
   (the measured sequential time); the ideal bound is
   ``max(total work / slots, critical path)``.
2. 1,000 trivial tasks (``true``) as 100 chains of 10, ``isolation = "shared"``,
   ``max_parallel = 2``, cache off, inside a warm Engine, against ``ninja -j2``
   running the same DAG as a whole process.
3. The same DAG shape with ``isolation = "worktree"`` on a generated repository of
   10,000 files (10 chains of 10 tasks), cache off.
4. The seed's agent-workflow rows ("Skills + Worktrees" and "Full Stack", for one
   workflow and for five features): phases decompose at run time into spawned
   sub-tasks, and read-only analysis hits the cache across the features
   (:mod:`agent_scenarios`); scale ``--agent-scale`` seconds per seed minute.

Usage: ``python benchmarks/bench_scheduler.py [--quick] [--only agents] [--json PATH]``
(default JSON: ``benchmarks/results/scheduler.json``; with ``--only agents``,
``benchmarks/results/agents.json``). Prints markdown tables.
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
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import agent_scenarios as agents  # noqa: E402

from treelane.engine.core import Engine  # noqa: E402
from treelane.engine.events import Event, RunFinished  # noqa: E402
from treelane.engine.workflow import Workflow, parse_config  # noqa: E402

DEFAULT_JSON = ROOT / "benchmarks" / "results" / "scheduler.json"
SCALE = 0.1  # seconds per seed minute

# Seed: "Bottleneck Breakdown" (minutes): midpoints of the ranges.
PHASES = {"plan": 2.5, "build": 6.0, "test": 3.5, "review": 2.5, "document": 2.5}
# Seed: build phase with skills: analysis 4 x 30 s in parallel, generation 3 min,
# validation 4 x 20 s in parallel, integration 30 s (6.8 min sequential, 4.3 parallel).
SKILLS_BUILD = {"analysis": (4, 0.5), "generation": (1, 3.0), "validation": (4, 1 / 3)}
SKILLS_INTEGRATION = 0.5

Tasks = dict[str, dict[str, Any]]


# --- repositories and engines ----------------------------------------------------


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    res = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return res.stdout.strip()


def make_repo(path: Path, files: int = 0) -> Path:
    """A git repository with README.md and ``files`` more files in 100 folders."""
    path.mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=path)
    git("config", "user.name", "Bench", cwd=path)
    git("config", "user.email", "bench@example.com", cwd=path)
    (path / "README.md").write_text("bench\n")
    for i in range(files):
        d = path / "src" / f"d{i % 100:02d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:05d}.txt").write_text(f"file {i}\n" * 4)
    git("add", "-A", cwd=path)
    git("commit", "-q", "-m", "init", cwd=path)
    return path


class Timer:
    """Times runs from ``start`` to their RunFinished event (recorded in the listener)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.done: dict[str, float] = {}
        self.states: dict[str, str] = {}
        self.cond = threading.Condition()
        engine.subscribe(self._on_event)

    def _on_event(self, ev: Event) -> None:
        if isinstance(ev, RunFinished):
            now = time.perf_counter()
            with self.cond:
                self.done[ev.run] = now
                self.states[ev.run] = ev.state
                self.cond.notify_all()

    def run(self, workflows: list[Workflow], timeout: float = 600) -> float:
        """Start every workflow at once; seconds until the last one finished."""
        t0 = time.perf_counter()
        ids = [self.engine.start(wf).run for wf in workflows]
        with self.cond:
            ok = self.cond.wait_for(lambda: all(r in self.done for r in ids), timeout)
        if not ok:
            raise TimeoutError(f"runs {ids} did not finish in {timeout} s")
        bad = {r: self.states[r] for r in ids if self.states[r] != "succeeded"}
        if bad:
            raise RuntimeError(f"runs failed: {bad}")
        return max(self.done[r] for r in ids) - t0


def settings(engine: Engine, max_parallel: int, pool_size: int | None = None) -> None:
    pool = pool_size if pool_size is not None else max(4, max_parallel)
    engine.configure(
        parse_config(f"[settings]\nmax_parallel = {max_parallel}\npool_size = {pool}\n")
    )


@contextmanager
def engine_on(repo: Path) -> Iterator[tuple[Engine, Timer]]:
    engine = Engine(repo, config=parse_config(""), monitor_interval=1.0)
    try:
        yield engine, Timer(engine)
    finally:
        engine.close()


# --- part 1: the seed's scenarios ---------------------------------------------------


def sleep_task(minutes: float, needs: list[str] | None = None) -> dict[str, Any]:
    t: dict[str, Any] = {"run": f"sleep {minutes * SCALE:.4f}", "cache": False}
    if needs:
        t["needs"] = needs
    return t


def pipeline() -> Tasks:
    """plan -> build -> [test, review, document] (the seed's optimized critical path)."""
    return {
        "plan": sleep_task(PHASES["plan"]),
        "build": sleep_task(PHASES["build"], ["plan"]),
        "test": sleep_task(PHASES["test"], ["build"]),
        "review": sleep_task(PHASES["review"], ["build"]),
        "document": sleep_task(PHASES["document"], ["build"]),
    }


def split_pipeline(n: int) -> Tasks:
    """The pipeline with every phase after plan split into ``n`` parallel sub-tasks."""
    tasks: Tasks = {"plan": sleep_task(PHASES["plan"])}
    builds = [f"build{i}" for i in range(n)]
    for b in builds:
        tasks[b] = sleep_task(PHASES["build"] / n, ["plan"])
    for phase in ("test", "review", "document"):
        for i in range(n):
            tasks[f"{phase}{i}"] = sleep_task(PHASES[phase] / n, builds)
    return tasks


def skills_pipeline() -> Tasks:
    """The seed's "full stack" build: analysis x4 -> generation -> validation x4 -> integration."""
    tasks: Tasks = {"plan": sleep_task(PHASES["plan"])}
    prev = ["plan"]
    for step, (count, minutes) in SKILLS_BUILD.items():
        names = [f"{step}{i}" if count > 1 else step for i in range(count)]
        for name in names:
            tasks[name] = sleep_task(minutes, prev)
        prev = names
    tasks["integration"] = sleep_task(SKILLS_INTEGRATION, prev)
    for phase in ("test", "review", "document"):
        tasks[phase] = sleep_task(PHASES[phase], ["integration"])
    return tasks


def work_and_critical_path(tasks: Tasks) -> tuple[float, float]:
    """(sum of task times, longest path) in seconds."""
    dur = {n: float(t["run"].split()[1]) for n, t in tasks.items()}
    finish: dict[str, float] = {}
    for name in tasks:  # tasks are listed after their needs
        start = max((finish[n] for n in tasks[name].get("needs", [])), default=0.0)
        finish[name] = start + dur[name]
    return sum(dur.values()), max(finish.values())


def list_schedule(tasks: Tasks, runs: int, slots: int) -> float:
    """Makespan of a zero-overhead list schedule (longest remaining path first).

    ``max(work / slots, critical path)`` is a lower bound that some DAGs cannot reach
    (while ``plan`` runs alone, the other slots have nothing to do); this is what a
    scheduler without any overhead achieves, and so a fairer yardstick.
    """
    dur = {n: float(t["run"].split()[1]) for n, t in tasks.items()}
    needs = {n: list(t.get("needs", [])) for n, t in tasks.items()}
    rest: dict[str, float] = {}
    for name in reversed(list(tasks)):  # tasks are listed after their needs
        after = [rest[d] for d, ns in needs.items() if name in ns]
        rest[name] = dur[name] + max(after, default=0.0)
    done: dict[tuple[int, str], float] = {}
    running: list[tuple[float, tuple[int, str]]] = []
    pending = {(r, n) for r in range(runs) for n in tasks}
    now = 0.0
    while pending or running:
        ready = sorted(
            (k for k in pending if all((k[0], d) in done for d in needs[k[1]])),
            key=lambda k: (-rest[k[1]], k[0]),
        )
        while ready and len(running) < slots:
            k = ready.pop(0)
            pending.discard(k)
            running.append((now + dur[k[1]], k))
        running.sort()
        end, k = running.pop(0)
        now = end
        done[k] = end
    return now


@dataclass
class Scenario:
    name: str
    what: str
    tasks: Tasks
    runs: int
    slots: int
    seed: str  # the seed's projected speed-up for this scenario

    def ideal(self) -> tuple[float, float, float]:
        work, cp = work_and_critical_path(self.tasks)
        total = work * self.runs
        return total, cp, max(total / self.slots, cp)

    def achievable(self) -> float:
        return list_schedule(self.tasks, self.runs, self.slots)


def scenarios() -> list[Scenario]:
    out = [
        Scenario(
            "single workflow",
            "plan -> build -> [test, review, document]",
            pipeline(),
            1,
            3,
            "1.43x (worktrees only); 2.35x full stack incl. skills + Mem0",
        ),
        Scenario(
            "five workflows at once",
            "5 concurrent runs of the pipeline",
            pipeline(),
            5,
            5,
            "4.25x (5 worktrees); 8.5x incl. skills + Mem0",
        ),
        Scenario(
            "full stack (skills build)",
            "plan -> analysis x4 -> generation -> validation x4 -> integration -> [t, r, d]",
            skills_pipeline(),
            1,
            4,
            "2.35x (full stack; build phase alone 1.58x)",
        ),
    ]
    seed_agents = {2: "1.70x", 4: "2.62x", 6: "3.40x", 8: "3.78x"}
    for n, proj in seed_agents.items():
        out.append(
            Scenario(
                f"{n}-way parallelism",
                f"pipeline, build/test/review/document each split in {n} sub-tasks",
                split_pipeline(n),
                1,
                n,
                f"{proj} ({n} agents)",
            )
        )
    return out


@dataclass
class ScenarioResult:
    scenario: str
    what: str
    tasks: int
    slots: int
    makespan_s: float
    makespans_s: list[float]
    makespan_shared_s: float  # the same tasks, isolation = "shared" where allowed
    shared_ratio_to_ideal: float
    sequential_s: float
    speedup: float
    total_work_s: float
    critical_path_s: float
    ideal_s: float
    ratio_to_ideal: float
    list_schedule_s: float  # zero-overhead list schedule of the same DAG
    ratio_to_list_schedule: float
    ideal_speedup: float
    seed_projection: str


def measure_scenario(engine: Engine, timer: Timer, sc: Scenario, reps: int) -> ScenarioResult:
    prefix = sc.name.split()[0]
    wfs = [engine.parse_workflow(f"{prefix}-{i}", {"tasks": sc.tasks}) for i in range(sc.runs)]
    # The same tasks without worktree costs: isolation = "shared" wherever allowed (a
    # shared task may have at most one need; tasks that merge several keep a worktree).
    shared_tasks = {
        n: {**t, "isolation": "shared"} if len(t.get("needs", [])) <= 1 else t
        for n, t in sc.tasks.items()
    }
    shared = [
        engine.parse_workflow(f"{prefix}-shared-{i}", {"tasks": shared_tasks})
        for i in range(sc.runs)
    ]
    settings(engine, sc.slots)
    timer.run(wfs)  # warm-up: fills the pool with enough worktrees
    spans = [timer.run(wfs) for _ in range(reps)]
    shared_spans = [timer.run(shared) for _ in range(reps)]
    settings(engine, 1)
    sequential = timer.run(wfs)
    total, cp, ideal = sc.ideal()
    achievable = sc.achievable()
    makespan = statistics.median(spans)
    makespan_shared = statistics.median(shared_spans)
    return ScenarioResult(
        sc.name,
        sc.what,
        len(sc.tasks) * sc.runs,
        sc.slots,
        round(makespan, 3),
        [round(s, 3) for s in spans],
        round(makespan_shared, 3),
        round(makespan_shared / ideal, 3),
        round(sequential, 3),
        round(sequential / makespan, 2),
        round(total, 3),
        round(cp, 3),
        round(ideal, 3),
        round(makespan / ideal, 3),
        round(achievable, 3),
        round(makespan / achievable, 3),
        round(total / ideal, 2),
        sc.seed,
    )


# --- parts 2 and 3: many small tasks ---------------------------------------------------


def chains(n_chains: int, length: int, isolation: str) -> Tasks:
    tasks: Tasks = {}
    for c in range(n_chains):
        for i in range(length):
            t: dict[str, Any] = {"run": "true", "isolation": isolation, "cache": False}
            if i:
                t["needs"] = [f"c{c}_{i - 1}"]
            tasks[f"c{c}_{i}"] = t
    return tasks


def ninja_dir(folder: Path, n_chains: int, length: int) -> Path:
    folder.mkdir(parents=True)
    lines = ["rule task", "  command = true && touch $out", ""]
    for c in range(n_chains):
        for i in range(length):
            order = f" || stamps/c{c}_{i - 1}" if i else ""
            lines.append(f"build stamps/c{c}_{i}: task{order}")
    (folder / "build.ninja").write_text("\n".join(lines) + "\n")
    return folder


def time_ninja(folder: Path, jobs: int) -> float:
    for junk in ("stamps", ".ninja_log", ".ninja_deps"):
        p = folder / junk
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    t0 = time.perf_counter()
    subprocess.run(["ninja", f"-j{jobs}", "-C", str(folder)], check=True, capture_output=True)
    return time.perf_counter() - t0


@dataclass
class ManyResult:
    name: str
    tasks: int
    max_parallel: int
    isolation: str
    repo_files: int
    treelane_s: float
    treelane_runs_s: list[float]
    per_task_ms: float
    ninja_s: float | None = None
    ninja_runs_s: list[float] = field(default_factory=list)
    ninja_per_task_ms: float | None = None
    overhead_per_task_ms: float | None = None
    ratio: float | None = None


def measure_many(
    repo: Path,
    n_chains: int,
    length: int,
    isolation: str,
    reps: int,
    files: int,
    ninja_folder: Path | None,
) -> ManyResult:
    """Time the chains in a warm engine; with ``ninja_folder``, ninja too, rep by rep.

    The two alternate (treelane, ninja, treelane, ...) so that both see the same
    machine: medians of ``reps`` each.
    """
    n = n_chains * length
    use_ninja = ninja_folder is not None and shutil.which("ninja") is not None
    if use_ninja:
        assert ninja_folder is not None
        ninja_dir(ninja_folder, n_chains, length)
    spans: list[float] = []
    nspans: list[float] = []
    with engine_on(repo) as (engine, timer):
        settings(engine, 2, pool_size=4)
        warm_tasks = chains(2, 1, isolation)
        timer.run([engine.parse_workflow("warm", {"tasks": warm_tasks})])
        wf = engine.parse_workflow("many", {"tasks": chains(n_chains, length, isolation)})
        for _ in range(reps):
            spans.append(timer.run([wf]))
            if use_ninja:
                assert ninja_folder is not None
                nspans.append(time_ninja(ninja_folder, 2))
    t = statistics.median(spans)
    res = ManyResult(
        f"{n} tasks ({n_chains} chains of {length}), {isolation}",
        n,
        2,
        isolation,
        files,
        round(t, 3),
        [round(s, 3) for s in spans],
        round(t / n * 1000, 3),
    )
    if nspans:
        nt = statistics.median(nspans)
        res.ninja_s = round(nt, 3)
        res.ninja_runs_s = [round(s, 3) for s in nspans]
        res.ninja_per_task_ms = round(nt / n * 1000, 3)
        res.overhead_per_task_ms = round((t - nt) / n * 1000, 3)
        res.ratio = round(t / nt, 3)
    return res


# --- part 4: the seed's agent-workflow rows ---------------------------------------------


@dataclass
class AgentRow:
    scenario: str
    features: int
    slots: int
    tasks_per_run: int  # spawned sub-tasks included
    spawned: int  # in all runs
    cached: int  # in all runs
    makespan_s: float
    makespans_s: list[float]
    sequential_s: float  # the seed's baseline: one task per phase, max_parallel = 1
    speedup: float
    seed_speedup: float
    seed_minutes: float
    measured_minutes: float  # makespan in seed minutes
    ideal_s: float  # max(work / slots, critical path) of the expanded DAG
    ratio_to_ideal: float
    list_schedule_s: float
    ratio_to_list_schedule: float


AGENT_ROWS = [
    # (scenario, features, phases, cache, slots, seed speed-up, seed minutes)
    (
        "one workflow: Skills + Worktrees",
        1,
        ["build", "test", "review", "document"],
        False,
        8,
        1.90,
        10.5,
    ),
    ("one workflow: Full Stack", 1, ["build", "test", "review", "document"], True, 8, 2.35, 8.5),
    ("five features: Parallel + Skills", 5, ["build", "test", "review"], False, 24, 6.80, 12.5),
    ("five features: Full Stack", 5, ["build", "test", "review"], True, 24, 8.50, 10.0),
]


def _counts(engine: Engine, run_ids: list[str]) -> tuple[int, int, int]:
    spawned = cached = per_run = 0
    for r in run_ids:
        tasks = engine.status(r)["runs"][0]["tasks"]
        per_run = len(tasks)
        spawned += sum(1 for t in tasks if t.get("parent"))
        cached += sum(1 for t in tasks if t["state"] == "cached")
    return per_run, spawned, cached


def measure_agents(repo: Path, scale: float, reps: int) -> list[AgentRow]:
    rows: list[AgentRow] = []
    sequential: dict[int, float] = {}
    with engine_on(repo) as (engine, timer):
        for name, features, phases, cache, slots, seed_x, seed_min in AGENT_ROWS:
            prefix = f"f{len(rows)}"
            if features not in sequential:
                base = [
                    engine.parse_workflow(
                        f"{prefix}-base-{i}", {"tasks": agents.baseline_workflow(phases, scale)}
                    )
                    for i in range(features)
                ]
                settings(engine, 1, pool_size=slots)
                sequential[features] = timer.run(base)
            tasks = agents.skills_workflow(phases, scale, cache)
            wfs = [
                engine.parse_workflow(f"{prefix}-{i}", {"tasks": tasks}) for i in range(features)
            ]
            settings(engine, slots)
            timer.run(wfs)  # warm-up: fills the pool (and, with the cache, warms it)
            spans, ids = [], []
            for _ in range(reps):
                before = set(timer.done)
                spans.append(timer.run(wfs))
                ids = [r for r in timer.done if r not in before]
            per_run, spawned, cached = _counts(engine, ids)
            dag = agents.expanded(phases, scale, cached=cache)
            total, cp = work_and_critical_path(dag)
            total *= features
            ideal = max(total / slots, cp)
            achievable = list_schedule(dag, features, slots)
            makespan = statistics.median(spans)
            rows.append(
                AgentRow(
                    name,
                    features,
                    slots,
                    per_run,
                    spawned,
                    cached,
                    round(makespan, 3),
                    [round(x, 3) for x in spans],
                    round(sequential[features], 3),
                    round(sequential[features] / makespan, 2),
                    seed_x,
                    seed_min,
                    round(makespan / scale, 2),
                    round(ideal, 3),
                    round(makespan / ideal, 3),
                    round(achievable, 3),
                    round(makespan / achievable, 3),
                )
            )
            print(f"  {name}: {makespan:.3f} s (ideal {ideal:.3f} s)", file=sys.stderr)
    return rows


def print_agents(rows: list[AgentRow], scale: float) -> None:
    print(
        f"\n## The seed's agent-workflow rows (1 seed minute = {scale} s; spawned sub-tasks,"
        " worktree isolation)\n"
    )
    print(
        table(
            [asdict(r) for r in rows],
            [
                ("scenario", "scenario", str),
                ("tasks/run", "tasks_per_run", str),
                ("spawned", "spawned", str),
                ("cached", "cached", str),
                ("slots", "slots", str),
                ("makespan s", "makespan_s", s),
                ("sequential s", "sequential_s", s),
                ("speed-up", "speedup", x),
                ("seed", "seed_speedup", x),
                ("ideal s", "ideal_s", s),
                ("makespan/ideal", "ratio_to_ideal", lambda v: f"{v:.3f}"),
                ("makespan/list", "ratio_to_list_schedule", lambda v: f"{v:.3f}"),
                ("minutes (seed)", "measured_minutes", lambda v: f"{v:.1f}"),
            ],
        )
    )


# --- part 5: critical path first ----------------------------------------------------


def long_chain_beside_short(shorts: int = 12, links: int = 5) -> Tasks:
    """Short independent tasks listed first, a long chain last: arrival order is wrong."""
    tasks: Tasks = {f"short{i}": sleep_task(1.0) for i in range(shorts)}
    for i in range(links):
        tasks[f"chain{i}"] = sleep_task(2.0, [f"chain{i - 1}"] if i else None)
    return tasks


def one_long_task_last(shorts: int = 10) -> Tasks:
    """Only history tells them apart: every task has a path of one task."""
    tasks: Tasks = {f"short{i}": sleep_task(1.0) for i in range(shorts)}
    tasks["long"] = sleep_task(10.0)
    return tasks


def shared_everywhere(tasks: Tasks) -> Tasks:
    return {n: {**t, "isolation": "shared"} for n, t in tasks.items()}


@dataclass
class CriticalResult:
    scenario: str
    tasks: int
    slots: int
    isolation: str
    ideal_s: float
    list_schedule_s: float
    fifo_s: float
    fifo_runs_s: list[float]
    critical_s: float
    critical_runs_s: list[float]
    fifo_ratio: float  # makespan / ideal
    critical_ratio: float
    gain_pct: float  # (fifo - critical) / fifo


def critical_scenarios() -> list[Scenario]:
    out = [
        Scenario(
            "long chain beside 12 short tasks",
            "12 x 0.1 s listed first, then a chain of 5 x 0.2 s",
            shared_everywhere(long_chain_beside_short()),
            1,
            2,
            "",
        ),
        Scenario(
            "one long task listed last",
            "10 x 0.1 s, then one 1 s task (only history tells them apart)",
            shared_everywhere(one_long_task_last()),
            1,
            2,
            "",
        ),
    ]
    return out + [sc for sc in scenarios() if sc.name != "full stack (skills build)"]


def schedule(engine: Engine, slots: int, mode: str) -> None:
    engine.configure(
        parse_config(
            f"[settings]\nmax_parallel = {slots}\npool_size = {max(4, slots)}\n"
            f'schedule = "{mode}"\n'
        )
    )


def measure_critical(engine: Engine, timer: Timer, sc: Scenario, reps: int) -> CriticalResult:
    """History first (one run), then fifo and critical-path runs alternating, ``reps`` each."""
    prefix = "cp-" + sc.name.split()[0]
    wfs = [engine.parse_workflow(f"{prefix}-{i}", {"tasks": sc.tasks}) for i in range(sc.runs)]
    schedule(engine, sc.slots, "critical-path")
    timer.run(wfs)  # records durations (and fills the pool)
    fifo, crit = [], []
    for _ in range(reps):
        schedule(engine, sc.slots, "fifo")
        fifo.append(timer.run(wfs))
        schedule(engine, sc.slots, "critical-path")
        crit.append(timer.run(wfs))
    _, _, ideal = sc.ideal()
    f, c = statistics.median(fifo), statistics.median(crit)
    isolation = {t.get("isolation", "worktree") for t in sc.tasks.values()}
    return CriticalResult(
        sc.name,
        len(sc.tasks) * sc.runs,
        sc.slots,
        "/".join(sorted(isolation)),
        round(ideal, 3),
        round(sc.achievable(), 3),
        round(f, 3),
        [round(v, 3) for v in fifo],
        round(c, 3),
        [round(v, 3) for v in crit],
        round(f / ideal, 3),
        round(c / ideal, 3),
        round((f - c) / f * 100, 1),
    )


def critical_section(tmp: Path, reps: int) -> list[CriticalResult]:
    results = []
    with engine_on(make_repo(tmp / "critical")) as (engine, timer):
        for sc in critical_scenarios():
            r = measure_critical(engine, timer, sc, reps)
            results.append(r)
            print(
                f"  {sc.name}: fifo {r.fifo_s:.3f} s, critical path {r.critical_s:.3f} s",
                file=sys.stderr,
            )
    return results


def critical_table(results: list[CriticalResult]) -> str:
    return table(
        [asdict(r) for r in results],
        [
            ("scenario", "scenario", str),
            ("tasks", "tasks", str),
            ("slots", "slots", str),
            ("isolation", "isolation", str),
            ("ideal s", "ideal_s", s),
            ("list schedule s", "list_schedule_s", s),
            ("arrival order s", "fifo_s", s),
            ("/ideal", "fifo_ratio", lambda v: f"{v:.3f}"),
            ("critical path s", "critical_s", s),
            ("/ideal", "critical_ratio", lambda v: f"{v:.3f}"),
            ("gain", "gain_pct", lambda v: f"{v:.1f} %"),
        ],
    )


# --- report -------------------------------------------------------------------------


def table(
    rows: list[Mapping[str, Any]], columns: list[tuple[str, str, Callable[[Any], str]]]
) -> str:
    head = "| " + " | ".join(c[0] for c in columns) + " |"
    sep = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(fmt(r[key]) for _, key, fmt in columns) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def s(v: Any) -> str:
    return "–" if v is None else f"{v:.3f}"


def x(v: Any) -> str:
    return "–" if v is None else f"{v:.2f}x"


def ms(v: Any) -> str:
    return "–" if v is None else f"{v:.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions and smaller part 3")
    ap.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    ap.add_argument("--only", choices=["all", "agents"], default="all", help="run one part")
    ap.add_argument(
        "--agent-scale", type=float, default=1.0, help="part 4: seconds per seed minute"
    )
    ap.add_argument(
        "--critical-only",
        action="store_true",
        help="only part 5 (critical path first vs arrival order); JSON: scheduler-critical.json",
    )
    args = ap.parse_args(argv)
    if args.only == "agents":
        return main_agents(args)
    if args.critical_only:
        return critical_main(args)
    reps = 1 if args.quick else 3
    big_files = 2_000 if args.quick else 10_000
    tmp = Path(tempfile.mkdtemp(prefix="treelane-bench-"))
    started = time.time()
    load_before = [round(v, 2) for v in os.getloadavg()]
    try:
        seed_results = []
        with engine_on(make_repo(tmp / "seed")) as (engine, timer):
            for sc in scenarios():
                r = measure_scenario(engine, timer, sc, reps)
                seed_results.append(r)
                print(
                    f"  {sc.name}: {r.makespan_s:.3f} s (ideal {r.ideal_s:.3f} s)", file=sys.stderr
                )
        shared = measure_many(
            make_repo(tmp / "many"), 100, 10, "shared", 3 if args.quick else 7, 0, tmp / "ninja"
        )
        print(f"  {shared.name}: {shared.treelane_s:.3f} s", file=sys.stderr)
        big = measure_many(
            make_repo(tmp / "big", big_files), 10, 10, "worktree", reps, big_files, None
        )
        print(f"  {big.name}: {big.treelane_s:.3f} s", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    out = {
        "benchmark": "scheduler",
        "quick": args.quick,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "machine": {
            "cpus": psutil.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_before": load_before,
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
        },
        "seed_scenarios": {
            "scale_s_per_minute": SCALE,
            "phase_minutes": PHASES,
            "results": [asdict(r) for r in seed_results],
        },
        "many_tasks": [asdict(shared), asdict(big)],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")

    print("## Seed scenarios (1 seed minute = 0.1 s; simulated agents sleep)\n")
    print(
        table(
            [asdict(r) for r in seed_results],
            [
                ("scenario", "scenario", str),
                ("tasks", "tasks", str),
                ("slots", "slots", str),
                ("makespan s", "makespan_s", s),
                ("sequential s", "sequential_s", s),
                ("speed-up", "speedup", x),
                ("ideal s", "ideal_s", s),
                ("makespan/ideal", "ratio_to_ideal", lambda v: f"{v:.3f}"),
                ("list schedule s", "list_schedule_s", s),
                ("makespan/list", "ratio_to_list_schedule", lambda v: f"{v:.3f}"),
                ("shared: makespan/ideal", "shared_ratio_to_ideal", lambda v: f"{v:.3f}"),
                ("ideal speed-up", "ideal_speedup", x),
                ("seed projection", "seed_projection", str),
            ],
        )
    )
    print("\n## Many small tasks (max_parallel = 2, cache off, warm engine)\n")
    print(
        table(
            [asdict(shared), asdict(big)],
            [
                ("workload", "name", str),
                ("repo files", "repo_files", str),
                ("treelane s", "treelane_s", s),
                ("per task ms", "per_task_ms", ms),
                ("ninja -j2 s", "ninja_s", s),
                ("ninja per task ms", "ninja_per_task_ms", ms),
                ("overhead per task ms", "overhead_per_task_ms", ms),
                ("treelane/ninja", "ratio", lambda v: "–" if v is None else f"{v:.3f}"),
            ],
        )
    )
    print(f"\nJSON: {args.json}")
    return 0


def main_agents(args: argparse.Namespace) -> int:
    reps = 1 if args.quick else 3
    tmp = Path(tempfile.mkdtemp(prefix="treelane-bench-"))
    started = time.time()
    load_before = [round(v, 2) for v in os.getloadavg()]
    try:
        rows = measure_agents(make_repo(tmp / "agents"), args.agent_scale, reps)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    path = args.json if args.json != DEFAULT_JSON else DEFAULT_JSON.with_name("agents.json")
    out = {
        "benchmark": "scheduler/agents",
        "quick": args.quick,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "machine": {
            "cpus": psutil.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": load_before,
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
        },
        "scale_s_per_minute": args.agent_scale,
        "results": [asdict(r) for r in rows],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print_agents(rows, args.agent_scale)
    print(f"\nJSON: {path}")
    return 0



def critical_main(args: argparse.Namespace) -> int:
    reps = 1 if args.quick else 3
    tmp = Path(tempfile.mkdtemp(prefix="treelane-bench-"))
    load_before = [round(v, 2) for v in os.getloadavg()]
    try:
        results = critical_section(tmp, reps)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    path = (
        args.json
        if args.json != DEFAULT_JSON
        else DEFAULT_JSON.with_name("scheduler-critical.json")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    out = {
        "benchmark": "scheduler: critical path first",
        "reps": reps,
        "machine": {
            "cpus": psutil.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": load_before,
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
        },
        "results": [asdict(r) for r in results],
    }
    path.write_text(json.dumps(out, indent=2) + "\n")
    print("## Critical path first vs arrival order (history from one earlier run)\n")
    print(critical_table(results))
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
