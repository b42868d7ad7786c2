"""Progress text for a run (pure): "3/6 done · build, test running"."""

from __future__ import annotations

from typing import NamedTuple

from treelane.engine.events import FINAL_STATES


class RunProgress:
    """Task states of one run as the server sees them through notifications."""

    def __init__(self, run: str, workflow: str, tasks: list[str]) -> None:
        self.run = run
        self.workflow = workflow
        self.states: dict[str, str] = dict.fromkeys(tasks, "queued")

    def update(self, task: str, state: str) -> None:
        self.states[task] = state

    def snapshot(self) -> Report:
        total = len(self.states) or 1
        done = sum(1 for s in self.states.values() if s in FINAL_STATES)
        running = [t for t, s in self.states.items() if s == "running"]
        msg = f"{done}/{len(self.states)} done"
        if running:
            shown = ", ".join(running[:4]) + (f" +{len(running) - 4}" if len(running) > 4 else "")
            msg += f" · {shown} running"
        return Report(msg, int(done * 100 / total))


class Report(NamedTuple):
    message: str
    percentage: int
