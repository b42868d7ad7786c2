"""Cache benchmark: which tasks of a CI workflow re-run after an edit, with and without ``inputs``.

A real small Python project is generated (a package under ``src/``, eight pytest files,
``pyproject.toml``, a README and a docs checker) with an 8-task CI workflow: 4 pytest
shards, ruff, a wheel (a PEP 427 zip built by ``tools/build_wheel.py``, ``outputs =
["dist/**"]``), a check of that wheel (it reads ``dist/`` restored from the wheel task)
and a docs check.
The same workflow runs twice over the same history of commits:

* *whole tree*: no ``inputs`` (the key is the whole input tree, treelane's default);
* *inputs*: each task's ``inputs`` globs.

After a first (cold) run, each edit is committed and the workflow run again: a test file,
a source file, the README. The table lists the tasks that ran (not ``cached``), beside
what Turborepo's documented rules give for the same ``inputs``: a task's hash covers the
files its ``inputs`` globs match and the hashes of the tasks it ``dependsOn``, so it re-runs
when a matching file changed or a task it depends on re-ran. A last run with
``--no-cache`` (``cache = false`` on ``treelane.start``) re-runs everything.

Usage: ``python benchmarks/bench_cache.py [--json PATH]`` (default JSON:
``benchmarks/results/cache.json``). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchkit import git  # noqa: E402

from treelane.engine.core import Engine  # noqa: E402
from treelane.engine.events import Event, RunFinished  # noqa: E402
from treelane.engine.workflow import parse_config  # noqa: E402

DEFAULT_JSON = ROOT / "benchmarks" / "results" / "cache.json"
PY = sys.executable

SOURCES = {
    "src/mini/__init__.py": '"""mini: small text and number helpers."""\n',
    "src/mini/text.py": (
        "def slug(s: str) -> str:\n"
        "    return '-'.join(w.lower() for w in s.split())\n\n\n"
        "def title(s: str) -> str:\n"
        "    return ' '.join(w.capitalize() for w in s.split())\n"
    ),
    "src/mini/numbers.py": (
        "def mean(xs: list[float]) -> float:\n"
        "    return sum(xs) / len(xs)\n\n\n"
        "def clamp(x: float, lo: float, hi: float) -> float:\n"
        "    return max(lo, min(hi, x))\n"
    ),
}
TESTS = {
    f"tests/test_{i}.py": (
        "from mini.numbers import clamp, mean\nfrom mini.text import slug, title\n\n\n"
        f"def test_{i}() -> None:\n"
        f"    assert slug('A b {i}') == 'a-b-{i}'\n"
        f"    assert title('a b') == 'A B'\n"
        f"    assert mean([{i}, {i}]) == {i}\n"
        f"    assert clamp({i}, 0, 3) == min({i}, 3)\n"
    )
    for i in range(1, 9)
}
OTHER = {
    "pyproject.toml": (
        '[project]\nname = "mini"\nversion = "1.0"\nreadme = "README.md"\n\n'
        '[tool.ruff]\nline-length = 100\n\n[tool.pytest.ini_options]\npythonpath = ["src"]\n'
    ),
    "README.md": "# mini\n\nFunctions: `slug`, `title`, `mean`, `clamp`.\n",
    ".gitignore": "dist/\nbuild/\n*.egg-info/\n__pycache__/\n.pytest_cache/\n.ruff_cache/\n",
    "tools/check_docs.py": (
        "import pathlib, re, sys\n"
        "names = re.findall(r'^def (\\w+)', ''.join(p.read_text() for p in "
        "pathlib.Path('src').rglob('*.py')), re.M)\n"
        "readme = pathlib.Path('README.md').read_text()\n"
        "missing = [n for n in names if not n.startswith('_') and f'`{n}`' not in readme]\n"
        "print('documented:', len(names) - len(missing), 'of', len(names))\n"
        "sys.exit(1 if missing else 0)\n"
    ),
    "tools/build_wheel.py": (
        "import base64, hashlib, pathlib, tomllib, zipfile\n"
        "meta = tomllib.loads(pathlib.Path('pyproject.toml').read_text())['project']\n"
        "name, version = meta['name'], meta['version']\n"
        "info = f'{name}-{version}.dist-info'\n"
        "files = {p.relative_to('src').as_posix(): p.read_bytes() "
        "for p in sorted(pathlib.Path('src').rglob('*.py'))}\n"
        "files[f'{info}/METADATA'] = (f'Metadata-Version: 2.1\\nName: {name}\\n'\n"
        "    f'Version: {version}\\n\\n' + pathlib.Path('README.md').read_text()).encode()\n"
        "files[f'{info}/WHEEL'] = b'Wheel-Version: 1.0\\nGenerator: mini\\n"
        "Root-Is-Purelib: true\\nTag: py3-none-any\\n'\n"
        "def digest(b):\n"
        "    return base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b'=').decode()\n"
        "record = ''.join(f'{k},sha256={digest(v)},{len(v)}\\n' for k, v in files.items())\n"
        "files[f'{info}/RECORD'] = (record + f'{info}/RECORD,,\\n').encode()\n"
        "pathlib.Path('dist').mkdir(exist_ok=True)\n"
        "out = pathlib.Path('dist') / f'{name}-{version}-py3-none-any.whl'\n"
        "with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:\n"
        "    for k, v in files.items():\n"
        "        z.writestr(k, v)\n"
        "print(out, len(files), 'files')\n"
    ),
    "tools/check_wheel.py": (
        "import pathlib, sys, zipfile\n"
        "wheels = sorted(pathlib.Path('dist').glob('*.whl'))\n"
        "assert wheels, 'no wheel in dist/'\n"
        "names = zipfile.ZipFile(wheels[0]).namelist()\n"
        "assert 'mini/text.py' in names, names\n"
        "meta = zipfile.ZipFile(wheels[0]).read('mini-1.0.dist-info/METADATA').decode()\n"
        "assert 'Name: mini' in meta, meta\n"
        "print(wheels[0].name, len(names), 'files')\n"
    ),
}

SRC = ["src/**", "tests/**", "pyproject.toml"]
TASKS: dict[str, dict[str, Any]] = {
    **{
        f"test-{k}": {
            "run": f"{PY} -m pytest -q -p no:cacheprovider "
            + " ".join(f"tests/test_{i}.py" for i in (2 * k - 1, 2 * k)),
            "inputs": SRC,
            "env": {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        }
        for k in range(1, 5)
    },
    "lint": {"run": f"{PY} -m ruff check --no-cache src tests", "inputs": SRC},
    "wheel": {
        "run": f"{PY} tools/build_wheel.py",
        "inputs": ["src/**", "pyproject.toml", "README.md", "tools/build_wheel.py"],
        "outputs": ["dist/**"],
    },
    "wheel-check": {
        "run": f"{PY} tools/check_wheel.py",
        "needs": ["wheel"],
        "inputs": ["tools/check_wheel.py"],
    },
    "docs": {"run": f"{PY} tools/check_docs.py", "inputs": ["README.md", "src/**", "tools/**"]},
}
EDITS = [
    ("a test file", "tests/test_3.py", "\n\ndef test_extra() -> None:\n    assert True\n"),
    ("a source file", "src/mini/text.py", "\n\ndef _trim(s: str) -> str:\n    return s.strip()\n"),
    ("the README", "README.md", "\nMore examples soon.\n"),
]


def make_project(path: Path) -> None:
    path.mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=path)
    git("config", "user.name", "Bench", cwd=path)
    git("config", "user.email", "bench@example.com", cwd=path)
    for rel, text in {**SOURCES, **TESTS, **OTHER}.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    git("add", "-A", cwd=path)
    git("commit", "-q", "-m", "mini 1.0", cwd=path)


def toml(with_inputs: bool) -> str:
    lines = ["[settings]", "max_parallel = 2", "pool_size = 2"]
    for name, body in TASKS.items():
        lines.append(f"[workflows.ci.tasks.{name}]")
        for key, value in body.items():
            if key == "inputs" and not with_inputs:
                continue
            if isinstance(value, dict):
                pairs = ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items())
                lines.append(f"{key} = {{ {pairs} }}")
            else:
                lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A doublestar glob (as Turborepo's inputs): ``**`` any folders, ``*`` within one."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + "$")


def turborepo_reruns(changed: str) -> list[str]:
    """Tasks Turborepo's documented hashing re-runs when ``changed`` is edited."""
    rerun: list[str] = []
    for name, body in TASKS.items():  # listed after their needs
        globs = body.get("inputs", ["**"])
        hit = any(glob_regex(g).match(changed) for g in globs if not g.startswith("!"))
        if hit or any(n in rerun for n in body.get("needs", [])):
            rerun.append(name)
    return rerun


