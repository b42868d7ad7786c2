"""Expansion of matrix and best-of-N tasks into the tasks that run.

``test`` with ``matrix = { shard = ["1", "2"] }`` becomes ``test[shard=1]`` and
``test[shard=2]`` (``group = "test"``); a task that needs ``test`` needs both.
``impl`` with ``candidates = 3`` (or a matrix) and ``pick`` becomes its
candidates ``impl[candidate=1]`` ... plus a pick node named ``impl``
(``kind = "pick"``) that needs them: tasks that need ``impl`` get the winner.
"""

from __future__ import annotations

from dataclasses import replace

from treelane.engine.workflow.agentkeys import combinations
from treelane.engine.workflow.model import Task

MATRIX_ENV = "TREELANE_MATRIX_"
CANDIDATE_ENV = "TREELANE_CANDIDATE"


def expansion_name(task: str, combo: tuple[tuple[str, str], ...]) -> str:
    return f"{task}[{','.join(f'{key}={value}' for key, value in combo)}]"


def expand(tasks: tuple[Task, ...]) -> tuple[Task, ...]:
    """Every task as it runs: expansions in place of their task, needs rewritten."""
    out: list[Task] = []
    renamed: dict[str, tuple[str, ...]] = {}
    for task in tasks:
        if not task.matrix and not task.candidates:
            out.append(task)
            continue
        if task.matrix:
            combos = combinations(task.matrix)
        else:
            combos = [(("candidate", str(i)),) for i in range(1, task.candidates + 1)]
        names: list[str] = []
        for index, combo in enumerate(combos, 1):
            env = dict(task.env)
            if task.matrix:
                env.update({MATRIX_ENV + key.upper(): value for key, value in combo})
            if task.pick:
                env[CANDIDATE_ENV] = str(index)
            name = expansion_name(task.name, combo)
            names.append(name)
            out.append(
                replace(
                    task,
                    name=name,
                    env=tuple(env.items()),
                    matrix=(),
                    candidates=0,
                    group=task.name,
                    origin=task,
                )
            )
        if task.pick:
            out.append(
                Task(
                    name=task.name,
                    run=task.pick,
                    needs=tuple(names),
                    pick=task.pick,
                    pick_first=task.pick_first,
                    cache=False,
                    kind="pick",
                    parent=task.parent,
                    origin=task,
                )
            )
        else:
            renamed[task.name] = tuple(names)
    if not renamed:
        return tuple(out)
    result = []
    for task in out:
        needs: list[str] = []
        for need in task.needs:
            for name in renamed.get(need, (need,)):
                if name not in needs:
                    needs.append(name)
        if list(task.needs) != needs:
            task = replace(task, needs=tuple(needs), origin=task.origin or task)
        result.append(task)
    return tuple(result)


def ref_part(name: str) -> str:
    """A task name as one component of a git ref (``[`` may not appear in ref names).

    ``test[shard=1]`` -> ``test@shard=1``, ``impl[candidate=2].docs`` ->
    ``impl@candidate=2.docs``; other names are unchanged (``@`` cannot appear in a
    task name, and ``]`` only closes an expansion, so the mapping is one-to-one).
    """
    return name.replace("[", "@").replace("]", "")
