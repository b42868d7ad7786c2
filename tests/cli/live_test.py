"""The human run views learn tasks added at run time from their first notification."""

from __future__ import annotations

from treelane.cli.live import RunModel


def test_a_spawned_task_gets_a_row_of_its_own() -> None:
    model = RunModel()
    model.begin("r1", "w", ["plan"], {})
    row = model.apply(
        "treelane/taskState",
        {"run": "r1", "task": "plan.docs", "state": "queued", "attempt": 0, "parent": "plan"},
    )
    assert row is not None and list(model.tasks) == ["plan", "plan.docs"]
    model.apply("treelane/output", {"run": "r1", "task": "plan.docs", "lines": ["hello"]})
    assert model.tasks["plan.docs"].tail[-1] == "hello"
    # Another run's tasks are not this run's.
    assert model.apply("treelane/taskState", {"run": "r2", "task": "x", "state": "queued"}) is None
