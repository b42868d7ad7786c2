"""Retries for rate-limited agents: retry_on matching and not, waits that hold no slot."""

from __future__ import annotations

import random
from pathlib import Path

from enginekit import attempts, config, engines_fixture, run, run_state, task_row, wait_for

from treelane.engine import retry
from treelane.engine.events import TaskState
from treelane.engine.workflow import Task

engines = engines_fixture()


def flaky(counter: Path, message: str, fail_times: int) -> str:
    """Fails (printing ``message``) the first ``fail_times`` times, then succeeds."""
    return (
        f"n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; "
        f'if [ $n -le {fail_times} ]; then echo "{message}"; exit 1; fi; echo ok > done.txt'
    )


def test_retry_on_matching_output_retries_after_a_delay_shown_as_queued(
    engines, repo, tmp_path
) -> None:
    counter = tmp_path / "n"
    cfg = config(
        {
            "w": {
                "agent": {
                    "run": flaky(counter, "Error: HTTP 429 Too Many Requests", 2),
                    "retries": 3,
                    "retry_delay": 1.0,
                    "retry_delay_max": 1.5,
                    "retry_on": ["429", "rate limit"],
                    "cache": False,
                }
            }
        },
        settings={"max_parallel": 1},
    )
    engine = engines(cfg)
    started = engine.start(engine.workflow("w"))
    # While it waits it is queued with the reason and time left, and holds no slot.
    seen: list[dict] = []

    def waiting_without_a_slot() -> bool:
        status = engine.status(started.run)
        task = status["runs"][0]["tasks"][0]
        running = status["concurrency"]["running"]
        if task["state"] == "queued" and "reason" in task and running == 0:
            seen.append(task)
        return bool(seen)

    wait_for(waiting_without_a_slot, what="the task waiting to retry, holding no slot")
    engine.wait(started.run, 30)
    assert run_state(engine, started.run) == "succeeded"
    assert "'429' in the output" in seen[0]["reason"]
    assert 0 <= seen[0]["retry_in_ms"] <= 1500
    assert [a["state"] for a in attempts(engine, started.run)] == ["failed", "failed", "succeeded"]
    queued = [e for e in engines.events(engine).of(TaskState) if e.state == "queued" and e.error]
    assert len(queued) == 2 and all("retrying in" in (e.error or "") for e in queued)


def test_retry_on_not_matching_is_final(engines, repo, tmp_path) -> None:
    counter = tmp_path / "n"
    cfg = config(
        {
            "w": {
                "agent": {
                    "run": flaky(counter, "SyntaxError: invalid syntax", 1),
                    "retries": 3,
                    "retry_delay": 0.1,
                    "retry_on": ["429", "Rate Limit", "overloaded"],
                }
            }
        }
    )
    engine = engines(cfg)
    run_id = run(engine, "w")
    assert run_state(engine, run_id) == "failed"
    assert len(attempts(engine, run_id)) == 1
    assert "matched no retry_on entry" in task_row(engine, run_id, "agent")["error"]
    assert counter.read_text().strip() == "1"


def test_retry_on_is_case_insensitive(engines, repo, tmp_path) -> None:
    counter = tmp_path / "n"
    cfg = config(
        {
            "w": {
                "agent": {
                    "run": flaky(counter, "API says: RATE LIMIT exceeded", 1),
                    "retries": 1,
                    "retry_on": ["rate limit"],
                }
            }
        }
    )
    engine = engines(cfg)
    run_id = run(engine, "w")
    assert run_state(engine, run_id) == "succeeded"
    assert len(attempts(engine, run_id)) == 2


def test_a_task_waiting_to_retry_can_be_cancelled(engines, repo, tmp_path) -> None:
    counter = tmp_path / "n"
    cfg = config(
        {
            "w": {
                "agent": {
                    "run": flaky(counter, "overloaded", 5),
                    "retries": 5,
                    "retry_delay": 60,
                    "retry_on": ["overloaded"],
                }
            }
        }
    )
    engine = engines(cfg)
    started = engine.start(engine.workflow("w"))
    wait_for(lambda: task_row(engine, started.run, "agent")["reason"] is not None, what="the wait")
    assert engine.cancel(started.run) == ["agent"]
    engine.wait(started.run, 10)
    assert run_state(engine, started.run) == "cancelled"
    assert counter.read_text().strip() == "1"


def test_delay_doubles_with_jitter_and_is_capped() -> None:
    t = Task("t", "x", retries=9, retry_delay=2.0, retry_delay_max=10.0)
    rng = random.Random(1)
    delays = [retry.delay(t, n, rng) for n in (1, 2, 3, 4, 5)]
    assert 1.5 <= delays[0] <= 2.5
    assert 3.0 <= delays[1] <= 5.0
    assert 6.0 <= delays[2] <= 10.0
    assert delays[3] == delays[4] == 10.0
    assert retry.delay(Task("t", "x", retries=1), 1) == 0.0
