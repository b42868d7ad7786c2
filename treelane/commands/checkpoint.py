"""treelane.checkpoint / undo / redo of a worktree named by id or by path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from treelane.commands import _args, worktree_arg
from treelane.commands.context import Context
from treelane.engine.checkpoints import Checkpoint
from treelane.engine.core import Engine
from treelane.errors import InvalidArgument


def resolve_worktree(engine: Engine, value: str) -> tuple[str, Path]:
    """(id, path) of the worktree named ``value``: ``main``, a managed id, or a path in one."""
    return worktree_arg.resolve_worktree(engine.ws.root, engine.pool.paths(), value)


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
