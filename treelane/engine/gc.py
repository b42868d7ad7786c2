"""``treelane gc``: prune what old runs and the cache left behind, never work in progress.

A run is pruned when it is beyond the ``keep_runs`` newest, or older than
``older_than_days`` (either rule; with neither given, the newest
:data:`DEFAULT_KEEP_RUNS` are kept). Pruning a run deletes its refs
(``refs/treelane/runs|results|attempts|outputs/runs`` of that run) and its rows (tasks,
attempts, output lines, events, cancel requests). Never pruned:

* a run that is running;
* a run whose result is on no branch, tag or remote (unmerged) and that is younger
  than ``older_than_days`` (default :data:`UNMERGED_GRACE_DAYS`);
* checkpoints, saved work and dropped checkpoints (other refs, untouched).

Cache entries that expired go; with ``cache_max_mb`` the oldest go until the rest fit.
An entry's size is its output lines plus the files of its kept outputs (result trees
share their blobs with the repository's history and are not counted). Objects that no
ref holds any more are git's to remove (``git gc``), which this does not run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, NamedTuple

from treelane.engine import git
from treelane.engine.cache import CACHE_REFS, OUTPUT_CACHE_REFS
from treelane.engine.snapshot import EMPTY_TREE
from treelane.storage.db import Store

DEFAULT_KEEP_RUNS = 20
UNMERGED_GRACE_DAYS = 14.0
DAY = 86400.0
RUN_REF_ROOTS = (
    "refs/treelane/runs",
    "refs/treelane/attempts",
    "refs/treelane/outputs/runs",
)
RESULT_REFS = "refs/treelane/results"
_RUN_TABLES = ("output", "attempts", "tasks", "events", "cancel_requests")


class GcResult(NamedTuple):
    runs: list[str]  # pruned run ids
    kept: list[dict[str, str]]  # runs that the rules chose but were kept, and why
    refs: int
    output_lines: int
    cache_entries: int
    cache_mb: float
    samples: int

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


def collect(
    repo: Path,
    store: Store,
    *,
    keep_runs: int | None = None,
    cache_max_mb: float | None = None,
    older_than_days: float | None = None,
    live: frozenset[str] = frozenset(),
    now: float | None = None,
) -> GcResult:
    """Prune by the rules above; ``live``: runs this process is running (also kept)."""
    now = time.time() if now is None else now
    if keep_runs is None and older_than_days is None:
        keep_runs = DEFAULT_KEEP_RUNS
    rows = store.query("SELECT id, state, started, result_commit FROM runs ORDER BY started DESC")
    chosen = []
    for index, r in enumerate(rows):
        beyond = keep_runs is not None and index >= keep_runs
        old = older_than_days is not None and r["started"] < now - older_than_days * DAY
        if beyond or old:
            chosen.append(r)
    grace = older_than_days if older_than_days is not None else UNMERGED_GRACE_DAYS
    pruned, kept = [], []
    for r in chosen:
        reason = _keep_reason(repo, r, live, grace, now)
        if reason:
            kept.append({"run": r["id"], "reason": reason})
        else:
            pruned.append(r["id"])
    refs = _delete_refs(repo, _run_refs(repo, pruned))
    lines = _delete_rows(store, pruned)
    samples = _prune_samples(store)
    entries, mb = _prune_cache(repo, store, cache_max_mb, now)
    return GcResult(pruned, kept, refs, lines, entries, round(mb, 3), samples)


def _keep_reason(
    repo: Path, r: dict[str, Any], live: frozenset[str], grace_days: float, now: float
) -> str | None:
    if r["state"] == "running" or r["id"] in live:
        return "running"
    result = r["result_commit"]
    recent = r["started"] >= now - grace_days * DAY
    if r["state"] == "succeeded" and result and recent and _unmerged(repo, result):
        return f"result {result[:12]} is not merged (younger than {grace_days:g} days)"
    return None


def _unmerged(repo: Path, commit: str) -> bool:
    res = git.run(
        ["rev-list", "-n", "1", commit, "--not", "--branches", "--tags", "--remotes"],
        repo,
        check=False,
    )
    return res.returncode != 0 or bool(res.stdout.strip())


def _run_refs(repo: Path, runs: list[str]) -> list[str]:
    if not runs:
        return []
    patterns = [f"{root}/{run}" for run in runs for root in RUN_REF_ROOTS]
    patterns += [f"{RESULT_REFS}/{run}" for run in runs]
    out = git.out(["for-each-ref", "--format=%(refname)", *patterns], repo)
    return [line for line in out.splitlines() if line]


def _delete_refs(repo: Path, refs: list[str]) -> int:
    if refs:
        git.run(["update-ref", "--stdin"], repo, input="".join(f"delete {r}\n" for r in refs))
    return len(refs)


def _delete_rows(store: Store, runs: list[str]) -> int:
    lines = 0
    for start in range(0, len(runs), 500):  # (SQLite's limit on host parameters)
        part = runs[start : start + 500]
        marks = ",".join("?" * len(part))
        with store.write():
            row = store.one(f"SELECT COUNT(*) AS n FROM output WHERE run IN ({marks})", tuple(part))
            lines += int(row["n"]) if row else 0
            for table in _RUN_TABLES:
                store.execute(f"DELETE FROM {table} WHERE run IN ({marks})", tuple(part))
            store.execute(f"DELETE FROM runs WHERE id IN ({marks})", tuple(part))
    return lines


def _prune_samples(store: Store) -> int:
    """Resource samples from before the oldest run still kept (they chart no run)."""
    row = store.one("SELECT MIN(started) AS t FROM runs")
    oldest = row["t"] if row and row["t"] is not None else time.time()
    return store.execute("DELETE FROM samples WHERE time < ?", (oldest - 60,))


def entry_bytes(repo: Path, output: str) -> int:
    """Output lines plus the files of the entry's kept outputs (see the module doc)."""
    size = len(output.encode())
    outputs = _outputs_tree(output)
    if outputs != EMPTY_TREE:
        listing = git.run(["ls-tree", "-r", "-l", outputs], repo, check=False).stdout
        for line in listing.splitlines():
            field = line.split("\t", 1)[0].split()
            if len(field) == 4 and field[3].isdigit():
                size += int(field[3])
    return size


