"""The real server over stdio and treelane.toml: treelane.workflows, quick fixes for its
diagnostics, task failures that follow their table as the file is edited, changes on disk,
and the empty-array argument Neovim sends for ``{}``."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lsp_helpers import WORKFLOWS, execute
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from treelane.engine.workflow import check_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

INVALID_PARAMS = -32602

BROKEN_TOML = """\
[settings]
max_paralel = 2

[workflows.ship]
description = "Build, then test"

[workflows.ship.tasks.build]
run = "echo built > out.txt"
colour = "blue"

[workflows.ship.tasks.test]
run = "cat out.txt"
needs = ["biuld", "lint"]
"""


def notes(client: LanguageClient) -> Any:
    return client.notes  # type: ignore[attr-defined]


async def wait_for(predicate: Any, what: str, timeout: float = 20) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def open_doc(client: LanguageClient, uri: str, text: str) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="toml", version=1, text=text)
        )
    )


def change_doc(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def apply_edits(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP text edits the way an editor does (all against the original text)."""
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)

    def offset(p: types.Position) -> int:
        return len(text) if p.line >= len(starts) else starts[p.line] + p.character

    for e in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(e.range.start)] + e.new_text + text[offset(e.range.end) :]
    return text


# --- treelane.workflows ------------------------------------------------------------------


async def test_workflows_lists_names_descriptions_tasks_and_problems(
    client: LanguageClient, workspace: Path
) -> None:
    result = await execute(client, "treelane.workflows", {})
    names = [w["name"] for w in result["workflows"]]
    assert names == ["diamond", "slow", "conflict", "broken"]
    diamond = result["workflows"][0]
    assert diamond == {
        "name": "diamond",
        "description": "",
        "tasks": ["a", "b", "c", "d"],
        "problems": [],
    }
    assert result["problems"] == []

    (workspace / "treelane.toml").write_text(BROKEN_TOML)  # read from disk on every call
    result = await execute(client, "treelane.workflows", {})
    (ship,) = result["workflows"]
    assert ship["description"] == "Build, then test"
    assert ship["tasks"] == ["build", "test"]
    got = {(p["code"], p["line"], p["column"]) for p in ship["problems"]}
    assert got == {("unknown-key", 9, 1), ("unknown-need", 13, 10), ("unknown-need", 13, 19)}
    assert all(p["severity"] == "error" and p["message"] for p in ship["problems"])
    (top,) = result["problems"]
    assert top["code"] == "unknown-key" and "did you mean 'max_parallel'?" in top["message"]
    assert top["range"] == {
        "start": {"line": 1, "character": 0},
        "end": {"line": 1, "character": 11},
    }

    (workspace / "treelane.toml").write_text("[workflows.x\n")
    result = await execute(client, "treelane.workflows", {})
    assert result["workflows"] == []
    (syntax,) = result["problems"]
    assert syntax["code"] == "syntax" and syntax["line"] == 1

    with pytest.raises(JsonRpcException) as err:
        await execute(client, "treelane.workflows", {"workflow": "x"})
    assert err.value.code == INVALID_PARAMS and "unknown field 'workflow'" in err.value.message


# --- quick fixes ----------------------------------------------------------------------------


async def test_diagnostics_come_with_quick_fixes_that_make_the_file_valid(
    client: LanguageClient, workspace: Path
) -> None:
    caps = client.init_result.capabilities  # type: ignore[attr-defined]
    assert caps.code_action_provider is not None
    uri = (workspace / "treelane.toml").as_uri()
    text, version = BROKEN_TOML, 1
    open_doc(client, uri, text)
    await wait_for(lambda: len(client.diagnostics.get(uri, [])) == 4, "4 diagnostics")

    async def actions_for(d: types.Diagnostic) -> list[types.CodeAction]:
        found = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=d.range,
                context=types.CodeActionContext(diagnostics=[d]),
            )
        )
        return [a for a in found or [] if isinstance(a, types.CodeAction)]

    by_code = {}
    for d in client.diagnostics[uri]:
        actions = await actions_for(d)
        assert actions, f"no quick fix for {d.message}"
        assert all(a.kind == types.CodeActionKind.QuickFix for a in actions)
        assert all(a.diagnostics and a.diagnostics[0].message == d.message for a in actions)
        by_code.setdefault(d.code, []).append((d, [a.title for a in actions]))
    titles = [t for _, ts in by_code["unknown-key"] for t in ts]
    assert "Did you mean 'max_parallel'?" in titles
    assert "Remove unknown key 'max_paralel'" in titles
    assert "Remove unknown key 'colour'" in titles
    need_titles = [t for _, ts in by_code["unknown-need"] for t in ts]
    assert "Did you mean 'build'?" in need_titles
    assert "Add missing task 'lint' to workflow 'ship'" in need_titles

    # Apply one fix at a time as a user would, re-asking after each edit.
    wanted = [
        "Did you mean 'max_parallel'?",
        "Remove unknown key 'colour'",
        "Did you mean 'build'?",
        "Add missing task 'lint' to workflow 'ship'",
    ]
    for title in wanted:
        diags = list(client.diagnostics[uri])
        chosen = None
        for d in diags:
            for a in await actions_for(d):
                if a.title == title:
                    chosen = a
        assert chosen is not None and chosen.edit and chosen.edit.changes, title
        before = len(check_config(text))
        text = apply_edits(text, list(chosen.edit.changes[uri]))
        version += 1
        change_doc(client, uri, version, text)
        assert len(check_config(text)) == before - 1, (title, text)
        await wait_for(lambda n=before: len(client.diagnostics.get(uri, [])) == n - 1, title)

    assert check_config(text) == []
    data = tomllib.loads(text)
    assert data["settings"] == {"max_parallel": 2}
    assert data["workflows"]["ship"]["tasks"]["test"]["needs"] == ["build", "lint"]
    assert "colour" not in data["workflows"]["ship"]["tasks"]["build"]
    # The file is valid for the engine too: the workflow runs, and the placeholder task
    # added by the fix fails with its reminder.
    (workspace / "treelane.toml").write_text(text)
    subprocess.run(["git", "commit", "-qam", "fixed"], cwd=workspace, check=True)
    started = await execute(client, "treelane.start", {"workflow": "ship"})
    assert started["tasks"] == ["build", "test", "lint"]  # file order
    finished = await notes(client).finished(started["run"])
    assert finished["counts"] == {"succeeded": 1, "failed": 1, "skipped": 1}
    out = await execute(client, "treelane.output", {"run": started["run"], "task": "lint"})
    assert any("task lint is not written yet" in line for line in out["lines"])


