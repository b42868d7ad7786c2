"""Progress text for a run (pure): "3/6 done · build, test running"."""

from __future__ import annotations

from typing import NamedTuple

from treelane.engine.events import FINAL_STATES


class RunProgress:
    """Task states of one run as the server sees them through notifications.

    The done count and the running tasks are kept as states change, so an update and a
    snapshot cost the same for ten tasks and for ten thousand.
    """

    def __init__(self, run: str, workflow: str, tasks: list[str]) -> None:
        self.run = run
        self.workflow = workflow
        self.states: dict[str, str] = dict.fromkeys(tasks, "queued")
        self.done = 0
        self.running: dict[str, None] = {}
        self.order = {t: i for i, t in enumerate(tasks)}

    def update(self, task: str, state: str) -> None:
        before = self.states.get(task)
        self.states[task] = state
        self.done += (state in FINAL_STATES) - (before in FINAL_STATES)
        if state == "running":
            self.running[task] = None
        else:
            self.running.pop(task, None)

    def snapshot(self) -> Report:
        total = len(self.states) or 1
        msg = f"{self.done}/{len(self.states)} done"
        if self.running:  # in the order of the run's tasks (those running are few)
            order = self.order
            running = sorted(self.running, key=lambda t: order.get(t, len(order)))
            shown = ", ".join(running[:4]) + (f" +{len(running) - 4}" if len(running) > 4 else "")
            msg += f" · {shown} running"
        return Report(msg, int(self.done * 100 / total))


class Report(NamedTuple):
    message: str
    percentage: int
