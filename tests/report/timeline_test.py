"""Unit tests for the run timeline report (pure: no browser)."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import pytest

from treelane.report import layout, timeline
from treelane.report.screenshot import sample_run
from treelane.report.timeline import TASK_STATES, critical_path, render_timeline, speedup

T0 = 1_700_000_000.0


def attempt(
    start: float,
    end: float | None,
    *,
    n: int = 1,
    wt: str | None = "wt-1",
    state: str = "succeeded",
    code: int | None = 0,
) -> dict[str, Any]:
    return {
        "attempt": n,
        "worktree": wt,
        "start": T0 + start,
        "end": None if end is None else T0 + end,
        "state": state,
        "exit_code": code,
    }


def task(
    name: str,
    *attempts: dict[str, Any],
    needs: tuple[str, ...] = (),
    state: str = "succeeded",
    resolved: float | None = None,
    isolation: str = "worktree",
) -> dict[str, Any]:
    t: dict[str, Any] = {
        "name": name,
        "state": state,
        "needs": list(needs),
        "isolation": isolation,
        "attempts": list(attempts),
    }
    if resolved is not None:
        t["resolved"] = T0 + resolved
    return t


def run(
    *tasks: dict[str, Any],
    finished: float | None = 10.0,
    state: str = "succeeded",
    samples: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "run": "r1a2b3",
        "workflow": "feature",
        "state": state,
        "started": T0,
        "finished": None if finished is None else T0 + finished,
        "tasks": list(tasks),
        "samples": samples or [],
    }


def gantt_height(page: str) -> float:
    m = re.search(r'<svg class="chart gantt" viewBox="0 0 [0-9.]+ ([0-9.]+)"', page)
    assert m, "no Gantt chart in the page"
    return float(m.group(1))


def bar_count(page: str) -> int:
    return page.count('<rect class="bar ')


# ---------------------------------------------------------------------------
# critical_path
# ---------------------------------------------------------------------------


def test_critical_path_diamond_takes_the_branch_that_finished_last() -> None:
    tasks = [
        task("plan", attempt(0, 1)),
        task("build", attempt(1, 4, wt="wt-2"), needs=("plan",)),
        task("test", attempt(1, 6, wt="wt-3"), needs=("plan",)),
        task("merge", attempt(6, 7), needs=("build", "test")),
    ]
    assert critical_path(tasks) == ["plan", "test", "merge"]
    tasks[1]["attempts"][0]["end"] = T0 + 6.5
    assert critical_path(tasks) == ["plan", "build", "merge"]


def test_critical_path_chain_with_a_retry_uses_the_final_attempt() -> None:
    # b's first attempt ends at 3 (before x ends at 5) but its retry ends at 8:
    # the path must go through b, judged by the final attempt.
    tasks = [
        task("a", attempt(0, 1)),
        task(
            "b",
            attempt(1, 3, state="failed", code=1),
            attempt(3.1, 8, n=2),
            needs=("a",),
        ),
        task("x", attempt(1, 5, wt="wt-2"), needs=("a",)),
        task("c", attempt(8, 9), needs=("x", "b")),
    ]
    assert critical_path(tasks) == ["a", "b", "c"]


def test_critical_path_plain_chain_with_retry() -> None:
    tasks = [
        task("a", attempt(0, 1)),
        task("b", attempt(1, 2, state="failed", code=2), attempt(2, 3, n=2), needs=("a",)),
        task("c", attempt(3, 4), needs=("b",)),
    ]
    assert critical_path(tasks) == ["a", "b", "c"]


def test_critical_path_starts_at_the_last_finishing_sink() -> None:
    tasks = [
        task("a", attempt(0, 1)),
        task("early-sink", attempt(1, 2), needs=("a",)),
        task("b", attempt(1, 5), needs=("a",)),
        task("late-sink", attempt(5, 6), needs=("b",)),
    ]
    assert critical_path(tasks) == ["a", "b", "late-sink"]


def test_critical_path_includes_cached_tasks_by_resolve_time() -> None:
    tasks = [
        task("plan", attempt(0, 1)),
        task("lint", state="cached", resolved=4.0, needs=("plan",), isolation="shared"),
        task("build", attempt(1, 3), needs=("plan",)),
        task("merge", attempt(4, 5), needs=("lint", "build")),
    ]
    assert critical_path(tasks) == ["plan", "lint", "merge"]


def test_critical_path_ignores_skipped_and_unfinished_tasks() -> None:
    tasks = [
        task("plan", attempt(0, 1)),
        task("build", attempt(1, 3, state="failed", code=1), state="failed", needs=("plan",)),
        task("test", attempt(1, 5), needs=("plan",)),
        # skipped after the run had long moved on: not work, not on the path
        task("docs", state="skipped", resolved=9.0, needs=("build",)),
        task("merge", needs=("build", "test"), state="skipped", resolved=3.0),
    ]
    assert critical_path(tasks) == ["plan", "test"]


def test_critical_path_of_a_running_run_ends_at_the_last_finished_task() -> None:
    tasks = [
        task("plan", attempt(0, 1)),
        task("build", attempt(1, 4), needs=("plan",)),
        task("test", attempt(1, None, state="running", code=None), needs=("plan",)),
        task("merge", needs=("build", "test"), state="queued"),
        task("fmt", attempt(1, 2), needs=("plan",)),
    ]
    assert critical_path(tasks) == ["plan", "build"]


def test_critical_path_edge_cases() -> None:
    assert critical_path([]) == []
    assert critical_path([task("q", state="queued")]) == []
    assert critical_path([task("only", attempt(0, 1))]) == ["only"]
    # unknown needs are ignored, a cycle does not hang
    assert critical_path([task("a", attempt(0, 1), needs=("ghost",))]) == ["a"]
    cyclic = [
        task("a", attempt(0, 1), needs=("b",)),
        task("b", attempt(1, 2), needs=("a",)),
    ]
    assert critical_path(cyclic) in (["a", "b"], ["b", "a"])
    # ties go to the task listed first
    tie = [
        task("root", attempt(0, 1)),
        task("left", attempt(1, 2), needs=("root",)),
        task("right", attempt(1, 2), needs=("root",)),
        task("sink", attempt(2, 3), needs=("left", "right")),
    ]
    assert critical_path(tie) == ["root", "left", "sink"]


# ---------------------------------------------------------------------------
# speedup and header figures
# ---------------------------------------------------------------------------


def test_speedup_is_busy_time_over_wall_time() -> None:
    data = run(
        task("a", attempt(0, 2)),
        task("b", attempt(2, 3, state="failed", code=1), attempt(3, 6, n=2), needs=("a",)),
        task("c", attempt(2, 10, wt="wt-2"), needs=("a",)),
        task("d", state="cached", resolved=2.0),
        finished=10.0,
    )
    # 2 + 1 + 3 + 8 = 14 s of attempts in 10 s of wall time
    assert speedup(data) == pytest.approx(1.4)
    page = render_timeline(data)
    assert "1.40×" in page
    assert "14.0 s" in page  # sum of task time
    assert "10.0 s" in page  # wall time


def test_speedup_while_running_uses_the_last_event_time() -> None:
    data = run(
        task("a", attempt(0, 2)),
        task("b", attempt(1, None, wt="wt-2", state="running", code=None), state="running"),
        finished=None,
        state="running",
        samples=[{"time": T0 + 4.0, "cpu_percent": 50.0, "running": 1, "limit": 2}],
    )
    # wall = 4 (last sample), busy = 2 + (4 - 1) = 5
    assert speedup(data) == pytest.approx(5 / 4)


def test_speedup_without_wall_time_is_zero() -> None:
    assert speedup(run(finished=0.0)) == 0.0
    assert speedup({"tasks": []}) == 0.0


def test_sample_run_figures() -> None:
    data = sample_run()
    assert speedup(data) == pytest.approx(27.2 / 14.3, abs=0.01)
    assert critical_path(data["tasks"]) == ["plan", "test-unit", "integrate", "merge"]


# ---------------------------------------------------------------------------
# escaping and self-containment
# ---------------------------------------------------------------------------

EVIL = "<script>alert(1)</script>"
EVIL_ATTR = '"><img src=x onerror=alert(1)>'


def test_data_strings_are_escaped() -> None:
    data = run(
        task(EVIL, attempt(0, 2, wt=EVIL_ATTR)),
        task("b&c", attempt(2, 3), needs=(EVIL,)),
        task("cached <i>", state="cached", resolved=1.0),
        samples=[{"time": T0 + 1, "cpu_percent": 10.0, "memory_percent": 20.0}],
    )
    data["workflow"] = "<b>wf</b>"
    data["run"] = "r'\"<x>"
    data["state"] = "<svg onload=alert(1)>"
    page = render_timeline(data)
    assert EVIL not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert EVIL_ATTR not in page
    assert "<img" not in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<b>wf</b>" not in page and "&lt;b&gt;wf&lt;/b&gt;" in page
    assert "<svg onload" not in page
    assert "b&amp;c" in page
    assert "cached <i>" not in page and "cached &lt;i&gt;" in page
    # exactly one script element: ours
    assert page.count("<script") == 1
    # unknown states never become class names
    assert "s-<svg" not in page and "s-unknown" in page


def test_page_is_self_contained() -> None:
    page = render_timeline(sample_run())
    for needle in ('src="http', 'href="http', "@import", "url(http", "http://", "https://"):
        assert needle not in page, needle
    for needle in ("<link", "<img", "<iframe", "fetch(", "XMLHttpRequest", "@font-face"):
        assert needle not in page, needle
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<html") == 1 and page.rstrip().endswith("</html>")


def test_csp_allows_exactly_the_inline_script() -> None:
    page = render_timeline(sample_run())
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    policy = csp.group(1).replace("&#x27;", "'")
    assert "default-src 'none'" in policy
    script = re.search(r"<script>(.*?)</script>", page, re.S)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy


# ---------------------------------------------------------------------------
# chart content
# ---------------------------------------------------------------------------


def test_every_state_has_its_css_class() -> None:
    tasks = []
    for i, state in enumerate(TASK_STATES):
        if state in ("queued", "cached", "skipped"):
            tasks.append(task(f"t-{state}", state=state, resolved=float(i)))
        else:
            end = None if state == "running" else i + 0.5
            tasks.append(
                task(f"t-{state}", attempt(i, end, wt=f"wt-{i}", state=state), state=state)
            )
    page = render_timeline(run(*tasks, finished=None, state="running"))
    for state in TASK_STATES:
        assert f"s-{state}" in page, state
        assert f".s-{state}{{" in page, f"no CSS rule for {state}"
    for state in ("running", "succeeded", "failed", "cancelled", "interrupted"):
        assert f'<rect class="bar s-{state}' in page, state
    assert 'class="marker s-cached' in page
    assert 'class="marker s-skipped' in page
    assert "bar s-running open" in page  # still-running attempt: open-ended bar


def test_run_states_render_as_badges() -> None:
    for state in timeline.RUN_STATES:
        page = render_timeline(run(task("a", attempt(0, 1)), state=state))
        assert f'<span class="badge s-{state}">{state}</span>' in page


def test_bars_lanes_retry_and_critical_path() -> None:
    data = sample_run()
    page = render_timeline(data)
    n_attempts = sum(len(t["attempts"]) for t in data["tasks"])
    assert bar_count(page) == n_attempts == 9
    # one lane per worktree, plus the shared checkout and the no-worktree lane
    labels = re.findall(r'<text class="lane-label[^"]*"[^>]*><title>([^<]*)</title>', page)
    assert labels == ["wt-1", "wt-2", "wt-3", "wt-4", "shared checkout", "no worktree"]
    assert "test-unit · attempt 2" in page
    assert page.count("bar s-failed") == 1
    assert page.count("bar s-succeeded retry") == 1
    # critical path: plan, test-unit (2 attempts), integrate, merge
    assert len(re.findall(r'<rect class="bar [^"]*\bcrit\b', page)) == 5
    assert page.count('class="crit-link"') == 3
    assert "Critical path: <b>plan</b> → <b>test-unit</b>" in page
    # markers for the cached and skipped tasks
    assert page.count('class="marker s-cached') == 1
    assert page.count('class="marker s-skipped') == 1
    # resource chart: both polylines and the step lines
    for cls in ("cpu-line", "mem-line", "running-line", "limit-line"):
        assert f"series {cls}" in page
    assert page.count('class="hit tip"') == 20


def test_zero_tasks() -> None:
    page = render_timeline(run())
    assert "This run has no tasks." in page
    assert bar_count(page) == 0
    assert "No resource samples" in page


def test_run_still_running_without_finish_time() -> None:
    data = run(
        task("a", attempt(0, 2)),
        task("b", attempt(2, None, state="running", code=None), state="running", needs=("a",)),
        task("c", needs=("b",), state="queued"),
        finished=None,
        state="running",
        samples=[{"time": T0 + 5.0, "cpu_percent": 90.0, "running": 1, "limit": 4}],
    )
    page = render_timeline(data)
    assert "in progress" in page and "last update" in page
    assert bar_count(page) == 2
    assert "Wall time so far" in page and "5.0 s" in page


def test_nothing_started_yet() -> None:
    page = render_timeline(run(task("a", state="queued"), finished=None, state="running"))
    assert "No task has started yet." in page


def test_single_task_and_no_samples() -> None:
    page = render_timeline(run(task("solo", attempt(0.5, 3.0)), finished=3.0))
    assert bar_count(page) == 1
    assert gantt_height(page) == layout.GANTT_TOP + layout.LANE_H + layout.AXIS_H
    assert "No resource samples" in page
    assert "series cpu-line" not in page


def test_two_hundred_tasks_scale_with_fixed_lane_height() -> None:
    tasks = []
    for i in range(200):
        wt = f"wt-{i % 8 + 1}"
        start = (i // 8) * 2.0
        tasks.append(task(f"task-{i}", attempt(start, start + 1.9, wt=wt), needs=()))
    page = render_timeline(run(*tasks, finished=50.0))
    assert bar_count(page) == 200
    # 8 lanes of fixed height; width is responsive through the viewBox
    assert gantt_height(page) == layout.GANTT_TOP + 8 * layout.LANE_H + layout.AXIS_H
    assert 'svg class="chart gantt" viewBox="0 0 1200 ' in page
    # natural lane order: wt-2 before wt-10 style ordering
    labels = re.findall(r'<text class="lane-label[^"]*"[^>]*><title>([^<]*)</title>', page)
    assert labels == [f"wt-{i}" for i in range(1, 9)]

    many_lanes = [task(f"t{i}", attempt(0, 1, wt=f"wt-{i}")) for i in range(200)]
    page = render_timeline(run(*many_lanes, finished=1.0))
    assert gantt_height(page) == layout.GANTT_TOP + 200 * layout.LANE_H + layout.AXIS_H


def test_overlapping_attempts_in_the_shared_checkout_get_their_own_rows() -> None:
    page = render_timeline(
        run(
            task("a", attempt(0, 5, wt=None), isolation="shared"),
            task("b", attempt(1, 4, wt=None), isolation="shared"),
            task("c", attempt(4.5, 6, wt=None), isolation="shared"),
        )
    )
    assert bar_count(page) == 3
    assert gantt_height(page) == layout.GANTT_TOP + 2 * layout.LANE_H + layout.AXIS_H
    assert "shared checkout" in page


def test_malformed_values_do_not_crash() -> None:
    data: dict[str, Any] = {
        "run": None,
        "workflow": 42,
        "state": None,
        "started": "soon",
        "finished": float("nan"),
        "tasks": [
            {"name": None, "attempts": [{"start": None}, "junk", {"start": T0, "end": T0 + 1}]},
            "junk",
            {"name": "x", "needs": "a", "attempts": "no"},
        ],
        "samples": [{"time": None}, {"time": T0 + 0.5, "cpu_percent": "hot"}, 3],
    }
    page = render_timeline(data)
    assert bar_count(page) == 1
    assert speedup(data) >= 0.0


def test_a_skipped_task_has_no_worktree_and_a_shared_one_names_its_isolation() -> None:
    page = render_timeline(
        run(
            task("a", attempt(0, 2), state="failed"),
            task("b", needs=("a",), state="skipped", resolved=2.0),
            task("c", attempt(0, 1, wt=None), isolation="shared"),
        )
    )
    row = r'<td>(?:<span[^>]*>★</span> )?<code>(\w)</code></td>.*?<td class="num">\d+</td>'
    cells = dict(re.findall(row + r"<td><code>([^<]*)</code>", page))
    assert cells == {"a": "wt-1", "b": "—", "c": "shared"}
    assert "<code>worktree</code>" not in page


def test_bars_too_short_for_a_label_are_labelled_beside_or_below() -> None:
    # A 1000 s run: a 1 s bar is about 1 px wide. "lone" has room to its right in its lane;
    # "boxed" is followed at once by "next" in the same lane, so it is listed below the chart.
    page = render_timeline(
        run(
            task("long", attempt(0, 1000, wt="wt-1")),
            task("lone", attempt(10, 11, wt="wt-2")),
            task("boxed", attempt(20, 21, wt="wt-3")),
            task("next", attempt(21.2, 990, wt="wt-3")),
            finished=1000.0,
        )
    )
    inside = re.findall(r'<text class="bar-label"[^>]*>([^<]*)</text>', page)
    beside = re.findall(r'<text class="bar-label-out"[^>]*>([^<]*)</text>', page)
    assert "long" in inside and "next" in inside
    assert beside == ["lone"]
    note = re.search(r'<p class="short-bars">(.*?)</p>', page)
    assert note is not None
    assert "<code>boxed</code> wt-3 +20.0s" in note.group(1)
    assert "lone" not in note.group(1)


def test_every_bar_is_labelled_somewhere_in_the_sample_run() -> None:
    page = render_timeline(sample_run())
    named = set(re.findall(r'<text class="bar-label(?:-out)?"[^>]*>([^<#·]*)', page))
    named |= set(re.findall(r'<p class="short-bars">.*?</p>', page, re.S))
    text = " ".join(named)
    for t in sample_run()["tasks"]:
        if t["attempts"]:
            assert t["name"][:4] in text, t["name"]