# --- task failures follow their table ------------------------------------------------------


async def test_task_failure_diagnostic_moves_with_edits(
    client: LanguageClient, workspace: Path
) -> None:
    uri = (workspace / "treelane.toml").as_uri()
    open_doc(client, uri, WORKFLOWS)
    run = (await execute(client, "treelane.start", {"workflow": "broken"}))["run"]
    await notes(client).finished(run)

    def failed() -> list[types.Diagnostic]:
        return [d for d in client.diagnostics.get(uri, []) if d.code == "task-failed"]

    header = WORKFLOWS.splitlines().index("[workflows.broken.tasks.fails]")
    (d,) = await wait_for(failed, "the task-failed diagnostic")
    assert d.range.start.line == header

    edited = "# three new lines\n# on top\n\n" + WORKFLOWS
    change_doc(client, uri, 2, edited)
    await wait_for(lambda: failed() and failed()[0].range.start.line == header + 3, "moved down")
    (d,) = failed()
    assert d.range.end.character == len("[workflows.broken.tasks.fails]")
    assert "exit code 3" in d.message

    # Move the table to the top of the file: the diagnostic goes with it.
    lines = WORKFLOWS.splitlines()
    table = lines[header : header + 3]
    moved = "\n".join([*table, "", *lines[:header], *lines[header + 3 :]]) + "\n"
    change_doc(client, uri, 3, moved)
    await wait_for(lambda: failed() and failed()[0].range.start.line == 0, "moved to the top")
    # The file diagnostic of the task's output is untouched.
    app = client.diagnostics[(workspace / "src" / "app.py").as_uri()]
    assert app[0].range.start.line == 2


# --- empty array as empty object -----------------------------------------------------------


async def test_an_empty_array_argument_counts_as_an_empty_object(client: LanguageClient) -> None:
    result = await execute(client, "treelane.status", [])  # arguments: [[]]
    assert result["runs"] == [] and result["pool"]["busy"] == 0
    workflows = await execute(client, "treelane.workflows", [])
    assert workflows["workflows"][0]["name"] == "diamond"
    with pytest.raises(JsonRpcException) as err:
        await execute(client, "treelane.status", ["r1"])
    assert err.value.code == INVALID_PARAMS
    assert "expected one JSON object as the argument, got an array" in err.value.message


# --- treelane.toml changed on disk ------------------------------------------------------------


def _frame(msg: dict[str, Any]) -> bytes:
    body = json.dumps(msg).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _read(stream: Any) -> dict[str, Any]:
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    if not length:
        raise AssertionError("the server closed its output")
    message: dict[str, Any] = json.loads(stream.read(length))
    return message


def test_watched_file_changes_reload_diagnostics_without_warnings(
    workspace: Path, tmp_path: Path
) -> None:
    stderr = (tmp_path / "stderr.txt").open("w+b")
    proc = subprocess.Popen(
        [sys.executable, "-m", "treelane", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )
    assert proc.stdin is not None and proc.stdout is not None
    uri = (workspace / "treelane.toml").as_uri()

    def send(msg: dict[str, Any]) -> None:
        assert proc.stdin is not None
        proc.stdin.write(_frame({"jsonrpc": "2.0", **msg}))
        proc.stdin.flush()

    def diagnostics() -> list[dict[str, Any]]:
        while True:
            msg = _read(proc.stdout)
            params = msg.get("params") or {}
            if msg.get("method") == "textDocument/publishDiagnostics" and params["uri"] == uri:
                return list(params["diagnostics"])

    def changed(kind: int) -> None:
        send(
            {
                "method": "workspace/didChangeWatchedFiles",
                "params": {"changes": [{"uri": uri, "type": kind}]},
            }
        )

    try:
        init = {"processId": None, "rootUri": workspace.as_uri(), "capabilities": {}}
        send({"id": 1, "method": "initialize", "params": init})
        assert "result" in _read(proc.stdout)
        send({"method": "initialized", "params": {}})
        (workspace / "treelane.toml").write_text(BROKEN_TOML)
        changed(2)  # Changed
        found = diagnostics()
        assert len(found) == 4
        assert any("max_paralel" in d["message"] for d in found)
        (workspace / "treelane.toml").write_text(WORKFLOWS)
        changed(2)
        assert diagnostics() == []
        (workspace / "treelane.toml").write_text(BROKEN_TOML)
        changed(1)  # Created
        assert len(diagnostics()) == 4
        (workspace / "treelane.toml").unlink()
        changed(3)  # Deleted
        assert diagnostics() == []
        send({"id": 2, "method": "shutdown", "params": None})
        while _read(proc.stdout).get("id") != 2:
            pass
        send({"method": "exit", "params": None})
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    stderr.seek(0)
    log = stderr.read().decode()
    assert "Ignoring notification" not in log, log
    assert "didChangeWatchedFiles" not in log, log
