"""Best of N: candidates in their own worktrees, scored by pick, the winner flows on."""

from __future__ import annotations

import pytest
from enginekit import config, engines_fixture, run, run_state, task_row, task_states, wait_for

from treelane.engine.candidates import parse_score
from treelane.engine.repick import repick as engine_pick
from treelane.errors import RequestFailed

engines = engines_fixture()

# Each candidate writes its number; the judge prints the score the candidate asked for.
IMPL = (
    'echo "impl $TREELANE_CANDIDATE" > impl.txt; '
    'echo "$SCORES" | cut -d, -f$TREELANE_CANDIDATE > want'
)
JUDGE = "echo judging; cat want"


def best_of_3(scores: str, **extra: object) -> dict[str, dict[str, object]]:
    return {
        "b": {
            "impl": {
                "run": IMPL,
                "candidates": 3,
                "pick": JUDGE,
                "env": {"SCORES": scores},
                "cache": False,
                **extra,
            },
            "ship": {"run": "cp impl.txt shipped.txt", "needs": ["impl"]},
        }
    }


def test_best_of_3_with_scores_0_2_1_picks_the_second(engines, repo, git) -> None:
    engine = engines(config(best_of_3("0,2,1"), settings={"max_parallel": 3}))
    run_id = run(engine, "b")
    assert run_state(engine, run_id) == "succeeded"
    states = task_states(engine, run_id)
    assert [states[f"impl[candidate={i}]"] for i in (1, 2, 3)] == ["succeeded"] * 3
    shipped = task_row(engine, run_id, "ship")["result_commit"]
    assert git("show", f"{shipped}:shipped.txt", cwd=repo) == "impl 2"
    tasks = {t["name"]: t for t in engine.status(run_id)["runs"][0]["tasks"]}
    node = tasks["impl"]
    assert node["kind"] == "pick" and node["picked"] == "impl[candidate=2]"
    assert [c["score"] for c in node["candidates"]] == [0.0, 2.0, 1.0]
    assert [tasks[f"impl[candidate={i}]"]["score"] for i in (1, 2, 3)] == [0.0, 2.0, 1.0]
    for i in (1, 2, 3):  # every candidate's result is kept, for a person to look at
        ref = f"refs/treelane/candidates/{run_id}/impl/{i}"
        assert node["candidates"][i - 1]["ref"] == ref
        assert git("show", f"{ref}:impl.txt", cwd=repo) == f"impl {i}"
    # The judge's output is part of the candidate's output.
    assert "pick: judging" in engine.output(run_id, "impl[candidate=1]")
    # The run's result holds only the winner.
    result = engine.status(run_id)["runs"][0]["result"]
    assert git("show", f"{result}:impl.txt", cwd=repo) == "impl 2"


def test_pick_first_takes_the_first_scoring_candidate_and_cancels_the_rest(
    engines, repo, git, tmp_path
) -> None:
    slow = tmp_path / "slow-started"
    cmd = (
        f'if [ "$TREELANE_CANDIDATE" != 1 ]; then touch {slow}-$TREELANE_CANDIDATE; sleep 60; fi; '
        'echo "impl $TREELANE_CANDIDATE" > impl.txt'
    )
    cfg = config(
        {
            "b": {
                "impl": {
                    "run": cmd,
                    "candidates": 3,
                    "pick": "true",
                    "pick_first": True,
                    "cache": False,
                },
                "ship": {"run": "cp impl.txt shipped.txt", "needs": ["impl"]},
            }
        },
        settings={"max_parallel": 3},
    )
    engine = engines(cfg)
    run_id = run(engine, "b", timeout=30)
    assert run_state(engine, run_id) == "succeeded"
    states = task_states(engine, run_id)
    assert states["impl[candidate=1]"] == "succeeded"
    assert states["impl[candidate=2]"] == states["impl[candidate=3]"] == "cancelled"
    assert states["impl"] == states["ship"] == "succeeded"
    shipped = task_row(engine, run_id, "ship")["result_commit"]
    assert git("show", f"{shipped}:shipped.txt", cwd=repo) == "impl 1"


def test_when_every_candidate_fails_the_pick_fails_and_dependents_are_skipped(
    engines, repo
) -> None:
    cfg = config(
        {
            "b": {
                "impl": {"run": "exit 3", "candidates": 2, "pick": "true"},
                "ship": {"run": "true", "needs": ["impl"]},
            }
        }
    )
    engine = engines(cfg)
    run_id = run(engine, "b")
    states = task_states(engine, run_id)
    assert states["impl"] == "failed" and states["ship"] == "skipped"
    assert task_row(engine, run_id, "impl")["error"] == "no candidate succeeded"
    assert run_state(engine, run_id) == "failed"


def test_a_matrix_with_pick_has_one_candidate_per_expansion(engines, repo, git) -> None:
    cfg = config(
        {
            "b": {
                "impl": {
                    "run": 'echo "$TREELANE_MATRIX_MODEL" > model.txt',
                    "matrix": {"model": ["small", "large"]},
                    "pick": 'test "$(cat model.txt)" = large && echo 5 || echo 1',
                },
            }
        }
    )
    engine = engines(cfg)
    run_id = run(engine, "b")
    node = task_row(engine, run_id, "impl")
    assert node["picked"] == "impl[model=large]"
    assert git("show", f"{node['result_commit']}:model.txt", cwd=repo) == "large"


