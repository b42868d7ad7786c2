"""The quick parser reads its command lines exactly as argparse does, and leaves the rest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from treelane.cli import app, quick

QUICK = [
    ["status"],
    ["status", "r1a2b3c"],
    ["status", "--json"],
    ["status", "r1a2b3c", "--json"],
    ["status", "--json", "r1a2b3c"],
    ["-C", "some/dir", "status"],
    ["status", "-C", "other"],
    ["-C", "some/dir", "status", "-C", "other", "r1a2b3c"],
    ["worktrees"],
    ["worktrees", "--json", "-C", "x"],
]

LEFT = [
    [],
    ["status", "-h"],
    ["status", "--help"],
    ["status", "a", "b"],  # too many: argparse explains
    ["status", "--json=1"],
    ["status", "--"],
    ["status", "-C"],
    ["status", "-C", "--json"],
    ["status", "--jso"],  # argparse takes abbreviations: it reads those
    ["worktrees", "main"],
    ["-C"],
    ["--version"],
    ["run", "w"],
    ["status", ""],
]


@pytest.mark.parametrize("argv", QUICK, ids=" ".join)
def test_same_namespace_as_argparse(argv: list[str]) -> None:
    got = quick.parse(argv)
    assert got is not None
    expected = app.build_parser().parse_args(argv)
    assert vars(got) == vars(expected)


@pytest.mark.parametrize("argv", LEFT, ids=repr)
def test_anything_else_goes_to_argparse(argv: list[str]) -> None:
    assert quick.parse(argv) is None


def test_status_without_argparse(tmp_path: Path) -> None:
    """A whole ``treelane status`` process imports neither argparse nor subprocess."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    code = (
        "import sys; from treelane.main import main; rc = main(['status']); "
        "print(sorted(m for m in ('argparse', 'subprocess', 'tomllib') if m in sys.modules)); "
        "sys.exit(rc)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
    assert "no runs" in proc.stdout or "pool:" in proc.stdout
