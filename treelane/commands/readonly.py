"""A read-only context: the repository's store and workspace, without an engine.

The read-only commands (``treelane.status``, ``worktrees``, ``output``, ``report``,
``trace``, ``checkpoints``) run on it in the CLI's own process: it starts no thread,
takes no lease, repairs nothing (runs of a dead owner are *shown* as interrupted, not
marked), never creates the database, and imports no git library, psutil or sqlite-utils.
A database of another schema version is not read here: :class:`SchemaMismatch` tells
the caller to go through the server, which migrates it.
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from treelane.commands import repofind
from treelane.commands.context import Context
from treelane.engine.queries import Reader, last_sample, mb, pending
from treelane.errors import RequestFailed

if TYPE_CHECKING:
    import subprocess

CONFIG_FILE = "treelane.toml"
INCLUDE_FILE = "treelane-include"  # = treelane.engine.snapshot.INCLUDE_FILE (tested)
_GIT_ENV = {"GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}
FRESH_SAMPLE_S = 5.0  # a live engine samples about once a second while tasks run


class SchemaMismatch(Exception):
    """The state database has another schema version than this treelane reads directly."""


class Repo(NamedTuple):
    root: Path  # the main worktree
    common_dir: Path  # the shared .git directory


class Settings(NamedTuple):
    pool_size: int = 4
    max_parallel: int | str = "auto"
    memory_per_task_mb: int = 500


def git(args: list[str], cwd: Path, input: str | None = None) -> subprocess.CompletedProcess[str]:
    import subprocess  # here: `treelane status` never needs it

    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **_GIT_ENV},
    )


def discover(path: Path) -> Repo:
    """The repository containing ``path`` (its main worktree even from a linked one)."""
    found = repofind.find(str(path))
    if found is not None:
        return Repo(Path(found[0]), Path(found[1]))
    try:
        proc = git(
            ["rev-parse", "--path-format=absolute", "--git-common-dir", "--show-toplevel"], path
        )
    except FileNotFoundError:
        raise RequestFailed("git is not installed (treelane needs git on the PATH)") from None
    lines = proc.stdout.splitlines()
    if proc.returncode != 0 or len(lines) < 2:
        raise RequestFailed(f"{path} is not inside a git repository")
    common = Path(os.path.realpath(lines[0]))
    top = common.parent if common.name == ".git" else Path(lines[1])
    return Repo(Path(os.path.realpath(top)), common)


class _Empty:
    """The store of a repository where treelane never ran: no rows anywhere."""

    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        return []

    def one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        return None

    def tuples(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        return []


class _Connection:
    """One plain sqlite3 connection to an existing database; it only reads."""

    def __init__(self, path: Path, schema_version: int) -> None:
        self.conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=30)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA query_only = ON")
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'")
            got = row.fetchone()
        except sqlite3.OperationalError:
            got = None
        if got is None or int(got[0]) != schema_version:
            self.conn.close()
            raise SchemaMismatch(f"{path}: schema {got[0] if got else 'none'}")

    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(sql, params).fetchall()]

    def one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        row = self.conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def tuples(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        """Rows as plain tuples (for many rows: no dict per row)."""
        cur = self.conn.cursor()
        cur.row_factory = None
        return cur.execute(sql, params).fetchall()

    def close(self) -> None:
        self.conn.close()


def open_reader(common_dir: Path) -> Reader:
    from treelane.storage.schema import SCHEMA_VERSION

    db = common_dir / "treelane" / "state.db"
    if not db.exists():
        return _Empty()
    return _Connection(db, SCHEMA_VERSION)


def _toml(root: Path) -> dict[str, Any]:
    """All of treelane.toml ({} when it is missing or not TOML)."""
    try:
        text = (root / CONFIG_FILE).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    return _loads(text)


def read_workflows(root: Path) -> dict[str, list[str]]:
    """Workflow names and their task names as treelane.toml spells them (no validation:
    for completion; commands that run workflows use the full parser)."""
    wfs = _toml(root).get("workflows")
    if not isinstance(wfs, dict):
        return {}
    out = {}
    for name, wf in wfs.items():
        tasks = wf.get("tasks") if isinstance(wf, dict) else None
        out[name] = list(tasks) if isinstance(tasks, dict) else []
    return out


# A [settings] header, and a line that could define settings some other way (a dotted or
# inline key at the top level, or a key of that name in another table).
_SETTINGS_HEADER = re.compile(
    r"""^[ \t]*\[[ \t]*(settings|"settings"|'settings')[ \t]*\][ \t]*(#.*)?\r?$""", re.M
)
_SUBTABLE = re.compile(r"""^[ \t]*\[\[?[ \t]*["']?settings["']?[ \t]*\.""", re.M)
_TABLE_HEADER = re.compile(r"^[ \t]*\[", re.M)
_OTHER_SETTINGS = re.compile(r"""^[ \t]*["']?settings["']?[ \t]*[.=]""", re.M)
_settings_of: dict[tuple[Path, int, int], dict[str, Any]] = {}  # by file, mtime and size


