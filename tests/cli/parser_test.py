"""The command line is parsed with only the named subcommand's parser built; that parser
is the same as the whole one's, and anything else falls back to the whole parser."""

from __future__ import annotations

from pathlib import Path

import pytest
from clikit import treelane

from treelane.cli.app import _subcommand, build_parser

FULL = build_parser()


@pytest.mark.parametrize("name", sorted(FULL.subcommands))
def test_one_subcommands_parser_equals_the_whole_ones(name: str) -> None:
    one = build_parser(name)
    assert list(one.subcommands) == [name]
    assert one.subcommands[name].format_help() == FULL.subcommands[name].format_help()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["status"], "status"),
        (["-C", "some dir", "log", "r1", "a"], "log"),
        (["-Cdir", "worktrees"], "worktrees"),
        (["--help"], None),
        (["-h", "status"], None),
        (["--version"], None),
        ([], None),
        (["-C", "dir"], None),
    ],
)
def test_the_subcommand_is_found_on_the_command_line(argv: list[str], expected: str | None) -> None:
    assert _subcommand(argv) == expected


def test_an_unknown_subcommand_is_named_with_every_choice(tmp_path: Path) -> None:
    proc = treelane("stauts", cwd=tmp_path)
    assert proc.returncode == 2
    assert "invalid choice: 'stauts'" in proc.stderr
    for name in FULL.subcommands:
        assert repr(name) in proc.stderr


def test_the_whole_help_lists_every_subcommand(tmp_path: Path) -> None:
    proc = treelane("--help", cwd=tmp_path)
    assert proc.returncode == 0
    for name in FULL.subcommands:
        assert name in proc.stdout
