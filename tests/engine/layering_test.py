"""The engine's dependencies flow one way: core imports the task bodies, none imports core."""

from __future__ import annotations

import ast
from pathlib import Path

import treelane.engine

ENGINE = Path(treelane.engine.__file__).parent


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_no_engine_module_imports_core() -> None:
    offenders = [
        str(p.relative_to(ENGINE))
        for p in ENGINE.rglob("*.py")
        if p.name != "core.py" and "treelane.engine.core" in _imports(p)
    ]
    assert offenders == []


def test_the_attempt_runner_knows_nothing_of_the_engine() -> None:
    for name in ("attempt.py", "cluster/worker.py", "cluster/bundles.py"):
        mods = _imports(ENGINE / name)
        assert not any(
            m.startswith(("treelane.engine.core", "treelane.storage", "treelane.engine.events"))
            or m in ("treelane.engine.host", "treelane.engine.taskrun")
            for m in mods
        ), name
