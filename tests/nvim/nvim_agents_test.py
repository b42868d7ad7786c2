"""Agent workflows in the Neovim plugin, end to end: a headless Neovim runs
tests/nvim/test_agents.lua against the real server in a fresh git repository.

The status view nests a matrix's expansions, a spawner's tasks and best-of-N candidates under
their task with a summary, live; ``:Treelane pick`` re-points a best-of-3; a spawner whose
children conflict is resolved through the quickfix list and resumed. The 0.11 build gets task
states batched (the plugin's default; test_workflow.lua runs so on both), the system's Neovim
(0.7.2) one by one. test_tree.lua checks the nesting module alone, for shapes the runs here
do not make.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import repokit
from nvimkit import HERE, passed, pypi_nvim, run_script, system_nvim

WORKFLOWS = r"""
[settings]
max_parallel = 4
pool_size = 4

[workflows.matrix.tasks.test]
run = '''
while [ ! -e "$GATE" ]; do sleep 0.05; done
echo "shard $TREELANE_MATRIX_SHARD" > "shard$TREELANE_MATRIX_SHARD.txt"
if [ "$TREELANE_MATRIX_SHARD" = 3 ]; then echo "shard 3 fails" >&2; exit 1; fi
'''
matrix = { shard = ["1", "2", "3", "4"] }
env = { GATE = "@GATE@" }
cache = false

[workflows.skills.tasks.plan]
run = '''
cat > "$TREELANE_SPAWN" <<'T'
[a]
run = "printf '[x]\\nrun = \"while [ ! -e @GATE@.spawn ]; do sleep 0.05; done; echo x > x.txt\"\\n' > \"$TREELANE_SPAWN\"; echo a > a.txt"
[b]
run = "echo b > b.txt"
needs = ["a"]
T
'''
cache = false

[workflows.skills.tasks.done]
needs = ["plan"]
run = "ls > all.txt"

[workflows.best.tasks.impl]
run = 'echo "impl $TREELANE_CANDIDATE" > impl.txt'
candidates = 3
pick = 'case $TREELANE_CANDIDATE in 1) echo 0;; 2) echo 2;; *) echo 1;; esac'
cache = false

[workflows.best.tasks.ship]
needs = ["impl"]
run = "cp impl.txt shipped.txt"
cache = false

[workflows.clashing.tasks.plan]
run = '''
cat > "$TREELANE_SPAWN" <<'T'
[left]
run = "echo left > notes.txt"
[right]
run = "echo right > notes.txt"
T
'''
cache = false

[workflows.clashing.tasks.done]
needs = ["plan"]
run = "cat notes.txt > done.txt"
"""  # noqa: E501 (a spawn document inside a shell heredoc inside treelane.toml)


@pytest.mark.parametrize("which", ["system", "pypi"])
def test_status_view_groups_agent_tasks_and_pick_and_resolve_work(
    tmp_path: Path, which: str
) -> None:
    nvim = system_nvim() if which == "system" else pypi_nvim()
    gate = tmp_path / "gate"
    repo = repokit.make_repo(tmp_path / "repo", WORKFLOWS.replace("@GATE@", str(gate)))
    batch = "0" if which == "system" else "1"
    env = {"TREELANE_TEST_GATE": str(gate), "TREELANE_TEST_BATCH": batch}
    report = run_script(nvim, HERE / "test_agents.lua", repo, tmp_path, env)
    assert gate.exists()
    for name in (
        "matrix group line sums up its running expansions",
        "matrix of 4 with one failing expansion: grouped with the summary",
        "task states arrived " + ("one by one" if which == "system" else "batched"),
        "one TreelaneTaskState per change",
        "spawned tasks nest under their spawner (live)",
        "spawned tasks nest under their spawner (snapshot)",
        "best-of-3 lists its candidates with scores and the winner",
        "pick completes candidate numbers",
        "pick of a number out of range is the server's error",
        "the view moves the winner to the picked candidate",
        "dependents re-ran from the picked candidate",
        "the failure says why and how to resolve it",
        "the status view shows why the run failed",
        "resolve lists the children's conflict",
        "the resolution is the dependent's input",
    ):
        assert passed(report, name), (name, report["passed"])


def test_task_tree_shapes_without_a_server(tmp_path: Path) -> None:
    report = run_script(system_nvim(), HERE / "test_tree.lua", tmp_path, tmp_path)
    for name in (
        "a group with a failure still running is running",
        "a spawned matrix nests under its spawner",
        "no task is lost to a loop of parents",
    ):
        assert passed(report, name), (name, report["passed"])
