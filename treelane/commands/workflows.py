"""treelane.workflows: the workflows of treelane.toml as the server's parser reads them.

Editors use it for their workflow pickers and completion instead of reading the TOML
themselves, so every front end sees the same names and the same problems.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context
from treelane.engine.workflow import CONFIG_FILE, Problem, analyze_config


def workflows(ctx: Context, raw: Any) -> dict[str, Any]:
    _args.obj(raw, ())
    return describe(ctx.engine().ws.root / CONFIG_FILE)


def describe(path: Path) -> dict[str, Any]:
    """Every workflow of the file at ``path`` with its problems (a missing file has none).

    Problems inside ``[workflows.NAME]`` belong to that workflow; the others (syntax
    errors, ``[settings]``, ``[limits]``) are listed at the top level.
    """
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return {"workflows": [], "problems": []}
    config, problems = analyze_config(text)
    found = config.workflows if config is not None else {}
    listed = []
    for name, wf in found.items():
        listed.append(
            {
                "name": name,
                "description": wf.description,
                "tasks": wf.names(),
                "problems": [to_dict(p) for p in problems if _in_workflow(p, name)],
            }
        )
    rest = [to_dict(p) for p in problems if not any(_in_workflow(p, n) for n in found)]
    return {"workflows": listed, "problems": rest}


def _in_workflow(problem: Problem, name: str) -> bool:
    return problem.path[:2] == ("workflows", name)


def to_dict(problem: Problem) -> dict[str, Any]:
    """A problem as JSON: 1-based ``line``/``column`` (as printed), plus an LSP ``range``."""
    r = problem.range
    return {
        "message": problem.message,
        "severity": problem.severity,
        "code": problem.code or None,
        "line": r.start_line + 1,
        "column": r.start_col + 1,
        "range": {
            "start": {"line": r.start_line, "character": r.start_col},
            "end": {"line": r.end_line, "character": r.end_col},
        },
    }
