"""The seed's agent-workflow rows ("Skills + Worktrees", "Full Stack"), run for real.

Each phase after ``plan`` is a spawner: its command writes ``$TREELANE_SPAWN`` and
the phase's sub-tasks (simulated agents that sleep) join the run at run time, as
the seed's skills decompose build, test, review and document. Phase times are the
seed's (minutes; baseline 20 min = plan 3 + build 7 + test 4 + review 3 +
document 3; one feature of the five-feature scenario is plan 3 + build 7 + test 4 +
review 3 = 17 min), and so are the skills' parallel times (build 7 -> 4, test
4 -> 2.5, review 3 -> 2, document 3 -> 2):

* build: analysis x4 (0.75 each) -> generation 2.5 -> validation x4 (0.25) -> integration 0.5
* test: unit x4 (0.375) and integration x2 (0.25) -> e2e 2.0
* review: aspects x4 (0.375) -> summary 1.5
* document: sections x3 (0.5) -> index 1.5

"Full Stack" adds the result cache: the read-only analysis sub-tasks (build's
analysis, review's aspects) are ``cache = true`` and an earlier run of the same
features warmed the cache, so they are ``cached`` (the seed's Mem0: shared analysis
across features). Everything else has ``cache = false`` like agent tasks do.
"""

from __future__ import annotations

import json
from typing import Any

Tasks = dict[str, dict[str, Any]]

# (name, count, minutes, needs-group) per phase; needs-group None = the spawner's result.
SKILLS: dict[str, list[tuple[str, int, float, str | None]]] = {
    "build": [
        ("analysis", 4, 0.75, None),
        ("generation", 1, 2.5, "analysis"),
        ("validation", 4, 0.25, "generation"),
        ("integration", 1, 0.5, "validation"),
    ],
    "test": [
        ("unit", 4, 0.375, None),
        ("service", 2, 0.25, None),
        ("e2e", 1, 2.0, "unit+service"),
    ],
    "review": [("aspect", 4, 0.375, None), ("summary", 1, 1.5, "aspect")],
    "document": [("section", 3, 0.5, None), ("index", 1, 1.5, "section")],
}
CACHEABLE = {"analysis", "aspect"}  # read-only analysis: the same tree gives the same notes
PLAN_MINUTES = 3.0
BASELINE = {"plan": 3.0, "build": 7.0, "test": 4.0, "review": 3.0, "document": 3.0}


def _names(step: str, count: int) -> list[str]:
    return [f"{step}{i}" if count > 1 else step for i in range(count)]


def children(phase: str, scale: float, cache: bool) -> Tasks:
    """The sub-tasks a phase spawns (names local to the spawn file)."""
    out: Tasks = {}
    groups: dict[str, list[str]] = {}
    for step, count, minutes, after in SKILLS[phase]:
        names = _names(step, count)
        groups[step] = names
        for name in names:
            t: dict[str, Any] = {
                "run": f"sleep {minutes * scale:.4f}",
                "cache": cache and step in CACHEABLE,
            }
            if after:
                t["needs"] = [n for g in after.split("+") for n in groups[g]]
            out[name] = t
    return out


def spawner(phase: str, needs: list[str], scale: float, cache: bool) -> dict[str, Any]:
    doc = json.dumps(children(phase, scale, cache), separators=(",", ":"))
    assert "'" not in doc
    return {"run": f"printf '%s' '{doc}' > \"$TREELANE_SPAWN\"", "needs": needs, "cache": False}


def skills_workflow(phases: list[str], scale: float, cache: bool) -> Tasks:
    """plan -> build (spawns) -> [the other phases (each spawns)]."""
    tasks: Tasks = {"plan": {"run": f"sleep {PLAN_MINUTES * scale:.4f}", "cache": False}}
    tasks["build"] = spawner("build", ["plan"], scale, cache)
    for phase in phases:
        if phase != "build":
            tasks[phase] = spawner(phase, ["build"], scale, cache)
    return tasks


def baseline_workflow(phases: list[str], scale: float) -> Tasks:
    """The seed's sequential baseline: one task per phase, in a chain."""
    tasks: Tasks = {}
    prev: list[str] = []
    for phase in ["plan", *phases]:
        tasks[phase] = {"run": f"sleep {BASELINE[phase] * scale:.4f}", "cache": False}
        if prev:
            tasks[phase]["needs"] = prev
        prev = [phase]
    return tasks


def expanded(phases: list[str], scale: float, cached: bool) -> Tasks:
    """The DAG the run becomes once every spawner added its tasks (for the bounds).

    Spawners take no time; cached sub-tasks take none either (``cached``).
    """
    tasks: Tasks = {"plan": {"run": f"sleep {PLAN_MINUTES * scale:.4f}"}}
    sinks: dict[str, list[str]] = {}
    for phase in phases:
        start = ["plan"] if phase == "build" else sinks["build"]
        kids = children(phase, scale, cache=cached)
        needed = {n for t in kids.values() for n in t.get("needs", [])}
        for name, t in kids.items():
            minutes = 0.0 if t["cache"] else float(t["run"].split()[1])
            needs = [f"{phase}.{n}" for n in t.get("needs", [])] or start
            tasks[f"{phase}.{name}"] = {"run": f"sleep {minutes:.4f}", "needs": needs}
        sinks[phase] = [f"{phase}.{n}" for n in kids if n not in needed]
    return tasks
