"""Merge preview and merge, built on ``git merge-tree --write-tree`` (git >= 2.38).

The preview touches no working tree and no index. Applying a merge moves a branch
that is checked out nowhere with one atomic ``update-ref`` (old value checked);
a branch checked out in a worktree is fast-forwarded there to the merge commit by
git itself, and only when none of the paths the merge changes has local changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from treelane.engine import git
from treelane.errors import RequestFailed


class Conflict(NamedTuple):
    path: str
    kind: str  # content, modify/delete, add/add, rename/delete, file/directory, binary, ...


class Preview(NamedTuple):
    clean: bool
    tree: str  # the merged tree (with conflict markers where not clean)
    conflicts: list[Conflict]
    source: str
    into: str
    base_is_into: bool  # ``into`` is an ancestor of ``source``: a fast-forward


class MergeResult(NamedTuple):
    clean: bool
    conflicts: list[Conflict]
    merged: bool
    commit: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "conflicts": [c._asdict() for c in self.conflicts],
            "merged": self.merged,
            "commit": self.commit,
        }


def preview(repo: Path, source: str, into: str) -> Preview:
    """Would ``source`` merge cleanly into ``into``? Both are resolved first (bad names fail)."""
    src = git.resolve_commit(repo, source)
    dst = git.resolve_commit(repo, into)
    res = git.run(["merge-tree", "--write-tree", "-z", dst, src], repo, check=False)
    if res.returncode not in (0, 1):
        raise git.GitError(["merge-tree", "--write-tree"], res.returncode, res.stderr)
    tree, conflicts = _parse(res.stdout)
    ff = is_ancestor(repo, dst, src)
    return Preview(res.returncode == 0, tree, conflicts, src, dst, ff)


def merged_commit(
    repo: Path, commits: list[str], message: str
) -> tuple[str | None, list[Conflict]]:
    """One commit holding the merge of ``commits`` (in order), or (None, conflicts)."""
    current = commits[0]
    for other in commits[1:]:
        p = preview(repo, other, current)
        if not p.clean:
            return None, p.conflicts
        if p.base_is_into:
            current = p.source
        elif not is_ancestor(repo, p.source, current):
            current = git.commit_tree(repo, p.tree, [current, other], message)
    return current, []


def apply(repo: Path, source: str, into_branch: str, message: str) -> MergeResult:
    """Merge ``source`` into branch ``into_branch``; refuses on conflicts or local changes."""
    git.check_ref_name(into_branch)
    ref = f"refs/heads/{into_branch}"
    p = preview(repo, source, ref)
    if not p.clean:
        names = ", ".join(c.path for c in p.conflicts)
        raise RequestFailed(f"cannot merge into {into_branch}: conflicts in {names}")
    if is_ancestor(repo, p.source, p.into):
        return MergeResult(True, [], False, p.into)  # already contained: nothing to do
    if p.base_is_into:
        new = p.source
    else:
        new = git.commit_tree(repo, p.tree, [p.into, p.source], message + "\n")
    wt = checked_out_in(repo, ref)
    if wt is None:
        git.update_ref(repo, ref, new, p.into, msg=f"treelane: {message}")
    else:
        _refuse_local_changes(wt, p.into, new, into_branch)
        res = git.run(["merge", "--ff-only", "-q", "--end-of-options", new], wt, check=False)
        if res.returncode != 0:
            raise RequestFailed(
                f"cannot merge into {into_branch} checked out at {wt}: "
                + (res.stderr.strip().splitlines() or ["git merge failed"])[0]
            )
    return MergeResult(True, [], True, new)


def checked_out_in(repo: Path, ref: str) -> Path | None:
    """The worktree where ``ref`` is checked out, if any."""
    listing = git.out(["worktree", "list", "--porcelain", "-z"], repo)
    path = None
    for field in listing.split("\0"):
        if field.startswith("worktree "):
            path = Path(field[len("worktree ") :])
        elif field == f"branch {ref}":
            return path
    return None


def _refuse_local_changes(wt: Path, old: str, new: str, branch: str) -> None:
    # Plumbing without rename detection: a renamed path counts as deleted (and so overlaps
    # a local edit of it), and the user's diff configuration cannot change the answer.
    changed = set(
        git.out(["diff-tree", "-r", "--name-only", "-z", "--no-renames", old, new], wt).split("\0")
    ) - {""}
    overlap = sorted(changed & local_changes(wt))
    if overlap:
        raise RequestFailed(
            f"cannot merge into {branch}: uncommitted changes in {', '.join(overlap)} "
            f"(in {wt}); commit, stash or checkpoint them first"
        )


def is_ancestor(repo: Path, a: str, b: str) -> bool:
    """Is commit ``a`` an ancestor of (or equal to) ``b``?"""
    return git.run(["merge-base", "--is-ancestor", a, b], repo, check=False).returncode == 0


def _parse(output: str) -> tuple[str, list[Conflict]]:
    """Parse ``merge-tree --write-tree -z`` output into (tree, conflicts)."""
    head, _, messages = output.partition("\0\0")
    fields = head.split("\0")
    tree = fields[0]
    paths: list[str] = []
    for info in fields[1:]:
        if "\t" in info:
            path = info.split("\t", 1)[1]
            if path not in paths:
                paths.append(path)
    kinds: dict[str, str] = {}
    parts = messages.split("\0")
    i = 0
    while i < len(parts) and parts[i].isdigit():
        n = int(parts[i])
        msg_paths = parts[i + 1 : i + 1 + n]
        kind = parts[i + 1 + n] if i + 1 + n < len(parts) else ""
        text = parts[i + 2 + n] if i + 2 + n < len(parts) else ""
        if kind.startswith("CONFLICT"):
            # The message says more than the type: "CONFLICT (add/add): Merge conflict in x"
            # has type "CONFLICT (contents)".
            label_of = text if text.startswith("CONFLICT (") else kind
            label = label_of[label_of.find("(") + 1 : label_of.find(")")] if "(" in label_of else ""
            label = "content" if label in ("", "contents") else label
            for p in msg_paths:
                kinds.setdefault(p, label)
                if p not in paths:
                    paths.append(p)
        i += n + 3  # count, paths, type, message
    return tree, [Conflict(p, kinds.get(p, "content")) for p in paths]


def local_changes(wt: Path) -> set[str]:
    """Paths with uncommitted changes in worktree ``wt`` (untracked files included; both
    paths of a rename)."""
    status = git.out(["status", "--porcelain=v1", "-z", "--untracked-files=all"], wt)
    local: set[str] = set()
    records = status.split("\0")
    i = 0
    while i < len(records):
        rec = records[i]
        if len(rec) > 3:
            local.add(rec[3:])
            if rec[0] in "RC":  # renames carry the old path in the next record
                i += 1
                local.add(records[i])
        i += 1
    return local
