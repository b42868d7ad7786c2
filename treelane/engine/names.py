"""Names and paths that reach git and the file system: validated here, without git.

Kept apart from :mod:`treelane.engine.git` so that the read-only CLI commands can check an
argument without importing ``subprocess``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_BAD_REF = re.compile(
    r"(^[-./])|(\.\.)|([\x00-\x20\x7f~^:?*\[\\])|(@\{)|(/\.)|(\.lock(/|$))|(//)|([/.]$)"
)


def check_ref_name(name: str, *, what: str = "branch name") -> str:
    """Validate like ``git check-ref-format --branch`` without spawning git.

    Stricter in one case: ``@`` (a valid branch name to git) is refused, since as a
    revision it means ``HEAD``.
    """
    if not name or name in ("@", "HEAD") or _BAD_REF.search(name):
        raise ValueError(f"invalid {what}: {name!r}")
    return name


_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_id(value: str, *, what: str) -> str:
    """Ids end up in ref names and paths: letters, digits, ``_ . -``; not leading ``-``/``.``,
    not ending in ``.`` or ``.lock``."""
    if (
        not isinstance(value, str)
        or not _ID.fullmatch(value)
        or ".." in value
        or value.endswith((".", ".lock"))  # not valid as the last component of a ref name
    ):
        raise ValueError(f"invalid {what}: {value!r}")
    return value


def contained(path: Path | str, root: Path | str) -> Path:
    """``realpath(path)``, which must lie inside ``realpath(root)``; else ValueError."""
    real = Path(os.path.realpath(path))
    base = Path(os.path.realpath(root))
    if real != base and base not in real.parents:
        raise ValueError(f"path {str(path)!r} is outside {str(base)!r}")
    return real
