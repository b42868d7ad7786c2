"""Best of N: score each candidate with ``pick`` in its worktree, let the best one flow on.

A candidate is a task of a group (``impl[candidate=2]``, or a matrix expansion)
whose spec has ``pick``. After it succeeds, ``pick`` runs in the candidate's
worktree; the score is the last line of its output if that is a number, else 1
for exit 0 and 0 otherwise. The group's pick node (``impl``) then takes the
highest score (ties: the candidate that finished first), or with ``pick_first``
the first candidate to score at least 1. Every succeeded candidate's result is
kept under ``refs/treelane/candidates/<run>/<task>/<n>``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from treelane.engine import git
from treelane.engine.agentqueries import CANDIDATE_REFS
from treelane.engine.events import OK_STATES
from treelane.engine.executor import Job
from treelane.engine.pool import Lease
from treelane.engine.scheduler import RunRec, TaskRec
from treelane.engine.workflow.expand import CANDIDATE_ENV, ref_part

if TYPE_CHECKING:
    from treelane.engine.host import EngineHost as Engine

PICK_PREFIX = "pick: "


def parse_score(lines: list[str], exit_code: int | None) -> float:
    """The last non-empty line if it is a finite number, else 1 for exit 0 and 0 otherwise."""
    last = next((line.strip() for line in reversed(lines) if line.strip()), "")
    try:
        value = float(last)
    except ValueError:
        value = math.nan
    if math.isfinite(value):
        return value
    return 1.0 if exit_code == 0 else 0.0


def score(
    engine: Engine,
    run: RunRec,
    t: TaskRec,
    lease: Lease,
    env: Mapping[str, str],
    out: Callable[[str], None],
) -> None:
    """Run ``pick`` in the candidate's worktree (its result commit is already made)."""
    lines: list[str] = []

    def line(text: str) -> None:
        lines.append(text)
        out(PICK_PREFIX + text)

    outcome = engine.executor.execute(
        Job(t.spec.pick, lease.path, dict(env), t.spec.timeout), line, t.cancel
    )
    if outcome.cancelled:
        return
    t.score = parse_score(lines, outcome.exit_code)
    engine.store.execute(
        "UPDATE tasks SET score = ? WHERE run = ? AND name = ?", (t.score, run.id, t.spec.name)
    )


def number(t: TaskRec) -> str:
    return t.spec.env_dict.get(CANDIDATE_ENV, "0")


def choose(engine: Engine, run: RunRec, t: TaskRec) -> str:
    """The pick node's body: the winner's result becomes the node's; returns the state."""
    cands = [run.tasks[name] for name in t.spec.needs]
    ok = [c for c in cands if c.state in OK_STATES and c.result]
    if not ok:
        t.error = "no candidate succeeded"
        return "failed"
    by_finish = sorted(ok, key=lambda c: c.finished or 0.0)
    winner = None
    if t.spec.pick_first:
        winner = next((c for c in by_finish if (c.score or 0.0) >= 1), None)
    if winner is None:
        best = max(c.score or 0.0 for c in by_finish)
        winner = next(c for c in by_finish if (c.score or 0.0) == best)
    repo = engine.ws.root
    lines = [
        f"update {CANDIDATE_REFS}/{run.id}/{ref_part(t.spec.name)}/{number(c)} {c.result}"
        for c in ok
    ]
    git.run(["update-ref", "--stdin"], repo, input="\n".join(lines) + "\n")
    t.result = winner.result
    t.exit_code = 0
    set_picked(engine, run.id, t.spec.name, winner.spec.name, winner.result or "")
    return "succeeded"


def set_picked(engine: Engine, run_id: str, node: str, candidate: str, result: str) -> None:
    from treelane.engine.taskrun import RUN_REFS

    git.update_ref(engine.ws.root, f"{RUN_REFS}/{run_id}/{ref_part(node)}", result)
    engine.store.execute(
        "UPDATE tasks SET picked = ?, result_commit = ? WHERE run = ? AND name = ?",
        (candidate, result, run_id, node),
    )
