"""What changed between two commits: files with their status and line counts, the commits.

One ``git diff-tree -r -M --raw --numstat -z`` gives every file (status, modes, blobs,
renames) and its line counts; one ``git log`` lists the commits; the unified patch, when
asked for, is one more ``diff-tree -p``. Nothing here touches a worktree or an index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from treelane.engine import git

ZERO = "0" * 40
MAX_COMMITS = 1000


class FileChange(NamedTuple):
    path: str
    status: str  # A added, M modified, D deleted, R renamed, T type changed (file/symlink/...)
    additions: int
    deletions: int
    binary: bool
    old_path: str | None = None  # renames only
    old_blob: str | None = None  # absent for an added file
    new_blob: str | None = None  # absent for a deleted file
    old_mode: str | None = None
    new_mode: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "path": self.path,
            "status": self.status,
            "additions": self.additions,
            "deletions": self.deletions,
            "binary": self.binary,
        }
        for key in ("old_path", "old_blob", "new_blob", "old_mode", "new_mode"):
            value = getattr(self, key)
            if value is not None:
                d[key] = value
        return d


class CommitInfo(NamedTuple):
    commit: str
    parents: list[str]
    subject: str
    author: str
    time: str  # ISO-8601 author date

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


class Diff(NamedTuple):
    base: str
    head: str
    files: list[FileChange]
    commits: list[CommitInfo]
    patch: str | None = None

    @property
    def additions(self) -> int:
        return sum(f.additions for f in self.files)

    @property
    def deletions(self) -> int:
        return sum(f.deletions for f in self.files)

    def summary(self) -> str:
        """``3 files, +12 −4`` (the figure the merge preview and the editors show)."""
        n = len(self.files)
        return f"{n} file{'s' if n != 1 else ''}, +{self.additions} \u2212{self.deletions}"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "base": self.base,
            "head": self.head,
            "files": [f.to_dict() for f in self.files],
            "commits": [c.to_dict() for c in self.commits],
            "additions": self.additions,
            "deletions": self.deletions,
        }
        if self.patch is not None:
            d["patch"] = self.patch
        return d


def files(repo: Path, base: str, head: str) -> list[FileChange]:
    """The files that differ between the trees of ``base`` and ``head`` (commits or trees)."""
    raw = git.out(
        ["diff-tree", "-r", "-M", "--raw", "--numstat", "-z", "--no-commit-id", base, head, "--"],
        repo,
    )
    return parse(raw)


def commits(repo: Path, base: str, head: str) -> list[CommitInfo]:
    """Commits reachable from ``head`` and not from ``base``, newest first (at most 1000)."""
    out = git.out(
        [
            "log",
            f"--max-count={MAX_COMMITS}",
            "--format=%H%x1f%P%x1f%an%x1f%aI%x1f%s%x1e",
            "--end-of-options",
            head,
            f"^{base}",
            "--",
        ],
        repo,
    )
    result = []
    for record in out.split("\x1e"):
        fields = record.strip("\n").split("\x1f")
        if len(fields) == 5:
            sha, parents, author, when, subject = fields
            result.append(CommitInfo(sha, parents.split(), subject, author, when))
    return result


def patch(repo: Path, base: str, head: str, paths: list[str] | None = None) -> str:
    """Unified diff text (git's own, with rename headers and ``Binary files ... differ``)."""
    args = ["diff-tree", "-r", "-M", "-p", "--no-color", "--no-commit-id", base, head, "--"]
    return git.run([*args, *(paths or [])], repo).stdout


def compare(repo: Path, base: str, head: str, *, with_patch: bool = False) -> Diff:
    """Files and commits from ``base`` to ``head`` (and the patch, if asked for)."""
    changed = files(repo, base, head)
    listed = commits(repo, base, head)
    text = patch(repo, base, head) if with_patch else None
    return Diff(base, head, changed, listed, text)


def parse(raw: str) -> list[FileChange]:
    """Parse ``diff-tree --raw --numstat -z``: raw records, then numstat records."""
    fields = raw.split("\0")
    changes: list[dict[str, Any]] = []
    i = 0
    # Raw records: ":old_mode new_mode old_sha new_sha STATUS[score]" NUL path [NUL path2].
    while i < len(fields) and fields[i].startswith(":"):
        meta = fields[i][1:].split(" ")
        old_mode, new_mode, old_sha, new_sha, status = meta[:5]
        letter = status[0]
        if letter in "RC":
            old_path, path = fields[i + 1], fields[i + 2]
            i += 3
        else:
            old_path, path = None, fields[i + 1]
            i += 2
        if letter == "C":  # copies are not asked for (-C); treat one as an addition
            letter, old_path = "A", None
        changes.append(
            {
                "path": path,
                "status": letter if letter in "AMDRT" else "M",
                "old_path": old_path,
                "old_blob": None if old_sha == ZERO else old_sha,
                "new_blob": None if new_sha == ZERO else new_sha,
                "old_mode": None if old_mode == "000000" else old_mode,
                "new_mode": None if new_mode == "000000" else new_mode,
            }
        )
    # Numstat records: "add TAB del TAB path" or, for a rename, "add TAB del TAB" NUL old NUL new.
    counts: list[tuple[int, int, bool]] = []
    while i < len(fields):
        rec = fields[i]
        if not rec:
            i += 1
            continue
        add, dele, rest = rec.split("\t", 2)
        i += 1 if rest else 3
        binary = add == "-"
        counts.append((0 if binary else int(add), 0 if binary else int(dele), binary))
    result = []
    for n, c in enumerate(changes):
        plus, minus, binary = counts[n] if n < len(counts) else (0, 0, False)
        result.append(FileChange(additions=plus, deletions=minus, binary=binary, **c))
    return result
