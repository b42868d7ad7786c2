"""The JSON Schema the VS Code extension ships for treelane.toml matches the parser."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from treelane.engine import workflow
from treelane.engine.workflow import convert, validate

SCHEMA = Path(__file__).parents[2] / "vscode-client" / "schemas" / "treelane.schema.json"


def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return data


def test_schema_keys_are_the_parsers_keys() -> None:
    schema = _schema()
    defs = schema["definitions"]
    assert tuple(schema["properties"]) == validate._TOP_LEVEL_KEYS
    assert set(schema["properties"]["settings"]["properties"]) == set(validate._SETTINGS_KEYS)
    assert set(defs["workflow"]["properties"]) == set(validate._WORKFLOW_KEYS)
    assert set(defs["task"]["properties"]) == set(validate._TASK_KEYS)
    for table in (schema, schema["properties"]["settings"], defs["workflow"], defs["task"]):
        assert table["additionalProperties"] is False  # unknown keys are problems, as in the parser


def test_schema_defaults_and_choices_are_the_parsers() -> None:
    settings = _schema()["properties"]["settings"]["properties"]
    task = _schema()["definitions"]["task"]["properties"]
    defaults = workflow.Settings()
    for key, spec in settings.items():
        value = getattr(defaults, key)
        assert spec["default"] == (list(value) if isinstance(value, tuple) else value), key
    assert settings["reset"]["enum"] == ["keep-ignored", "pristine"]
    assert task["isolation"]["enum"] == ["worktree", "shared"]
    assert _schema()["definitions"]["task"]["required"] == ["run"]
    # the parser agrees: a value outside the enum is a problem, every enum value is not
    for value in settings["reset"]["enum"]:
        assert workflow.check_config(f'[settings]\nreset = "{value}"\n') == []
    assert workflow.check_config('[settings]\nreset = "other"\n') != []
    for value in task["isolation"]["enum"]:
        doc = f'[workflows.w.tasks.a]\nrun = "true"\nisolation = "{value}"\n'
        assert workflow.check_config(doc) == []


def test_schema_name_pattern_is_the_parsers() -> None:
    pattern = _schema()["properties"]["workflows"]["propertyNames"]["pattern"]
    assert pattern == f"^{convert._NAME.pattern}$"
