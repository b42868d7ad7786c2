"""Resolving conflicts of agent-workflow tasks: a spawner's children, a matrix's expansions.

The inputs of a task that needs a spawner are the spawner and its children; of one that
needs a matrix task, its expansions; and a spawner at the end of a run makes its children
the run's final tasks. ``treelane.resolve`` must open the merge the run actually made, and
resume must take the resolution.
"""

from __future__ import annotations

from pathlib import Path

from enginekit import config, engines_fixture, run, run_state, task_states

from treelane.engine import resolve
from treelane.engine.core import Engine
from treelane.engine.rungraph import needs_of

engines = engines_fixture()

CLASHING = '[left]\nrun = "echo left > notes.txt"\n\n[right]\nrun = "echo right > notes.txt"\n'


def spawner(doc: str) -> str:
    return f"echo plan > PLAN.md; cat > \"$TREELANE_SPAWN\" <<'EOF'\n{doc}EOF"


def resume(engine: Engine, run_id: str) -> None:
    engine.resume(run_id)
    engine.wait(run_id, 30)


def test_resolve_the_children_of_a_spawner_a_dependent_merges(engines, repo: Path, git) -> None:
    engine = engines(
        config(
            {
                "s": {
                    "plan": {"run": spawner(CLASHING), "cache": False},
                    "ship": {"run": "cat notes.txt > shipped.txt", "needs": ["plan"]},
                }
            }
        )
    )
    run_id = run(engine, "s")
    assert task_states(engine, run_id)["ship"] == "failed"
    graph = needs_of(engine, run_id)
    assert graph is not None and graph.needs["ship"] == ["plan", "plan.left", "plan.right"]
    opened = resolve.open_resolution(engine, run_id, "ship")
    assert opened.files == ["notes.txt"]
    assert [c.to_dict() for c in opened.conflicts] == [
        {"path": "notes.txt", "kind": "add/add", "tasks": ["plan.left", "plan.right"]}
    ]
    assert (opened.ours, opened.theirs) == (["plan", "plan.left"], "plan.right")
    assert "<<<<<<< " in (Path(opened.path) / "notes.txt").read_text()
    (Path(opened.path) / "notes.txt").write_text("left and right\n")
    resume(engine, run_id)
    assert run_state(engine, run_id) == "succeeded"
    result = engine.status(run_id)["runs"][0]["result"]
    assert git("show", f"{result}:shipped.txt", cwd=repo) == "left and right"
    assert git("show", f"{result}:PLAN.md", cwd=repo) == "plan"


def test_resolve_a_spawner_s_children_as_the_run_s_final_tasks(engines, repo: Path, git) -> None:
    engine = engines(config({"s": {"plan": {"run": spawner(CLASHING), "cache": False}}}))
    run_id = run(engine, "s")
    assert run_state(engine, run_id) == "failed"
    graph = needs_of(engine, run_id)
    assert graph is not None and graph.sinks == ["plan.left", "plan.right"]
    opened = resolve.open_resolution(engine, run_id, None)
    assert (opened.ours, opened.theirs) == (["plan.left"], "plan.right")
    assert opened.files == ["notes.txt"]
    (Path(opened.path) / "notes.txt").write_text("both\n")
    resume(engine, run_id)
    assert run_state(engine, run_id) == "succeeded"
    result = engine.status(run_id)["runs"][0]["result"]
    assert git("show", f"{result}:notes.txt", cwd=repo) == "both"


def test_resolve_the_expansions_of_a_matrix_a_dependent_merges(engines, repo: Path, git) -> None:
    engine = engines(
        config(
            {
                "m": {
                    "shard": {
                        "run": 'echo "shard $TREELANE_MATRIX_N" > out.txt',
                        "matrix": {"n": ["1", "2"]},
                        "cache": False,
                    },
                    "ship": {"run": "cat out.txt > shipped.txt", "needs": ["shard"]},
                }
            }
        )
    )
    run_id = run(engine, "m")
    assert task_states(engine, run_id)["ship"] == "failed"
    opened = resolve.open_resolution(engine, run_id, "ship")
    assert (opened.ours, opened.theirs) == (["shard[n=1]"], "shard[n=2]")
    assert [c.tasks for c in opened.conflicts] == [("shard[n=1]", "shard[n=2]")]
    (Path(opened.path) / "out.txt").write_text("shards 1 and 2\n")
    resume(engine, run_id)
    assert run_state(engine, run_id) == "succeeded"
    result = engine.status(run_id)["runs"][0]["result"]
    assert git("show", f"{result}:shipped.txt", cwd=repo) == "shards 1 and 2"
