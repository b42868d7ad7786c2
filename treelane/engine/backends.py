"""Which backend runs a workspace's attempts: the settings, or TREELANE_DASK_SCHEDULER.

``[settings] executor = "dask"`` with ``dask_scheduler = "tcp://HOST:PORT"``, or the
environment variable (which ``treelane serve --dask`` and ``treelane run --dask`` set),
selects the Dask cluster; otherwise attempts run here.
"""

from __future__ import annotations

import os

from treelane.engine.attempt import Backend, LocalBackend
from treelane.engine.workflow import Settings
from treelane.errors import RequestFailed

DASK_ENV = "TREELANE_DASK_SCHEDULER"


class Unconfigured:
    """``executor = "dask"`` without an address: every run is refused, saying so."""

    name = "dask"

    def ready(self) -> None:
        raise RequestFailed(
            'executor = "dask" needs the scheduler\'s address: set dask_scheduler = '
            f'"tcp://HOST:PORT" in [settings], pass --dask ADDR, or set {DASK_ENV}'
        )

    def close(self) -> None:
        return None


def address(s: Settings) -> str:
    """The scheduler's address ('' for local)."""
    env = os.environ.get(DASK_ENV, "").strip()
    if env:
        return env
    return s.dask_scheduler.strip() if s.executor == "dask" else ""


def from_settings(s: Settings) -> Backend:
    addr = address(s)
    if addr:
        from treelane.engine.cluster.client import DaskBackend

        return DaskBackend(addr)
    if s.executor == "dask":
        return Unconfigured()
    return LocalBackend()


def reconfigure(current: Backend, s: Settings) -> Backend:
    """After a reload of treelane.toml: the same backend unless its address changed."""
    if getattr(current, "address", "") == address(s) and not isinstance(current, Unconfigured):
        return current
    if isinstance(current, LocalBackend) and not address(s) and s.executor != "dask":
        return current
    current.close()
    return from_settings(s)


def ready(backend: Backend) -> None:
    """Before a run starts: RequestFailed if its backend cannot take attempts."""
    check = getattr(backend, "ready", None)
    if check is not None:
        check()


def limit(backend: Backend, default: int) -> int:
    """``max_parallel = "auto"`` on a cluster: its slots (threads over all workers)."""
    slots = getattr(backend, "slots", None)
    if slots is None:
        return default
    try:
        return int(slots())
    except Exception:
        return default
