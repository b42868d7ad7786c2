"""What the benchmark scripts share: git without the user's configuration, and a generated
repository of many small files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ENV = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(*args: str, cwd: Path) -> str:
    res = subprocess.run(["git", *args], cwd=cwd, env=ENV, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {res.stderr}")
    return res.stdout.strip()


def make_repo(path: Path, files: int) -> Path:
    """``files`` files of about 100 bytes in folders of 200, one commit on ``main``."""
    path.mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=path)
    git("config", "user.name", "Bench", cwd=path)
    git("config", "user.email", "bench@example.com", cwd=path)
    (path / "README.md").write_text("bench\n")
    for i in range(files):
        d = path / "src" / f"d{i // 200:04d}"
        if i % 200 == 0:
            d.mkdir(parents=True)
        (d / f"f{i:06d}.txt").write_text(f"file {i}\n" * 12)
    git("add", "-A", cwd=path)
    git("commit", "-q", "-m", "init", cwd=path)
    return path
