"""Tasks added at run time: a task writes $TREELANE_SPAWN, its children join the run."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from enginekit import (
    attempts,
    config,
    engines_fixture,
    run,
    run_state,
    task_row,
    task_states,
    toml,
    wait_for,
)

from treelane.engine.events import TaskState

engines = engines_fixture()

# A workflow process to kill: starts workflow "w" and waits.
CHILD = """
import sys, time
from pathlib import Path
from treelane.engine.core import Engine
from treelane.engine.workflow import parse_config

repo, cfg_path, out = sys.argv[1:4]
engine = Engine(repo, config=parse_config(Path(cfg_path).read_text()), monitor_interval=0.2)
started = engine.start(engine.workflow("w"))
Path(out).write_text(started.run)
time.sleep(600)
"""


def db_rows(repo: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(repo / ".git" / "treelane" / "state.db", timeout=30)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


PLAN = """\
[analysis]
run = "echo analysed > analysis.txt"

[generation]
run = "cat analysis.txt > generated.txt"
needs = ["analysis"]

[docs]
run = "echo docs > docs.txt"
"""


def spawner(doc: str, path_var: str = "$TREELANE_SPAWN") -> str:
    """A task that writes a plan file and the spawn document (a shell heredoc)."""
    return f"echo plan > PLAN.md; cat > \"{path_var}\" <<'EOF'\n{doc}EOF"


def test_spawned_tasks_join_the_run_and_dependents_start_from_their_merge(
    engines, repo, git
) -> None:
    cfg = config(
        {
            "s": {
                "plan": {"run": spawner(PLAN), "cache": False},
                "ship": {"run": "ls > shipped.txt", "needs": ["plan"]},
            }
        },
        settings={"max_parallel": 3},
    )
    engine = engines(cfg)
    run_id = run(engine, "s")
    assert run_state(engine, run_id) == "succeeded"
    states = task_states(engine, run_id)
    assert states == {
        "plan": "succeeded",
        "ship": "succeeded",
        "plan.analysis": "succeeded",
        "plan.generation": "succeeded",
        "plan.docs": "succeeded",
    }
    # Children start from the spawner's result; generation from analysis's.
    gen = task_row(engine, run_id, "plan.generation")["result_commit"]
    assert git("show", f"{gen}:PLAN.md", cwd=repo) == "plan"
    assert git("show", f"{gen}:generated.txt", cwd=repo) == "analysed"
    # The dependent waited for every child and started from the merge.
    shipped = task_row(engine, run_id, "ship")["result_commit"]
    listing = git("show", f"{shipped}:shipped.txt", cwd=repo).split()
    assert {"PLAN.md", "analysis.txt", "generated.txt", "docs.txt"} <= set(listing)
    ship_start = attempts(engine, run_id)[-1]
    assert ship_start["task"] == "ship"
    tasks = {t["name"]: t for t in engine.status(run_id)["runs"][0]["tasks"]}
    assert tasks["plan.docs"]["parent"] == "plan" and "parent" not in tasks["plan"]
    kid_events = [e for e in engines.events(engine).of(TaskState) if e.task == "plan.docs"]
    assert kid_events and all(e.parent == "plan" for e in kid_events)
    report = engine.report_data(run_id)
    by_name = {t["name"]: t for t in report["tasks"]}
    assert by_name["plan.generation"]["parent"] == "plan"
    # A valid spawn file is stored with its task and removed.
    assert task_row(engine, run_id, "plan")["spec"] == PLAN
    assert not list((engine.ws.state_dir / "spawn" / run_id).iterdir())


def test_a_spawner_whose_children_conflict_fails_the_dependent_naming_the_path(
    engines, repo
) -> None:
    doc = '[left]\nrun = "echo left > README.md"\n\n[right]\nrun = "echo right > README.md"\n'
    cfg = config(
        {
            "s": {
                "plan": {"run": spawner(doc)},
                "ship": {"run": "true", "needs": ["plan"]},
            }
        }
    )
    engine = engines(cfg)
    run_id = run(engine, "s")
    states = task_states(engine, run_id)
    assert states["plan.left"] == states["plan.right"] == "succeeded"
    assert states["ship"] == "failed"
    error = task_row(engine, run_id, "ship")["error"]
    assert "conflict in README.md" in error and "plan.left" in error
    assert run_state(engine, run_id) == "failed"


def test_a_spawner_as_sink_puts_its_children_into_the_run_result(engines, repo, git) -> None:
    engine = engines(config({"s": {"plan": {"run": spawner(PLAN)}}}))
    run_id = run(engine, "s")
    result = engine.status(run_id)["runs"][0]["result"]
    files = git("ls-tree", "-r", "--name-only", result, cwd=repo).split()
    assert {"PLAN.md", "analysis.txt", "generated.txt", "docs.txt"} <= set(files)


def test_an_invalid_spawn_file_fails_the_spawner_naming_file_line_and_column(engines, repo) -> None:
    doc = '[a]\nrun = "true"\nneeds = ["nope"]\n\n[b]\nrun = "true"\nsettings = 1\n'
    engine = engines(config({"s": {"plan": {"run": spawner(doc)}}}))
    run_id = run(engine, "s")
    assert task_states(engine, run_id) == {"plan": "failed"}
    error = task_row(engine, run_id, "plan")["error"]
    assert error.startswith("invalid spawned tasks: ")
    assert "plan.1:3:10: task 'a' needs unknown task 'nope'" in error
    # The file the message names is still there to look at.
    named = Path(error.removeprefix("invalid spawned tasks: ").split(":")[0])
    assert named.name == "plan.1" and "nope" in named.read_text()
    assert ":7:1: unknown key 'settings' in task 'b'" in error


def test_json_spawn_files_and_nested_spawns_up_to_the_depth_limit(engines, repo) -> None:
    # Each level spawns one more level; spawn_depth = 2 lets two levels exist.
    inner = json.dumps({"leaf": {"run": "echo leaf > leaf.txt"}})
    level2 = json.dumps({"deeper": {"run": f"echo '{inner}' > \"$TREELANE_SPAWN\""}})
    level1 = json.dumps({"mid": {"run": f"cat > \"$TREELANE_SPAWN\" <<'X'\n{level2}\nX"}})
    cfg = config(
        {"s": {"top": {"run": f"cat > \"$TREELANE_SPAWN\" <<'X'\n{level1}\nX"}}},
        settings={"spawn_depth": 2},
    )
    engine = engines(cfg)
    run_id = run(engine, "s")
    states = task_states(engine, run_id)
    assert states["top"] == "succeeded" and states["top.mid"] == "succeeded"
    assert states["top.mid.deeper"] == "failed"
    assert "spawn_depth = 2" in task_row(engine, run_id, "top.mid.deeper")["error"]


def test_max_spawn_is_enforced(engines, repo) -> None:
    doc = "".join(f'[t{i}]\nrun = "true"\n' for i in range(4))
    engine = engines(config({"s": {"plan": {"run": spawner(doc)}}}, settings={"max_spawn": 3}))
    run_id = run(engine, "s")
    assert "4 tasks, more than max_spawn = 3" in task_row(engine, run_id, "plan")["error"]


def test_a_cached_spawner_spawns_its_children_again_and_they_hit_the_cache(engines, repo) -> None:
    cfg = config({"s": {"plan": {"run": spawner(PLAN)}}})
    engine = engines(cfg)
    first = run(engine, "s")
    second = run(engine, "s")
    assert task_states(engine, first) == dict.fromkeys(task_states(engine, first), "succeeded")
    assert task_states(engine, second) == {
        "plan": "cached",
        "plan.analysis": "cached",
        "plan.generation": "cached",
        "plan.docs": "cached",
    }


def test_a_spawner_killed_while_its_children_run_is_resumed(engines, repo, git, tmp_path) -> None:
    gate = tmp_path / "gate"
    doc = (
        f'[fast]\nrun = "echo fast > fast.txt"\n\n'
        f'[slow]\nrun = "while [ ! -e {gate} ]; do sleep 0.05; done; echo slow > slow.txt"\n'
        "cache = false\n"
    )
    text = toml(
        {
            "w": {
                "plan": {"run": spawner(doc)},
                "ship": {"run": "ls > shipped.txt", "needs": ["plan"]},
            }
        }
    )
    cfg_path = tmp_path / "treelane.toml"
    cfg_path.write_text(text)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    run_file = tmp_path / "run-id"
    child = subprocess.Popen(
        [sys.executable, str(script), str(repo), str(cfg_path), str(run_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: run_file.exists() and run_file.read_text(), 20, "the child's run")
        r = run_file.read_text()

        def slow_running() -> bool:
            rows = dict(db_rows(repo, f"SELECT name, state FROM tasks WHERE run = '{r}'"))
            return rows.get("plan.fast") == "succeeded" and rows.get("plan.slow") == "running"

        wait_for(slow_running, 30, "the slow child running")
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    engine = engines(text)
    assert run_state(engine, r) == "interrupted"
    gate.touch()
    requeued = engine.resume(r)
    assert set(requeued) == {"plan.slow", "ship"}
    engine.wait(r, 30)
    assert run_state(engine, r) == "succeeded"
    runs_of = {a["task"]: 0 for a in attempts(engine, r)}
    for a in attempts(engine, r):
        runs_of[a["task"]] += 1
    assert runs_of["plan"] == 1 and runs_of["plan.fast"] == 1  # not run again
    shipped = task_row(engine, r, "ship")["result_commit"]
    listing = set(git("show", f"{shipped}:shipped.txt", cwd=repo).split())
    assert {"PLAN.md", "fast.txt", "slow.txt"} <= listing
