"""Finding the repository of a folder the way ``git rev-parse`` does, without running git.

The read-only CLI commands start with this: a git process (and importing ``subprocess``)
is a good part of answering ``treelane status``. Only the plain layouts are answered
here: a ``.git`` folder, or a ``.git`` file of a linked worktree (``gitdir:`` and
``commondir``). Anything else is left to git (None): the ``GIT_DIR`` family of
variables, a repository of another owner (``safe.directory``), a file-system boundary, a
folder inside a git directory, a separate or bare git directory, a submodule.
"""

from __future__ import annotations

import os
import stat

# Variables that change where git looks: with any of them set, git answers.
_GIT_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_COMMON_DIR",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_OBJECT_DIRECTORY",
)


def find(path: str) -> tuple[str, str] | None:
    """(main worktree, common git directory) of the repository containing ``path``, both
    real paths; None when git itself must answer (including: no repository found)."""
    if any(name in os.environ for name in _GIT_VARIABLES):
        return None
    try:
        cur = os.path.realpath(path)
        device = os.stat(cur).st_dev
    except OSError:
        return None
    while True:
        if os.path.basename(cur) == ".git":
            return None  # inside a git directory: git's answer differs there
        found = _at(cur)
        if found is not None:
            return found if found != ("", "") else None
        parent = os.path.dirname(cur)
        if parent == cur:
            return None
        try:
            if os.stat(parent).st_dev != device:
                return None  # git stops at a file-system boundary
        except OSError:
            return None
        cur = parent


def _at(folder: str) -> tuple[str, str] | None:
    """The repository whose ``.git`` is in ``folder``; None: there is none, go up;
    ("", ""): there is one that git must look at."""
    dotgit = os.path.join(folder, ".git")
    try:
        st = os.stat(dotgit)
    except FileNotFoundError:
        return None
    except OSError:
        return ("", "")
    if stat.S_ISDIR(st.st_mode):
        gitdir = dotgit
    elif stat.S_ISREG(st.st_mode):
        linked = _gitdir_of_file(dotgit, folder)
        if linked is None:
            return ("", "")
        gitdir = linked
    else:
        return ("", "")
    common = gitdir
    try:
        with open(os.path.join(gitdir, "commondir"), encoding="utf-8") as f:
            common = os.path.join(gitdir, f.read().strip())
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError):
        return ("", "")
    common = os.path.realpath(common)
    if os.path.basename(common) != ".git":
        return ("", "")  # a separate, bare or submodule git directory
    if not (os.path.isfile(os.path.join(gitdir, "HEAD")) and _objects(common)):
        return ("", "")  # not a repository git would accept as is
    try:
        uid = os.geteuid()
        if os.stat(folder).st_uid != uid or os.stat(common).st_uid != uid:
            return ("", "")  # git's safe.directory check decides
    except OSError:
        return ("", "")
    return (os.path.dirname(common), common)


def _gitdir_of_file(dotgit: str, folder: str) -> str | None:
    try:
        with open(dotgit, encoding="utf-8") as f:
            line = f.readline().strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not line.startswith("gitdir:"):
        return None
    target = line[len("gitdir:") :].strip()
    gitdir = os.path.realpath(os.path.join(folder, target))
    return gitdir if os.path.isdir(gitdir) else None


def _objects(common: str) -> bool:
    return os.path.isdir(os.path.join(common, "objects")) and os.path.isdir(
        os.path.join(common, "refs")
    )
