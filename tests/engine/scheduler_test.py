"""The scheduler through the Engine facade: real tasks in real worktrees of a real repository.

DAG results and their merges, input conflicts, retries, time-outs, cancellation, named
limits and fairness between runs, shared isolation, the state words and the trace.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from enginekit import (
    SPAWNED,
    alive,
    attempts,
    config,
    engines_fixture,
    max_overlap,
    pids_in,
    reap,
    run,
    run_state,
    spawn_script,
    stamped,
    stamps,
    task_row,
    task_states,
    wait_for,
)

from treelane.engine.events import (
    RUN_STATES,
    TASK_STATES,
    Notice,
    RunFinished,
    TaskState,
)
from treelane.errors import RequestFailed

engines = engines_fixture()


def files_of(git, repo: Path, commit: str) -> set[str]:
    return set(git("ls-tree", "-r", "--name-only", commit, cwd=repo).split())


# --- results and merges ----------------------------------------------------------


def test_diamond_result_holds_every_tasks_files(engines, repo, git) -> None:
    cfg = config(
        {
            "diamond": {
                "a": {"run": "echo a > a.txt"},
                "b": {"run": "cp a.txt b-saw-a.txt && echo b > b.txt", "needs": ["a"]},
                "c": {"run": "echo c > c.txt", "needs": ["a"]},
                "d": {"run": "ls > d.txt", "needs": ["b", "c"]},
            }
        },
        {"max_parallel": 4},
    )
    e = engines(cfg)
    head = git("rev-parse", "HEAD", cwd=repo)
    r = run(e, "diamond")
    assert run_state(e, r) == "succeeded"
    assert task_states(e, r) == dict.fromkeys("abcd", "succeeded")
    result = e.result_commit(r)
    assert files_of(git, repo, result) == {
        "README.md",
        "a.txt",
        "b-saw-a.txt",
        "b.txt",
        "c.txt",
        "d.txt",
    }
    # d has two needs and saw the files of both (and of their common need).
    seen = git("show", f"{result}:d.txt", cwd=repo).split()
    assert {"a.txt", "b.txt", "c.txt"} <= set(seen)
    assert git("show", f"{result}:b-saw-a.txt", cwd=repo) == "a"
    assert git("rev-parse", f"refs/treelane/results/{r}", cwd=repo) == result
    for name in "abcd":
        ref = git("rev-parse", f"refs/treelane/runs/{r}/{name}", cwd=repo)
        assert ref == task_row(e, r, name)["result_commit"]
    # The user's checkout and branch are untouched.
    assert git("rev-parse", "HEAD", cwd=repo) == head
    assert git("status", "--porcelain", cwd=repo) == ""
    assert e.pool.stats()["busy"] == 0


def test_run_result_merges_every_sink(engines, repo, git) -> None:
    cfg = config(
        {
            "fan": {
                "x": {"run": "echo x > x.txt"},
                "y": {"run": "mkdir -p sub && echo y > sub/y.txt"},
                "z": {"run": "echo z > z.txt", "needs": ["x"]},
            }
        },
        {"max_parallel": 3},
    )
    e = engines(cfg)
    r = run(e, "fan")
    assert run_state(e, r) == "succeeded"
    assert files_of(git, repo, e.result_commit(r)) == {
        "README.md",
        "x.txt",
        "sub/y.txt",
        "z.txt",
    }


def test_input_conflict_fails_only_the_merging_task(engines, repo, git, tmp_path) -> None:
    side = tmp_path / "z-ran"
    cfg = config(
        {
            "clash": {
                "x": {"run": "echo x > README.md"},
                "y": {"run": "echo y > README.md"},
                "z": {"run": f"touch {side}", "needs": ["x", "y"]},
                "after_z": {"run": "true", "needs": ["z"]},
                "after_x": {"run": "cp README.md seen.txt", "needs": ["x"]},
                "alone": {"run": "echo u > u.txt"},
            }
        },
        {"max_parallel": 4},
    )
    e = engines(cfg)
    r = run(e, "clash")
    assert task_states(e, r) == {
        "x": "succeeded",
        "y": "succeeded",
        "z": "failed",
        "after_z": "skipped",
        "after_x": "succeeded",
        "alone": "succeeded",
    }
    assert run_state(e, r) == "failed"
    assert not side.exists(), "the conflicting task's command must not run"
    error = task_row(e, r, "z")["error"]
    assert "README.md" in error and "conflict" in error
    final = [
        ev for ev in engines.events(e).of(TaskState) if ev.task == "z" and ev.state == "failed"
    ]
    assert final and "README.md" in (final[-1].error or "")
    assert task_row(e, r, "after_z")["error"] == "z failed"
    finished = engines.events(e).of(RunFinished)[-1]
    assert finished.failed == ["z"] and finished.counts["skipped"] == 1
    seen = task_row(e, r, "after_x")["result_commit"]
    assert git("show", f"{seen}:seen.txt", cwd=repo) == "x"


# --- retries and time-outs --------------------------------------------------------


def test_retry_succeeds_on_second_attempt_and_keeps_the_first(engines, repo, git) -> None:
    cmd = (
        "test -e out.txt && touch leaked.txt; "
        'echo "attempt $TREELANE_ATTEMPT" > out.txt; test "$TREELANE_ATTEMPT" -ge 2'
    )
    e = engines(config({"flaky": {"t": {"run": cmd, "retries": 2}}}))
    r = run(e, "flaky")
    assert task_states(e, r) == {"t": "succeeded"}
    row = task_row(e, r, "t")
    assert row["attempt"] == 2 and row["exit_code"] == 0
    assert [(a["attempt"], a["state"], a["exit_code"]) for a in attempts(e, r)] == [
        (1, "failed", 1),
        (2, "succeeded", 0),
    ]
    kept = git("rev-parse", f"refs/treelane/attempts/{r}/t/1", cwd=repo)
    assert git("show", f"{kept}:out.txt", cwd=repo) == "attempt 1"
    assert (
        git("rev-parse", "--verify", "-q", f"refs/treelane/attempts/{r}/t/2", cwd=repo, check=False)
        == ""
    )
    result = e.result_commit(r)
    assert git("show", f"{result}:out.txt", cwd=repo) == "attempt 2"
    assert "leaked.txt" not in files_of(git, repo, result), "attempt 2 must start from a clean tree"
    retry = [ev for ev in engines.events(e).of(TaskState) if ev.state == "queued"]
    assert len(retry) == 1 and retry[0].attempt == 1 and "retrying" in (retry[0].error or "")


def test_retries_exhausted_fails_with_every_attempt_kept(engines, repo, git) -> None:
    cmd = 'echo "try $TREELANE_ATTEMPT" > f.txt; exit 3'
    e = engines(config({"bad": {"t": {"run": cmd, "retries": 1}}}))
    r = run(e, "bad")
    assert run_state(e, r) == "failed"
    row = task_row(e, r, "t")
    assert (row["state"], row["attempt"], row["exit_code"]) == ("failed", 2, 3)
    assert row["error"] == "exit code 3"
    for n in (1, 2):
        kept = git("rev-parse", f"refs/treelane/attempts/{r}/t/{n}", cwd=repo)
        assert git("show", f"{kept}:f.txt", cwd=repo) == f"try {n}"


def test_timeout_ends_the_whole_process_tree(engines, tmp_path) -> None:
    script = spawn_script(tmp_path)
    pidfile = tmp_path / "pids"
    e = engines(config({"slow": {"t": {"run": f"sh {script} {pidfile}", "timeout": 0.5}}}))
    try:
        r = run(e, "slow")  # the tree would live 100 s: the time-out ends it
        pids = pids_in(pidfile)
        assert len(pids) == SPAWNED
        assert [p for p in pids if alive(p)] == []
        row = task_row(e, r, "t")
        assert row["state"] == "failed"
        assert "timed out after 0.5 s" in row["error"]
        assert row["exit_code"] != 0, "a task that timed out must not report success"
    finally:
        reap(pids_in(pidfile))


# --- cancellation ---------------------------------------------------------------


def test_cancel_whole_run_ends_every_tree(engines, tmp_path) -> None:
    script = spawn_script(tmp_path)
    pa, pb = tmp_path / "a.pids", tmp_path / "b.pids"
    side = tmp_path / "c-ran"
    cfg = config(
        {
            "w": {
                "a": {"run": f"sh {script} {pa}"},
                "b": {"run": f"sh {script} {pb}"},
                "c": {"run": f"touch {side}", "needs": ["a"]},
            }
        },
        {"max_parallel": 4},
    )
    e = engines(cfg)
    try:
        r = e.start(e.workflow("w")).run
        wait_for(lambda: len(pids_in(pa)) == len(pids_in(pb)) == SPAWNED, what="trees")
        t0 = time.monotonic()
        assert sorted(e.cancel(r)) == ["a", "b", "c"]
        assert e.wait(r, 10) == "cancelled"
        assert time.monotonic() - t0 < 5
        assert task_states(e, r) == dict.fromkeys("abc", "cancelled")
        assert [p for p in pids_in(pa) + pids_in(pb) if alive(p)] == []
        assert not side.exists()
        assert e.pool.stats()["busy"] == 0
        assert engines.events(e).of(RunFinished)[-1].state == "cancelled"
    finally:
        reap(pids_in(pa) + pids_in(pb))


def test_cancel_one_task_skips_its_dependents_and_lets_others_finish(
    engines, repo, git, tmp_path
) -> None:
    script = spawn_script(tmp_path)
    pa = tmp_path / "a.pids"
    cfg = config(
        {
            "w": {
                "a": {"run": f"sh {script} {pa}"},
                "b": {"run": "echo b > b.txt", "needs": ["a"]},
                "c": {"run": "sleep 0.3; echo c > c.txt"},
                "d": {"run": "echo d > d.txt", "needs": ["c"]},
            }
        },
        {"max_parallel": 4},
    )
    e = engines(cfg)
    try:
        r = e.start(e.workflow("w")).run
        wait_for(lambda: len(pids_in(pa)) == SPAWNED, what="tree of a")
        cancelled_at = time.time()
        assert e.cancel(r, "a") == ["a"]
        e.wait(r, 10)
        assert task_states(e, r) == {
            "a": "cancelled",
            "b": "skipped",
            "c": "succeeded",
            "d": "succeeded",
        }
        assert run_state(e, r) == "cancelled"
        assert [p for p in pids_in(pa) if alive(p)] == []
        # d started only after the cancel: the run went on.
        (d_attempt,) = [a for a in attempts(e, r) if a["task"] == "d"]
        assert d_attempt["started"] > cancelled_at
        assert git("show", f"{task_row(e, r, 'd')['result_commit']}:c.txt", cwd=repo) == "c"
    finally:
        reap(pids_in(pa))


def test_cancel_a_queued_task(engines, tmp_path) -> None:
    side = tmp_path / "later-ran"
    cfg = config(
        {
            "w": {
                "first": {"run": "sleep 0.3"},
                "later": {"run": f"touch {side}", "needs": ["first"]},
                "after_later": {"run": f"touch {side}", "needs": ["later"]},
                "other": {"run": "echo o > o.txt", "needs": ["first"]},
            }
        },
        {"max_parallel": 2},
    )
    e = engines(cfg)
    r = e.start(e.workflow("w")).run
    wait_for(lambda: task_states(e, r)["first"] == "running")
    assert e.cancel(r, "later") == ["later"]
    assert task_states(e, r)["later"] == "cancelled", "a queued task is cancelled at once"
    assert task_states(e, r)["after_later"] == "skipped"
    e.wait(r, 10)
    assert task_states(e, r) == {
        "first": "succeeded",
        "later": "cancelled",
        "after_later": "skipped",
        "other": "succeeded",
    }
    assert run_state(e, r) == "cancelled"
    assert not side.exists()
    with pytest.raises(RequestFailed, match="not running"):
        e.cancel(r, "later")


# --- limits, max_parallel and fairness ----------------------------------------------


def test_named_limit_and_max_parallel_are_never_exceeded(engines, tmp_path) -> None:
    log = tmp_path / "stamps"
    tasks = {
        f"api{i}": {"run": stamped(f"api{i}", log, "sleep 0.15"), "uses": ["api"]} for i in range(6)
    }
    tasks |= {f"free{i}": {"run": stamped(f"free{i}", log, "sleep 0.15")} for i in range(4)}
    e = engines(config({"w": tasks}, {"max_parallel": 3}, {"api": 2}))
    r = run(e, "w")
    assert run_state(e, r) == "succeeded"
    rows = attempts(e, r)
    api = [(a["started"], a["finished"]) for a in rows if a["task"].startswith("api")]
    every = [(a["started"], a["finished"]) for a in rows]
    assert max_overlap(api) == 2
    assert max_overlap(every) == 3
    own = stamps(log)
    assert max_overlap([v for k, v in own.items() if k.startswith("api")]) <= 2
    assert max_overlap(own.values()) <= 3


def test_two_runs_share_limits_and_both_progress(engines, tmp_path) -> None:
    log = tmp_path / "stamps"
    tasks = {
        f"t{i}": {"run": stamped(f"$TREELANE_RUN-t{i}", log, "sleep 0.1"), "uses": ["api"]}
        for i in range(5)
    }
    tasks |= {f"f{i}": {"run": stamped(f"$TREELANE_RUN-f{i}", log, "sleep 0.1")} for i in range(3)}
    e = engines(config({"w": tasks}, {"max_parallel": 3}, {"api": 2}))
    ra = e.start(e.workflow("w")).run
    rb = e.start(e.workflow("w")).run
    assert e.wait(ra, 30) == "succeeded" and e.wait(rb, 30) == "succeeded"
    rows = attempts(e, [ra, rb])
    assert max_overlap([(a["started"], a["finished"]) for a in rows]) <= 3
    api = [(a["started"], a["finished"]) for a in rows if a["task"].startswith("t")]
    assert max_overlap(api) == 2
    own = stamps(log)
    assert max_overlap([v for k, v in own.items() if "-t" in k]) <= 2
    assert max_overlap(own.values()) <= 3
    # Fairness: neither run finishes all its tasks before the other starts any, and
    # the first half of all starts has tasks of both runs.
    by_run = {x: [a for a in rows if a["run"] == x] for x in (ra, rb)}
    assert min(a["started"] for a in by_run[rb]) < max(a["finished"] for a in by_run[ra])
    assert min(a["started"] for a in by_run[ra]) < max(a["finished"] for a in by_run[rb])
    first_half = sorted(rows, key=lambda a: a["started"])[: len(rows) // 2]
    counts = {x: sum(1 for a in first_half if a["run"] == x) for x in (ra, rb)}
    assert min(counts.values()) >= 3, counts


# --- shared isolation --------------------------------------------------------------


def test_shared_tasks_share_one_worktree_and_their_files_are_discarded(
    engines, repo, git, tmp_path
) -> None:
    cfg = config(
        {
            "w": {
                "s1": {"run": f"pwd > {tmp_path}/s1.pwd; sleep 0.2", "isolation": "shared"},
                "s2": {
                    "run": f"pwd > {tmp_path}/s2.pwd; echo junk > junk.txt; sleep 0.2",
                    "isolation": "shared",
                },
                "own": {"run": f"pwd > {tmp_path}/own.pwd; echo w > w.txt"},
            }
        },
        {"max_parallel": 3},
    )
    e = engines(cfg)
    r = run(e, "w")
    assert run_state(e, r) == "succeeded"
    s1 = (tmp_path / "s1.pwd").read_text().strip()
    s2 = (tmp_path / "s2.pwd").read_text().strip()
    own = (tmp_path / "own.pwd").read_text().strip()
    assert s1 == s2 != own
    assert Path(s1) != repo and Path(s1).parent == e.ws.worktrees_dir
    wts = {t: task_row(e, r, t)["worktree"] for t in ("s1", "s2", "own")}
    assert wts["s1"] == wts["s2"] != wts["own"]
    # Shared tasks' results are their input: the stray file is in no commit.
    assert task_row(e, r, "s2")["result_commit"] == git("rev-parse", "HEAD", cwd=repo)
    assert files_of(git, repo, e.result_commit(r)) == {"README.md", "w.txt"}
    warnings = [n for n in engines.events(e).of(Notice) if n.level == "warning" and n.run == r]
    assert any("junk.txt" in n.message and "discarded" in n.message for n in warnings), warnings
    assert not (Path(s1) / "junk.txt").exists()
    assert e.pool.stats()["busy"] == 0


def test_shared_tasks_without_writes_give_no_warning(engines) -> None:
    cfg = config({"w": {"s": {"run": "ls > /dev/null", "isolation": "shared"}}})
    e = engines(cfg)
    r = run(e, "w")
    assert run_state(e, r) == "succeeded"
    assert [n for n in engines.events(e).of(Notice) if n.level == "warning"] == []


# --- the contract's words -------------------------------------------------------------


def test_states_are_exactly_the_contract_words(engines, tmp_path) -> None:
    cfg = config(
        {
            "mixed": {
                "ok": {"run": "echo ok > ok.txt"},
                "bad": {"run": "exit 1"},
                "after_bad": {"run": "true", "needs": ["bad"]},
                "slow": {"run": "sleep 30"},
                "after_slow": {"run": "true", "needs": ["slow"]},
            },
            "cacheable": {"c": {"run": "echo c > c.txt"}},
            "long": {"l": {"run": "sleep 30"}},
        },
        {"max_parallel": 4},
    )
    e = engines(cfg)
    r1 = e.start(e.workflow("mixed")).run
    wait_for(
        lambda: task_states(e, r1)["slow"] == "running" and task_states(e, r1)["bad"] == "failed"
    )
    assert task_states(e, r1)["after_slow"] == "queued"
    assert run_state(e, r1) == "running"
    e.cancel(r1, "slow")
    assert e.wait(r1, 10) == "cancelled"
    assert task_states(e, r1) == {
        "ok": "succeeded",
        "bad": "failed",
        "after_bad": "skipped",
        "slow": "cancelled",
        "after_slow": "skipped",
    }
    r2 = run(e, "cacheable")
    r3 = run(e, "cacheable")
    assert (run_state(e, r2), run_state(e, r3)) == ("succeeded", "succeeded")
    assert task_states(e, r3) == {"c": "cached"}
    r4 = e.start(e.workflow("long")).run
    wait_for(lambda: task_states(e, r4)["l"] == "running")
    e.close()
    events = engines.events(e)
    # A fresh engine reads what the closed one wrote.
    e2 = engines(cfg)
    assert run_state(e2, r4) == "interrupted" and task_states(e2, r4) == {"l": "interrupted"}
    task_words = {ev.state for ev in events.of(TaskState)}
    assert task_words <= set(TASK_STATES)
    assert {"running", "succeeded", "failed", "cached", "skipped", "cancelled"} <= task_words
    assert {ev.state for ev in events.of(RunFinished)} <= set(RUN_STATES)
    db_tasks = {row["state"] for row in e2.store.query("SELECT state FROM tasks")}
    db_runs = {row["state"] for row in e2.store.query("SELECT state FROM runs")}
    db_attempts = {row["state"] for row in e2.store.query("SELECT state FROM attempts")}
    assert db_tasks == {"succeeded", "failed", "skipped", "cancelled", "cached", "interrupted"}
    assert db_runs == {"cancelled", "succeeded", "interrupted"}
    assert db_attempts <= set(TASK_STATES)


# --- trace ---------------------------------------------------------------------------


def test_trace_is_chrome_trace_event_json(engines) -> None:
    cfg = config(
        {
            "w": {
                "a": {"run": "sleep 0.05; echo a > a.txt"},
                "flaky": {"run": 'sleep 0.05; test "$TREELANE_ATTEMPT" -ge 2', "retries": 1},
                "bad": {"run": "exit 2"},
                "after_bad": {"run": "true", "needs": ["bad"]},
                "b": {"run": "sleep 0.05", "needs": ["a"]},
            }
        },
        {"max_parallel": 2},
    )
    e = engines(cfg)
    r = run(e, "w")
    trace = json.loads(json.dumps(e.trace(r)))
    events = trace["traceEvents"]
    assert isinstance(events, list) and trace["displayTimeUnit"] == "ms"
    xs = [ev for ev in events if ev["ph"] == "X"]
    rows = attempts(e, r)
    assert len(xs) == len(rows) == 5  # a, flaky x2, bad, b; after_bad never ran
    assert sorted(ev["name"] for ev in xs) == ["a", "b", "bad", "flaky", "flaky"]
    for ev in xs:
        for key in ("name", "cat", "ph", "pid", "tid", "ts", "dur", "args"):
            assert key in ev, (key, ev)
        assert isinstance(ev["ts"], int) and ev["ts"] >= 0
        assert isinstance(ev["dur"], int) and ev["dur"] >= 0
        assert isinstance(ev["pid"], int) and isinstance(ev["tid"], int)
    flaky = sorted((ev for ev in xs if ev["name"] == "flaky"), key=lambda ev: ev["ts"])
    assert [ev["args"]["attempt"] for ev in flaky] == [1, 2]
    assert [ev["args"]["state"] for ev in flaky] == ["failed", "succeeded"]
    assert flaky[0]["ts"] + flaky[0]["dur"] <= flaky[1]["ts"]
    (a,) = [ev for ev in xs if ev["name"] == "a"]
    (b,) = [ev for ev in xs if ev["name"] == "b"]
    assert a["ts"] + a["dur"] <= b["ts"], "b needs a"
    assert a["dur"] >= 50_000
    named = {ev["tid"] for ev in events if ev["ph"] == "M" and ev["name"] == "thread_name"}
    assert {ev["tid"] for ev in xs} <= named
    instants = [ev for ev in events if ev["ph"] == "i"]
    assert [(ev["name"], ev["args"]["state"]) for ev in instants] == [("after_bad", "skipped")]


@pytest.mark.parametrize("parallel", [1, 3])
def test_chain_runs_in_order(engines, repo, git, parallel: int) -> None:
    tasks = {"t0": {"run": "echo 0 >> log.txt"}}
    tasks |= {f"t{i}": {"run": f"echo {i} >> log.txt", "needs": [f"t{i - 1}"]} for i in range(1, 6)}
    e = engines(config({"chain": tasks}, {"max_parallel": parallel}))
    r = run(e, "chain")
    assert run_state(e, r) == "succeeded"
    assert git("show", f"{e.result_commit(r)}:log.txt", cwd=repo).split() == list("012345")
