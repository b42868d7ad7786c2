"""treelane.checkpoint / undo / redo of a worktree named by id or by path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context
from treelane.engine.checkpoints import Checkpoint
from treelane.engine.core import Engine
from treelane.errors import InvalidArgument, RequestFailed

MAIN = "main"


def resolve_worktree(engine: Engine, value: str) -> tuple[str, Path]:
    """(id, path) of the worktree named ``value``: ``main``, a managed id, or a path in one."""
    if value == MAIN:
        return MAIN, engine.ws.root
    if value.startswith("-"):
        raise InvalidArgument(f"invalid worktree: {value!r}")
    rows = engine.pool.paths()
    if value in rows:
        return value, rows[value]
    if "/" not in value and os.sep not in value and not Path(value).is_absolute():
        raise RequestFailed(f"unknown worktree {value!r} (see treelane.worktrees)")
    real = Path(os.path.realpath(value))
    for wt_id, path in rows.items():
        p = Path(os.path.realpath(path))
        if real == p or p in real.parents:
            return wt_id, path
    root = Path(os.path.realpath(engine.ws.root))
    if real == root or root in real.parents:
        return MAIN, engine.ws.root
    raise RequestFailed(f"path {value!r} is not inside the repository or a managed worktree")


def _result(c: Checkpoint) -> dict[str, Any]:
    return {"checkpoint": str(c.id), "commit": c.commit, "worktree": c.worktree}


def _target(ctx: Context, raw: Any, allowed: tuple[str, ...]) -> tuple[Engine, str, Path, Any]:
    args = _args.obj(raw, allowed)
    value = _args.string(args, "worktree")
    assert value is not None
    engine = ctx.engine()
    wt_id, path = resolve_worktree(engine, value)
    return engine, wt_id, path, args


def _finish_pending(engine: Engine, wt_id: str, path: Path) -> dict[str, Any]:
    """An interrupted undo/redo is completed first, and the answer says so."""
    done = engine.checkpoints.finish_pending(wt_id, path)
    return {} if done is None else {"completed_restore": str(done.id)}


def checkpoint(ctx: Context, raw: Any) -> dict[str, Any]:
    engine, wt_id, path, args = _target(ctx, raw, ("worktree", "message"))
    message = args.get("message", "")
    if not isinstance(message, str):
        raise InvalidArgument("field 'message': expected a string")
    if len(message) > 65536 or "\0" in message:
        raise InvalidArgument("field 'message': at most 65,536 characters and no NUL")
    extra = _finish_pending(engine, wt_id, path)
    return {**_result(engine.checkpoints.checkpoint(wt_id, path, message)), **extra}


def undo(ctx: Context, raw: Any) -> dict[str, Any]:
    engine, wt_id, path, _ = _target(ctx, raw, ("worktree",))
    extra = _finish_pending(engine, wt_id, path)
    return {**_result(engine.checkpoints.undo(wt_id, path)), **extra}


def redo(ctx: Context, raw: Any) -> dict[str, Any]:
    engine, wt_id, path, _ = _target(ctx, raw, ("worktree",))
    extra = _finish_pending(engine, wt_id, path)
    return {**_result(engine.checkpoints.redo(wt_id, path)), **extra}
