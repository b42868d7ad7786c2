"""The server's writer sends every frame whole, in one piece, whoever writes it."""

from __future__ import annotations

import os
import re
import threading
import time

from treelane.server.framing import FrameWriter


def _read_all(fd: int, out: list[bytes], slow: bool) -> None:
    buf = bytearray()
    while True:
        if slow:
            time.sleep(0.001)  # a reader that falls behind: the pipe fills up
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
    out.append(bytes(buf))


def _frames(data: bytes) -> list[bytes]:
    bodies, pos = [], 0
    while pos < len(data):
        m = re.compile(rb"Content-Length: (\d+)\r\n\r\n").match(data, pos)
        assert m is not None, f"no header at byte {pos}: {data[pos : pos + 40]!r}"
        end = m.end() + int(m.group(1))
        bodies.append(data[m.end() : end])
        pos = end
    return bodies


def _frame(tag: bytes, size: int) -> bytes:
    body = b"[" + tag * size + b"]"
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def _write_concurrently(nonblocking: bool) -> list[bytes]:
    r, w = os.pipe()
    os.set_blocking(w, not nonblocking)
    writer = FrameWriter(os.fdopen(w, "wb", buffering=0))
    out: list[bytes] = []
    reader = threading.Thread(target=_read_all, args=(r, out, True))
    reader.start()
    # Frames far bigger than a pipe (64 KiB) from several threads at once, as a response
    # from a worker thread and a batch of notifications from the event loop do.
    threads = [
        threading.Thread(
            target=lambda t=tag: [writer.write(_frame(t, 150_000 + 1000 * i)) for i in range(4)]
        )
        for tag in (b"a", b"b", b"c")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    reader.join()
    os.close(r)
    return _frames(out[0])


def test_big_frames_from_many_threads_arrive_whole() -> None:
    bodies = _write_concurrently(nonblocking=False)
    assert len(bodies) == 12
    for body in bodies:
        assert body[:1] == b"[" and body[-1:] == b"]"
        assert len(set(body[1:-1])) == 1  # one writer's bytes only: nothing interleaved


def test_a_non_blocking_descriptor_loses_nothing() -> None:
    # A full O_NONBLOCK pipe answers EAGAIN after a short write; the writer waits and
    # goes on with the rest instead of dropping it.
    bodies = _write_concurrently(nonblocking=True)
    assert sorted(len(b) for b in bodies) == sorted(
        150_000 + 1000 * i + 2 for i in range(4) for _ in range(3)
    )
    for body in bodies:
        assert len(set(body[1:-1])) == 1
