"""The plain command lines of the read-only commands, parsed without argparse.

``treelane status``, ``worktrees``, ``log RUN TASK``, ``diff RUN``, ``report``, ``trace``
and ``checkpoints`` are what an editor's status line, a shell prompt or a script runs over
and over. Importing argparse and building its parser is a tenth of such a command's time,
so their usual spellings are read here into the very namespace argparse would make
(``tests/cli/quick_test.py`` compares the two, and checks that every option argparse knows
is known here). Anything else (``-h``, an abbreviation, ``--opt=value``, a missing or extra
argument, a value that is not one of the choices) goes to argparse, which explains it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType, SimpleNamespace
from typing import Any, NamedTuple

_LOCAL = "treelane.cli.local:"
_NONE: Mapping[str, Any] = MappingProxyType({})


class Spec(NamedTuple):
    handler: str
    required: tuple[str, ...] = ()  # positional arguments, in order
    optional: tuple[str, ...] = ()  # positional arguments after those (nargs="?")
    options: Mapping[str, str] = _NONE  # option -> dest, each taking one value
    consts: Mapping[str, tuple[str, str]] = _NONE  # flag -> (dest, value); one at most
    defaults: Mapping[str, Any] = _NONE
    choices: Mapping[str, tuple[str, ...]] = _NONE


_OUTPUT = {"-o": "output", "--output": "output"}
SPECS: dict[str, Spec] = {
    "status": Spec(_LOCAL + "status", optional=("run",)),
    "worktrees": Spec(_LOCAL + "worktrees"),
    "checkpoints": Spec(_LOCAL + "checkpoints", optional=("worktree",)),
    "log": Spec(_LOCAL + "log", required=("run", "task")),
    "report": Spec(_LOCAL + "report", ("run",), options=_OUTPUT, defaults={"output": "-"}),
    "trace": Spec(_LOCAL + "trace", ("run",), options=_OUTPUT, defaults={"output": "-"}),
    "diff": Spec(
        _LOCAL + "diff",
        ("run",),
        ("task",),
        options={"--against": "against", "--into": "into"},
        consts={
            "--stat": ("format", "stat"),
            "--name-status": ("format", "name-status"),
            "--patch": ("format", "patch"),
        },
        defaults={"format": "stat", "against": "base", "into": None},
        choices={"against": ("base", "input", "target")},
    ),
}


def parse(argv: list[str]) -> SimpleNamespace | None:
    """The namespace of ``argv``, or None when argparse must read it."""
    words = list(argv)
    ns: dict[str, Any] = {"directory": None}
    if words[:1] == ["-C"]:  # treelane -C DIR COMMAND ...
        if len(words) < 2 or not _value(words[1]):
            return None
        ns["directory"] = words[1]
        del words[:2]
    if not words or words[0] not in SPECS:
        return None
    command, rest = words[0], words[1:]
    spec = SPECS[command]
    positionals = spec.required + spec.optional
    ns.update(command=command, handler=spec.handler, json=False)
    ns.update(dict.fromkeys(positionals))
    ns.update(spec.defaults)
    given: list[str] = []
    const_given = False
    i = 0
    while i < len(rest):
        word = rest[i]
        if word == "--json":
            ns["json"] = True
        elif word in spec.consts and not const_given:
            dest, value = spec.consts[word]
            ns[dest] = value
            const_given = True  # they are mutually exclusive: two go to argparse
        elif word == "-C" or word in spec.options:
            if i + 1 >= len(rest) or not _value(rest[i + 1]):
                return None
            value = rest[i + 1]
            dest = "directory" if word == "-C" else spec.options[word]
            if value not in spec.choices.get(dest, (value,)):
                return None
            ns[dest] = value  # the subcommand's -C wins, as in argparse
            i += 1
        elif _value(word):
            given.append(word)
        else:
            return None
        i += 1
    if not len(spec.required) <= len(given) <= len(positionals):
        return None
    ns.update(zip(positionals, given, strict=False))
    return SimpleNamespace(**ns)


def _value(word: str) -> bool:
    """A word argparse takes as an argument, not as an option."""
    return bool(word) and not word.startswith("-")


def run(args: SimpleNamespace) -> int:
    import importlib

    from treelane.cli.runner import invoke

    module, _, name = args.handler.partition(":")
    return invoke(getattr(importlib.import_module(module), name), args)  # type: ignore[arg-type]
