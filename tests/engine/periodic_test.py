"""checkpoint_every: a running task's worktree is checkpointed as it changes."""

from __future__ import annotations

from enginekit import config, engines_fixture, run, run_state, task_row

engines = engines_fixture()

# Writes a file, then waits until treelane checkpointed it (the checkpoint ref appears),
# three times; records HEAD and the staged files to show the task was not disturbed.
WRITER = """\
head=$(git rev-parse HEAD)
for i in 1 2 3; do
  echo "step $i" > "step$i.txt"
  n=0
  while [ "$(git for-each-ref refs/treelane/checkpoints/ | grep -c .)" -lt "$((before + i))" ]; do
    sleep 0.05; n=$((n+1)); [ $n -gt 400 ] && break
  done
done
test "$(git rev-parse HEAD)" = "$head" && echo same-head > head.txt
git diff --cached --name-only > staged.txt
"""


def test_a_task_writing_files_over_time_is_checkpointed_without_being_disturbed(
    engines, repo, git
) -> None:
    cmd = "before=$(git for-each-ref refs/treelane/checkpoints/ | grep -c .); " + WRITER
    cfg = config({"w": {"agent": {"run": cmd, "checkpoint_every": 0.1, "cache": False}}})
    engine = engines(cfg)
    run_id = run(engine, "w", timeout=60)
    assert run_state(engine, run_id) == "succeeded"
    result = task_row(engine, run_id, "agent")["result_commit"]
    assert git("show", f"{result}:head.txt", cwd=repo) == "same-head"
    assert git("show", f"{result}:staged.txt", cwd=repo) == ""
    task = engine.status(run_id)["runs"][0]["tasks"][0]
    cps = task["checkpoints"]
    assert len(cps) >= 3
    # Each checkpoint holds the files written so far, in order; none is a repeat.
    seen = []
    for cp in cps:
        files = set(git("ls-tree", "--name-only", cp["commit"], cwd=repo).split())
        seen.append(sorted(f for f in files if f.startswith("step")))
        assert cp["worktree"] == task["worktree"]
    assert seen[:3] == [
        ["step1.txt"],
        ["step1.txt", "step2.txt"],
        ["step1.txt", "step2.txt", "step3.txt"],
    ]
    assert len({cp["commit"] for cp in cps}) == len(cps)
    # They are the worktree's checkpoints: undo can restore any of them.
    history = engine.checkpoints.history(task["worktree"])
    assert {c.id for c in history.checkpoints} >= {cp["id"] for cp in cps}


def test_settings_checkpoint_every_applies_and_an_unchanged_worktree_is_not_checkpointed(
    engines, repo
) -> None:
    count = "$(git for-each-ref refs/treelane/checkpoints/ | grep -c .)"
    writes = (
        f"before={count}; echo x > a.txt; n=0; "
        f'while [ "{count}" -le "$before" ] && [ $n -lt 400 ]; do sleep 0.05; n=$((n+1)); done'
    )
    cfg = config(
        {
            "w": {
                "idle": {"run": "sleep 0.6", "cache": False},
                "writes": {"run": writes, "cache": False, "needs": ["idle"]},
            }
        },
        settings={"checkpoint_every": 0.1},
    )
    engine = engines(cfg)
    run_id = run(engine, "w", timeout=60)
    tasks = {t["name"]: t for t in engine.status(run_id)["runs"][0]["tasks"]}
    assert "checkpoints" not in tasks["idle"]
    assert len(tasks["writes"]["checkpoints"]) == 1
