"""The CLI's LSP client against a server that misbehaves (a stand-in process beside the
real server tests): it must end with the reason, never wait forever."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from treelane.cli.client import CONNECTION_LOST, LspClient, ServerError

# Sends a body that is not JSON, then writes far more than a pipe holds and stays alive:
# a client that stopped reading would leave both processes blocked for good.
BAD_SERVER = r"""
import sys, time
out = sys.stdout.buffer
body = b"{not json"
out.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
note = b'{"jsonrpc":"2.0","method":"treelane/output","params":{"lines":["x"]}}'
for _ in range(200000):
    out.write(b"Content-Length: %d\r\n\r\n" % len(note) + note)
out.flush()
time.sleep(600)
"""


async def test_an_unreadable_message_ends_the_session_with_the_reason(tmp_path: Path) -> None:
    script = tmp_path / "bad_server.py"
    script.write_text(BAD_SERVER)
    client = await LspClient.spawn(tmp_path, [sys.executable, str(script)])
    with pytest.raises(ServerError) as err:
        await asyncio.wait_for(client.initialize(tmp_path), 60)
    assert err.value.code == CONNECTION_LOST
    assert "cannot read the treelane server's messages" in str(err.value)
    assert client.proc.returncode is not None, "the misbehaving server was left running"
    await client.close()
