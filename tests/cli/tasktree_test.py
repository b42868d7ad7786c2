"""``treelane status RUN`` lists matrix expansions, spawned tasks and best-of-N candidates
under their task, with a summary line for a matrix; checked on a real run."""

from __future__ import annotations

import json
import re
from pathlib import Path

from clikit import make_repo, treelane

from treelane.cli.tasktree import group_state, ordered, summary

TOML = """\
[workflows.w.tasks.test]
matrix = { shard = ["1", "2", "3", "4"] }
run = "test $TREELANE_MATRIX_SHARD != 3 && echo ok > s$TREELANE_MATRIX_SHARD.txt"

[workflows.w.tasks.plan]
run = '''
cat > "$TREELANE_SPAWN" <<'END'
[a]
run = "echo a > a.txt"
[b]
run = "echo b > b.txt"
END
'''

[workflows.w.tasks.impl]
candidates = 3
pick = "echo $TREELANE_CANDIDATE"
run = "echo $TREELANE_CANDIDATE > impl.txt"

[workflows.w.tasks.end]
needs = ["plan", "impl"]
run = "ls > ls.txt"
"""


def test_status_groups_expansions_children_and_candidates(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", TOML)
    proc = treelane("run", "w", "--json", cwd=repo)
    assert proc.returncode == 1, proc.stderr  # test[shard=3] fails
    run = json.loads(proc.stdout.splitlines()[-1])["params"]["run"]
    out = treelane("status", run, cwd=repo)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("task "))
    table = [line for line in lines[start + 1 :] if not line.startswith("pool:")]
    cells = [re.match(r"^(\s*\S+)\s{2,}(.+?)(?:\s{2,}|$)", line) for line in table]
    labels = [m.group(1) for m in cells if m]
    states = [m.group(2) for m in cells if m]
    assert labels == [
        "test",
        "  test[shard=1]",
        "  test[shard=2]",
        "  test[shard=3]",
        "  test[shard=4]",
        "plan",
        "  plan.a",
        "  plan.b",
        "impl",
        "  impl[candidate=1]",
        "  impl[candidate=2]",
        "  impl[candidate=3]",
        "end",
    ]
    assert states[0] == "failed · 3 of 4 succeeded, 1 failed"
    assert states[8] == "succeeded · picked impl[candidate=3]"
    assert states[10] == "succeeded · score 2"
    # --json stays the flat list of tasks, with the fields the grouping comes from.
    tasks = json.loads(treelane("status", run, "--json", cwd=repo).stdout)["runs"][0]["tasks"]
    assert {t["name"] for t in tasks} == {label.strip() for label in labels} - {"test"}


def test_grouping_keeps_order_and_nests_children_of_children() -> None:
    tasks = [
        {"name": "x", "state": "succeeded"},
        {"name": "x.a", "state": "succeeded", "parent": "x"},
        {"name": "x.a.b", "state": "running", "parent": "x.a"},
        {"name": "m[k=1]", "state": "queued", "group": "m"},
        {"name": "m[k=2]", "state": "succeeded", "group": "m"},
    ]
    got = [(line.label, line.task["state"]) for line in ordered(tasks)]
    assert got == [
        ("x", "succeeded"),
        ("  x.a", "succeeded"),
        ("    x.a.b", "running"),
        ("m", "queued"),
        ("  m[k=1]", "queued"),
        ("  m[k=2]", "succeeded"),
    ]
    assert summary(tasks[3:]) == "1 of 2 succeeded, 1 queued"
    assert summary(tasks[:2]) == "2 tasks"
    assert group_state([{"state": "succeeded"}, {"state": "cached"}]) == "succeeded"
