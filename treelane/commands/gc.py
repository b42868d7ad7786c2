"""treelane.gc: prune old runs' refs and rows and cache entries (see treelane.engine.gc)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context
from treelane.engine import gc as engine_gc
from treelane.errors import InvalidArgument


def gc(ctx: Context, raw: Any) -> dict[str, Any]:
    args = _args.obj(raw, ("keep_runs", "cache_max_mb", "older_than_days"))
    keep = _number(args, "keep_runs", integer=True)
    cache_mb = _number(args, "cache_max_mb")
    days = _number(args, "older_than_days")
    engine = ctx.engine()
    result = engine_gc.collect(
        engine.ws.root,
        engine.store,
        keep_runs=int(keep) if keep is not None else None,
        cache_max_mb=cache_mb,
        older_than_days=days,
        live=frozenset(engine.scheduler.runs),
    )
    return result.to_dict()


def _number(args: Mapping[str, Any], key: str, *, integer: bool = False) -> float | None:
    value = args.get(key)
    if value is None:
        return None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and integer:
        ok = isinstance(value, int) or float(value).is_integer()
    if not ok or not math.isfinite(value) or value < 0:
        expected = "an integer >= 0" if integer else "a number >= 0"
        raise InvalidArgument(f"field {key!r}: expected {expected}, got {value!r}")
    return float(value)
