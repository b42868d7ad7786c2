"""Where a run's attempts ran, as ``status`` and the timeline show it.

A run started (or resumed) on a Dask cluster records the executor, the scheduler's
address and the cluster's dashboard link in its ``settings``; a task that ran on a
worker has ``worktree`` = ``<worker address>/<worktree id>`` (``tcp://10.0.0.7:40123/w2``).
Read-only: nothing here connects to a cluster.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from treelane.engine.queries import Reader
    from treelane.storage.db import Store

SCHEMES = ("tcp://", "tls://", "ucx://", "inproc://")


def split_where(where: str | None) -> tuple[str | None, str | None]:
    """(worker address, worktree id) of a task's ``worktree`` field; a local one: (None, it)."""
    if not where:
        return None, where
    if not where.startswith(SCHEMES):
        return None, where
    worker, sep, wid = where.rpartition("/")
    if not sep or "://" not in worker or worker.endswith(":/"):
        return where, None
    return worker, wid


def worker_of(where: str | None) -> str | None:
    return split_where(where)[0]


def describe(backend: Any) -> dict[str, Any]:
    """What a run records of the backend it runs on (local: just the executor's name)."""
    name = str(getattr(backend, "name", "local"))
    if name != "dask":
        return {"executor": name}
    info: dict[str, Any] = {"executor": name, "dask_scheduler": getattr(backend, "address", "")}
    dashboard = getattr(backend, "dashboard", None)
    if callable(dashboard):
        info["dashboard"] = dashboard()
    return info


def record(store: Store, run_id: str, backend: Any) -> None:
    """Add the backend's description to run ``run_id``'s settings (at start and resume)."""
    row = store.one("SELECT settings FROM runs WHERE id = ?", (run_id,))
    if row is None:
        return
    settings = json.loads(row["settings"] or "{}")
    info = describe(backend)
    if info.get("dashboard") is None and info.get("dask_scheduler") == settings.get(
        "dask_scheduler"
    ):  # (not connected yet: what the same cluster showed before still holds)
        info.pop("dashboard", None)
    settings.update(info)
    if settings.get("executor") != "dask":
        settings.pop("dask_scheduler", None)
        settings.pop("dashboard", None)
    with store.write():
        store.execute("UPDATE runs SET settings = ? WHERE id = ?", (json.dumps(settings), run_id))


def run_fields(row: dict[str, Any]) -> dict[str, Any]:
    """``executor`` ("local" or "dask") and ``dashboard`` (a link or None) of a run row."""
    settings = json.loads(row.get("settings") or "{}")
    return {
        "executor": settings.get("executor", "local"),
        "dashboard": settings.get("dashboard") if settings.get("executor") == "dask" else None,
    }


def cluster(db: Reader, scheduler: str) -> dict[str, Any] | None:
    """The cluster the workspace is set to use (``scheduler``: its address, '' for local):
    ``{"executor": "dask", "scheduler", "dashboard"}``, the dashboard as the newest run on
    that scheduler recorded it (None when the cluster has none, or no run has used it)."""
    if not scheduler:
        return None
    dashboard = None
    for row in db.query(
        "SELECT settings FROM runs WHERE settings LIKE ? ORDER BY started DESC LIMIT 20",
        ('%"executor": "dask"%',),
    ):
        settings = json.loads(row["settings"] or "{}")
        if settings.get("dask_scheduler") == scheduler:
            dashboard = settings.get("dashboard")
            break
    return {"executor": "dask", "scheduler": scheduler, "dashboard": dashboard}
