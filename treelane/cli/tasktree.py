"""A run's tasks as the CLI lists them: grouped under the task they belong to.

Matrix expansions (``test[shard=1]`` …) follow one line for their task (``test``) that
sums up their states; best-of-N candidates follow their pick task (which names the
winner); tasks a task spawned follow it, indented one step per level of spawning.
Everything else keeps the run's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

INDENT = "  "
# The state a group shows, most urgent first: what a person has to look at.
PRECEDENCE = ("failed", "running", "retrying", "queued", "cancelled", "skipped", "interrupted")


class Line(NamedTuple):
    label: str  # the task's name, indented under its group or spawner
    task: dict[str, Any]  # a task of the status result, or a group's summary


def group_state(members: Sequence[dict[str, Any]]) -> str:
    states = {m.get("state") for m in members}
    for s in PRECEDENCE:
        if s in states:
            return s
    return "succeeded" if states <= {"succeeded", "cached"} else str(next(iter(states)))


def summary(members: Sequence[dict[str, Any]]) -> str:
    """``3 of 4 succeeded, 1 failed`` (``4 tasks`` when all succeeded): how a group's
    members ended, or stand."""
    counts: dict[str, int] = {}
    for m in members:
        counts[str(m.get("state"))] = counts.get(str(m.get("state")), 0) + 1
    ok = counts.pop("succeeded", 0) + counts.pop("cached", 0)
    if not counts:
        return f"{ok} tasks"
    parts = [f"{ok} of {len(members)} succeeded", *(f"{n} {s}" for s, n in counts.items())]
    return ", ".join(parts)


def ordered(tasks: Sequence[dict[str, Any]]) -> list[Line]:
    """The lines of a run's task table, in order, grouped."""
    names = {t["name"] for t in tasks}
    members: dict[str, list[dict[str, Any]]] = {}
    children: dict[str, list[dict[str, Any]]] = {}
    for t in tasks:
        if t.get("group") and t["name"] != t["group"]:
            members.setdefault(t["group"], []).append(t)
        elif t.get("parent") and t["parent"] in names:
            children.setdefault(t["parent"], []).append(t)
    nodes = {t["name"]: t for t in tasks}
    lines: list[Line] = []
    done: set[str] = set()

    def emit(t: dict[str, Any], depth: int) -> None:
        name = t["name"]
        if name in done:
            return
        done.add(name)
        lines.append(Line(INDENT * depth + name, t))
        for m in members.get(name, []):
            emit(m, depth + 1)
        for c in children.get(name, []):
            emit(c, depth + 1)

    def emit_group(group: str, depth: int) -> None:
        if group in done:
            return
        if group in nodes:  # a pick task heads its candidates
            emit(nodes[group], depth)
            return
        done.add(group)
        ms = members[group]
        head = {"name": group, "state": group_state(ms), "reason": summary(ms), "summary": True}
        lines.append(Line(INDENT * depth + group, head))
        for m in ms:
            emit(m, depth + 1)
        for c in children.get(group, []):
            emit(c, depth + 1)

    for t in tasks:
        if t["name"] in done:
            continue
        group = t.get("group")
        if group and t["name"] != group:
            emit_group(group, 0)
        elif t.get("parent") and t["parent"] in names:
            continue  # listed under its spawner
        else:
            emit(t, 0)
    for t in tasks:  # a child whose spawner is itself a child or a member: already out
        if t["name"] not in done:
            emit(t, 0)
    return lines
