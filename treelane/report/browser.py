"""Headless Chromium helpers for the report: screenshots and DOM dumps of local pages.

Uses Debian's ``chromium`` package (``apt-get install -y chromium``); no
driver and no network.  Every run gets a fresh, throw-away profile and the
flags that keep Chromium from phoning home.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "INSTALL_HINT",
    "BrowserRun",
    "ChromiumNotFoundError",
    "console_messages",
    "dump_dom",
    "find_chromium",
    "require_chromium",
    "screenshot",
]

INSTALL_HINT = (
    "Chromium not found: install Debian's chromium (as root: "
    "`apt-get update && apt-get install -y chromium`), or point TREELANE_CHROMIUM at the binary."
)

TIMEOUT_S = 60.0

_BASE_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--enable-logging=stderr",
    "--v=0",
)


class ChromiumNotFoundError(RuntimeError):
    """No Chromium binary on this machine."""


@dataclass(frozen=True)
class BrowserRun:
    """What one headless Chromium run produced."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


def find_chromium() -> str | None:
    """Path of a Chromium binary: $TREELANE_CHROMIUM, then `chromium`, then `chromium-browser`."""
    env = os.environ.get("TREELANE_CHROMIUM")
    if env and (found := shutil.which(env)):
        return found
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    return None


def require_chromium() -> str:
    """Like find_chromium(), but raise ChromiumNotFoundError with the install hint."""
    found = find_chromium()
    if found is None:
        raise ChromiumNotFoundError(INSTALL_HINT)
    return found


def _run(extra: list[str], target: Path, timeout: float) -> BrowserRun:
    binary = require_chromium()
    with tempfile.TemporaryDirectory(prefix="treelane-chromium-") as profile:
        argv = [
            binary,
            *_BASE_FLAGS,
            f"--user-data-dir={profile}",
            *extra,
            target.resolve().as_uri(),
        ]
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    return BrowserRun(argv, proc.returncode, proc.stdout, proc.stderr)


def screenshot(
    html_path: str | os.PathLike[str],
    png_path: str | os.PathLike[str],
    size: tuple[int, int] = (1280, 900),
    *,
    dark: bool = False,
    timeout: float = TIMEOUT_S,
) -> BrowserRun:
    """Screenshot a local HTML file to png_path at size (width, height) in CSS pixels.

    dark=True makes the page see `prefers-color-scheme: dark`.

    Raises RuntimeError when Chromium fails or writes no PNG.
    """
    png = Path(png_path).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    if png.exists():
        png.unlink()
    width, height = size
    run = _run(
        [
            f"--screenshot={png}",
            f"--window-size={width},{height}",
            *(["--force-dark-mode", "--blink-settings=preferredColorScheme=0"] if dark else []),
        ],
        Path(html_path),
        timeout,
    )
    if run.returncode != 0 or not png.exists():
        raise RuntimeError(
            f"chromium screenshot failed (exit {run.returncode}): {run.stderr[-2000:]}"
        )
    return run


def dump_dom(
    html_path: str | os.PathLike[str],
    *,
    size: tuple[int, int] = (1280, 900),
    timeout: float = TIMEOUT_S,
) -> BrowserRun:
    """Load a local HTML file, run its scripts, and return the serialized DOM as stdout."""
    width, height = size
    run = _run(["--dump-dom", f"--window-size={width},{height}"], Path(html_path), timeout)
    if run.returncode != 0:
        raise RuntimeError(
            f"chromium --dump-dom failed (exit {run.returncode}): {run.stderr[-2000:]}"
        )
    return run


# Chromium logs page console output (every level, uncaught errors and CSP refusals
# included) as e.g. `[...:INFO:CONSOLE:12] "Uncaught SyntaxError: ...", source: file:///...`;
# older builds wrote `CONSOLE(12)`.
_CONSOLE = re.compile(r"(?::|\b)CONSOLE(?::\d+\]|\(\d+\))")


def console_messages(stderr: str) -> list[str]:
    """The page's console messages from Chromium's `--enable-logging=stderr` log."""
    return [line for line in stderr.splitlines() if _CONSOLE.search(line)]
