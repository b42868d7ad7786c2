"""Agent-workflow subcommands through the real CLI and server: pick, checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

from clikit import git, lines, make_repo, one_line_reason, popen, treelane

BEST_OF_3 = """\
[workflows.best.tasks.impl]
run = 'echo "impl $TREELANE_CANDIDATE" > impl.txt'
candidates = 3
pick = 'echo $((4 - TREELANE_CANDIDATE))'
cache = false

[workflows.best.tasks.ship]
run = "cp impl.txt shipped.txt"
needs = ["impl"]
"""


def test_pick_reruns_the_dependents_from_the_chosen_candidate(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", BEST_OF_3)
    done = treelane("run", "best", "--json", cwd=repo)
    assert done.returncode == 0, done.stderr
    run = next(m["params"]["run"] for m in lines(done.stdout) if "run" in m.get("params", {}))
    status = json.loads(treelane("status", run, "--json", cwd=repo).stdout)["runs"][0]
    node = next(t for t in status["tasks"] if t["name"] == "impl")
    assert node["picked"] == "impl[candidate=1]"  # scores 3, 2, 1
    assert git(repo, "show", f"{status['result']}:shipped.txt") == "impl 1"
    plain = treelane("status", run, cwd=repo).stdout
    assert "succeeded · score 3" in plain and "picked impl[candidate=1]" in plain

    picked = treelane("pick", run, "impl", "3", cwd=repo)
    assert picked.returncode == 0, picked.stderr
    assert f"run {run}: impl is now impl[candidate=3]" in picked.stdout
    assert "re-running: ship" in picked.stdout
    status = json.loads(treelane("status", run, "--json", cwd=repo).stdout)["runs"][0]
    assert status["state"] == "succeeded"
    assert git(repo, "show", f"{status['result']}:shipped.txt") == "impl 3"

    bad = treelane("pick", run, "impl", "9", cwd=repo)
    assert bad.returncode == 1
    assert one_line_reason(bad.stderr) == "treelane: task 'impl' has candidates 1 to 3, not 9"
    usage = treelane("pick", run, "impl", "two", cwd=repo)
    assert usage.returncode == 2


WRITER = """\
[workflows.w.tasks.agent]
run = '''
before=$(git for-each-ref refs/treelane/checkpoints/ | grep -c .)
echo draft > draft.txt
n=0
while [ "$(git for-each-ref refs/treelane/checkpoints/ | grep -c .)" -le "$before" ]; do
  sleep 0.05; n=$((n+1)); [ $n -gt 400 ] && break
done
true
'''
checkpoint_every = 0.1
cache = false
"""


def test_checkpoints_lists_what_was_taken_while_the_task_ran(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", WRITER)
    done = treelane("run", "w", "--json", cwd=repo)
    assert done.returncode == 0, done.stderr
    run = next(m["params"]["run"] for m in lines(done.stdout) if "run" in m.get("params", {}))
    listed = json.loads(treelane("checkpoints", run, "--json", cwd=repo).stdout)
    assert listed["run"] == run
    assert [c["task"] for c in listed["checkpoints"]] == ["agent"]
    commit = listed["checkpoints"][0]["commit"]
    assert git(repo, "show", f"{commit}:draft.txt") == "draft"
    plain = treelane("checkpoints", run, cwd=repo)
    assert plain.returncode == 0 and "agent  checkpoint" in plain.stdout


MATRIX = """\
[workflows.m.tasks.test]
run = 'echo "shard $TREELANE_MATRIX_SHARD"; while [ ! -e "$GATE" ]; do sleep 0.05; done'
matrix = { shard = ["1", "2"] }
env = { GATE = "never-created" }
cache = false
"""


def test_cancel_a_matrix_task_from_another_process(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", MATRIX)
    proc = popen("run", "m", "--json", cwd=repo)
    assert proc.stdout is not None
    run = json.loads(proc.stdout.readline())["params"]["run"]
    outputs = set()
    for line in proc.stdout:
        note = json.loads(line)
        if note["method"] == "treelane/output":
            outputs.add(note["params"]["task"])
            if len(outputs) == 2:
                break
    cancel = treelane("cancel", run, "--task", "test", "--json", cwd=repo)
    assert cancel.returncode == 0, cancel.stderr
    assert json.loads(cancel.stdout) == {"cancelled": ["test[shard=1]", "test[shard=2]"]}
    proc.communicate(timeout=60)
    assert proc.returncode == 1
    status = json.loads(treelane("status", run, "--json", cwd=repo).stdout)["runs"][0]
    assert [t["state"] for t in status["tasks"]] == ["cancelled", "cancelled"]
