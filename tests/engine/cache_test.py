"""The result cache, through real runs: hits replay, misses run, bad entries are misses.

Every task appends to a side-effect file outside the repository, so "the command ran"
is counted, not inferred.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from enginekit import config, engines_fixture, run, run_state, task_row, task_states

from treelane.engine import git as g
from treelane.engine.cache import CACHE_REFS, ResultCache, cache_key
from treelane.engine.core import Engine
from treelane.engine.events import Output, TaskState
from treelane.engine.workflow import Config

engines = engines_fixture()


def ran(side: Path) -> int:
    return len(side.read_text().splitlines()) if side.exists() else 0


def cfg_with(
    side: Path, *, env: dict[str, str] | None = None, salt: str = "", **extra: object
) -> Config:
    body: dict[str, object] = {"run": f"echo ran >> {side}; echo hello; echo built > out.txt"}
    if env:
        body["env"] = env
    body.update(extra)
    return config({"w": {"build": body}}, {"cache_salt": salt} if salt else None)


def test_hit_on_unchanged_tree_replays_output_without_running(engines, repo, git, tmp_path) -> None:
    side = tmp_path / "side"
    e = engines(cfg_with(side))
    r1 = run(e, "w")
    assert task_states(e, r1) == {"build": "succeeded"} and ran(side) == 1
    r2 = run(e, "w")
    assert task_states(e, r2) == {"build": "cached"}
    assert run_state(e, r2) == "succeeded"
    assert ran(side) == 1, "a hit must not run the command"
    assert e.output(r2, "build") == (["hello"], None)
    assert [o.lines for o in engines.events(e).of(Output) if o.run == r2] == [["hello"]]
    # The cached result is the same tree and feeds the run's result.
    t1 = git("rev-parse", f"{e.result_commit(r1)}^{{tree}}", cwd=repo)
    t2 = git("rev-parse", f"{e.result_commit(r2)}^{{tree}}", cwd=repo)
    assert t1 == t2
    assert git("show", f"{e.result_commit(r2)}:out.txt", cwd=repo) == "built"
    row = task_row(e, r2, "build")
    assert row["exit_code"] == 0 and row["worktree"] is None
    final = [ev for ev in engines.events(e).of(TaskState) if ev.run == r2][-1]
    assert final.state == "cached"
    assert e.store.query("SELECT * FROM attempts WHERE run = ?", (r2,))[0]["state"] == "cached"


def test_cached_result_feeds_dependents(engines, repo, git, tmp_path) -> None:
    side = tmp_path / "side"
    cfg = config(
        {
            "w": {
                "make": {"run": f"echo make >> {side}; echo made > made.txt"},
                "use": {"run": "cp made.txt used.txt", "needs": ["make"], "cache": False},
            }
        }
    )
    e = engines(cfg)
    run(e, "w")
    r2 = run(e, "w")
    assert task_states(e, r2) == {"make": "cached", "use": "succeeded"}
    assert ran(side) == 1
    assert git("show", f"{e.result_commit(r2)}:used.txt", cwd=repo) == "made"


def test_miss_on_changed_tree(engines, repo, git, tmp_path) -> None:
    side = tmp_path / "side"
    e = engines(cfg_with(side))
    run(e, "w")
    (repo / "new.txt").write_text("change\n")
    git("add", "new.txt", cwd=repo)
    git("commit", "-q", "-m", "change", cwd=repo)
    r2 = run(e, "w")
    assert task_states(e, r2) == {"build": "succeeded"} and ran(side) == 2
    # An older base is still a hit.
    r3 = run(e, "w", base="HEAD~1")
    assert task_states(e, r3) == {"build": "cached"} and ran(side) == 2


def test_uncommitted_changes_do_not_count(engines, repo, tmp_path) -> None:
    """Runs start from a commit: edits in the user's checkout change nothing."""
    side = tmp_path / "side"
    e = engines(cfg_with(side))
    run(e, "w")
    (repo / "README.md").write_text("edited, not committed\n")
    r2 = run(e, "w")
    assert task_states(e, r2) == {"build": "cached"} and ran(side) == 1


def test_miss_on_changed_env_command_or_salt(engines, tmp_path) -> None:
    side = tmp_path / "side"
    e = engines(cfg_with(side, env={"MODE": "a"}))
    run(e, "w")
    assert ran(side) == 1
    e.configure(cfg_with(side, env={"MODE": "b"}))
    assert task_states(e, run(e, "w")) == {"build": "succeeded"} and ran(side) == 2
    e.configure(cfg_with(side, env={"MODE": "b"}, salt="v2"))
    assert task_states(e, run(e, "w")) == {"build": "succeeded"} and ran(side) == 3
    e.configure(cfg_with(side, env={"MODE": "b"}, salt="v2"))
    assert task_states(e, run(e, "w")) == {"build": "cached"} and ran(side) == 3
    other = config(
        {"w": {"build": {"run": f"echo ran >> {side}; echo other", "env": {"MODE": "b"}}}}
    )
    e.configure(other)
    assert task_states(e, run(e, "w")) == {"build": "succeeded"} and ran(side) == 4


