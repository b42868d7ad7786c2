"""Resume that tells the truth: which definition it uses, and --reload for a changed file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))

from clikit import lines, make_repo, treelane

BEFORE = """\
[workflows.w.tasks.a]
run = "echo old-a > a.txt"
cache = false

[workflows.w.tasks.b]
needs = ["a"]
run = "echo old-b; exit 3"
cache = false
"""


def test_resume_warns_of_a_changed_definition_and_reload_uses_it(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", BEFORE)
    first = treelane("run", "w", "--json", cwd=repo)
    assert first.returncode == 1
    run = lines(first.stdout)[-1]["params"]["run"]
    (repo / "treelane.toml").write_text(
        BEFORE.replace("echo old-b; exit 3", "echo new-b").replace("old-a", "new-a")
    )

    stored = treelane("resume", run, "--json", cwd=repo)
    assert stored.returncode == 1  # the stored (failing) command ran again
    warning = stored.stderr.strip().splitlines()[0]
    assert "treelane.toml changed" in warning and "tasks: a, b" in warning
    assert f"treelane resume --reload {run}" in warning
    log = treelane("log", run, "b", cwd=repo)
    assert log.stdout == "old-b\n"

    reloaded = treelane("resume", "--reload", run, "--json", cwd=repo)
    assert reloaded.returncode == 0, reloaded.stderr
    assert lines(reloaded.stdout)[-1]["params"]["state"] == "succeeded"
    assert treelane("log", run, "b", cwd=repo).stdout == "new-b\n"
    # a had succeeded: it kept its stored definition and result.
    trace = json.loads(treelane("trace", run, cwd=repo).stdout)
    ran_a = [e for e in trace["traceEvents"] if e.get("name") == "a" and e.get("ph") == "X"]
    assert len(ran_a) == 1


def test_reload_refuses_a_changed_task_set(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", BEFORE)
    first = treelane("run", "w", "--json", cwd=repo)
    run = lines(first.stdout)[-1]["params"]["run"]
    (repo / "treelane.toml").write_text(BEFORE + '\n[workflows.w.tasks.c]\nrun = "true"\n')
    refused = treelane("resume", "--reload", run, cwd=repo)
    assert refused.returncode == 1
    assert "added: c" in refused.stderr and "start a new run" in refused.stderr


def test_the_idle_gap_before_a_resume_is_not_run_time(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
    from enginekit import Engines, config

    from treelane.engine.events import RunFinished
    from treelane.report.timeline import speedup

    flag = tmp_path / "second-time"
    repo = make_repo(tmp_path / "repo", None)
    engines = Engines(repo)
    try:
        engine = engines(
            config(
                {
                    "w": {
                        "a": {"run": "echo a > a.txt", "cache": False},
                        "b": {"run": f"test -f {flag}", "cache": False},
                    }
                }
            )
        )
        run = engine.start(engine.workflow("w")).run
        assert engine.wait(run, 60) == "failed"
        # The run stopped an hour ago (its records moved back in time by 3,600 s).
        hour = 3600.0
        for table, cols in (("runs", "started, finished"), ("attempts", "started, finished")):
            sets = ", ".join(f"{c} = {c} - {hour}" for c in cols.split(", "))
            key = "id" if table == "runs" else "run"
            engine.store.execute(f"UPDATE {table} SET {sets} WHERE {key} = ?", (run,))
        engine.store.execute("UPDATE output SET time = time - ? WHERE run = ?", (hour, run))
        flag.write_text("")
        assert engine.resume(run) == ["b"]
        assert engine.wait(run, 60) == "succeeded"
        idle = engine.store.one("SELECT idle FROM runs WHERE id = ?", (run,))["idle"]
        assert hour <= idle < hour + 600
        done = [e for e in engines.events(engine).of(RunFinished) if e.run == run][-1]
        assert done.duration_ms < 600_000  # not the hour it was stopped
        data = engine.report_data(run)
        assert data["idle"] == idle
        wall = data["finished"] - data["started"] - data["idle"]
        assert 0 < wall < 600
        assert speedup(data) > 0.0
    finally:
        engines.close()
