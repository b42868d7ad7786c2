"""Critical path first: the ready queue, the weights from history, and the order real runs
start their tasks in when slots are short (one slot, so the order is the picks' order)."""

from __future__ import annotations

import pytest
from enginekit import attempts, config, engines_fixture, run, run_state

from treelane.engine.critical import ReadyQueue, remaining_paths, weights
from treelane.engine.workflow import parse_workflow_dict

engines = engines_fixture()


@pytest.fixture
def project(repo):
    return repo


def test_queue_takes_longest_path_first_ties_in_arrival_order() -> None:
    q = ReadyQueue({"a": 1.0, "b": 5.0, "c": 5.0, "d": 2.0})
    for name in "abcde":  # e has no priority: 0
        q.append(name)
    assert len(q) == 5 and "c" in q and bool(q)
    assert [q.take() for _ in range(5)] == ["b", "c", "d", "a", "e"]
    assert q.take() is None and not q


def test_queue_remove_is_lazy_and_re_adding_counts() -> None:
    q = ReadyQueue({"a": 3.0, "b": 2.0})
    q.append("a")
    q.append("b")
    q.remove("a")
    assert "a" not in q and len(q) == 1 and sorted(q) == ["b"]
    q.append("a")  # ready again later: its new entry is the live one
    assert q.take() == "a" and q.take() == "b" and q.take() is None


def test_queue_skips_what_is_not_allowed_and_keeps_it() -> None:
    q = ReadyQueue({"a": 3.0, "b": 2.0, "c": 1.0})
    for name in "abc":
        q.append(name)
    assert q.take(lambda n: n != "a") == "b"
    assert q.take(lambda n: n == "c") == "c"
    assert q.take() == "a"


def wf(tasks: dict[str, dict[str, object]]):
    return parse_workflow_dict("w", {"tasks": tasks}, {})


def test_weights_are_medians_and_unknown_ones_the_median_of_the_rest() -> None:
    w = wf({"a": {"run": "x"}, "b": {"run": "x"}, "c": {"run": "x"}, "d": {"run": "x"}})
    got = weights(w, {"a": [1.0, 9.0, 2.0], "b": [4.0], "c": [10.0, 20.0]})
    assert got == {"a": 2.0, "b": 4.0, "c": 15.0, "d": 4.0}
    assert weights(w, {}) == {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}


def test_remaining_path_is_weight_plus_longest_dependent_path() -> None:
    w = wf(
        {
            "a": {"run": "x"},
            "b": {"run": "x", "needs": ["a"]},
            "c": {"run": "x", "needs": ["a"]},
            "d": {"run": "x", "needs": ["b", "c"]},
            "e": {"run": "x"},
        }
    )
    rest = remaining_paths(w, {"a": 1.0, "b": 5.0, "c": 2.0, "d": 1.0, "e": 3.0})
    assert rest == {"a": 7.0, "b": 6.0, "c": 3.0, "d": 1.0, "e": 3.0}


def start_order(e, run_id: str) -> list[str]:
    return [a["task"] for a in attempts(e, run_id)]


def shared(body: str, **extra: object) -> dict[str, object]:
    return {"run": body, "isolation": "shared", "cache": False, **extra}


def test_a_chain_starts_before_independent_tasks_listed_first(engines) -> None:
    """Without any history each task weighs 1: the chain's head has the longest path."""
    tasks = {
        "s1": shared("true"),
        "s2": shared("true"),
        "c1": shared("true"),
        "c2": shared("true", needs=["c1"]),
        "c3": shared("true", needs=["c2"]),
    }
    e = engines(config({"w": tasks}, {"max_parallel": 1}))
    r = run(e, "w")
    assert run_state(e, r) == "succeeded"
    # c1 (path 3) and c2 (path 2) first; then s1, s2 and c3 all have 1 left: arrival order.
    assert start_order(e, r) == ["c1", "c2", "s1", "s2", "c3"]


def test_history_puts_the_long_task_first(engines) -> None:
    tasks = {
        "s1": shared("true"),
        "s2": shared("true"),
        "s3": shared("true"),
        "long": shared("sleep 0.5"),
    }
    e = engines(config({"w": tasks}, {"max_parallel": 1}))
    first = run(e, "w")
    assert start_order(e, first) == ["s1", "s2", "s3", "long"], "no history: arrival order"
    second = run(e, "w")
    order = start_order(e, second)
    assert order[0] == "long", order  # (the short ones follow by their own measured medians)
    assert sorted(order[1:]) == ["s1", "s2", "s3"]


def test_fifo_keeps_arrival_order(engines) -> None:
    tasks = {
        "s1": shared("true"),
        "c1": shared("true"),
        "c2": shared("true", needs=["c1"]),
    }
    e = engines(config({"w": tasks}, {"max_parallel": 1, "schedule": "fifo"}))
    r = run(e, "w")
    assert start_order(e, r) == ["s1", "c1", "c2"]
