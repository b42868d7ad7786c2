"""Benchmark the read-only CLI commands as a user's shell runs them (whole processes).

In one repository with one finished run (the ``diamond`` workflow) and one checkpoint,
each read-only command (``status``, ``status RUN``, ``worktrees``, ``log``, ``report``,
``trace``, ``checkpoints``, and ``diff`` when this treelane has it) is run ``--reps``
times as a fresh process of the installed ``treelane`` script (in turns: one run of each
command, then the next round), side by side with
``git status`` in the same repository, ``python3 -c pass`` and ``treelane status``
answered through a language server (how every command worked before: spawn
``treelane serve``, initialize, one request). Prints a markdown table (median and
fastest ms, ratio to ``git status``) and writes ``benchmarks/results/cli.json``.
treelane's modules are byte-compiled first, as ``pip install`` leaves an installed
package (an editable install run with ``PYTHONDONTWRITEBYTECODE=1`` would otherwise
compile every module from source on every start).

    python benchmarks/bench_cli.py [--reps N]
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
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "cli.json"
TARGET_MS = 100.0
TREELANE = Path(sys.executable).parent / "treelane"

TOML = """\
[settings]
max_parallel = 4

[workflows.diamond.tasks.a]
run = "echo A > a.txt && echo made a"

[workflows.diamond.tasks.b]
needs = ["a"]
run = "cat a.txt > b.txt"

[workflows.diamond.tasks.c]
needs = ["a"]
run = "echo C > c.txt"

[workflows.diamond.tasks.d]
needs = ["b", "c"]
run = "cat b.txt c.txt > d.txt"
"""

# `treelane status` through a server, as the CLI did before it read the store itself.
VIA_SERVER = """
import asyncio, sys
from treelane.cli.session import open_session
async def main():
    async with open_session(sys.argv[1]) as s:
        await s.execute("treelane.status", {})
asyncio.run(main())
"""


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def make_repo(root: Path) -> tuple[Path, str]:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Bench")
    git(root, "config", "user.email", "bench@example.com")
    (root / "README.md").write_text("hello\n")
    (root / "treelane.toml").write_text(TOML)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    run = subprocess.run([str(TREELANE), "run", "diamond", "--json"], cwd=root,
                         capture_output=True, text=True, check=True)  # fmt: skip
    run_id = json.loads(run.stdout.splitlines()[-1])["params"]["run"]
    subprocess.run([str(TREELANE), "checkpoint", "-m", "bench"], cwd=root, check=True,
                   capture_output=True)  # fmt: skip
    return root, run_id


def byte_compile() -> None:
    import compileall

    import treelane

    compileall.compile_dir(str(Path(treelane.__file__).parent), quiet=1)


def has_subcommand(name: str) -> bool:
    proc = subprocess.run([str(TREELANE), name, "--help"], capture_output=True, check=False)
    return proc.returncode == 0


def time_processes(
    commands: list[tuple[str, list[str]]], cwd: Path, reps: int
) -> dict[str, dict[str, float]]:
    """Median and fastest wall time (ms) of ``reps`` runs of each command after one warm-up,
    taken in turns (one run of each, then the next round), so that a noisy moment of the
    machine falls on all of them alike."""
    for _, argv in commands:
        subprocess.run(argv, cwd=cwd, capture_output=True, check=True)
    times: dict[str, list[float]] = {name: [] for name, _ in commands}
    for _ in range(reps):
        for name, argv in commands:
            t0 = time.perf_counter()
            subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=True)  # fmt: skip
            times[name].append((time.perf_counter() - t0) * 1000)
    return {
        name: {"median_ms": round(statistics.median(t), 1), "min_ms": round(min(t), 1)}
        for name, t in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20, help="runs per command (default 20)")
    args = parser.parse_args()
    byte_compile()
    tmp = Path(tempfile.mkdtemp(prefix="treelane-bench-cli-"))
    try:
        repo, run = make_repo(tmp / "repo")
        html, trace = str(tmp / "out.html"), str(tmp / "out.json")
        t = str(TREELANE)
        commands: list[tuple[str, list[str]]] = [
            ("treelane status", [t, "status"]),
            ("treelane status RUN", [t, "status", run]),
            ("treelane status --json", [t, "status", "--json"]),
            ("treelane worktrees", [t, "worktrees"]),
            ("treelane log RUN a", [t, "log", run, "a"]),
            ("treelane report RUN -o FILE", [t, "report", run, "-o", html]),
            ("treelane trace RUN -o FILE", [t, "trace", run, "-o", trace]),
            ("treelane checkpoints", [t, "checkpoints"]),
        ]  # fmt: skip
        if has_subcommand("diff"):
            commands.append(("treelane diff RUN", [t, "diff", run]))
        baselines = [
            ("git status", ["git", "status"]),
            ("python3 -c pass", [sys.executable, "-c", "pass"]),
            ("python3 -c 'import sqlite3'", [sys.executable, "-c", "import sqlite3"]),
            ("treelane status through a server (before)", [sys.executable, "-c", VIA_SERVER,
                                                           str(repo)]),
        ]  # fmt: skip
        timed = time_processes(commands + baselines, repo, args.reps)
        rows: list[dict[str, Any]] = [{"what": name, **timed[name]} for name, _ in commands]
        rows += [{"what": name, **timed[name]} for name, _ in baselines]
        git_ms = next(r["median_ms"] for r in rows if r["what"] == "git status")
        sqlite_ms = next(r["median_ms"] for r in rows if "import sqlite3" in r["what"])
        for r in rows:
            r["ratio_to_git"] = round(r["median_ms"] / max(git_ms, 0.1), 1)
            r["ratio_to_python_sqlite"] = round(r["median_ms"] / max(sqlite_ms, 0.1), 2)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\n| command (whole process, median of {args.reps}) | ms | fastest ms "
          "| ÷ `git status` | ÷ `python3 -c 'import sqlite3'` | ≤ 100 ms |")  # fmt: skip
    print("|---|---:|---:|---:|---:|:---:|")
    for r in rows:
        cli = r["what"].startswith("treelane ") and "server" not in r["what"]
        ok = ("yes" if r["median_ms"] <= TARGET_MS else "no") if cli else "–"
        ratios = f"{r['ratio_to_git']:.1f}x | {r['ratio_to_python_sqlite']:.2f}x"
        print(f"| `{r['what']}` | {r['median_ms']:.1f} | {r['min_ms']:.1f} | {ratios} | {ok} |")
    load = os.getloadavg()
    print(f"\nload average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "benchmark": "cli",
                "reps": args.reps,
                "target_ms": TARGET_MS,
                "git_status_ms": git_ms,
                "rows": rows,
                "machine": {
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                    "cpus": os.cpu_count(),
                    "load_average": [round(x, 2) for x in load],
                },
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