class Runner:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.done: dict[str, str] = {}
        self.cond = threading.Condition()
        engine.subscribe(self._on)

    def _on(self, ev: Event) -> None:
        if isinstance(ev, RunFinished):
            with self.cond:
                self.done[ev.run] = ev.state
                self.cond.notify_all()

    def run(self, cache: bool = True) -> tuple[str, float, list[str]]:
        t0 = time.perf_counter()
        run = self.engine.start(self.engine.workflow("ci"), cache=cache).run
        with self.cond:
            self.cond.wait_for(lambda: run in self.done, 600)
        took = time.perf_counter() - t0
        rows = self.engine.store.query("SELECT name, state FROM tasks WHERE run = ?", (run,))
        if self.done[run] != "succeeded":
            raise RuntimeError(f"run {run} {self.done[run]}: {rows}")
        ran = [r["name"] for r in rows if r["state"] != "cached"]
        return run, took, sorted(ran, key=list(TASKS).index)


def measure(root: Path, with_inputs: bool) -> list[dict[str, Any]]:
    repo = root / ("inputs" if with_inputs else "whole")
    make_project(repo)
    engine = Engine(repo, config=parse_config(toml(with_inputs)), monitor_interval=1.0)
    rows = []
    try:
        r = Runner(engine)
        _, took, ran = r.run()
        rows.append({"edit": "first run (cold)", "seconds": took, "ran": ran})
        for label, rel, extra in EDITS:
            with (repo / rel).open("a") as f:
                f.write(extra)
            git("commit", "-q", "-am", f"edit {rel}", cwd=repo)
            _, took, ran = r.run()
            rows.append({"edit": label, "file": rel, "seconds": took, "ran": ran})
        _, took, ran = r.run(cache=False)
        rows.append({"edit": "none, --no-cache", "seconds": took, "ran": ran})
    finally:
        engine.close()
    return rows