def test_scores() -> None:
    assert parse_score(["x", "2.5", ""], 1) == 2.5
    assert parse_score(["passed"], 0) == 1.0
    assert parse_score(["failed"], 1) == 0.0
    assert parse_score(["nan"], 0) == 1.0
    assert parse_score([], 0) == 1.0


def test_pick_after_the_run_reruns_dependents_from_the_chosen_candidate(engines, repo, git) -> None:
    engine = engines(config(best_of_3("0,2,1"), settings={"max_parallel": 3}))
    run_id = run(engine, "b")
    first = task_row(engine, run_id, "ship")["result_commit"]
    result = engine_pick(engine, run_id, "impl", 3)
    assert result == {
        "run": run_id,
        "task": "impl",
        "picked": "impl[candidate=3]",
        "rerun": ["ship"],
    }
    engine.wait(run_id, 30)
    assert run_state(engine, run_id) == "succeeded"
    shipped = task_row(engine, run_id, "ship")["result_commit"]
    assert shipped != first
    assert git("show", f"{shipped}:shipped.txt", cwd=repo) == "impl 3"
    run_result = engine.status(run_id)["runs"][0]["result"]
    assert git("show", f"{run_result}:impl.txt", cwd=repo) == "impl 3"
    assert task_row(engine, run_id, "impl")["picked"] == "impl[candidate=3]"


def test_pick_refuses_what_cannot_be_picked(engines, repo) -> None:
    cfg = config(
        {
            "b": {
                "impl": {"run": 'test "$TREELANE_CANDIDATE" = 1', "candidates": 2, "pick": "true"},
                "ship": {"run": "true", "needs": ["impl"]},
            }
        }
    )
    engine = engines(cfg)
    run_id = run(engine, "b")
    with pytest.raises(RequestFailed, match=r"candidate 2 \(impl\[candidate=2\]\) has no result"):
        engine_pick(engine, run_id, "impl", 2)
    with pytest.raises(RequestFailed, match="has candidates 1 to 2, not 5"):
        engine_pick(engine, run_id, "impl", 5)
    with pytest.raises(RequestFailed, match="not a best-of-N task"):
        engine_pick(engine, run_id, "ship", 1)


def test_pick_before_dependents_start_repoints_them(engines, repo, git, tmp_path) -> None:
    gate = tmp_path / "gate"
    cfg = config(
        {
            "b": {
                "impl": {
                    "run": 'echo "impl $TREELANE_CANDIDATE" > impl.txt',
                    "candidates": 2,
                    "pick": "true",
                },
                "hold": {"run": f"while [ ! -e {gate} ]; do sleep 0.05; done"},
                "ship": {"run": "cp impl.txt shipped.txt", "needs": ["impl", "hold"]},
            }
        },
        settings={"max_parallel": 3},
    )
    engine = engines(cfg)
    started = engine.start(engine.workflow("b"))
    wait_for(lambda: task_states(engine, started.run)["impl"] == "succeeded", what="the pick")
    # Equal scores: the first to finish won; choose the other one.
    won = task_row(engine, started.run, "impl")["picked"]
    other = 2 if won == "impl[candidate=1]" else 1
    assert engine_pick(engine, started.run, "impl", other)["rerun"] == []
    gate.touch()
    engine.wait(started.run, 30)
    shipped = task_row(engine, started.run, "ship")["result_commit"]
    assert git("show", f"{shipped}:shipped.txt", cwd=repo) == f"impl {other}"


def test_pick_while_a_dependent_runs_cancels_it_and_reruns_it_after(
    engines, repo, git, tmp_path
) -> None:
    gate = tmp_path / "gate"
    cfg = config(
        {
            "b": {
                "impl": {
                    "run": 'echo "impl $TREELANE_CANDIDATE" > impl.txt',
                    "candidates": 2,
                    "pick": "true",
                    "cache": False,
                },
                "ship": {
                    "run": f"cp impl.txt shipped.txt; while [ ! -e {gate} ]; do sleep 0.05; done",
                    "needs": ["impl"],
                    "cache": False,
                },
                "after": {"run": "cp shipped.txt after.txt", "needs": ["ship"], "cache": False},
            }
        },
        settings={"max_parallel": 3},
    )
    engine = engines(cfg)
    started = engine.start(engine.workflow("b"))
    wait_for(lambda: task_states(engine, started.run)["ship"] == "running", 60, what="ship running")
    won = task_row(engine, started.run, "impl")["picked"]
    other = 2 if won == "impl[candidate=1]" else 1
    result = engine_pick(engine, started.run, "impl", other)
    assert result["rerun"] == ["ship", "after"]
    gate.touch()  # the re-run of ship does not wait
    wait_for(
        lambda: (
            run_state(engine, started.run) == "succeeded"
            and task_row(engine, started.run, "after")["result_commit"] is not None
        ),
        what="the re-run from the new pick",
        timeout=60,
    )
    after = task_row(engine, started.run, "after")["result_commit"]
    assert git("show", f"{after}:after.txt", cwd=repo) == f"impl {other}"
    assert task_row(engine, started.run, "impl")["picked"] == f"impl[candidate={other}]"
