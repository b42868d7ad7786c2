"""``treelane serve`` with the arguments LSP clients pass: --stdio, --clientProcessId."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import pytest
from repokit import make_repo

SERVE = [sys.executable, "-m", "treelane", "serve"]


def _send(stdin: IO[bytes], message: dict[str, Any]) -> None:
    body = json.dumps(message).encode()
    stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    stdin.flush()


def _receive(stdout: IO[bytes]) -> dict[str, Any]:
    length = 0
    while (line := stdout.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    assert length, "the server closed stdout"
    result: dict[str, Any] = json.loads(stdout.read(length))
    return result


def _initialize(
    proc: subprocess.Popen[bytes], root: Path, pid: int | None = None
) -> dict[str, Any]:
    assert proc.stdin and proc.stdout
    params = {"processId": pid, "rootUri": root.as_uri(), "capabilities": {}}
    _send(proc.stdin, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params})
    while "id" not in (reply := _receive(proc.stdout)):
        pass  # notifications (window/logMessage) before the answer
    return reply


def _serve(args: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        SERVE + args,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_serve_stdio_initializes_over_stdio(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    proc = _serve(["--stdio"], repo)
    try:
        reply = _initialize(proc, repo)
        assert reply["id"] == 1
        assert "executeCommandProvider" in reply["result"]["capabilities"]
        assert proc.stdin
        _send(proc.stdin, {"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
        _send(proc.stdin, {"jsonrpc": "2.0", "method": "exit"})
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("form", ["equals", "separate"])
def test_serve_exits_when_the_client_process_dies(tmp_path: Path, form: str) -> None:
    repo = make_repo(tmp_path / "repo")
    editor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    pid_args = (
        [f"--clientProcessId={editor.pid}"]
        if form == "equals"
        else ["--clientProcessId", str(editor.pid)]
    )
    proc = _serve(["--stdio", *pid_args], repo)
    try:
        assert _initialize(proc, repo, editor.pid)["id"] == 1
        assert proc.poll() is None  # alive while the editor is
        editor.kill()
        editor.wait()
        # stdin stays open: only the watcher can end the server
        assert proc.wait(timeout=60) == 0
        assert proc.stderr
        assert f"client process {editor.pid} exited" in proc.stderr.read().decode()
    finally:
        editor.kill()
        proc.kill()
        proc.wait()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--clientProcessId=abc"], "--clientProcessId: invalid int value"),
        (["--stdio", "--tcp", "127.0.0.1:1"], "not allowed with argument"),
    ],
)
def test_serve_rejects_bad_arguments(tmp_path: Path, args: list[str], message: str) -> None:
    done = subprocess.run(SERVE + args, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stderr.count("\n") == 1