def short(names: list[str]) -> str:
    if not names:
        return "none"
    if len(names) == len(TASKS):
        return f"all {len(names)}"
    shards = [n for n in names if n.startswith("test-")]
    rest = [n for n in names if not n.startswith("test-")]
    head = [f"{len(shards)} shards"] if len(shards) == 4 else shards
    return ", ".join(head + rest)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, default=DEFAULT_JSON)
    ap.add_argument("--dir", type=Path, default=None, help="where to make the projects")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="treelane-bench-cache-", dir=args.dir) as tmp:
        # Warm the tools' files into the page cache, so neither variant pays for it alone.
        for tool in (["-m", "pytest", "--version"], ["-m", "ruff", "--version"]):
            subprocess.run([PY, *tool], capture_output=True, check=False)
        whole = measure(Path(tmp), with_inputs=False)
        inputs = measure(Path(tmp), with_inputs=True)
    print("| edit | whole-tree key: ran | s | `inputs`: ran | s | Turborepo's rules: would run |")
    print("|---|---|---:|---|---:|---|")
    rows = []
    for w, i in zip(whole, inputs, strict=True):
        turbo = turborepo_reruns(i["file"]) if "file" in i else None
        if turbo is None:
            turbo = list(TASKS)
        same = "(same)" if turbo == i["ran"] else ""
        print(
            f"| {i['edit']} | {short(w['ran'])} | {w['seconds']:.2f} | {short(i['ran'])} "
            f"| {i['seconds']:.2f} | {short(turbo)} {same} |"
        )
        rows.append({"edit": i["edit"], "whole": w, "inputs": i, "turborepo": turbo})
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "tasks": list(TASKS),
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
