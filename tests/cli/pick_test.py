"""``treelane pick RUN TASK N`` through the real CLI and server."""

from __future__ import annotations

import json
from pathlib import Path

from clikit import git, lines, make_repo, one_line_reason, treelane

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
