"""A small LSP client over a ``treelane serve`` subprocess (JSON-RPC on stdio, asyncio).

Only what the CLI needs: requests with their answers, notifications in one queue (in
arrival order, nothing dropped; a batched ``treelane/taskState`` is queued as its single
changes), an error answer to any request the server sends us,
and a clean shutdown. The server runs in a session of its own, so a Ctrl-C in the
terminal reaches the CLI only (which then asks the server to cancel).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections import deque
from pathlib import Path
from typing import Any

from treelane import __version__

INVALID_PARAMS = -32602
METHOD_NOT_FOUND = -32601
REQUEST_FAILED = -32803
CONNECTION_LOST = -32099  # our own code: the server went away before it answered
CLOSED = "$/closed"  # put in the notification queue when the server's output ends

Message = tuple[str, Any]


class ServerError(Exception):
    """A JSON-RPC error answer (or the loss of the server), with its code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def server_command(log_level: str = "WARNING") -> list[str]:
    return [sys.executable, "-m", "treelane", "serve", "--log-level", log_level]


class LspClient:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.notifications: asyncio.Queue[Message] = asyncio.Queue()
        self.stderr_tail: deque[str] = deque(maxlen=20)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 0
        self._write_lock = asyncio.Lock()
        self._lost: ServerError | None = None
        self._readers = [
            asyncio.ensure_future(self._read_messages()),
            asyncio.ensure_future(self._read_stderr()),
        ]

    @classmethod
    async def spawn(cls, cwd: Path, argv: list[str] | None = None) -> LspClient:
        proc = await asyncio.create_subprocess_exec(
            *(argv or server_command()),
            cwd=str(cwd),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # the terminal's Ctrl-C is for the CLI, not the server
            limit=1 << 20,
        )
        return cls(proc)

    # --- requests ------------------------------------------------------------

    async def request(self, method: str, params: Any = None) -> Any:
        if self._lost is not None:
            raise self._lost
        self._next_id += 1
        msg_id = self._next_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        try:
            await self._send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
            return await future
        finally:
            self._pending.pop(msg_id, None)

    async def notify(self, method: str, params: Any = None) -> None:
        await self._send({"jsonrpc": "2.0", "method": method, "params": params})

    async def initialize(self, root: Path) -> Any:
        uri = root.as_uri()
        result = await self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "clientInfo": {"name": "treelane-cli", "version": __version__},
                "rootUri": uri,
                "rootPath": str(root),
                "workspaceFolders": [{"uri": uri, "name": root.name}],
                "capabilities": {},
                # taskState changes arrive as {"changes": [...]} (far fewer messages on a
                # big graph); they are put in the queue one change at a time, as before.
                "initializationOptions": {"batchTaskState": True},
            },
        )
        await self.notify("initialized", {})
        return result

    async def execute(self, command: str, argument: Any) -> Any:
        return await self.request(
            "workspace/executeCommand", {"command": command, "arguments": [argument]}
        )

    async def close(self, timeout: float = 60.0) -> int | None:
        """shutdown + exit, then wait for the process (killed if it does not end)."""
        if self._lost is None and self.proc.returncode is None:
            with contextlib.suppress(ServerError, OSError, asyncio.TimeoutError):
                await asyncio.wait_for(self.request("shutdown"), timeout)
                await self.notify("exit")
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            code = await asyncio.wait_for(self.proc.wait(), 15)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            code = await self.proc.wait()
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        return code

    # --- plumbing ------------------------------------------------------------

    async def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message, separators=(",", ":")).encode()
        stdin = self.proc.stdin
        assert stdin is not None
        async with self._write_lock:
            try:
                stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
                await stdin.drain()
            except (ConnectionError, RuntimeError) as exc:
                raise self._connection_lost(f"cannot write to the server: {exc}") from None

    async def _read_messages(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        try:
            while True:
                length = -1
                while True:
                    line = await stdout.readline()
                    if not line:
                        raise EOFError
                    if line in (b"\r\n", b"\n"):
                        break
                    name, _, value = line.decode("ascii", "replace").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                if length >= 0:
                    self._dispatch(json.loads(await stdout.readexactly(length)))
        except (EOFError, asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception as exc:
            # Stop the server: a reader that stopped while the server kept writing would
            # leave both waiting forever on a full pipe.
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()  # it stops its tasks (the runs stay resumable)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except asyncio.TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                await self.proc.wait()
            self._connection_lost(
                f"cannot read the treelane server's messages ({type(exc).__name__}: {exc})"
            )
            return
        code = await self.proc.wait()
        tail = f": {self.stderr_tail[-1]}" if self.stderr_tail else ""
        self._connection_lost(f"the treelane server exited (exit code {code}){tail}")

    async def _read_stderr(self) -> None:
        stderr = self.proc.stderr
        assert stderr is not None
        while line := await stderr.readline():
            text = line.decode("utf-8", "replace").rstrip()
            if text:
                self.stderr_tail.append(text)

    def _dispatch(self, msg: dict[str, Any]) -> None:
        if "method" in msg:
            if "id" in msg:  # a request from the server: we implement none of them
                refusal = {"code": METHOD_NOT_FOUND, "message": f"unsupported: {msg['method']}"}
                reply = {"jsonrpc": "2.0", "id": msg["id"], "error": refusal}
                asyncio.ensure_future(self._send(reply)).add_done_callback(_ignore_result)
            else:
                method, params = msg["method"], msg.get("params")
                changes = params.get("changes") if isinstance(params, dict) else None
                if method == "treelane/taskState" and isinstance(changes, list):
                    for change in changes:  # a batch: its changes, in order
                        self.notifications.put_nowait((method, change))
                else:
                    self.notifications.put_nowait((method, params))
            return
        future = self._pending.get(msg.get("id"))  # type: ignore[arg-type]
        if future is None or future.done():
            return
        error = msg.get("error")
        if error is not None:
            future.set_exception(ServerError(int(error.get("code", 0)), str(error.get("message"))))
        else:
            future.set_result(msg.get("result"))

    def _connection_lost(self, message: str) -> ServerError:
        if self._lost is None:
            self._lost = ServerError(CONNECTION_LOST, message)
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(self._lost)
            self.notifications.put_nowait((CLOSED, None))
        return self._lost


def _ignore_result(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