def _settings_table(root: Path) -> dict[str, Any]:
    """``[settings]`` of treelane.toml, parsing only that table when it is spelled the
    usual way (a workflow file of 10,000 tasks takes the TOML parser a second)."""
    try:
        with open(root / CONFIG_FILE, "rb") as f:
            st = os.fstat(f.fileno())
            key = (root, st.st_mtime_ns, st.st_size)
            got = _settings_of.get(key)
            if got is not None:
                return got
            text = f.read().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return {}  # no file, or not TOML at all: the defaults
    table: Any = None
    if not _OTHER_SETTINGS.search(text) and not _SUBTABLE.search(text):
        head = _SETTINGS_HEADER.search(text)
        if head is None:
            table = {}
        else:
            nxt = _TABLE_HEADER.search(text, head.end())
            part = text[head.start() : nxt.start() if nxt else len(text)]
            table = _simple_table(part)
            if table is None:
                table = _loads(part).get("settings")  # None when the part alone is not TOML
    if table is None:
        table = _loads(text).get("settings", {})  # the whole file, read once above
    got = _settings_of[key] = table if isinstance(table, dict) else {}
    return got


_SIMPLE_LINE = re.compile(
    r"[ \t]*(?:([A-Za-z0-9_-]+)[ \t]*=[ \t]*"  # a bare key, then one of:
    r"""(?:(-?[0-9]+)|"([^"\\\x00-\x1f]*)"|'([^'\x00-\x1f]*)'|(true|false))[ \t]*)?"""
    r"(?:#[^\x00-\x08\x0a-\x1f\x7f]*)?\r?"  # a comment
)


def _simple_table(part: str) -> dict[str, Any] | None:
    """The ``[settings]`` table (``part`` starts at its header) when each of its lines is
    ``key = int | "string" | 'string' | true | false`` (with comments and blank lines);
    None: the TOML parser must read it."""
    lines = part.split("\n")
    table: dict[str, Any] = {}
    for line in lines[1:]:
        m = _SIMPLE_LINE.fullmatch(line)
        if m is None:
            return None
        key, num, basic, literal, boolean = m.groups()
        if key is None:
            continue
        digits = (num or "").lstrip("-")
        if key in table or (len(digits) > 1 and digits[0] == "0"):
            return None  # a repeated key or a leading zero: the parser says what is wrong
        if num is not None:
            table[key] = int(num)
        elif boolean is not None:
            table[key] = boolean == "true"
        else:
            table[key] = basic if basic is not None else literal
    return table


