"""Matrix tasks through the Engine: real expansions in real worktrees of a real repository."""

from __future__ import annotations

from pathlib import Path

from enginekit import config, engines_fixture, run, run_state, task_row, task_states, wait_for

from treelane.engine.events import TaskState
from treelane.engine.workflow import ConfigError, parse_config

engines = engines_fixture()

SHARDS = ["1", "2", "3", "4"]


def matrix_workflow(fail_shard: str = "") -> dict[str, dict[str, object]]:
    # The command reads the variable; the value is never substituted into it.
    body = (
        'echo "shard $TREELANE_MATRIX_SHARD" > "shard-$TREELANE_MATRIX_SHARD.txt"; '
        f'test "$TREELANE_MATRIX_SHARD" != "{fail_shard}"'
    )
    return {
        "m": {
            "build": {"run": "echo built > build.txt"},
            "test": {"run": body, "needs": ["build"], "matrix": {"shard": SHARDS}},
            "report": {"run": "ls shard-*.txt > report.txt", "needs": ["test"]},
        }
    }


def test_a_matrix_of_4_runs_4_tasks_and_the_dependent_starts_from_their_merge(
    engines, repo, git
) -> None:
    engine = engines(config(matrix_workflow()))
    run_id = run(engine, "m")
    assert run_state(engine, run_id) == "succeeded"
    names = [f"test[shard={s}]" for s in SHARDS]
    states = task_states(engine, run_id)
    assert {n: states[n] for n in names} == dict.fromkeys(names, "succeeded")
    assert "test" not in states
    report = task_row(engine, run_id, "report")["result_commit"]
    listing = git("show", f"{report}:report.txt", cwd=repo).split()
    assert listing == [f"shard-{s}.txt" for s in SHARDS]
    entries = {t["name"]: t for t in engine.status(run_id)["runs"][0]["tasks"]}
    assert all(entries[n]["group"] == "test" for n in names)
    assert "group" not in entries["report"]
    # The expansion's result is under a ref git accepts.
    assert git("rev-parse", f"refs/treelane/runs/{run_id}/test@shard=2", cwd=repo)
    events = [e for e in engines.events(engine).of(TaskState) if e.task == "test[shard=3]"]
    assert events and all(e.group == "test" for e in events)
    assert events[-1].to_dict()["group"] == "test"


def test_a_matrix_of_4_whose_one_expansion_fails_skips_the_dependent(engines, repo) -> None:
    engine = engines(config(matrix_workflow(fail_shard="3")))
    run_id = run(engine, "m")
    assert run_state(engine, run_id) == "failed"
    states = task_states(engine, run_id)
    assert states["test[shard=3]"] == "failed"
    assert [states[f"test[shard={s}]"] for s in ("1", "2", "4")] == ["succeeded"] * 3
    assert states["report"] == "skipped"
    assert task_row(engine, run_id, "report")["error"] == "test[shard=3] failed"


def test_cross_product_env_and_round_trip(tmp_path: Path) -> None:
    cfg = parse_config(
        '[workflows.w.tasks.t]\nrun = "env"\nmatrix = { os = ["linux", "mac"], py = [3, "3.12"] }\n'
    )
    wf = cfg.workflows["w"]
    assert wf.names() == [
        "t[os=linux,py=3]",
        "t[os=linux,py=3.12]",
        "t[os=mac,py=3]",
        "t[os=mac,py=3.12]",
    ]
    assert wf.tasks[1].env_dict == {"TREELANE_MATRIX_OS": "linux", "TREELANE_MATRIX_PY": "3.12"}
    assert all(t.run == "env" for t in wf.tasks)
    assert wf.to_dict()["tasks"] == {
        "t": {
            "run": "env",
            "needs": [],
            "uses": [],
            "retries": 0,
            "isolation": "worktree",
            "env": {},
            "cache": True,
            "matrix": {"os": ["linux", "mac"], "py": ["3", "3.12"]},
        }
    }


def test_bad_matrices_are_reported_with_their_positions() -> None:
    text = (
        "[workflows.w.tasks.t]\n"
        'run = "x"\n'
        'matrix = { "bad key" = ["1"], shard = [], os = ["a b"] }\n'
    )
    try:
        parse_config(text)
    except ConfigError as err:
        messages = [p.message for p in err.problems]
        assert all(p.range.start_line == 2 for p in err.problems)
    else:
        raise AssertionError("expected a ConfigError")
    assert any("invalid matrix key 'bad key'" in m for m in messages)
    assert any("matrix.shard: expected at least one value" in m for m in messages)
    assert any("matrix values may hold only" in m for m in messages)


def test_agent_keys_that_only_work_together_are_reported() -> None:
    cases = {
        "candidates = 3\n": "has candidates but no pick",
        'pick = "true"\n': "has pick but nothing to pick from",
        'candidates = 2\npick = "true"\nmatrix = { m = ["a"] }\n': "both candidates and matrix",
        "candidates = 2\npick_first = true\n": "pick_first needs pick",
    }
    for body, message in cases.items():
        text = f'[workflows.w.tasks.t]\nrun = "x"\n{body}'
        try:
            parse_config(text)
        except ConfigError as err:
            assert any(message in p.message for p in err.problems), (body, err)
        else:
            raise AssertionError(f"no error for {body!r}")
    warned = parse_config('[workflows.w.tasks.t]\nrun = "x"\nretry_on = ["429"]\n')
    assert [p.message for p in warned.problems] == [
        "workflows.w.tasks.t.retry_on: has no effect when retries = 0"
    ]


def test_cancelling_a_matrix_task_cancels_every_expansion(engines, repo, tmp_path) -> None:
    gate = tmp_path / "never"
    cfg = config(
        {
            "m": {
                "test": {
                    "run": f"while [ ! -e {gate} ]; do sleep 0.05; done",
                    "matrix": {"shard": ["1", "2", "3"]},
                },
                "after": {"run": "true", "needs": ["test"]},
            }
        },
        settings={"max_parallel": 2},
    )
    engine = engines(cfg)
    started = engine.start(engine.workflow("m"))
    wait_for(
        lambda: list(task_states(engine, started.run).values()).count("running") == 2,
        what="two expansions running",
    )
    cancelled = engine.cancel(started.run, "test")
    assert sorted(cancelled) == ["test[shard=1]", "test[shard=2]", "test[shard=3]"]
    engine.wait(started.run, 30)
    states = task_states(engine, started.run)
    assert [states[f"test[shard={s}]"] for s in "123"] == ["cancelled"] * 3
    assert states["after"] == "skipped"
