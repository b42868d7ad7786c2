"""The recipes in examples/, run as a user runs them: the real CLI, real repositories.

No agent credentials exist here, so stand-ins named claude, codex and aider are put
first on the PATH (tests/examples/standin.py); the recipes and prompts themselves are
used unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import repokit

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
STANDIN = Path(__file__).with_name("standin.py")

CALC = "def add(a, b):\n    return a + b\n"
TESTS = (
    "import sys\nsys.path.insert(0, 'src')\nimport calc\n\n"
    "def test_add():\n    assert calc.add(2, 3) == 5\n\n"
    "def test_sub():\n    assert calc.sub(5, 3) == 2\n\n"
    "def test_mul():\n    assert calc.mul(2, 3) == 6\n"
)


def project(root: Path, recipe: str) -> Path:
    repo = repokit.make_repo(root / "repo", (EXAMPLES / recipe / "treelane.toml").read_text())
    shutil.copytree(EXAMPLES / "prompts", repo / "prompts")
    (repo / "src").mkdir()
    (repo / "src" / "calc.py").write_text(CALC)
    (repo / "tests").mkdir()
    (repo / "tests" / "test_calc.py").write_text(TESTS)
    (repo / "REQUEST.md").write_text("Add sub and mul to calc.\n")
    repokit.git("add", "-A", cwd=repo)
    repokit.git("commit", "-q", "-m", "project", cwd=repo)
    return repo


def env_with_standins(tmp: Path) -> dict[str, str]:
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    for tool in ("claude", "codex", "aider"):
        launcher = bin_dir / tool
        launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STANDIN}" {tool} "$@"\n')
        launcher.chmod(0o755)
    # python3 in the tasks is this interpreter (it has pytest, for score_tests.py).
    (bin_dir / "python3").symlink_to(sys.executable)
    path = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, "STANDIN_LOG": str(tmp / "standin.log")}


def treelane(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "treelane", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def run_id_of(stdout: str) -> str:
    for line in stdout.splitlines():
        data = json.loads(line)
        params = data.get("params", data)
        if isinstance(params, dict) and isinstance(params.get("run"), str):
            return params["run"]
    raise AssertionError(f"no run id in {stdout!r}")


def files(repo: Path, commit: str) -> set[str]:
    out = repokit.git("ls-tree", "-r", "--name-only", commit, cwd=repo)
    return set((out or "").split())


@pytest.mark.parametrize("recipe", ["claude-code", "codex", "aider"])
def test_feature_recipe_scouts_plans_builds_parts_and_tests_reviews_documents(
    recipe: str, tmp_path: Path
) -> None:
    repo = project(tmp_path, recipe)
    env = env_with_standins(tmp_path)
    done = treelane(env, repo, "run", "feature", "--json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    run = run_id_of(done.stdout)
    status = json.loads(treelane(env, repo, "status", run, "--json").stdout)["runs"][0]
    states = {t["name"]: t["state"] for t in status["tasks"]}
    assert set(states.values()) == {"succeeded"}, states
    # Build and test added one task per part of PLAN.md, as children of their spawner.
    by_name = {t["name"]: t for t in status["tasks"]}
    for spawner in ("build", "test"):
        kids = sorted(n for n, t in by_name.items() if t.get("parent") == spawner)
        assert kids == [f"{spawner}.mul", f"{spawner}.sub"]
    assert len([t for t in status["tasks"] if t.get("group") == "scout"]) == 6
    result = files(repo, status["result"])
    assert {
        f"notes/scout-{a}.md"
        for a in (
            "implementation",
            "tests",
            "configuration",
            "architecture",
            "dependencies",
            "documentation",
        )
    } <= result
    assert {
        "PLAN.md",
        "src/calc_sub.py",
        "src/calc_mul.py",
        "REVIEW.md",
        "CHANGELOG.md",
        "tests/test_sub_extra.py",
        "tests/test_mul_extra.py",
    } <= result
    # The plan saw every scout's notes (phases pass context as files of the result).
    plan = repokit.git("show", f"{status['result']}:PLAN.md", cwd=repo)
    assert "scout-tests.md" in (plan or "")
    # What each agent process saw: no TTY, an empty stdin, its worktree.
    calls = [json.loads(line) for line in (tmp_path / "standin.log").read_text().splitlines()]
    tool = {"claude-code": "claude"}.get(recipe, recipe)
    assert calls and {c["tool"] for c in calls} == {tool}
    assert not any(c["stdin_tty"] or c["stdout_tty"] for c in calls)
    assert all(c["stdin"] == "" and c["cwd_is_worktree"] for c in calls)
    assert len(calls) == 6 + 1 + 2 + 2 + 1 + 1


@pytest.mark.parametrize("recipe", ["claude-code", "aider"])
def test_best_of_3_recipe_keeps_the_candidate_passing_most_tests(
    recipe: str, tmp_path: Path
) -> None:
    repo = project(tmp_path, recipe)
    env = env_with_standins(tmp_path)
    done = treelane(env, repo, "run", "best-of-3", "--json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    run = run_id_of(done.stdout)
    status = json.loads(treelane(env, repo, "status", run, "--json").stdout)["runs"][0]
    node = next(t for t in status["tasks"] if t["name"] == "implement")
    assert node["picked"] == "implement[candidate=2]"
    assert [c["score"] for c in node["candidates"]] == [1.0, 3.0, 2.0]
    code = repokit.git("show", f"{status['result']}:src/calc.py", cwd=repo)
    assert "def mul" in code and "def sub" in code
