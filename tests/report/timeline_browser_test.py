"""Browser test: the timeline page in headless Chromium (Debian's `chromium` package).

Chromium is required, not optional: without it these tests FAIL with the
install hint (CI installs it with `apt-get install -y chromium`).
"""

from __future__ import annotations

import copy
import re
import struct
import zlib
from collections import Counter
from pathlib import Path

import pytest

from treelane.report.browser import (
    INSTALL_HINT,
    console_messages,
    dump_dom,
    find_chromium,
    screenshot,
)
from treelane.report.screenshot import sample_run
from treelane.report.timeline import render_timeline

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Fill colours of the light theme (see _CSS in treelane/report/timeline.py).
SUCCEEDED = (0x1F, 0x8F, 0x4E)
FAILED = (0xCF, 0x34, 0x34)
CRITICAL = (0xF0, 0xA5, 0x00)
CPU_LINE = (0x0E, 0x8F, 0xB3)


def need_chromium() -> str:
    """Fail (never skip) when Chromium is missing: CI installs it."""
    found = find_chromium()
    if found is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    return found


@pytest.fixture(scope="module")
def page_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("timeline") / "timeline.html"
    path.write_text(render_timeline(sample_run()), encoding="utf-8")
    return path


def decode_png(data: bytes) -> tuple[int, int, list[bytes], int]:
    """Minimal PNG decoder (8-bit RGB/RGBA, not interlaced): width, height, rows, channels."""
    assert data[:8] == PNG_MAGIC, "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
    channels = 4 if color == 6 else 3
    raw, stride = zlib.decompress(idat), width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, rows, channels


def color_counts(rows: list[bytes], channels: int) -> Counter[tuple[int, int, int]]:
    counts: Counter[tuple[int, int, int]] = Counter()
    for row in rows:
        for x in range(0, len(row), channels):
            counts[(row[x], row[x + 1], row[x + 2])] += 1
    return counts


def near(counts: Counter[tuple[int, int, int]], rgb: tuple[int, int, int], tol: int = 3) -> int:
    return sum(n for c, n in counts.items() if all(abs(c[i] - rgb[i]) <= tol for i in range(3)))


def test_screenshot_shows_the_chart(page_path: Path, tmp_path: Path) -> None:
    need_chromium()
    shot = tmp_path / "shot.png"
    result = screenshot(page_path, shot, (1280, 900))
    assert shot.exists()
    data = shot.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 30_000, f"suspiciously small screenshot: {len(data)} bytes"
    assert console_messages(result.stderr) == []

    width, height, rows, channels = decode_png(data)
    assert (width, height) == (1280, 900)
    counts = color_counts(rows, channels)
    assert len(counts) > 200, "the page looks blank"
    assert near(counts, SUCCEEDED) > 5_000, "no succeeded bars on screen"
    assert near(counts, FAILED) > 200, "no failed (hatched) attempt on screen"
    assert near(counts, CRITICAL) > 500, "critical path is not highlighted"
    assert near(counts, CPU_LINE) > 300, "no CPU line in the resource chart"


def test_dom_has_bars_and_the_script_ran_cleanly(page_path: Path) -> None:
    need_chromium()
    result = dump_dom(page_path)
    dom = result.stdout
    attempts = sum(len(t["attempts"]) for t in sample_run()["tasks"])
    assert dom.count('<rect class="bar ') == attempts == 9
    assert 'data-js="ready"' in dom, "the inline script did not run to its end"
    assert dom.count("data-tip=") >= attempts + 2  # tooltips moved from <title>
    # The start time is ISO 8601 in local time (as the CLI prints it), not the browser locale.
    started = re.search(r"<time [^>]*data-epoch[^>]*>([^<]*)</time>", dom)
    assert started is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d", started.group(1))
    assert console_messages(result.stderr) == [], result.stderr


def test_hostile_task_name_stays_text_in_the_browser(tmp_path: Path) -> None:
    need_chromium()
    data = copy.deepcopy(sample_run())
    data["tasks"][0]["name"] = "<script>alert(1)</script>"
    data["tasks"][3]["needs"] = ["<script>alert(1)</script>"]
    data["tasks"][4]["attempts"][0]["worktree"] = '"><img src=x onerror=alert(1)>'
    path = tmp_path / "evil.html"
    path.write_text(render_timeline(data), encoding="utf-8")
    result = dump_dom(path)
    assert len(re.findall(r"<script[\s>]", result.stdout)) == 1
    assert "<img" not in result.stdout
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in result.stdout
    assert 'data-js="ready"' in result.stdout
    assert console_messages(result.stderr) == [], result.stderr


def test_console_errors_are_detected(tmp_path: Path) -> None:
    """The console check above is not vacuous: a broken page is caught."""
    need_chromium()
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><body><p>x</p><script>foo(</script>"
        '<script>throw new Error("boom")</script></body></html>',
        encoding="utf-8",
    )
    messages = console_messages(dump_dom(bad).stderr)
    assert any("SyntaxError" in m for m in messages), messages
    assert any("Uncaught" in m and "boom" in m for m in messages), messages
