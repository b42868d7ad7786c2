"""Who runs a run: owner identity, liveness and heartbeats.

An owner is a process named by its pid, its start time (psutil ``create_time``), the
boot it started in (``/proc/sys/kernel/random/boot_id``) and its host. It is alive only
if all of these still match a running process that is not a zombie, so a killed server
waiting to be reaped, a recycled pid or a pid from before a reboot are not taken for it.

Each engine writes a heartbeat for itself into the ``owners`` table every few seconds
(:class:`Heartbeat`); an owner that is alive but has not beaten for
:data:`STALE_AFTER` seconds is *unresponsive*, and ``resume --force`` may take its runs over.
"""

from __future__ import annotations

import os
import socket
import time
from functools import cache
from pathlib import Path
from typing import NamedTuple

import psutil

from treelane.storage.db import Store

HOST = socket.gethostname()
BEAT_EVERY = 2.0  # seconds between heartbeats
STALE_AFTER = 30.0  # an owner silent this long is unresponsive
# psutil derives start times from the boot time, which the kernel reports in whole
# seconds and may move by one when the clock is adjusted: two readings of the same
# process may differ by up to a second.
START_TOLERANCE = 1.5


@cache
def boot_id() -> str | None:
    """This boot's id (Linux), or None where the system has none."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


class Owner(NamedTuple):
    pid: int
    host: str
    started: float
    boot: str | None

    def describe(self) -> str:
        return f"process {self.pid} on {self.host}"


@cache
def me() -> Owner:
    """This process as an owner."""
    return Owner(os.getpid(), HOST, psutil.Process().create_time(), boot_id())


def alive(
    pid: int | None,
    host: str | None,
    started: float | None = None,
    boot: str | None = None,
) -> bool:
    """Is the recorded owner still that running process? (Other hosts count as alive.)

    ``started`` and ``boot`` are checked when recorded (rows from older versions lack them).
    """
    if pid is None:
        return False
    if host != HOST:
        return True
    if boot is not None and boot_id() is not None and boot != boot_id():
        return False  # recorded before a reboot
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False  # ended; only its exit status waits to be collected
        return started is None or abs(proc.create_time() - started) < START_TOLERANCE
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:
        return True  # a process we may not inspect exists: assume it is the owner


class Heartbeat:
    """This process's heartbeat in the store (call :meth:`tick` often; it writes every
    :data:`BEAT_EVERY` seconds)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.owner = me()
        self._last = 0.0

    def tick(self) -> None:
        now = time.time()
        if now - self._last < BEAT_EVERY:
            return
        self._last = now
        o = self.owner
        self.store.execute(
            "INSERT INTO owners (pid, host, started, boot, beat) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (pid, host, started) DO UPDATE SET beat = excluded.beat",
            (o.pid, o.host, o.started, o.boot, now),
        )

    def stop(self) -> None:
        o = self.owner
        self.store.execute(
            "DELETE FROM owners WHERE pid = ? AND host = ? AND started = ?",
            (o.pid, o.host, o.started),
        )


def last_beat(
    store: Store, pid: int | None, host: str | None, started: float | None
) -> float | None:
    """When the owner last beat (epoch seconds), or None if it never did."""
    if pid is None:
        return None
    if started is None:
        row = store.one(
            "SELECT MAX(beat) AS beat FROM owners WHERE pid = ? AND host = ?", (pid, host)
        )
    else:
        row = store.one(
            "SELECT MAX(beat) AS beat FROM owners WHERE pid = ? AND host = ? "
            "AND abs(started - ?) < ?",
            (pid, host, started, START_TOLERANCE),
        )
    return float(row["beat"]) if row and row["beat"] is not None else None


def silent_for(
    store: Store, pid: int | None, host: str | None, started: float | None
) -> float | None:
    """Seconds since the owner's last heartbeat (None: it never beat)."""
    beat = last_beat(store, pid, host, started)
    return None if beat is None else max(0.0, time.time() - beat)
