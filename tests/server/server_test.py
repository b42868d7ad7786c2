"""The real server over stdio: commands, notifications, progress, errors, diagnostics."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from lsp_helpers import WORKFLOWS, execute
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from treelane.commands import COMMAND_NAMES

REQUEST_FAILED = -32803
INVALID_PARAMS = -32602


def notes(client: LanguageClient) -> Any:
    return client.notes  # type: ignore[attr-defined]


async def test_initialize_advertises_every_command(client: LanguageClient) -> None:
    caps = client.init_result.capabilities  # type: ignore[attr-defined]
    assert set(caps.execute_command_provider.commands) == set(COMMAND_NAMES)
    assert caps.text_document_sync is not None  # treelane.toml diagnostics as you type
    result = await execute(client, "treelane.status", {})
    assert result["runs"] == []
    assert result["pool"]["busy"] == 0
    assert result["concurrency"]["limit"] == 4


async def test_diamond_run_streams_state_progress_and_result(
    client: LanguageClient, workspace: Path
) -> None:
    started = await execute(client, "treelane.start", {"workflow": "diamond"})
    assert started["workflow"] == "diamond"
    assert started["tasks"] == ["a", "b", "c", "d"]
    run = started["run"]
    finished = await notes(client).finished(run)
    assert finished["state"] == "succeeded"
    assert finished["counts"] == {"succeeded": 4}
    assert set(finished) == {"run", "workflow", "state", "duration_ms", "counts"}

    states = notes(client).of("treelane/taskState", run)
    for task in ("a", "b", "c", "d"):
        seen = [s["state"] for s in states if s["task"] == task]
        assert seen[0] == "queued" and "running" in seen and seen[-1] == "succeeded", seen
    final = [s for s in states if s["state"] == "succeeded"]
    assert all(s["worktree"] and s["exit_code"] == 0 and s["duration_ms"] >= 0 for s in final)
    assert any(
        "made a" in line for o in notes(client).of("treelane/output", run) for line in o["lines"]
    )

    if client.capabilities.window and client.capabilities.window.work_done_progress:
        await asyncio.sleep(0.3)
        reports = [r for token_reports in client.progress_reports.values() for r in token_reports]
        kinds = [r.kind for r in reports]
        assert kinds[0] == "begin" and kinds[-1] == "end", kinds
        assert reports[0].title == "treelane: diamond"
        assert "succeeded" in reports[-1].message

    status = await execute(client, "treelane.status", {"run": run})
    (r,) = status["runs"]
    assert r["state"] == "succeeded" and r["finished"]
    assert [t["state"] for t in r["tasks"]] == ["succeeded"] * 4

    preview = await execute(client, "treelane.merge", {"run": run, "preview": True})
    assert {k: preview[k] for k in ("clean", "conflicts", "merged", "commit", "already")} == {
        "clean": True, "conflicts": [], "merged": False, "commit": None, "already": False
    }  # fmt: skip
    assert preview["summary"].startswith(f"{len(preview['files'])} files, +")
    merged = await execute(client, "treelane.merge", {"run": run})
    assert merged["merged"] is True
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=workspace, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert merged["commit"] == head
    assert (workspace / "d.txt").read_text() == "A\nB\nC\n"


async def test_checkpoint_undo_redo_round_trip(client: LanguageClient, workspace: Path) -> None:
    first = await execute(client, "treelane.checkpoint", {"worktree": "main", "message": "one"})
    assert first["worktree"] == "main" and len(first["commit"]) == 40
    (workspace / "README.md").write_text("changed\n")
    (workspace / "new file.txt").write_text("new\n")
    second = await execute(client, "treelane.checkpoint", {"worktree": str(workspace)})
    assert second["checkpoint"] != first["checkpoint"]

    undone = await execute(client, "treelane.undo", {"worktree": "main"})
    assert undone["checkpoint"] == first["checkpoint"]
    assert (workspace / "README.md").read_text() == "hello\n"
    assert not (workspace / "new file.txt").exists()

    redone = await execute(client, "treelane.redo", {"worktree": "main"})
    assert redone["checkpoint"] == second["checkpoint"]
    assert (workspace / "README.md").read_text() == "changed\n"
    assert (workspace / "new file.txt").read_text() == "new\n"

    with pytest.raises(JsonRpcException) as err:
        await execute(client, "treelane.redo", {"worktree": "main"})
    assert err.value.code == REQUEST_FAILED and "nothing to redo" in err.value.message


async def test_merge_preview_lists_conflicting_paths(
    client: LanguageClient, workspace: Path
) -> None:
    run = (await execute(client, "treelane.start", {"workflow": "conflict"}))["run"]
    assert (await notes(client).finished(run))["state"] == "succeeded"
    (workspace / "README.md").write_text("right\n")
    subprocess.run(["git", "commit", "-qam", "right"], cwd=workspace, check=True)

    preview = await execute(client, "treelane.merge", {"run": run, "preview": True})
    assert preview["clean"] is False and preview["merged"] is False
    assert preview["conflicts"] == [{"path": "README.md", "kind": "content"}]
    with pytest.raises(JsonRpcException) as err:
        await execute(client, "treelane.merge", {"run": run})
    assert err.value.code == REQUEST_FAILED and "README.md" in err.value.message
    assert (workspace / "README.md").read_text() == "right\n"


BAD_ARGUMENTS: list[tuple[str, Any]] = [
    ("treelane.start", {}),
    ("treelane.start", {"workflow": 3}),
    ("treelane.start", {"workflow": "diamond", "bsae": "HEAD"}),
    ("treelane.start", "diamond"),
    ("treelane.start", {"workflow": "diamond", "cache": "no"}),
    ("treelane.status", {"run": 7}),
    ("treelane.cancel", {}),
    ("treelane.cancel", {"run": "r1", "task": ["x"]}),
    ("treelane.resume", {}),
    ("treelane.resume", {"run": "../etc"}),
    ("treelane.checkpoint", {}),
    ("treelane.checkpoint", {"worktree": "main", "message": 5}),
    ("treelane.undo", {"worktree": None}),
    ("treelane.redo", {"worktree": 1}),
    ("treelane.merge", {}),
    ("treelane.merge", {"run": "r1", "preview": "yes"}),
    ("treelane.merge", {"run": "r1", "squash": 0}),
    ("treelane.diff", {"run": "r1", "against": "head"}),
    ("treelane.diff", {"task": "a"}),
    ("treelane.resolve", {"run": "r1", "task": 3}),
    ("treelane.branch", {"run": "r1"}),
    ("treelane.branch", {"run": "r1", "name": "bad..name"}),
    ("treelane.worktrees", {"x": 1}),
    ("treelane.cleanup", {"force": "true"}),
    ("treelane.gc", {"keep_runs": -1}),
    ("treelane.trace", {}),
    ("treelane.report", {"run": ""}),
    ("treelane.output", {"run": "r1"}),
    ("treelane.workflows", {"x": 1}),
    ("treelane.pick", {"run": "r1", "task": "impl"}),
    ("treelane.checkpoints", {}),
    ("treelane.checkpoints", {"worktree": 3}),
]


async def test_bad_arguments_get_invalid_params_and_server_stays_up(
    client: LanguageClient,
) -> None:
    covered = {name for name, _ in BAD_ARGUMENTS}
    assert covered == set(COMMAND_NAMES), set(COMMAND_NAMES) - covered
    for command, arg in BAD_ARGUMENTS:
        with pytest.raises(JsonRpcException) as err:
            await execute(client, command, arg)
        assert err.value.code == INVALID_PARAMS, (command, arg, err.value)
        assert err.value.message, command
    with pytest.raises(JsonRpcException) as err:
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="treelane.status", arguments=[{}, {}])
        )
    assert err.value.code == INVALID_PARAMS
    assert (await execute(client, "treelane.status", {}))["runs"] == []


async def test_requests_that_cannot_be_done_fail_with_request_failed(
    client: LanguageClient, tmp_path: Path
) -> None:
    cases: list[tuple[str, Any, str]] = [
        ("treelane.start", {"workflow": "nope"}, "no workflow 'nope'"),
        ("treelane.start", {"workflow": "diamond", "base": "no-such-branch"}, "unknown revision"),
        ("treelane.status", {"run": "rmissing"}, "unknown run"),
        ("treelane.cancel", {"run": "rmissing"}, "unknown run"),
        ("treelane.undo", {"worktree": "main"}, "nothing to undo"),
        ("treelane.checkpoint", {"worktree": str(tmp_path)}, "not inside the repository"),
        ("treelane.checkpoint", {"worktree": "wt-99"}, "unknown worktree"),
        ("treelane.checkpoints", {"worktree": "wt-99"}, "unknown worktree"),
        ("treelane.output", {"run": "rmissing", "task": "a"}, "unknown run"),
    ]
    for command, arg, text in cases:
        with pytest.raises(JsonRpcException) as err:
            await execute(client, command, arg)
        assert err.value.code == REQUEST_FAILED, (command, err.value)
        assert text in err.value.message, (command, err.value.message)


async def test_status_answers_while_a_long_task_runs(client: LanguageClient) -> None:
    run = (await execute(client, "treelane.start", {"workflow": "slow"}))["run"]
    for _ in range(600):  # up to 30 s for the task to start on a slow machine
        status = await execute(client, "treelane.status", {"run": run})
        if status["runs"][0]["tasks"][0]["state"] == "running":
            break
        await asyncio.sleep(0.05)
    # Answered while the task runs (how fast is measured in benchmarks/bench_server.py).
    status = await execute(client, "treelane.status", {})
    assert status["concurrency"]["running"] == 1
    assert status["runs"][-1]["tasks"][0]["state"] == "running"
    worktrees = (await execute(client, "treelane.worktrees", {}))["worktrees"]
    assert worktrees[0]["id"] == "main"
    assert any(w["state"] == "busy" and w["run"] == run for w in worktrees[1:])
    cancelled = await execute(client, "treelane.cancel", {"run": run})
    assert cancelled == {"cancelled": ["sleeper"]}
    done = await notes(client).finished(run, timeout=20)
    assert done["state"] == "cancelled"
    resumed = await execute(client, "treelane.resume", {"run": run})
    assert resumed == {
        "run": run,
        "requeued": ["sleeper"],
        "definition": "stored",
        "changed": [],
    }
    await execute(client, "treelane.cancel", {"run": run})


async def test_failed_task_diagnostics_and_warning(client: LanguageClient, workspace: Path) -> None:
    run = (await execute(client, "treelane.start", {"workflow": "broken"}))["run"]
    finished = await notes(client).finished(run)
    assert finished["state"] == "failed" and finished["counts"] == {"failed": 1}
    await asyncio.sleep(0.3)
    toml_uri = (workspace / "treelane.toml").as_uri()
    diags = client.diagnostics[toml_uri]
    (d,) = diags
    header = WORKFLOWS.splitlines().index("[workflows.broken.tasks.fails]")
    assert d.range.start.line == header
    assert "exit code 3" in d.message and d.source == "treelane"
    app = client.diagnostics[(workspace / "src" / "app.py").as_uri()]
    assert app[0].range.start.line == 2 and app[0].range.start.character == 4
    assert "E999" in app[0].message
    assert any("fails" in m.message for m in notes(client).messages)


async def test_workflow_file_diagnostics_have_ranges(
    client: LanguageClient, workspace: Path
) -> None:
    uri = (workspace / "treelane.toml").as_uri()
    text = '[workflows.w.tasks.a]\nrun = "true"\nneeds = ["missing"]\nretries = "x"\n'
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="toml", version=1, text=text)
        )
    )
    for _ in range(100):
        if client.diagnostics.get(uri):
            break
        await asyncio.sleep(0.05)
    diags = sorted(client.diagnostics[uri], key=lambda d: d.range.start.line)
    assert [d.range.start.line for d in diags] == [2, 3]
    assert "missing" in diags[0].message
    assert diags[0].severity == types.DiagnosticSeverity.Error
    assert all(d.source == "treelane" for d in diags)
    fixed = '[workflows.w.tasks.a]\nrun = "true"\n'
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)],
        )
    )
    for _ in range(100):
        if not client.diagnostics.get(uri):
            break
        await asyncio.sleep(0.05)
    assert list(client.diagnostics[uri]) == []


def _frame(body: bytes) -> bytes:
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def _read_message(stream: Any) -> dict[str, Any]:
    length = 0
    while True:
        line = stream.readline()
        if not line:
            raise AssertionError("server closed its output")
        if line.startswith(b"Content-Length:"):
            length = int(line.split(b":")[1])
        elif line in (b"\r\n", b"\n") and length:
            return dict(json.loads(stream.read(length)))


def test_every_request_gets_exactly_one_answer(workspace: Path) -> None:
    """Malformed bodies and params pygls cannot read still get their single answer;
    a request still running when shutdown arrives answers with its real result."""
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"processId": None, "rootUri": workspace.as_uri(), "capabilities": {}},
    }
    msgs: list[Any] = [
        init,
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        b"{this is not json",
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "workspace/executeCommand",
            "params": {"command": 17, "arguments": [{}]},
        },
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "workspace/executeCommand",
            "params": {"command": "treelane.status", "arguments": [{}]},
        },
        {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 3}},
        {"jsonrpc": "2.0", "id": 4, "method": "shutdown"},
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "treelane", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        for m in msgs:
            proc.stdin.write(_frame(m if isinstance(m, bytes) else json.dumps(m).encode()))
        proc.stdin.flush()
        by_id: dict[Any, list[dict[str, Any]]] = {}
        while 4 not in by_id:
            msg = _read_message(proc.stdout)
            if "method" not in msg:
                by_id.setdefault(msg["id"], []).append(msg)
        proc.stdin.write(_frame(json.dumps({"jsonrpc": "2.0", "method": "exit"}).encode()))
        proc.stdin.close()
        rest = proc.stdout.read()
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
    assert b'"id": 3' not in rest and b'"id": 2' not in rest
    assert sorted(by_id, key=str) == sorted([1, 2, 3, 4, None], key=str), by_id
    assert all(len(v) == 1 for v in by_id.values()), by_id
    assert by_id[None][0]["error"]["code"] == -32700
    assert by_id[2][0]["error"]["code"] == INVALID_PARAMS
    assert "runs" in by_id[3][0].get("result", {}), by_id[3]


def test_folder_outside_git_gets_clear_errors_and_server_stays_up(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-repo"
    folder.mkdir()
    with RawServer(cwd=folder) as server:
        init = {"processId": None, "rootUri": folder.as_uri(), "capabilities": {}}
        assert "result" in server.ask("initialize", init)
        for command in ("treelane.status", "treelane.worktrees"):
            answer = server.command(command, {})
            assert answer["error"]["code"] == REQUEST_FAILED
            assert "not inside a git repository" in answer["error"]["message"]
        assert "result" in server.ask("shutdown", None)


def test_untrusted_workspace_allows_only_read_only_commands(workspace: Path) -> None:
    with RawServer() as server:
        init = {
            "processId": None,
            "rootUri": workspace.as_uri(),
            "capabilities": {},
            "initializationOptions": {"trusted": False},
        }
        assert "result" in server.ask("initialize", init)
        refused = server.command("treelane.start", {"workflow": "diamond"})
        assert refused["error"]["code"] == REQUEST_FAILED
        assert "untrusted" in refused["error"]["message"]
        assert server.command("treelane.status", {})["result"]["runs"] == []
        pool = workspace / ".git" / "treelane" / "worktrees"
        assert not pool.exists() or not any(pool.iterdir())
        server.ask("shutdown", None)


def test_task_states_are_batched_when_the_client_asks(workspace: Path) -> None:
    with RawServer() as server:
        init = {
            "processId": None,
            "rootUri": workspace.as_uri(),
            "capabilities": {},
            "initializationOptions": {"batchTaskState": True},
        }
        assert "result" in server.ask("initialize", init)
        run = server.command("treelane.start", {"workflow": "diamond"})["result"]["run"]
        while not any(n["method"] == "treelane/runFinished" for n in server.seen):
            time.sleep(0.05)
            server.command("treelane.status", {"run": run})  # (reads what came meanwhile)
        server.ask("shutdown", None)
    methods = [n["method"] for n in server.seen]
    states = [n["params"] for n in server.seen if n["method"] == "treelane/taskState"]
    assert states and all(set(p) == {"changes"} for p in states), states
    changes = [c for p in states for c in p["changes"]]
    assert len(states) < len(changes), "several changes share a message"
    final = {c["task"]: c["state"] for c in changes}
    assert set(final.values()) == {"succeeded"} and len(final) == 4
    assert [c["state"] for c in changes if c["task"] == "a"][:2] == ["queued", "running"]
    last_state = max(i for i, m in enumerate(methods) if m == "treelane/taskState")
    assert methods.index("treelane/runFinished") > last_state


class RawServer:
    """``treelane serve`` on pipes, spoken to one framed message at a time."""

    def __init__(self, cwd: Path | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "treelane", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=cwd,
        )
        self.next_id = 0
        self.seen: list[dict[str, Any]] = []

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)

    def ask(self, method: str, params: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        self.proc.stdin.write(_frame(json.dumps(msg).encode()))
        self.proc.stdin.flush()
        while True:
            answer = _read_message(self.proc.stdout)
            if answer.get("id") == self.next_id and "method" not in answer:
                return answer
            if "method" in answer and "id" not in answer:
                self.seen.append(answer)  # notifications, in the order they came

    def command(self, name: str, arg: Any) -> dict[str, Any]:
        return self.ask("workspace/executeCommand", {"command": name, "arguments": [arg]})