def _outputs_tree(output: str) -> str:
    try:
        entry = json.loads(output)
    except ValueError:
        return EMPTY_TREE
    tree = entry.get("outputs") if isinstance(entry, dict) else None
    return tree if isinstance(tree, str) and len(tree) == 40 else EMPTY_TREE


def _prune_cache(repo: Path, store: Store, max_mb: float | None, now: float) -> tuple[int, float]:
    rows = store.query("SELECT key, output, created, expires FROM cache ORDER BY created DESC")
    drop: list[tuple[str, int]] = []
    total = 0
    for r in rows:
        size = entry_bytes(repo, r["output"])
        expired = r["expires"] is not None and r["expires"] < now
        if expired or (max_mb is not None and total + size > max_mb * 2**20):
            drop.append((r["key"], size))
        else:
            total += size
    if not drop:
        return 0, 0.0
    keys = [k for k, _ in drop]
    refs = [f"{CACHE_REFS}/{k}" for k in keys] + [f"{OUTPUT_CACHE_REFS}/{k}" for k in keys]
    existing = git.out(["for-each-ref", "--format=%(refname)", *refs], repo).splitlines()
    _delete_refs(repo, [r for r in existing if r])
    for start in range(0, len(keys), 500):
        part = keys[start : start + 500]
        store.execute(f"DELETE FROM cache WHERE key IN ({','.join('?' * len(part))})", tuple(part))
    return len(drop), sum(size for _, size in drop) / 2**20
