"""``treelane serve --tcp``: the same protocol over a socket, notifications included."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lsp_helpers import make_repo


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Conn:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def send(self, msg: dict[str, Any]) -> None:
        body = json.dumps(msg).encode()
        self.sock.sendall(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)

    def recv(self) -> dict[str, Any]:
        while b"\r\n\r\n" not in self.buf:
            self.buf += self._chunk()
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        length = int(head.split(b"Content-Length:")[1].split(b"\r\n")[0])
        while len(rest) < length:
            rest += self._chunk()
        self.buf = rest[length:]
        return dict(json.loads(rest[:length]))

    def _chunk(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise AssertionError("server closed the connection")
        return data


def test_run_over_tcp_streams_notifications(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "treelane", "serve", "--tcp", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                break
            except OSError:
                assert time.monotonic() < deadline, "server did not listen"
                time.sleep(0.1)
        conn = Conn(sock)
        conn.send(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"processId": None, "rootUri": repo.as_uri(), "capabilities": {}},
            }
        )
        assert "capabilities" in conn.recv()["result"]
        conn.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        conn.send(
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "workspace/executeCommand",
                "params": {"command": "treelane.start", "arguments": [{"workflow": "diamond"}]},
            }
        )
        seen: list[dict[str, Any]] = []
        run = None
        while True:
            msg = conn.recv()
            if msg.get("id") == 2:
                run = msg["result"]["run"]
            elif msg.get("method", "").startswith("treelane/"):
                seen.append(msg)
                if msg["method"] == "treelane/runFinished":
                    break
        assert run is not None
        finished = seen[-1]["params"]
        assert finished["run"] == run and finished["state"] == "succeeded"
        states = [m["params"]["state"] for m in seen if m["method"] == "treelane/taskState"]
        assert states.count("succeeded") == 4
        conn.send({"jsonrpc": "2.0", "id": 3, "method": "shutdown"})
        while conn.recv().get("id") != 3:
            pass
        conn.send({"jsonrpc": "2.0", "method": "exit"})
        sock.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
