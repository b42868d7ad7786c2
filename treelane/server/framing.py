"""Strict reading of LSP base-protocol frames from stdin.

pygls skips header lines it does not understand and then reads message bodies as headers,
going deaf until stdin closes. Here a malformed header (or a body cut short) is a framing
error: it is logged with what was read, and the stream ends, so the server exits non-zero
instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import select
import threading
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

from treelane.server.envelope import short

log = logging.getLogger("treelane.server")

MAX_BODY = 256 * 1024 * 1024
_LENGTH = re.compile(rb"Content-Length: *(\d+)\r?\n", re.IGNORECASE)
_OTHER = re.compile(rb"Content-Type: *[^\r\n]*\r?\n", re.IGNORECASE)


class FramingError(Exception):
    pass


class StrictReader:
    """pygls' reader interface (``readline``/``readexactly``) over stdin, checking frames."""

    def __init__(self, stdin: BinaryIO, executor: ThreadPoolExecutor | None = None) -> None:
        self.stdin = stdin
        self.executor = executor
        self.error: str | None = None
        self._length: int | None = None

    def _readline(self) -> bytes:
        if self.error is not None:
            return b""
        line = self.stdin.readline()
        if not line:
            return b""
        if line in (b"\r\n", b"\n"):
            if self._length is None:
                return self._fail(line, "a blank line before any Content-Length header")
            return line
        m = _LENGTH.fullmatch(line)
        if m:
            n = int(m.group(1))
            if n == 0 or n > MAX_BODY:
                return self._fail(line, f"Content-Length {n} (expected 1 to {MAX_BODY})")
            self._length = n
            return b"Content-Length: %d\r\n" % n
        if _OTHER.fullmatch(line):
            return line
        return self._fail(line, "a line that is not a Content-Length or Content-Type header")

    def _read(self, n: int) -> bytes:
        if self.error is not None:
            return b""
        body = self.stdin.read(n)
        self._length = None
        if len(body) < n:
            return self._fail(body, f"a body of {len(body)} bytes where {n} were announced")
        return body

    def _fail(self, got: bytes, what: str) -> bytes:
        self.error = f"framing error: read {what}: {short(got.decode(errors='replace'))}"
        log.error("%s; the message stream cannot be resynchronised, the server stops", self.error)
        return b""

    def readline(self) -> Awaitable[bytes]:
        return asyncio.get_running_loop().run_in_executor(self.executor, self._readline)

    def readexactly(self, n: int) -> Awaitable[bytes]:
        return asyncio.get_running_loop().run_in_executor(self.executor, self._read, n)


class FrameWriter:
    """pygls' writer interface over a file descriptor: each message is written whole.

    One lock orders the writers (responses are sent from worker threads, notifications
    from the event loop), and a short write (a signal, a stopped reader, an O_NONBLOCK
    descriptor) is continued rather than dropped: a frame cut short would leave the
    client reading the next message as the rest of this one.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._fd = stream.fileno()
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        with self._lock:
            while view:
                try:
                    n = os.write(self._fd, view)
                except BlockingIOError:
                    select.select([], [self._fd], [])
                    continue
                view = view[n:]

    def close(self) -> None:
        self._stream.close()
