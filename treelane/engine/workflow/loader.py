"""Entry points: parse, check and load workflow files and inline workflows."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from treelane.engine.workflow.model import (
    _NOWHERE,
    CONFIG_FILE,
    Config,
    ConfigError,
    Problem,
    Workflow,
)
from treelane.engine.workflow.positions import _Lines, _Locator
from treelane.engine.workflow.validate import _Checker, _parse_document, _parse_workflow

# --------------------------------------------------------------------------- public functions


def parse_config(text: str) -> Config:
    """Parse a ``treelane.toml`` document; raise :class:`ConfigError` with every error."""
    return _parse_config(text, CONFIG_FILE)


def check_config(text: str) -> list[Problem]:
    """Every problem of a document (errors and warnings), sorted by position; never raises."""
    return _analyze(text)[1]


def analyze_config(text: str) -> tuple[Config | None, list[Problem]]:
    """What could be parsed (None for a TOML syntax error) and every problem; never raises."""
    return _analyze(text)


def load_config(path: Path) -> Config:
    """Parse the workflow file at ``path`` (or ``path / treelane.toml`` for a directory).

    A missing file yields the default configuration with no workflows.
    """
    if path.is_dir():
        path = path / CONFIG_FILE
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return Config()
    except UnicodeDecodeError as err:
        problem = Problem(f"file is not valid UTF-8: {err.reason}", _NOWHERE)
        raise ConfigError([problem], source=str(path)) from err
    return _parse_config(text, str(path))


def parse_workflow_dict(name: str, data: object, limits: Mapping[str, int]) -> Workflow:
    """Validate one inline workflow (same schema as a ``[workflows.X]`` table), e.g. from JSON.

    Messages name the field path (``tasks.build.needs: ...``); ranges are meaningless.
    """
    checker = _Checker(lambda _path: _NOWHERE)
    workflow = _parse_workflow(checker, (), name, data, frozenset(limits))
    errors = [problem for problem in checker.problems if problem.severity == "error"]
    if errors:
        raise ConfigError(errors, source=None)
    return workflow


# --------------------------------------------------------------------------- driver


def _parse_config(text: str, source: str) -> Config:
    config, problems = _analyze(text)
    errors = [problem for problem in problems if problem.severity == "error"]
    if config is None or errors:
        raise ConfigError(errors, source=source)
    return config


# The last document analysed and its outcome: a run's start reads the same file several
# times (the engine, the reload before the run, the server's diagnostics); everything in
# the outcome is immutable, so a big file is parsed once.
_last: tuple[str, Config | None, tuple[Problem, ...]] | None = None


def _analyze(text: str) -> tuple[Config | None, list[Problem]]:
    global _last
    last = _last
    if last is not None and last[0] == text:
        return last[1], list(last[2])
    config, problems = _analyze_text(text)
    _last = (text, config, tuple(problems))
    return config, problems


def _analyze_text(text: str) -> tuple[Config | None, list[Problem]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        return None, [_syntax_problem(_Lines(text), str(err))]
    except RecursionError:  # tomllib recurses once per nesting level of arrays/tables
        return None, [Problem("TOML syntax error: values are nested too deeply", _NOWHERE)]
    checker = _Checker(_Locator(text).range)
    config = _parse_document(checker, data)
    problems = sorted(checker.problems, key=lambda p: (p.range.start_line, p.range.start_col))
    warnings = tuple(problem for problem in problems if problem.severity == "warning")
    return replace(config, problems=warnings), problems


_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_AT_END = re.compile(r"\s*\(at end of document\)$")


def _syntax_problem(lines: _Lines, message: str) -> Problem:
    """tomllib reports "... (at line L, column C)" (1-based) or "(at end of document)"."""
    line, col = 0, 0
    if match := _POSITION.search(message):
        line, col = int(match[1]) - 1, int(match[2]) - 1
    elif match := _AT_END.search(message):
        line, col = lines.position(len(lines.text))
    if match:
        message = message[: match.start()]
    return Problem(f"TOML syntax error: {message}", lines.rest_of_line(line, col), code="syntax")
