"""treelane gc on real runs: what goes (old runs' refs and rows, cache entries) and what
never does (running runs, unmerged recent results, checkpoints)."""

from __future__ import annotations

import time

import pytest
from enginekit import config, engines_fixture, run, wait_for
from repokit import git

from treelane.commands.context import Context
from treelane.commands.gc import gc as gc_command
from treelane.engine import gc
from treelane.errors import InvalidArgument

engines = engines_fixture()


@pytest.fixture
def project(repo):
    return repo


def refs(repo, prefix: str = "refs/treelane") -> list[str]:
    return git("for-each-ref", "--format=%(refname)", prefix, cwd=repo).split()


def run_ids(e) -> list[str]:
    return [r["id"] for r in e.store.query("SELECT id FROM runs ORDER BY started")]


WF = {
    "w": {
        "same": {"run": "echo hi", "cache": False},  # result = the base: on main
        "fail": {"run": "echo no; echo no > f.txt; exit 1", "cache": False},
    },
    "change": {"edit": {"run": "echo x > made.txt", "cache": False}},  # an unmerged result
    "slow": {"sleep": {"run": "sleep 30", "cache": False}},
}


def test_keeps_the_newest_runs_and_prunes_the_rest(engines, repo) -> None:
    e = engines(config(WF))
    ids = [run(e, "w") for _ in range(4)]
    assert any(r.startswith(f"refs/treelane/attempts/{ids[0]}/") for r in refs(repo))
    got = gc.collect(repo, e.store, keep_runs=2)
    assert sorted(got.runs) == sorted(ids[:2]) and got.kept == []
    assert got.output_lines == 4 and got.refs >= 2
    assert run_ids(e) == ids[2:]
    for old in ids[:2]:
        assert not [r for r in refs(repo) if f"/{old}" in r]
        assert e.store.query("SELECT 1 FROM output WHERE run = ?", (old,)) == []
        assert e.store.query("SELECT 1 FROM attempts WHERE run = ?", (old,)) == []
    assert [r for r in refs(repo) if f"/{ids[3]}/" in r], "kept runs keep their refs"
    assert e.output(ids[3], "same") == ["hi"]


def test_unmerged_recent_results_running_runs_and_checkpoints_stay(engines, repo) -> None:
    e = engines(config(WF))
    unmerged = run(e, "change")
    slow = e.start(e.workflow("slow")).run
    wait_for(lambda: e.status(slow)["runs"][0]["tasks"][0]["state"] == "running", 30)
    (repo / "wip.txt").write_text("work in progress\n")
    e.checkpoints.checkpoint("main", repo, "before gc")
    before = [r for r in refs(repo) if "/runs/" not in r and "/results/" not in r]
    got = gc.collect(repo, e.store, keep_runs=0, live=frozenset(e.scheduler.runs))
    reasons = {k["run"]: k["reason"] for k in got.kept}
    assert set(reasons) == {unmerged, slow} and got.runs == []
    assert reasons[slow] == "running"
    assert "not merged" in reasons[unmerged]
    after = [r for r in refs(repo) if "/runs/" not in r and "/results/" not in r]
    assert [r for r in before if "attempts" not in r] == [r for r in after if "attempts" not in r]
    assert any("checkpoint" in r for r in after), after
    e.cancel(slow)
    e.wait(slow, 30)
    # Explicitly older than 0 days: the unmerged result goes too (the rule the user chose).
    got = gc.collect(repo, e.store, older_than_days=0, now=time.time() + 1)
    assert set(got.runs) == {unmerged, slow}
    assert not [r for r in refs(repo) if unmerged in r]


def test_cache_shrinks_oldest_first_and_expired_entries_go(engines, repo) -> None:
    (repo / ".gitignore").write_text("dist/\n")
    git("add", ".gitignore", cwd=repo)
    git("commit", "-q", "-m", "ignore", cwd=repo)
    big = "head -c 300000 /dev/urandom > dist/blob"
    wf = {
        "a": {"run": f"mkdir dist && {big}", "outputs": ["dist/**"]},
        "b": {"run": f"mkdir dist && {big} && echo b", "outputs": ["dist/**"]},
        "c": {"run": "echo small", "cache_ttl": 1},
    }
    e = engines(config({"w": wf}))
    run(e, "w")
    assert len(e.store.query("SELECT key FROM cache")) == 3
    assert len(refs(repo, "refs/treelane/outputs/cache")) == 2
    got = gc.collect(repo, e.store, cache_max_mb=0.5, now=time.time() + 5)
    assert got.cache_entries == 2, got  # the expired one and one of the two big ones
    assert 0.28 < got.cache_mb < 0.31
    assert len(e.store.query("SELECT key FROM cache")) == 1
    assert len(refs(repo, "refs/treelane/cache")) == 1
    assert len(refs(repo, "refs/treelane/outputs/cache")) == 1
    got = gc.collect(repo, e.store, cache_max_mb=0)
    assert got.cache_entries == 1 and e.store.query("SELECT key FROM cache") == []
    assert refs(repo, "refs/treelane/cache") == []


def test_protocol_arguments_are_checked(engines, repo) -> None:
    ctx = Context(repo)
    try:
        for bad in ({"keep_runs": -1}, {"keep_runs": 1.5}, {"cache_max_mb": "1"}, {"x": 1}):
            with pytest.raises(InvalidArgument):
                gc_command(ctx, bad)
        out = gc_command(ctx, {"keep_runs": 5, "cache_max_mb": 100, "older_than_days": 30})
        assert out == {
            "runs": [], "kept": [], "refs": 0, "output_lines": 0, "cache_entries": 0,
            "cache_mb": 0.0, "samples": out["samples"],
        }  # fmt: skip
    finally:
        ctx.close()
