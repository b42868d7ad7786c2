"""Git bundles: the only way objects cross between the coordinator and a worker."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

from treelane.engine import git

SEND_REFS = "refs/treelane/send"
_SENDING: dict[str, threading.Lock] = {}  # one send ref per commit: one bundle of it at a time
_SENDING_LOCK = threading.Lock()


def _sending(commit: str) -> threading.Lock:
    with _SENDING_LOCK:  # (a lock per commit sent: small, and never given up while in use)
        return _SENDING.setdefault(commit, threading.Lock())


class MissingObjects(Exception):
    """The receiving repository lacks a bundle's prerequisites (send the whole history)."""


def has_commit(repo: Path, commit: str) -> bool:
    return git.run(["cat-file", "-e", f"{commit}^{{commit}}"], repo, check=False).returncode == 0


def create(repo: Path, commit: str, have: Iterable[str] = ()) -> bytes | None:
    """A bundle of ``commit`` minus what ``have`` reaches (None: ``have`` reaches it already).

    The bundle holds one ref, ``refs/treelane/send/<commit>``. Three git processes however
    many commits ``have`` names (one ``rev-list`` answers whether any of them reaches it).
    """
    have = list(have)
    if have:
        missing = git.out(["rev-list", "-n", "1", commit, "--not", *have], repo)
        if not missing:
            return None
    ref = f"{SEND_REFS}/{commit}"
    fd, name = tempfile.mkstemp(prefix="treelane-", suffix=".bundle")
    os.close(fd)
    try:
        with _sending(commit):
            git.update_ref(repo, ref, commit)
            try:
                git.out(["bundle", "create", "-q", name, ref, *(f"^{h}" for h in have)], repo)
            finally:
                git.run(["update-ref", "-d", ref], repo, check=False)
        return Path(name).read_bytes()
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def fetch(repo: Path, data: bytes, commit: str, into: str, *, verify: bool = True) -> None:
    """Fetch ``commit`` from bundle ``data`` into ref ``into`` (MissingObjects if it cannot).

    ``verify=False`` when the prerequisites are known to be here (a result bundle on the
    coordinator, which holds its input): one process fewer.
    """
    fd, name = tempfile.mkstemp(prefix="treelane-", suffix=".bundle")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if verify and git.run(["bundle", "verify", "-q", name], repo, check=False).returncode:
            raise MissingObjects(f"bundle of {commit[:12]} needs objects this repository lacks")
        git.out(["fetch", "-q", "--no-tags", name, f"+{SEND_REFS}/{commit}:{into}"], repo)
        got = git.out(["rev-parse", into], repo)
        if got != commit:
            git.run(["update-ref", "-d", into], repo, check=False)
            raise MissingObjects(f"bundle carried {got[:12]}, not {commit[:12]}")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)
