"""Shell completion: the scripts shtab generates, loaded into a real bash, completing
subcommands, options, workflow names, run ids and task names from the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from clikit import lines, make_repo, treelane

BIN = Path(sys.executable).parent / "treelane"

# Load the script, check `complete -p`, then call the completion function as bash would
# for each command line (COMP_WORDS / COMP_CWORD) and print COMPREPLY.
DRIVER = r"""
source "$1"
complete -p treelane || exit 9
fn=$(complete -p treelane | sed -E 's/.* -F ([^ ]+) .*/\1/')
shift
for line in "$@"; do
  read -ra COMP_WORDS <<< "$line"
  [[ "$line" == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
  COMP_LINE="$line"; COMP_POINT=${#line}
  COMPREPLY=()
  "$fn" treelane "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
  printf '%s\n' "=> ${COMPREPLY[*]}"
done
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = make_repo(tmp_path_factory.mktemp("completion") / "repo")
    proc = treelane("run", "diamond", "--json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    return root, lines(proc.stdout)[-1]["params"]["run"]


def complete_in_bash(cwd: Path, *command_lines: str) -> tuple[str, list[str]]:
    script = cwd.parent / "treelane.bash"
    made = subprocess.run([str(BIN), "completion", "bash"], capture_output=True, text=True,
                          check=True, cwd=cwd)  # fmt: skip
    script.write_text(made.stdout)
    proc = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", DRIVER, "driver", str(script), *command_lines],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{BIN.parent}:{os.environ['PATH']}"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    spec, *replies = proc.stdout.splitlines()
    return spec, [r.removeprefix("=> ") for r in replies]


def test_bash_completes_commands_workflows_runs_and_tasks(repo: tuple[Path, str]) -> None:
    root, run = repo
    spec, got = complete_in_bash(
        root,
        "treelane che",
        "treelane run ",
        "treelane run di",
        "treelane status ",
        f"treelane log {run} ",
        f"treelane cancel {run} --task ",
        "treelane checkpoints ",
        "treelane completion ",
        "treelane merge --pr",
    )
    assert spec.startswith("complete ") and spec.endswith(" treelane")
    assert got[0].split() == ["checkpoint", "checkpoints"]
    assert got[1].split() == ["diamond", "slow", "conflict", "broken"]
    assert got[2] == "diamond"
    assert got[3] == run
    assert got[4].split() == ["a", "b", "c", "d"]
    assert got[5].split() == ["a", "b", "c", "d"]
    assert got[6].split()[0] == "main" and all(w.startswith("wt-") for w in got[6].split()[1:])
    assert got[7].split() == ["bash", "zsh", "fish"]
    assert got[8] == "--preview"


def test_bash_completion_follows_dash_c(repo: tuple[Path, str], tmp_path: Path) -> None:
    root, run = repo
    _, got = complete_in_bash(tmp_path, f"treelane -C {root} status ", "treelane status ")
    assert got == [run, ""]  # outside a repository: no candidates, no error


def test_candidates_command_prints_names_and_never_fails(repo: tuple[Path, str]) -> None:
    root, run = repo
    got = subprocess.run([str(BIN), "__complete", "runs"], cwd=root, capture_output=True,
                         text=True, check=False)  # fmt: skip
    assert got.returncode == 0 and got.stdout.split() == [run]
    for args in (["__complete"], ["__complete", "nonsense"], ["__complete", "tasks", "x"]):
        proc = subprocess.run([str(BIN), *args], cwd=root.parent, capture_output=True,
                              text=True, check=False)  # fmt: skip
        assert proc.returncode == 0 and proc.stderr == "", args


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_ask_for_the_dynamic_names(shell: str, tmp_path: Path) -> None:
    proc = treelane("completion", shell, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for kind in ("workflows", "runs", "tasks", "worktrees"):
        assert f"__complete {kind}" in proc.stdout, kind
    assert "checkpoints" in proc.stdout and "completion" in proc.stdout
    bad = treelane("completion", "tcsh", cwd=tmp_path)
    assert bad.returncode == 2


def test_completion_json_is_not_offered(tmp_path: Path) -> None:
    """``completion`` prints a script, not JSON: it takes no --json."""
    proc = treelane("completion", "bash", "--json", cwd=tmp_path)
    assert proc.returncode == 2
