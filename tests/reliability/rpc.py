"""A raw JSON-RPC client over a real ``treelane serve`` subprocess (stdio, threads).

Unlike pytest-lsp it sends any bytes we like (malformed messages for the fuzz tests) and
records every message the server writes, so a test can check that each request got
exactly one answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FULL = os.environ.get("TREELANE_FULL") == "1"


def count(default: int, full: int) -> int:
    """A reduced count in CI, the full one with TREELANE_FULL=1."""
    return full if FULL else default


class Rpc:
    def __init__(
        self, cwd: Path, *, env: dict[str, str] | None = None, keep_output: bool = True
    ) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "treelane", "serve", "--log-level", "WARNING"],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        self.root = cwd
        self.keep_output = keep_output  # False: count treelane/output lines, keep none
        self.output_lines = 0
        self.last_output: str | None = None
        self.messages: list[dict[str, Any]] = []
        self.cond = threading.Condition()
        self.closed = False
        self.stderr: list[bytes] = []
        self._next = 1000
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    # --- wire ----------------------------------------------------------------

    def send_bytes(self, body: bytes, header: bytes | None = None) -> None:
        assert self.proc.stdin is not None
        head = header if header is not None else b"Content-Length: %d\r\n\r\n" % len(body)
        with self._lock:
            self.proc.stdin.write(head + body)
            self.proc.stdin.flush()

    def send(self, msg: dict[str, Any]) -> None:
        self.send_bytes(json.dumps(msg).encode())

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    with self.cond:
                        self.closed = True
                        self.cond.notify_all()
                    return
                if line in (b"\r\n", b"\n"):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            assert length is not None
            msg = json.loads(out.read(length))
            if "method" in msg and "id" in msg:  # a request from the server: answer it
                self.send({"jsonrpc": "2.0", "id": msg["id"], "result": None})
            if not self.keep_output and msg.get("method") == "treelane/output":
                self.output_lines += len(msg["params"]["lines"])
                if msg["params"]["lines"]:
                    self.last_output = msg["params"]["lines"][-1]
                continue
            with self.cond:
                self.messages.append(msg)
                self.cond.notify_all()

    def _read_err(self) -> None:
        err = self.proc.stderr
        assert err is not None
        for line in err:
            self.stderr.append(line)

    # --- requests ----------------------------------------------------------------

    def stderr_text(self, last: int = 60) -> str:
        return b"".join(self.stderr[-last:]).decode(errors="replace")

    def new_id(self) -> int:
        with self._lock:
            self._next += 1
            return self._next

    def request_async(self, method: str, params: Any = None) -> int:
        msg_id = self.new_id()
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return msg_id

    def answers(self, msg_id: Any) -> list[dict[str, Any]]:
        with self.cond:
            return [m for m in self.messages if m.get("id") == msg_id and "method" not in m]

    def wait_for(self, pred: Callable[[], bool], timeout: float = 120) -> bool:
        """Wait on a condition (a generous bound: tests assert the condition, not speed)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0 or (self.closed and not pred()):
                    return pred()
                self.cond.wait(min(left, 1.0))
            return True

    def answer(self, msg_id: Any, timeout: float = 120) -> dict[str, Any]:
        if not self.wait_for(lambda: bool(self.answers(msg_id)), timeout):
            tail = b"".join(self.stderr[-20:]).decode(errors="replace")
            raise AssertionError(f"no answer to request {msg_id}; server stderr:\n{tail}")
        return self.answers(msg_id)[0]

    def request(self, method: str, params: Any = None, timeout: float = 120) -> dict[str, Any]:
        return self.answer(self.request_async(method, params), timeout)

    def command(self, name: str, *arguments: Any, timeout: float = 120) -> dict[str, Any]:
        return self.request(
            "workspace/executeCommand", {"command": name, "arguments": list(arguments)}, timeout
        )

    def initialize(self) -> dict[str, Any]:
        res = self.request(
            "initialize",
            {"processId": os.getpid(), "rootUri": self.root.as_uri(), "capabilities": {}},
        )
        self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        return res

    def notes(self, method: str) -> list[dict[str, Any]]:
        with self.cond:
            return [m["params"] for m in self.messages if m.get("method") == method]

    def close(self, timeout: float = 60) -> int:
        if self.proc.poll() is None and not self.closed:
            try:
                msg_id = self.request_async("shutdown")
                self.answer(msg_id, timeout)
                self.send({"jsonrpc": "2.0", "method": "exit"})
            except (OSError, AssertionError):
                pass
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.proc.wait(10)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
