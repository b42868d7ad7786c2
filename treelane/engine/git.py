"""Git plumbing: every git call goes through :func:`run` with an argv list.

Nothing here builds a shell string. User-supplied revisions are always passed
after ``--end-of-options`` (or ``--``), and resolved with :func:`resolve_commit`
before they reach commands such as ``merge-tree`` that cannot tell a bad
revision from a conflict.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from treelane.engine.names import check_id as check_id
from treelane.engine.names import check_ref_name as check_ref_name
from treelane.engine.names import contained as contained
from treelane.errors import RequestFailed

# Keep git from prompting, paging, or reading the user's global hooks into our plumbing.
_BASE_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "GIT_EDITOR": "true",
    "GIT_OPTIONAL_LOCKS": "0",
    "LC_ALL": "C",
}


class GitError(RequestFailed):
    """A git command failed; the message names the command and git's own words."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: str) -> None:
        self.args_list = list(args)
        self.returncode = returncode
        self.stderr = stderr
        detail = stderr.strip().splitlines()
        reason = detail[-1] if detail else f"exit code {returncode}"
        super().__init__(f"git {' '.join(args[:2])} failed: {reason}")


class Result(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def run(
    args: Sequence[str],
    cwd: Path | str,
    *,
    env: Mapping[str, str] | None = None,
    input: str | bytes | None = None,
    check: bool = True,
    binary: bool = False,
) -> Result:
    """Run ``git ARGS`` in ``cwd`` and return its output (``check`` raises GitError)."""
    full_env = {**os.environ, **_BASE_ENV, **(env or {})}
    proc = subprocess.run(
        ["git", *args],
        cwd=str(cwd),
        env=full_env,
        input=input.encode() if isinstance(input, str) else input,
        capture_output=True,
        check=False,
    )
    if check and proc.returncode != 0:
        raise GitError(args, proc.returncode, proc.stderr.decode(errors="replace"))
    out = proc.stdout if binary else proc.stdout.decode(errors="surrogateescape")
    return Result(proc.returncode, out, proc.stderr.decode(errors="replace"))  # type: ignore[arg-type]


def out(args: Sequence[str], cwd: Path | str, **kw: object) -> str:
    """Run git and return stdout without the trailing newline."""
    return run(args, cwd, **kw).stdout.rstrip("\n")  # type: ignore[arg-type]


# --- names (in treelane.engine.names: the read-only CLI checks them without subprocess) --


# --- repository discovery ---------------------------------------------------


class RepoInfo(NamedTuple):
    toplevel: Path  # main worktree (the user's checkout)
    common_dir: Path  # shared .git directory


def discover(path: Path | str) -> RepoInfo:
    """Find the repository containing ``path``; RequestFailed if there is none."""
    import git as gitpython  # on first use: it takes longer to import than most commands run

    try:
        repo = gitpython.Repo(str(path), search_parent_directories=True)
    except (gitpython.InvalidGitRepositoryError, gitpython.NoSuchPathError) as exc:
        raise RequestFailed(f"{path} is not inside a git repository") from exc
    try:
        common = Path(os.path.realpath(repo.common_dir))
        if repo.bare:
            raise RequestFailed(f"{path} is a bare repository; treelane needs a working tree")
        # The main worktree is the parent of the common dir for a normal repository.
        top = common.parent if common.name == ".git" else Path(repo.working_tree_dir or path)
        return RepoInfo(Path(os.path.realpath(top)), common)
    finally:
        repo.close()


def resolve_commit(repo: Path, rev: str) -> str:
    """Resolve any commit-ish to a full sha; RequestFailed naming ``rev`` if it is not one."""
    if not isinstance(rev, str) or not rev or rev.startswith("-") or "\n" in rev:
        raise ValueError(f"invalid revision: {rev!r}")
    res = run(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
        repo,
        check=False,
    )
    if res.returncode != 0:
        raise RequestFailed(f"unknown revision {rev!r}: not a commit in this repository")
    return res.stdout.strip()


def tree_of(repo: Path, commit: str) -> str:
    return out(["rev-parse", "--verify", "--end-of-options", f"{commit}^{{tree}}"], repo)


def head_commit(worktree: Path) -> str | None:
    res = run(["rev-parse", "--verify", "--quiet", "HEAD"], worktree, check=False)
    return res.stdout.strip() or None


def current_branch(worktree: Path) -> str | None:
    res = run(["symbolic-ref", "--quiet", "--short", "HEAD"], worktree, check=False)
    return res.stdout.strip() or None


def object_exists(repo: Path, sha: str) -> bool:
    return run(["cat-file", "-e", "--end-of-options", sha], repo, check=False).returncode == 0


def update_ref(
    repo: Path, ref: str, new: str, old: str | None = None, msg: str = "treelane"
) -> None:
    """Atomic ref update; ``old`` ("" for must-not-exist) guards against concurrent writers."""
    args = ["update-ref", "-m", msg, ref, new]
    if old is not None:
        args.append(old or "0" * 40)
    run(args, repo)


def commit_tree(
    repo: Path,
    tree: str,
    parents: Sequence[str],
    message: str,
    env: Mapping[str, str] | None = None,
) -> str:
    args = ["commit-tree", tree]
    for p in parents:
        args += ["-p", p]
    return out(args, repo, input=message, env=_identity(repo, env))


_HAS_IDENTITY: dict[Path, bool] = {}


def _identity(repo: Path, env: Mapping[str, str] | None) -> dict[str, str]:
    """Commits need an author; fall back to a treelane identity when the user has none.

    Whether the repository has one is asked once per process (one git call less per commit).
    """
    e = dict(env or {})
    has = _HAS_IDENTITY.get(repo)
    if has is None:
        has = run(["config", "user.email"], repo, check=False).returncode == 0
        _HAS_IDENTITY[repo] = has
    if not has:
        e.setdefault("GIT_AUTHOR_NAME", "treelane")
        e.setdefault("GIT_AUTHOR_EMAIL", "treelane@localhost")
        e.setdefault("GIT_COMMITTER_NAME", "treelane")
        e.setdefault("GIT_COMMITTER_EMAIL", "treelane@localhost")
    return e


def git_path(worktree: Path, name: str) -> Path:
    """``git rev-parse --git-path NAME`` for this worktree (per-worktree files such as index)."""
    p = Path(out(["rev-parse", "--git-path", name], worktree))
    return p if p.is_absolute() else (worktree / p)
