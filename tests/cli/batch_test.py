"""The CLI asks for batched ``treelane/taskState`` and still shows every change.

Real server, real client: the server's stdout is copied (``tee``) so the test sees what
went over the wire (batches) beside what the client queued and the CLI printed (one
change each).
"""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from clikit import lines, make_repo, treelane

from treelane.cli.client import LspClient

CHAINS, LENGTH = 8, 5


def big_toml() -> str:
    out = ["[settings]", "max_parallel = 2", "pool_size = 2"]
    for c in range(CHAINS):
        for i in range(LENGTH):
            out += [f"[workflows.big.tasks.c{c}_{i}]", 'run = "true"', 'isolation = "shared"']
            out += ["cache = false"] + ([f'needs = ["c{c}_{i - 1}"]'] if i else [])
    return "\n".join(out) + "\n"


def wire_messages(raw: bytes) -> list[dict[str, Any]]:
    """The JSON-RPC messages of a captured LSP byte stream, in order."""
    out, i = [], 0
    while i < len(raw):
        end = raw.index(b"\r\n\r\n", i)
        headers = raw[i:end].decode("ascii").split("\r\n")
        length = next(
            int(h.split(":")[1]) for h in headers if h.lower().startswith("content-length")
        )
        out.append(json.loads(raw[end + 4 : end + 4 + length]))
        i = end + 4 + length
    return out


async def _run_through_client(repo: Path, wire: Path) -> list[tuple[str, Any]]:
    serve = f"{shlex.quote(sys.executable)} -m treelane serve | tee {shlex.quote(str(wire))}"
    client = await LspClient.spawn(repo, ["sh", "-c", serve])
    try:
        await client.initialize(repo)
        started = await client.execute("treelane.start", {"workflow": "big"})
        got: list[tuple[str, Any]] = []
        while True:
            method, params = await asyncio.wait_for(client.notifications.get(), 120)
            got.append((method, params))
            if method == "treelane/runFinished" and params["run"] == started["run"]:
                return got
    finally:
        await client.close()


def test_client_asks_for_batches_and_queues_single_changes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", big_toml())
    wire = tmp_path / "wire.bin"
    got = asyncio.run(_run_through_client(repo, wire))

    sent = wire_messages(wire.read_bytes())
    batches = [m["params"] for m in sent if m.get("method") == "treelane/taskState"]
    assert batches and all(set(b) == {"changes"} for b in batches), batches[:3]
    on_wire = [c for b in batches for c in b["changes"]]
    assert len(batches) < len(on_wire), "several changes share a message"

    queued = [p for m, p in got if m == "treelane/taskState"]
    assert all("changes" not in p for p in queued)
    assert queued == on_wire, "every change, once, in the order sent"
    tasks = CHAINS * LENGTH
    assert {p["task"] for p in queued if p["state"] == "succeeded"} == {
        f"c{c}_{i}" for c in range(CHAINS) for i in range(LENGTH)
    }
    assert len({p["task"] for p in queued}) == tasks


def test_run_json_prints_one_line_per_change_of_a_big_graph(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", big_toml())
    proc = treelane("run", "big", "--json", cwd=repo)
    assert proc.returncode == 0, proc.stderr
    notes = lines(proc.stdout)
    states = [n["params"] for n in notes if n["method"] == "treelane/taskState"]
    assert all("changes" not in s and {"task", "state"} <= set(s) for s in states)
    for c in range(CHAINS):
        for i in range(LENGTH):
            seen = [s["state"] for s in states if s["task"] == f"c{c}_{i}"]
            assert seen[0] == "queued" and seen[-1] == "succeeded" and "running" in seen, seen
    # A chain's tasks succeed in order (the printed order is the engine's).
    done = [s["task"] for s in states if s["state"] == "succeeded"]
    for c in range(CHAINS):
        chain = [t for t in done if t.startswith(f"c{c}_")]
        assert chain == [f"c{c}_{i}" for i in range(LENGTH)]
    assert notes[-1]["method"] == "treelane/runFinished"
    assert notes[-1]["params"]["counts"] == {"succeeded": CHAINS * LENGTH}
