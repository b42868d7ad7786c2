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
    ["checkpoints"],
    ["checkpoints", "w1", "--json"],
    ["log", "r1a2b3c", "a"],
    ["log", "--json", "r1a2b3c", "a[shard=1]"],
    ["report", "r1a2b3c"],
    ["report", "r1a2b3c", "-o", "out.html"],
    ["trace", "--output", "t.json", "r1a2b3c"],
    ["diff", "r1a2b3c"],
    ["diff", "r1a2b3c", "build", "--patch"],
    ["diff", "r1a2b3c", "--name-status", "--against", "input"],
    ["diff", "r1a2b3c", "--against", "target", "--into", "release/1.x", "--stat"],
    ["-C", "d", "diff", "--json", "r1a2b3c"],
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
    ["log", "r1a2b3c"],  # a missing argument
    ["report"],
    ["report", "r1a2b3c", "-o"],
    ["report", "r1a2b3c", "-o", "-"],  # argparse reads "-" as a value: it may
    ["report", "r1a2b3c", "-oout.html"],
    ["diff", "r1a2b3c", "--patch", "--stat"],  # mutually exclusive
    ["diff", "r1a2b3c", "--against", "nowhere"],  # not a choice
    ["diff", "r1a2b3c", "--against=input"],
    ["diff", "r1a2b3c", "a", "b"],
    ["checkpoints", "a", "b"],
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


@pytest.mark.parametrize("name", sorted(quick.SPECS))
def test_every_option_of_argparse_is_known(name: str) -> None:
    """An option added to the argparse parser and not here would be missing from the
    namespace of the plain command lines."""
    sub = app.build_parser(name).subcommands[name]
    spec = quick.SPECS[name]
    known = {"directory", "json", *spec.required, *spec.optional, *spec.options.values()}
    known |= {dest for dest, _ in spec.consts.values()}
    dests = {a.dest for a in sub._actions if a.dest != "help"}
    assert dests == known
    strings = {s for a in sub._actions for s in a.option_strings} - {"-h", "--help"}
    assert strings == {"-C", "--json", *spec.options, *spec.consts}


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
