"""The plainest command lines of the read-only commands, parsed without argparse.

``treelane status``, ``treelane status RUN`` and ``treelane worktrees``, with ``--json``
and ``-C DIR``, are what an editor's status line or a shell prompt runs over and over.
Building argparse's parser is a tenth of such a command's time, so these few shapes
are read here into the very namespace argparse would make
(``tests/cli/quick_test.py`` compares the two); any other word (``-h``, an unknown
option, ``--json=x``, ``--``) goes to argparse, which explains it.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

# subcommand -> (handler, the positional arguments it takes, in order)
_QUICK: dict[str, tuple[str, tuple[str, ...]]] = {
    "status": ("treelane.cli.local:status", ("run",)),
    "worktrees": ("treelane.cli.local:worktrees", ()),
}


def parse(argv: list[str]) -> SimpleNamespace | None:
    """The namespace of ``argv``, or None when argparse must read it."""
    words = list(argv)
    ns: dict[str, Any] = {"directory": None}
    if words[:1] == ["-C"]:  # treelane -C DIR COMMAND ...
        if len(words) < 2 or words[1].startswith("-"):
            return None
        ns["directory"] = words[1]
        del words[:2]
    if not words or words[0] not in _QUICK:
        return None
    command, rest = words[0], words[1:]
    handler, positionals = _QUICK[command]
    ns.update(command=command, handler=handler, json=False)
    ns.update(dict.fromkeys(positionals))
    given: list[str] = []
    i = 0
    while i < len(rest):
        word = rest[i]
        if word == "--json":
            ns["json"] = True
        elif word == "-C" and i + 1 < len(rest) and not rest[i + 1].startswith("-"):
            ns["directory"] = rest[i + 1]  # the subcommand's -C wins, as in argparse
            i += 1
        elif word and not word.startswith("-"):
            given.append(word)
        else:
            return None
        i += 1
    if len(given) > len(positionals):
        return None
    ns.update(zip(positionals, given, strict=False))
    return SimpleNamespace(**ns)


def run(args: SimpleNamespace) -> int:
    import importlib

    from treelane.cli.runner import invoke

    module, _, name = args.handler.partition(":")
    return invoke(getattr(importlib.import_module(module), name), args)  # type: ignore[arg-type]
