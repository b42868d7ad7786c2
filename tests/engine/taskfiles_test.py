"""Per-task ``inputs`` (what the cache key reads), ``outputs`` (ignored files passed on) and
runs without cache reads, through real runs on real repositories.

Every command appends its task name to a side-effect file outside the repository, so
which tasks ran is counted, not inferred.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from enginekit import config, engines_fixture, run, run_state, task_states

from treelane.engine import filesets
from treelane.engine import git as g
from treelane.engine.taskfiles import OUTPUT_RUN_REFS
from treelane.engine.workflow import ConfigError, parse_config

engines = engines_fixture()


def ran(side: Path) -> list[str]:
    return side.read_text().split() if side.exists() else []


def commit(git, repo: Path, files: dict[str, str], message: str = "edit") -> None:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", message, cwd=repo)


def logged(side: Path, name: str, body: str = "true") -> str:
    return f"echo {name} >> {side}; {body}"


@pytest.fixture
def project(repo: Path, git) -> Path:
    commit(
        git,
        repo,
        {
            "src/pkg/core.py": "x = 1\n",
            "tests/test_core.py": "assert True\n",
            "pyproject.toml": "[project]\nname = 'pkg'\n",
            "docs/guide.md": "guide\n",
            ".gitignore": "dist/\n",
        },
        "project",
    )
    return repo


def ci(side: Path) -> dict[str, dict[str, object]]:
    return {
        "test": {"run": logged(side, "test"), "inputs": ["src/**", "tests/**", "pyproject.toml"]},
        "lint": {"run": logged(side, "lint"), "inputs": ["src/**", "!src/**/generated.py"]},
        "docs": {"run": logged(side, "docs"), "inputs": ["README.md", "docs/*.md"]},
        "whole": {"run": logged(side, "whole")},  # no inputs: the whole tree
    }


def test_inputs_decide_which_tasks_rerun(engines, project, git, tmp_path) -> None:
    side = tmp_path / "side"
    e = engines(config({"w": ci(side)}))
    run(e, "w")
    assert sorted(ran(side)) == ["docs", "lint", "test", "whole"]

    commit(git, project, {"README.md": "new readme\n"})
    side.unlink()
    r = run(e, "w")
    assert task_states(e, r) == {
        "test": "cached", "lint": "cached", "docs": "succeeded", "whole": "succeeded"
    }  # fmt: skip
    assert sorted(ran(side)) == ["docs", "whole"]

    commit(git, project, {"tests/test_core.py": "assert 1\n"})
    side.unlink()
    run(e, "w")
    assert sorted(ran(side)) == ["test", "whole"]

    commit(git, project, {"src/pkg/generated.py": "g = 1\n"})  # excluded from lint's inputs
    side.unlink()
    run(e, "w")
    assert sorted(ran(side)) == ["test", "whole"]

    commit(git, project, {"src/pkg/core.py": "x = 2\n"})
    side.unlink()
    run(e, "w")
    assert sorted(ran(side)) == ["lint", "test", "whole"]

    # A file mode is part of the input too.
    (project / "src/pkg/core.py").chmod(0o755)
    git("commit", "-q", "-am", "mode", cwd=project)
    side.unlink()
    run(e, "w")
    assert sorted(ran(side)) == ["lint", "test", "whole"]


def test_empty_inputs_key_on_command_only(engines, project, git, tmp_path) -> None:
    side = tmp_path / "side"
    e = engines(config({"w": {"gen": {"run": logged(side, "gen"), "inputs": []}}}))
    run(e, "w")
    commit(git, project, {"src/pkg/core.py": "x = 3\n"})
    assert task_states(e, run(e, "w")) == {"gen": "cached"}
    assert ran(side) == ["gen"]


def test_a_need_that_reran_reruns_its_dependents(engines, project, git, tmp_path) -> None:
    """The key holds the needs' keys: a change in a need's inputs reaches its dependents
    even when the dependent's own inputs did not change (as Turborepo's dependsOn)."""
    side = tmp_path / "side"
    wf = {
        "gen": {"run": logged(side, "gen"), "inputs": ["docs/**"]},
        "use": {"run": logged(side, "use"), "inputs": ["src/**"], "needs": ["gen"]},
    }
    e = engines(config({"w": wf}))
    run(e, "w")
    commit(git, project, {"docs/guide.md": "guide 2\n"})
    side.unlink()
    assert task_states(e, run(e, "w")) == {"gen": "succeeded", "use": "succeeded"}
    commit(git, project, {"README.md": "unrelated\n"})
    side.unlink()
    assert task_states(e, run(e, "w")) == {"gen": "cached", "use": "cached"}
    assert ran(side) == []


def wheel_workflow(side: Path, check_cache: bool = False) -> dict[str, dict[str, object]]:
    return {
        "wheel": {
            "run": logged(side, "wheel", "mkdir -p dist/sub && cat src/pkg/core.py > dist/pkg.whl"
                          " && echo meta > dist/sub/meta && echo stray > dist/notes.txt"),
            "inputs": ["src/**"],
            "outputs": ["dist/**", "!dist/*.txt"],
        },
        "check": {
            "run": logged(side, "check", "cat dist/pkg.whl > checked.txt; ls dist > listing.txt"),
            "needs": ["wheel"],
            "cache": check_cache,
        },
        "publish": {
            "run": logged(side, "publish", "cat dist/sub/meta > published.txt"),
            "needs": ["check"],
            "cache": False,
        },
    }  # fmt: skip


def test_outputs_reach_dependents_but_never_the_result(engines, project, git, tmp_path) -> None:
    side = tmp_path / "side"
    e = engines(config({"w": wheel_workflow(side)}))
    r = run(e, "w")
    assert run_state(e, r) == "succeeded", task_states(e, r)
    result = e.result_commit(r)
    assert git("show", f"{result}:checked.txt", cwd=project) == "x = 1"
    assert git("show", f"{result}:listing.txt", cwd=project) == "pkg.whl\nsub"  # not notes.txt
    assert git("show", f"{result}:published.txt", cwd=project) == "meta", "passed on transitively"
    files = git("ls-tree", "-r", "--name-only", result, cwd=project).split()
    assert not [f for f in files if f.startswith("dist/")], "outputs never reach a result"
    kept = git("rev-parse", f"{OUTPUT_RUN_REFS}/{r}/wheel", cwd=project)
    assert git("ls-tree", "-r", "--name-only", kept, cwd=project).split() == [
        "dist/pkg.whl", "dist/sub/meta"
    ]  # fmt: skip
    # Warm worktrees keep no outputs for the next task.
    for info in e.pool.list():
        assert not (Path(info.path) / "dist").exists(), info.id


def test_cached_outputs_are_restored(engines, project, git, tmp_path) -> None:
    side = tmp_path / "side"
    e = engines(config({"w": wheel_workflow(side)}))
    run(e, "w")
    side.unlink()
    r = run(e, "w")
    assert task_states(e, r) == {"wheel": "cached", "check": "succeeded", "publish": "succeeded"}
    assert ran(side) == ["check", "publish"]
    assert git("show", f"{e.result_commit(r)}:checked.txt", cwd=project) == "x = 1"
    # A new source makes a new wheel, which is what check sees (no stale one from the pool).
    commit(git, project, {"src/pkg/core.py": "x = 42\n"})
    r = run(e, "w")
    assert task_states(e, r)["wheel"] == "succeeded"
    assert git("show", f"{e.result_commit(r)}:checked.txt", cwd=project) == "x = 42"


def test_a_hit_whose_outputs_are_gone_is_a_miss(engines, project, git, tmp_path) -> None:
    side = tmp_path / "side"
    e = engines(config({"w": wheel_workflow(side)}))
    run(e, "w")
    row = e.store.one("SELECT output FROM cache WHERE output LIKE '%outputs%' LIMIT 1")
    assert row is not None
    e.store.execute(
        'UPDATE cache SET output = replace(output, \'"outputs": "\', \'"outputs": "0\')'
    )  # the checksum no longer matches
    side.unlink()
    r = run(e, "w")
    assert task_states(e, r)["wheel"] == "succeeded"


def test_no_cache_reads_nothing_but_writes(engines, project, tmp_path) -> None:
    side = tmp_path / "side"
    e = engines(config({"w": ci(side)}))
    run(e, "w")
    side.unlink()
    started = e.start(e.workflow("w"), cache=False)
    e.wait(started.run, 30)
    assert set(task_states(e, started.run).values()) == {"succeeded"}
    assert sorted(ran(side)) == ["docs", "lint", "test", "whole"]
    side.unlink()
    assert set(task_states(e, run(e, "w")).values()) == {"cached"}
    assert ran(side) == []


def test_patterns_match_like_git_pathspec_globs(project, git) -> None:
    tree = git("rev-parse", "HEAD^{tree}", cwd=project)

    def d(*patterns: str) -> str:
        return filesets.input_digest(project, tree, patterns)

    assert d("src/**") == d("src/pkg/*.py") == d("src/pkg/core.py")
    assert d("src/**") != d("src/**", "pyproject.toml")
    assert d("*.toml") == d("pyproject.toml")  # glob: '*' stays within one folder
    assert d("!docs/**", "!tests/**", "!src/**", "!pyproject.toml") == d(".gitignore", "README.md")
    assert d("nothing/**") == d()


def test_bad_patterns_are_refused_with_their_place() -> None:
    text = (
        "[workflows.w.tasks.a]\nrun = 'x'\n"
        "inputs = ['/abs', '../up', ':(icase)x', '', 3]\n"
        "outputs = ['dist/**']\nisolation = 'shared'\n"
    )
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    messages = [p.message for p in err.value.problems]
    assert messages == [
        'workflows.w.tasks.a.inputs[0]: must be relative to the repository root, got "/abs"',
        "workflows.w.tasks.a.inputs[1]: must not contain '..', got \"../up\"",
        "workflows.w.tasks.a.inputs[2]: must be a plain glob (no pathspec magic); start it "
        "with '!' to exclude, got \":(icase)x\"",
        'workflows.w.tasks.a.inputs[3]: must not be empty, got ""',
        "workflows.w.tasks.a.inputs[4]: expected a glob, got 3",
        "task 'a' has outputs but isolation = \"shared\": outputs need a worktree of their "
        'own (isolation = "worktree")',
    ]
    wf = parse_config(
        "[workflows.w.tasks.a]\nrun = 'x'\ninputs = ['src/**']\noutputs = ['dist/**']\n"
    ).workflows["w"]
    assert wf.tasks[0].inputs == ("src/**",) and wf.tasks[0].outputs == ("dist/**",)
    assert wf.to_dict()["tasks"]["a"]["inputs"] == ["src/**"]


def test_resumed_run_passes_kept_outputs_on(engines, project, git, tmp_path) -> None:
    """A task kept by a resume passes on the outputs it recorded in its run."""
    side = tmp_path / "side"
    flag = tmp_path / "fail-once"
    flag.write_text("")
    wf = wheel_workflow(side)
    wf["check"]["run"] = f"test ! -e {flag} || exit 1; " + str(wf["check"]["run"])
    e = engines(config({"w": wf}))
    r = run(e, "w")
    assert task_states(e, r)["check"] == "failed"
    flag.unlink()
    e.resume(r)
    e.wait(r, 30)
    assert run_state(e, r) == "succeeded"
    assert g.out(["show", f"{e.result_commit(r)}:checked.txt"], project) == "x = 1"
