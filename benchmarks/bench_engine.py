"""Engine benchmark: worktree pool, checkpoints and merge preview against plain git.

Builds a repository of ``--files`` files (a few KB each, nested folders, committed) in a
temporary folder and measures, in one run, the median and p90 over ``--reps`` repetitions:

* ``worktree add``: a fresh ``git worktree add --detach`` (removed again between reps);
* ``warm acquire``: ``WorktreePool.acquire`` of a released worktree, alternating two commits
  that differ in 20 files (so each acquire really checks files out);
* ``stash create``: ``git stash create`` with 20 modified files and 5 untracked ones;
* ``checkpoint`` and ``undo`` of that same state;
* ``merge preview``: two branches that differ in 50 files (25 changed on each side).

The ratios that the targets ask for compare medians. The repository lives in ``--dir`` (a
temporary folder under $TMPDIR by default): the file system matters a lot for ``worktree add``.

Usage: ``python benchmarks/bench_engine.py [--files N] [--reps N] [--json PATH] [--dir D]
[--profile]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from treelane.engine import git, merge
from treelane.engine.checkpoints import Checkpoints
from treelane.engine.pool import PoolConfig, WorktreePool
from treelane.engine.workspace import open_workspace
from treelane.storage.db import Store

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "engine.json"
TARGETS = {
    "warm acquire / worktree add": 0.10,
    "checkpoint / stash create": 1.5,
    "undo / stash create": 1.5,
}


# --- git process accounting ------------------------------------------------------------

_calls: list[tuple[str, float]] = []
_real_run = git.run


def _counting_run(args: Any, cwd: Any, **kw: Any) -> git.Result:
    t = time.perf_counter()
    try:
        return _real_run(args, cwd, **kw)
    finally:
        _calls.append((_name(list(args)), time.perf_counter() - t))


git.run = _counting_run  # type: ignore[assignment]


def _name(args: list[Any]) -> str:
    """The git command of an argv, without ``-c`` options and object ids."""
    while len(args) >= 2 and args[0] == "-c":
        args = args[2:]
    words = [str(a) for a in args[:2]]
    if len(words) == 2 and (words[1].startswith("-") is False and len(words[1]) >= 40):
        words = words[:1]
    return " ".join(words)


@contextmanager
def counting() -> Iterator[list[tuple[str, float]]]:
    start = len(_calls)
    got: list[tuple[str, float]] = []
    yield got
    got.extend(_calls[start:])


# --- repository -----------------------------------------------------------------------


def sh(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout.strip()


def file_names(n: int) -> list[str]:
    # 10 top folders x 10 sub folders x up to 100 files each (for n = 10,000).
    return [f"pkg{i % 10}/mod{(i // 10) % 10}/file_{i:05d}.txt" for i in range(n)]


def content(rnd: random.Random, tag: str) -> str:
    words = [f"{tag}-{rnd.getrandbits(32):08x}" for _ in range(rnd.randint(150, 400))]
    return "\n".join(" ".join(words[i : i + 8]) for i in range(0, len(words), 8)) + "\n"


def write(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)


def commit_files(repo: Path, base: str, files: dict[str, str], msg: str, branch: str) -> str:
    """A commit on top of ``base`` with ``files`` changed, without touching the worktree."""
    env = {"GIT_INDEX_FILE": str(repo / ".git" / "bench-index")}
    sh("read-tree", base, cwd=repo, env=env)
    lines = []
    for rel, text in files.items():
        blob = subprocess.run(
            ["git", "hash-object", "-w", "--stdin"],
            cwd=repo,
            input=text,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        lines.append(f"100644 {blob}\t{rel}")
    subprocess.run(
        ["git", "update-index", "--index-info"],
        cwd=repo,
        env={**os.environ, **env},
        input="\n".join(lines) + "\n",
        text=True,
        check=True,
    )
    tree = sh("write-tree", cwd=repo, env=env)
    commit = sh("commit-tree", tree, "-p", base, "-m", msg, cwd=repo)
    sh("update-ref", f"refs/heads/{branch}", commit, cwd=repo)
    return commit


def make_repo(root: Path, n: int) -> tuple[Path, list[str], dict[str, str]]:
    repo = root / "repo"
    repo.mkdir(parents=True)
    sh("init", "-q", "-b", "main", cwd=repo)
    sh("config", "user.name", "Bench", cwd=repo)
    sh("config", "user.email", "bench@example.com", cwd=repo)
    rnd = random.Random(42)
    names = file_names(n)
    for rel in names:
        write(repo, rel, content(rnd, "base"))
    (repo / ".gitignore").write_text("*.log\nbuild/\n")
    sh("add", "-A", cwd=repo)
    sh("commit", "-q", "-m", "base", cwd=repo)
    base = sh("rev-parse", "HEAD", cwd=repo)
    picks = rnd.sample(names, 120)
    commits = {"base": base}
    commits["other"] = commit_files(
        repo, base, {r: content(rnd, "other") for r in picks[:20]}, "20 files", "other"
    )
    # Two branches that differ in 50 files (25 changed on each side: a real 3-way merge).
    commits["left"] = commit_files(
        repo, base, {r: content(rnd, "left") for r in picks[20:45]}, "25 files", "left"
    )
    commits["right"] = commit_files(
        repo, base, {r: content(rnd, "right") for r in picks[45:70]}, "25 files", "right"
    )
    return repo, names, commits


# --- measuring ------------------------------------------------------------------------


class Series:
    def __init__(self) -> None:
        self.times: list[float] = []
        self.procs: list[int] = []
        self.detail: dict[str, list[float]] = {}

    def add(self, seconds: float, calls: list[tuple[str, float]]) -> None:
        self.times.append(seconds)
        self.procs.append(len(calls))
        for name, t in calls:
            self.detail.setdefault(name, []).append(t)

    def summary(self) -> dict[str, Any]:
        t = sorted(self.times)
        p90 = statistics.quantiles(t, n=10, method="inclusive")[8] if len(t) > 1 else t[0]
        return {
            "median_ms": round(statistics.median(t) * 1000, 2),
            "p90_ms": round(p90 * 1000, 2),
            "min_ms": round(t[0] * 1000, 2),
            "git_processes": statistics.median(self.procs) if self.procs else None,
            "reps": len(t),
        }


def timed(series: Series, fn: Callable[[], Any]) -> Any:
    with counting() as calls:
        t = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - t
    series.add(elapsed, calls)
    return result


def run(files: int, reps: int, profile: bool, where: Path | None = None) -> dict[str, Any]:
    results: dict[str, Series] = {
        k: Series()
        for k in (
            "worktree add",
            "warm acquire",
            "stash create",
            "checkpoint",
            "undo",
            "merge preview",
        )
    }
    with tempfile.TemporaryDirectory(prefix="treelane-bench-", dir=where) as tmp:
        t0 = time.perf_counter()
        repo, names, commits = make_repo(Path(tmp), files)
        print(
            f"repository of {files} files built in {time.perf_counter() - t0:.1f} s",
            file=sys.stderr,
        )
        ws = open_workspace(repo)
        store = Store(ws.db_path)
        pool = WorktreePool(ws, store, PoolConfig(size=2))
        cps = Checkpoints(ws, store)
        fresh = Path(tmp) / "fresh"

        # Fresh worktree add (+ remove between reps).
        for _ in range(reps):
            timed(
                results["worktree add"],
                lambda: git.run(
                    [
                        "worktree",
                        "add",
                        "--detach",
                        "--end-of-options",
                        str(fresh),
                        commits["base"],
                    ],
                    repo,
                ),
            )
            git.run(["worktree", "remove", "--force", str(fresh)], repo)

        # Warm acquire, alternating two commits 20 files apart.
        lease = pool.acquire(commits["base"])
        pool.release(lease.id)
        for i in range(reps):
            sha = commits["other"] if i % 2 == 0 else commits["base"]
            got = timed(results["warm acquire"], lambda sha=sha: pool.acquire(sha))
            assert got.id == lease.id, "the warm worktree was not reused"
            pool.release(got.id)

        # Checkpoint / undo against stash create, on a worktree with 20 modified files and
        # 5 untracked ones.
        wt = pool.acquire(commits["base"])
        rnd = random.Random(7)
        modified = rnd.sample(names, 20)
        cps.checkpoint(wt.id, wt.path, "clean")
        for i in range(reps):
            for rel in modified:
                write(wt.path, rel, content(rnd, f"edit{i}"))
            for k in range(5):
                (wt.path / f"untracked_{(i - 1) % reps}_{k}.txt").unlink(missing_ok=True)
                write(wt.path, f"new/untracked_{i}_{k}.txt", content(rnd, f"new{i}"))
            stash = timed(results["stash create"], lambda: git.out(["stash", "create"], wt.path))
            assert stash, "stash create saw no changes"
            c = timed(results["checkpoint"], lambda i=i: cps.checkpoint(wt.id, wt.path, f"rep {i}"))
            back = timed(results["undo"], lambda: cps.undo(wt.id, wt.path))
            assert back.id < c.id
            cps.redo(wt.id, wt.path)  # back to the edited state: the next rep edits on top
            for k in range(5):
                (wt.path / "new" / f"untracked_{i}_{k}.txt").unlink()
        pool.release(wt.id)

        # Merge preview of two branches that each change 50 files.
        for _ in range(reps):
            p = timed(results["merge preview"], lambda: merge.preview(repo, "left", "right"))
            assert p.clean and len(p.conflicts) == 0
        store.close()

    out: dict[str, Any] = {
        "files": files,
        "reps": reps,
        "git": git.out(["--version"], ".").removeprefix("git version "),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "dir": str(where or tempfile.gettempdir()),
        "operations": {k: s.summary() for k, s in results.items()},
    }
    med = {k: v["median_ms"] for k, v in out["operations"].items()}
    ratios = {
        "warm acquire / worktree add": med["warm acquire"] / med["worktree add"],
        "checkpoint / stash create": med["checkpoint"] / med["stash create"],
        "undo / stash create": med["undo"] / med["stash create"],
    }
    out["ratios"] = {
        k: {"value": round(v, 3), "target": TARGETS[k], "met": v <= TARGETS[k]}
        for k, v in ratios.items()
    }
    if profile:
        out["profile"] = {
            k: {
                name: {
                    "calls_per_rep": len(ts) / len(s.times),
                    "median_ms": round(statistics.median(ts) * 1000, 2),
                }
                for name, ts in sorted(s.detail.items())
            }
            for k, s in results.items()
        }
    return out


def table(res: dict[str, Any]) -> str:
    lines = [
        f"{res['files']} files, {res['reps']} reps, git {res['git']}, Python {res['python']}, "
        f"{res['cpus']} CPUs, in {res['dir']}",
        "",
        "| operation | median ms | p90 ms | git processes |",
        "|---|---:|---:|---:|",
    ]
    for name, s in res["operations"].items():
        lines.append(
            f"| {name} | {s['median_ms']:.1f} | {s['p90_ms']:.1f} | {s['git_processes']:g} |"
        )
    lines += ["", "| ratio (medians) | value | target | met |", "|---|---:|---:|---|"]
    for name, r in res["ratios"].items():
        lines.append(
            f"| {name} | {r['value']:.3f} | <= {r['target']} | {'yes' if r['met'] else 'NO'} |"
        )
    if "profile" in res:
        lines += ["", "| operation | git command | calls/rep | median ms |", "|---|---|---:|---:|"]
        for op, cmds in res["profile"].items():
            for cmd, d in cmds.items():
                lines.append(f"| {op} | {cmd} | {d['calls_per_rep']:g} | {d['median_ms']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--json", type=Path, default=DEFAULT_JSON)
    ap.add_argument("--dir", type=Path, default=None, help="where to build the repository")
    ap.add_argument("--profile", action="store_true", help="time every git process")
    args = ap.parse_args(argv)
    if args.files < 200 or args.reps < 2:
        ap.error("need --files >= 200 and --reps >= 2")
    res = run(args.files, args.reps, args.profile, args.dir)
    print(table(res))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.json.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(res, indent=2) + "\n")
    tmp.replace(args.json)
    print(f"\nwrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
