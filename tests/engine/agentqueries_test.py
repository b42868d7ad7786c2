"""The timeline's needs: read from a run's stored definition when nothing expands."""

from __future__ import annotations

import json

from treelane.engine import agentqueries
from treelane.engine.workflow import parse_config, parse_workflow_dict

TOML = """\
[workflows.w.tasks.lint]
run = "true"
isolation = "shared"
[workflows.w.tasks.build]
run = "true"
needs = ["lint"]
[workflows.w.tasks.test]
run = "true"
needs = ["build", "lint"]
[workflows.m.tasks.test]
run = "true"
matrix = { shard = ["1", "2"] }
[workflows.m.tasks.all]
run = "true"
needs = ["test"]
"""


def _stored(name: str) -> dict[str, object]:
    """The definition as Engine.start stores it (JSON of the parsed workflow)."""
    wf = parse_config(TOML).workflows[name]
    return dict(json.loads(json.dumps(wf.to_dict())))


def test_plain_definitions_give_the_parsers_needs() -> None:
    stored = _stored("w")
    plain = agentqueries._plain_needs(stored["tasks"])
    tasks = parse_workflow_dict("w", stored, {}).tasks
    parsed = {t.name: (list(t.needs), t.isolation) for t in tasks}
    assert plain == parsed
    assert plain["test"] == (["build", "lint"], "worktree")
    assert plain["lint"] == ([], "shared")


def test_expanding_definitions_go_to_the_parser() -> None:
    stored = _stored("m")
    assert agentqueries._plain_needs(stored["tasks"]) is None
