"""What the demo agents share: paced progress lines and small file helpers.

Each agent runs in its task's worktree (the current directory), prints what it does
(treelane streams it) and takes a few seconds, like a slow tool or a model would.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path.cwd()


def say(text: str, pause: float = 0.3) -> None:
    """Print one progress line, then take a moment (the "work")."""
    print(text, flush=True)
    time.sleep(pause)


def write(relative: str, text: str) -> None:
    path = ROOT / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    say(f"wrote {relative} ({len(text.splitlines())} lines)", 0.2)


def need(relative: str) -> str:
    """The text of a file an earlier task made; exit 1 with a reason if it is missing."""
    path = ROOT / relative
    if not path.exists():
        print(f"error: {relative} is missing (did the task before this one run?)", flush=True)
        sys.exit(1)
    return path.read_text(encoding="utf-8")


def sources() -> list[Path]:
    return sorted((ROOT / "src").rglob("*.py"))