def _loads(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except ValueError:
        return {}


def read_settings(root: Path) -> Settings:
    """``[settings]`` of treelane.toml as far as readers need it (defaults when unreadable:
    a broken file is reported by the commands that need workflows, not by ``status``)."""
    data = _settings_table(root)
    d = Settings()
    size, mp, mem = (data.get(k, getattr(d, k)) for k in Settings._fields)
    return Settings(
        size if isinstance(size, int) and not isinstance(size, bool) else d.pool_size,
        mp if isinstance(mp, (int, str)) and not isinstance(mp, bool) else d.max_parallel,
        mem if isinstance(mem, int) and not isinstance(mem, bool) else d.memory_per_task_mb,
    )


DASK_ENV = "TREELANE_DASK_SCHEDULER"  # as treelane.engine.backends reads it


def read_scheduler(root: Path) -> str:
    """The Dask scheduler's address (``TREELANE_DASK_SCHEDULER``, else ``dask_scheduler``
    when ``executor = "dask"``), '' for local; what ``treelane.engine.backends`` chooses."""
    env = os.environ.get(DASK_ENV, "").strip()
    if env:
        return env
    data = _settings_table(root)
    if data.get("executor") != "dask":
        return ""
    addr = data.get("dask_scheduler", "")
    return addr.strip() if isinstance(addr, str) else ""


def _memory_available_mb() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


_STATUS = ["status", "--porcelain=v2", "--branch", "-z", "--untracked-files=normal"]
_AT_ONCE = 8  # git status processes at a time (one worktree each)


def heads_and_dirty(paths: list[Path]) -> dict[Path, tuple[str | None, str | None, bool]]:
    """(HEAD commit, branch, dirty) of each worktree from its ``git status``, run side by
    side (a pool of 8 worktrees answers in the time of about one)."""
    import subprocess

    out: dict[Path, tuple[str | None, str | None, bool]] = {}
    env = {**os.environ, **_GIT_ENV}
    for start in range(0, len(paths), _AT_ONCE):
        procs = []
        for path in paths[start : start + _AT_ONCE]:
            try:
                proc = subprocess.Popen(
                    ["git", *_STATUS],
                    cwd=path,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=env,
                )
            except OSError:
                out[path] = (None, None, True)
                continue
            procs.append((path, proc))
        for path, proc in procs:
            stdout, _ = proc.communicate()
            text = stdout.decode("utf-8", "replace")
            out[path] = _parse_status(text) if proc.returncode == 0 else (None, None, True)
    return out


def _parse_status(text: str) -> tuple[str | None, str | None, bool]:
    head = branch = None
    dirty = False
    for rec in text.split("\0"):
        if rec.startswith("# branch.oid "):
            oid = rec[len("# branch.oid ") :]
            head = None if oid == "(initial)" else oid
        elif rec.startswith("# branch.head "):
            name = rec[len("# branch.head ") :]
            branch = None if name == "(detached)" else name
        elif rec and not rec.startswith("#"):
            dirty = True
    return head, branch, dirty


class LightView:
    """What the read-only commands read, from the store and git alone."""

    def __init__(self, repo: Repo) -> None:
        self.root = repo.root
        self.db = open_reader(repo.common_dir)
        self.settings = read_settings(repo.root)

    def pool_size(self) -> int:
        return self.settings.pool_size

    def limit(self) -> int:
        """The concurrency limit: ``max_parallel``, or for ``auto`` what a live engine last
        sampled, else what ``auto`` would choose now (CPUs and available memory)."""
        mp = self.settings.max_parallel
        if isinstance(mp, int):
            return mp
        sample = last_sample(self.db, time.time() - FRESH_SAMPLE_S)
        if sample is not None and isinstance(sample.get("concurrency", {}).get("limit"), int):
            return int(sample["concurrency"]["limit"])
        cpus = os.cpu_count() or 1
        avail = _memory_available_mb()
        if avail is None:
            return cpus
        return max(1, min(cpus, int(avail * 0.8 // max(1, self.settings.memory_per_task_mb))))

    def scheduler(self) -> str:
        """The Dask scheduler's address the workspace is set to use ('' for local)."""
        return read_scheduler(self.root)

    def worktree_paths(self) -> dict[str, Path]:
        rows = self.db.query("SELECT id, path FROM worktrees ORDER BY created")
        return {r["id"]: Path(r["path"]) for r in rows}

    def worktrees(self) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT * FROM worktrees ORDER BY created")
        present = [Path(r["path"]) for r in rows if Path(r["path"]).is_dir()]
        status = heads_and_dirty([self.root, *present])
        head, branch, dirty = status[self.root]
        main = {
            "id": "main",
            "path": str(self.root),
            "commit": head,
            "state": "idle",
            "dirty": dirty,
            "run": None,
            "task": None,
            "branch": branch,
            "drift": None,
            "pending": pending(self.db, "main", str(self.root)),
            "disk_mb": None,
        }
        managed = []
        for row in rows:
            path = Path(row["path"])
            drift = row["drift"]
            wt_head: str | None = None
            wt_dirty = False
            if path in status:
                wt_head, _, wt_dirty = status[path]
                if row["state"] == "idle" and not row["needs_reset"] and not drift:
                    wt_dirty = wt_dirty and not _only_included(path)
                    if wt_head != row["commit_sha"]:
                        drift = "HEAD moved outside treelane"
                    elif wt_dirty:
                        drift = "files changed outside treelane"
                else:
                    wt_dirty = wt_dirty and not _only_included(path)
            else:
                drift = "folder is missing"
            managed.append(
                {
                    "id": row["id"],
                    "path": str(path),
                    "commit": wt_head,
                    "state": row["state"],
                    "dirty": wt_dirty,
                    "run": row["run"],
                    "task": row["task"],
                    "branch": None,
                    "drift": drift,
                    "pending": pending(self.db, row["id"], str(path)),
                    "disk_mb": mb(row.get("disk_bytes")),
                }
            )
        return [main, *managed]


def _only_included(path: Path) -> bool:
    """Are a dirty worktree's changes only paths that ``include`` brought in? (Then ask
    git again leaving them out, as the pool does.)"""
    try:
        first = (path / ".git").read_text().split("\n", 1)[0]
        gdir = Path(first[len("gitdir: ") :].strip()) if first.startswith("gitdir: ") else None
        included = [p for p in (gdir / INCLUDE_FILE).read_text().splitlines() if p] if gdir else []
    except (OSError, UnicodeDecodeError):
        return False
    if not included:
        return False
    spec = ["--", ":/", *(f":(exclude,top,literal){p}" for p in included)]
    proc = git(["status", "--porcelain", "--untracked-files=normal", *spec], path)
    return proc.returncode == 0 and not proc.stdout.strip()


class ReadContext(Context):
    """A :class:`Context` for the read-only commands only: :meth:`engine` is refused."""

    def __init__(self, repo: Repo) -> None:
        super().__init__(repo.root)
        self._view = LightView(repo)

    def read_view(self) -> LightView:
        return self._view

    def engine(self) -> Any:
        raise RuntimeError("a read-only context has no engine (this command acts: use a server)")

    def close(self) -> None:
        close = getattr(self._view.db, "close", None)
        if close is not None:
            close()
