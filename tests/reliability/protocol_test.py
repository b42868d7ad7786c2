"""Exactly one answer per request, with the right code, from the real server over stdio."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from repokit import make_repo
from rpc import Rpc, count

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from clikit import treelane

EXEC = "workspace/executeCommand"
DOCUMENTED = {-32600, -32602, -32803}  # and results; never -32603 (internal error)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


@pytest.fixture
def server(repo: Path) -> Iterator[Rpc]:
    rpc = Rpc(repo)
    try:
        yield rpc
    finally:
        rpc.close()


def code(answer: dict[str, Any]) -> int | None:
    return answer["error"]["code"] if "error" in answer else None


def one_answer_each(rpc: Rpc, ids: list[Any]) -> None:
    """Every id answered exactly once (a final round trip flushes stray duplicates)."""
    for i in ids:
        rpc.answer(i)
    rpc.answer(rpc.request_async("treelane/nothing"))
    for i in ids:
        assert len(rpc.answers(i)) == 1, rpc.answers(i)


def test_before_initialize_requests_get_server_not_initialized(server: Rpc) -> None:
    a = server.command("treelane.status", {})
    assert code(a) == -32002, a
    assert "initialize" in a["error"]["message"]
    server.initialize()
    assert "result" in server.command("treelane.status", {})


def test_malformed_envelopes_get_invalid_request(server: Rpc) -> None:
    server.initialize()
    cases: dict[int, dict[str, Any]] = {
        1: {"jsonrpc": "2.0", "id": 1},
        2: {"jsonrpc": "1.0", "id": 2, "method": EXEC, "params": {"command": "treelane.status"}},
        3: {"id": 3, "method": EXEC, "params": {"command": "treelane.status"}},
        4: {"jsonrpc": "2.0", "id": 4, "method": 17},
        5: {"jsonrpc": "2.0", "id": 5, "method": EXEC, "params": 3},
    }
    for msg in cases.values():
        server.send(msg)
    # A command string with invalid UTF-8 in it.
    server.send_bytes(
        b'{"jsonrpc": "2.0", "id": 6, "method": "workspace/executeCommand", '
        b'"params": {"command": "treelane.st\xffatus", "arguments": []}}'
    )
    ids = [*cases, 6]
    one_answer_each(server, ids)
    for i in ids:
        a = server.answers(i)[0]
        assert code(a) == -32600, a
    assert "UTF-8" in server.answers(6)[0]["error"]["message"]
    assert "result" in server.command("treelane.status", {})


def test_requests_after_shutdown_get_invalid_request(server: Rpc) -> None:
    server.initialize()
    assert "result" in server.request("shutdown")
    after = server.command("treelane.status", {})
    assert code(after) == -32600 and "shutdown" in after["error"]["message"]
    server.send({"jsonrpc": "2.0", "method": "exit"})
    assert server.proc.wait(60) == 0


BAD_ARGUMENTS: list[tuple[str, Any]] = [
    ("treelane.start", {"workflow": "diamond", "base": "x" * 1_000_000}),
    ("treelane.merge", {"run": "r000000", "into": "y" * 1_000_000}),
    ("treelane.start", {"workflow": {"tasks": {"a": {"run": "true"}}}, "name": 3}),
    ("treelane.start", {"workflow": {"tasks": {"a": {"run": "true"}}}, "name": None}),
    ("treelane.start", {"workflow": {"tasks": {"a": {"run": "true"}}}, "name": ["n"]}),
    ("treelane.start", {"workflow": {"tasks": {"a": {"run": "true"}}}, "name": {"n": 1}}),
    ("treelane.start", {"workflow": "diamond", "name": "n"}),
    ("treelane.start", {"workflow": "diamond", "base": None}),
    ("treelane.merge", {"run": "r000000", "into": None}),
    ("treelane.status", {"run": None}),
    ("treelane.cancel", {"run": "r000000", "task": None}),
    ("treelane.output", {"run": None, "task": "a"}),
    ("treelane.cleanup", None),
    ("treelane.status", {"z" * 100_000: 1}),
]


def test_bad_arguments_get_invalid_params(server: Rpc) -> None:
    server.initialize()
    ids = [
        server.request_async(EXEC, {"command": name, "arguments": [arg]})
        for name, arg in BAD_ARGUMENTS
    ]
    one_answer_each(server, ids)
    for (name, arg), i in zip(BAD_ARGUMENTS, ids, strict=True):
        a = server.answers(i)[0]
        assert code(a) == -32602, (name, str(arg)[:100], a)
        assert len(a["error"]["message"]) < 500
    # Nothing ran: the cleanup with [null] did not clean, no run started.
    status = server.command("treelane.status", {})["result"]
    assert status["runs"] == []
    stderr = server.stderr_text(1000)
    assert len(stderr) < 50_000, "logged values are cut"


def test_output_of_an_unknown_run_or_task_is_refused(server: Rpc, repo: Path) -> None:
    server.initialize()
    unknown = server.command("treelane.output", {"run": "r000000", "task": "a"})
    assert code(unknown) == -32803 and "r000000" in unknown["error"]["message"]
    run = server.command("treelane.start", {"workflow": "diamond"})["result"]["run"]
    server.wait_for(lambda: any(n["run"] == run for n in server.notes("treelane/runFinished")))
    task = server.command("treelane.output", {"run": run, "task": "nope"})
    assert code(task) == -32803 and "'nope'" in task["error"]["message"]
    good = server.command("treelane.output", {"run": run, "task": "a"})
    assert good["result"]["lines"] == ["made a"]
    server.close()
    cli = treelane("log", run, "nope", cwd=repo)
    assert cli.returncode == 1
    assert "nope" in cli.stderr and cli.stdout == ""


def test_a_framing_error_is_logged_and_the_server_exits_non_zero(server: Rpc) -> None:
    server.initialize()
    server.send_bytes(b"{}", header=b"Content-Length: lots\r\n\r\n")
    assert server.proc.wait(60) != 0
    server.wait_for(lambda: server.closed)
    assert "framing error" in server.stderr_text()


# --- fuzz -----------------------------------------------------------------------

COMMANDS = [
    "treelane.start", "treelane.status", "treelane.cancel", "treelane.resume",
    "treelane.checkpoint", "treelane.undo", "treelane.redo", "treelane.merge",
    "treelane.worktrees", "treelane.cleanup", "treelane.trace", "treelane.report",
    "treelane.output",
]  # fmt: skip
FIELDS = [
    "workflow", "base", "name", "run", "task", "into", "preview", "force", "worktree",
    "message", "offset", "limit", "reload",
]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(["main", "HEAD", "diamond", "a", "r000000", "wt-1", "../x", "-x", "."]),
)
values = st.recursive(
    scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=3), st.dictionaries(st.text(max_size=8), kids, max_size=3)
    ),
    max_leaves=6,
)
arguments = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), values, max_size=4),
    values,
)


def test_fuzz_every_command_gets_one_documented_answer(repo: Path) -> None:
    # The server's repository: a quick workflow only (a fuzzed start may run it).
    (repo / "treelane.toml").write_text('[workflows.diamond.tasks.a]\nrun = "true"\n')
    rpc = Rpc(repo)
    sent: list[tuple[int, str, Any]] = []
    try:
        rpc.initialize()

        @settings(
            max_examples=count(150, 3000),
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(st.sampled_from(COMMANDS), st.lists(arguments, max_size=2))
        def one(command: str, args: list[Any]) -> None:
            i = rpc.request_async(EXEC, {"command": command, "arguments": args})
            sent.append((i, command, args))
            answer = rpc.answer(i)
            if "error" in answer:
                assert answer["error"]["code"] in DOCUMENTED, (command, args, answer)

        one()
        one_answer_each(rpc, [i for i, _, _ in sent])
        assert "result" in rpc.command("treelane.status", {})
    finally:
        code_ = rpc.close()
    assert code_ == 0
    print(f"fuzz: {len(sent)} requests, each answered once")
    Path(repo.parent / "fuzz-count").write_text(json.dumps(len(sent)))


def test_cli_still_parses(repo: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "treelane", "resume", "--help"], capture_output=True, text=True
    )
    assert "--force" in proc.stdout
