"""treelane.cleanup: remove idle worktrees (work is never lost; see WorktreePool.cleanup).

With ``force``, a worktree with uncommitted changes (or commits no ref holds) is removed
after its work is saved under ``refs/treelane/saved/<worktree>/<ms>``; the result names
each such ref (``saved``) so the user can get the work back. The worktrees ``resolve``
opened are removed too when no open resolution holds them, and with ``force`` also while
one does (the resolution is then dropped: ``treelane resolve`` opens it again).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from treelane.commands import _args
from treelane.commands.context import Context
from treelane.engine import git, resolutions
from treelane.engine.pool import SAVED_REFS


def cleanup(ctx: Context, raw: Any) -> dict[str, Any]:
    args = _args.obj(raw, ("force",))
    engine = ctx.engine()
    before = _saved_refs(engine.ws.root)
    force = _args.boolean(args, "force")
    result = engine.pool.cleanup(force=force)
    resolve_removed, resolve_kept = resolutions.cleanup(engine, force)
    saved = [
        {"worktree": ref[len(SAVED_REFS) + 1 :].rsplit("/", 1)[0], "ref": ref, "commit": sha}
        for ref, sha in _saved_refs(engine.ws.root).items()
        if ref not in before
    ]
    return {
        "removed": [*result.removed, *resolve_removed],
        "kept": [*result.kept, *resolve_kept],
        "saved": saved,
    }


def _saved_refs(root: Path) -> dict[str, str]:
    text = git.out(["for-each-ref", "--format=%(refname) %(objectname)", SAVED_REFS], root)
    pairs = (line.split(" ", 1) for line in text.splitlines() if " " in line)
    return {ref: sha for ref, sha in pairs}
