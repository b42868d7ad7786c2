"""The live run view in a real terminal (tmux, a terminal emulator with a real pty) at
60, 80 and 120 columns: no line wraps, the header keeps whole fields, every task row
keeps its icon, name and state, and what is dropped for room is output, then duration."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from clikit import make_repo

TOML = """\
[settings]
max_parallel = 2

[workflows.mixed.tasks.compile_everything_now]
run = "echo building the whole project, a long line of output that goes on and on"
cache = false

[workflows.mixed.tasks.fails]
run = "echo about to fail; exit 3"
cache = false

[workflows.mixed.tasks.after_the_failure]
needs = ["fails"]
run = "true"
"""
DONE = "EXIT="
ICONS = {"compile_everything_now": "✔", "fails": "✘", "after_the_failure": "↷"}
STATES = {"compile_everything_now": "succeeded", "fails": "failed", "after_the_failure": "skipped"}


def tmux(*args: str) -> str:
    proc = subprocess.run(["tmux", *args], capture_output=True, text=True, check=True)
    return proc.stdout


def screen_after_run(repo: Path, width: int) -> list[str]:
    """Run ``treelane run mixed`` in a ``width``-column tmux pane; the pane's lines
    (wrapped lines joined, so a wrap shows as a line longer than the pane)."""
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed (apt-get install tmux)", pytrace=False)
    name = f"tl-{uuid.uuid4().hex[:8]}"
    cmd = f"{shlex.quote(sys.executable)} -m treelane run mixed; echo {DONE}$?; sleep 600"
    tmux("new-session", "-d", "-s", name, "-x", str(width), "-y", "30", "-c", str(repo),
         "env", "-u", "COLUMNS", "-u", "LINES", "TERM=xterm-256color", "sh", "-c", cmd)  # fmt: skip
    try:
        while True:  # until the command is done (pytest-timeout bounds a hang)
            text = tmux("capture-pane", "-p", "-J", "-t", name)
            if DONE in text:
                return [line.rstrip() for line in text.splitlines() if line.strip()]
            time.sleep(0.1)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, check=False)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("pty") / "repo", TOML)


@pytest.mark.parametrize("width", [60, 80, 120])
def test_live_view_fits_the_terminal(repo: Path, width: int) -> None:
    lines = screen_after_run(repo, width)
    header = next(line for line in lines if line.startswith("mixed · run r"))
    view = lines[lines.index(header) : lines.index(header) + 4]
    assert all(len(line) <= width for line in view), view
    assert "3/3 done" in header  # whole fields only: never cut mid-field
    rows = {line.split()[1]: line for line in view[1:]}
    assert set(rows) == set(STATES), view
    for name, row in rows.items():
        icon, shown, state, *_ = row.split(maxsplit=3)
        assert (icon, shown, state) == (ICONS[name], name, STATES[name]), row
    compile_row = rows["compile_everything_now"]
    if width >= 80:
        assert " s  building the whole" in compile_row  # duration and output both shown
    if width == 120:
        assert compile_row.endswith("goes on and on")
    if width == 60:
        assert "…" in compile_row or "building" not in compile_row  # output cut or dropped
    assert lines[-1].startswith(DONE) and lines[-1] == f"{DONE}1"


def test_narrowest_terminal_keeps_name_and_state(repo: Path) -> None:
    """At 40 columns the output and duration go; names and states stay whole."""
    lines = screen_after_run(repo, 40)
    header = next(line for line in lines if line.startswith("mixed · run r"))
    view = lines[lines.index(header) : lines.index(header) + 4]
    assert all(len(line) <= 40 for line in view), view
    for line in view[1:]:
        icon, name, state = line.split()  # nothing else on the row
        assert ICONS[name] == icon and STATES[name] == state
