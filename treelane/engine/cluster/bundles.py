"""Git bundles: the only way objects cross between the coordinator and a worker."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

from treelane.engine import git

SEND_REFS = "refs/treelane/send"
_SENDING = threading.Lock()  # one send ref per commit: bundles made one at a time


class MissingObjects(Exception):
    """The receiving repository lacks a bundle's prerequisites (send the whole history)."""


def has_commit(repo: Path, commit: str) -> bool:
    return git.run(["cat-file", "-e", f"{commit}^{{commit}}"], repo, check=False).returncode == 0


def create(repo: Path, commit: str, have: Iterable[str] = ()) -> bytes | None:
    """A bundle of ``commit`` minus what ``have`` reaches (None: ``have`` reaches it already).

    The bundle holds one ref, ``refs/treelane/send/<commit>``.
    """
    for h in have:
        if git.run(["merge-base", "--is-ancestor", commit, h], repo, check=False).returncode == 0:
            return None
    ref = f"{SEND_REFS}/{commit}"
    fd, name = tempfile.mkstemp(prefix="treelane-", suffix=".bundle")
    os.close(fd)
    try:
        with _SENDING:
            git.update_ref(repo, ref, commit)
            try:
                git.out(["bundle", "create", "-q", name, ref, *(f"^{h}" for h in have)], repo)
            finally:
                git.run(["update-ref", "-d", ref], repo, check=False)
        return Path(name).read_bytes()
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def fetch(repo: Path, data: bytes, commit: str, into: str) -> None:
    """Fetch ``commit`` from bundle ``data`` into ref ``into`` (MissingObjects if it cannot)."""
    fd, name = tempfile.mkstemp(prefix="treelane-", suffix=".bundle")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if git.run(["bundle", "verify", "-q", name], repo, check=False).returncode != 0:
            raise MissingObjects(f"bundle of {commit[:12]} needs objects this repository lacks")
        tmp = f"refs/treelane/incoming/{secrets.token_hex(6)}"
        git.out(["fetch", "-q", "--no-tags", name, f"{SEND_REFS}/{commit}:{tmp}"], repo)
        got = git.out(["rev-parse", tmp], repo)
        git.run(["update-ref", "-d", tmp], repo, check=False)
        if got != commit:
            raise MissingObjects(f"bundle carried {got[:12]}, not {commit[:12]}")
        git.update_ref(repo, into, commit)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)