def test_cache_false_never_hits(engines, tmp_path) -> None:
    side = tmp_path / "side"
    e = engines(cfg_with(side, cache=False))
    for n in (1, 2, 3):
        r = run(e, "w")
        assert task_states(e, r) == {"build": "succeeded"} and ran(side) == n
    assert e.store.query("SELECT * FROM cache") == []


def test_failures_are_not_cached(engines, tmp_path) -> None:
    side = tmp_path / "side"
    e = engines(config({"w": {"t": {"run": f"echo ran >> {side}; exit 1"}}}))
    for n in (1, 2):
        r = run(e, "w")
        assert task_states(e, r) == {"t": "failed"} and ran(side) == n


def only_key(e: Engine) -> str:
    (row,) = e.store.query("SELECT key FROM cache")
    return str(row["key"])


def test_corrupt_checksum_is_a_miss_not_an_error(engines, tmp_path) -> None:
    side = tmp_path / "side"
    e = engines(cfg_with(side))
    run(e, "w")
    e.store.execute("UPDATE cache SET checksum = 'bad'")
    r2 = run(e, "w")
    assert task_states(e, r2) == {"build": "succeeded"} and ran(side) == 2
    # The miss wrote a good entry again.
    assert task_states(e, run(e, "w")) == {"build": "cached"} and ran(side) == 2


@pytest.mark.parametrize("field", ["output", "tree"])
def test_tampered_entry_is_a_miss(engines, tmp_path, field: str) -> None:
    side = tmp_path / "side"
    e = engines(cfg_with(side))
    run(e, "w")
    value = '["forged"]' if field == "output" else "0" * 40
    e.store.execute(f"UPDATE cache SET {field} = ?", (value,))
    assert task_states(e, run(e, "w")) == {"build": "succeeded"} and ran(side) == 2


def test_deleted_ref_and_object_is_a_miss(engines, repo, git, tmp_path) -> None:
    side = tmp_path / "side"
    e = engines(cfg_with(side, run=f"echo ran >> {side}; echo unique-$$-content > only.txt"))
    r1 = run(e, "w")
    key = only_key(e)
    tree = git("rev-parse", f"{CACHE_REFS}/{key}", cwd=repo)
    # Drop the ref and the tree object itself (with the commits and refs that reach it).
    for ref in (
        f"{CACHE_REFS}/{key}",
        f"refs/treelane/runs/{r1}/build",
        f"refs/treelane/results/{r1}",
    ):
        git("update-ref", "-d", ref, cwd=repo)
    obj = repo / ".git" / "objects" / tree[:2] / tree[2:]
    assert obj.exists(), "a fresh tree is a loose object"
    obj.unlink()
    assert not g.object_exists(repo, tree)
    assert ResultCache(e.ws.root, e.store).get(key) is None
    r2 = run(e, "w")
    assert task_states(e, r2) == {"build": "succeeded"} and ran(side) == 2


def test_expired_entry_is_a_miss(engines, tmp_path) -> None:
    side = tmp_path / "side"
    e = engines(cfg_with(side, cache_ttl=0.3))
    run(e, "w")
    assert task_states(e, run(e, "w")) == {"build": "cached"} and ran(side) == 1
    time.sleep(0.35)
    assert task_states(e, run(e, "w")) == {"build": "succeeded"} and ran(side) == 2


def test_unreadable_cache_table_is_a_miss(engines, tmp_path) -> None:
    side = tmp_path / "side"
    e = engines(cfg_with(side))
    run(e, "w")
    e.store.execute("DROP TABLE cache")
    r = run(e, "w")
    assert task_states(e, r) == {"build": "succeeded"} and ran(side) == 2


# --- the key ---------------------------------------------------------------------


def test_cache_key_covers_every_input() -> None:
    base = cache_key("make", {"A": "1", "B": "2"}, "t" * 40, "")
    assert base == cache_key("make", {"B": "2", "A": "1"}, "t" * 40, ""), "env order is irrelevant"
    variants = [
        cache_key("make all", {"A": "1", "B": "2"}, "t" * 40, ""),
        cache_key("make", {"A": "1", "B": "3"}, "t" * 40, ""),
        cache_key("make", {"A": "1"}, "t" * 40, ""),
        cache_key("make", {"A": "1", "B": "2"}, "u" * 40, ""),
        cache_key("make", {"A": "1", "B": "2"}, "t" * 40, "salt"),
        # Fields never run into each other.
        cache_key("mak", {"eA": "1", "B": "2"}, "t" * 40, ""),
    ]
    assert len({base, *variants}) == len(variants) + 1
