"""Agent-workflow tasks over the real server: what editors get to group them."""

from __future__ import annotations

from typing import Any

from lsp_helpers import execute
from pytest_lsp import LanguageClient


def notes(client: LanguageClient) -> Any:
    return client.notes  # type: ignore[attr-defined]


MATRIX_AND_SPAWN = {
    "tasks": {
        "test": {"run": 'echo x > "s$TREELANE_MATRIX_SHARD.txt"', "matrix": {"shard": ["1", "2"]}},
        "plan": {"run": 'printf \'[docs]\\nrun = "true"\\n\' > "$TREELANE_SPAWN"'},
    }
}


async def test_expansions_and_spawned_tasks_carry_group_and_parent(client: LanguageClient) -> None:
    started = await execute(client, "treelane.start", {"workflow": MATRIX_AND_SPAWN, "name": "a"})
    assert started["tasks"] == ["test[shard=1]", "test[shard=2]", "plan"]
    run = started["run"]
    finished = await notes(client).finished(run)
    assert finished["state"] == "succeeded"
    states = notes(client).of("treelane/taskState", run)
    assert {s["group"] for s in states if s["task"].startswith("test[")} == {"test"}
    docs = [s for s in states if s["task"] == "plan.docs"]
    assert docs and all(s["parent"] == "plan" for s in docs) and docs[-1]["state"] == "succeeded"
    assert all("group" not in s and "parent" not in s for s in states if s["task"] == "plan")
    status = await execute(client, "treelane.status", {"run": run})
    tasks = {t["name"]: t for t in status["runs"][0]["tasks"]}
    assert tasks["test[shard=2]"]["group"] == "test" and tasks["plan.docs"]["parent"] == "plan"
    output = await execute(client, "treelane.output", {"run": run, "task": "test[shard=1]"})
    assert output["task"] == "test[shard=1]"
