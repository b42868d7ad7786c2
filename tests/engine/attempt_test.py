"""The attempt boundary on its own: a spec in a real worktree, its result out; resources."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from treelane.engine import attempt
from treelane.engine.executor import CancelToken, LocalExecutor
from treelane.engine.workflow import ConfigError, parse_config


class _IO:
    def __init__(self) -> None:
        self.cancel = CancelToken()
        self.lines: list[str] = []
        self.pids: list[int] = []

    def line(self, text: str) -> None:
        self.lines.append(text)

    def started(self, pid: int) -> None:
        self.pids.append(pid)


def _spec(repo: Path, git, command: str, **kw: object) -> attempt.AttemptSpec:
    head = git("rev-parse", "HEAD", cwd=repo)
    tree = git("rev-parse", "HEAD^{tree}", cwd=repo)
    return attempt.AttemptSpec("r1", "t", 1, command, (("WHO", "me"),), None, head, tree, "m\n",
                               **kw)  # fmt: skip


def test_an_attempt_runs_in_a_worktree_and_gives_its_tree(repo, git) -> None:
    spec = _spec(repo, git, 'echo "$WHO $TREELANE_TASK" > who.txt && echo hi')
    io = _IO()
    res = attempt.execute(spec, repo, LocalExecutor(), io)
    assert res.ok and res.exit_code == 0 and res.error is None
    assert io.lines == ["hi"] == list(res.lines) and len(io.pids) == 1
    assert res.tree is not None and res.tree != spec.input_tree
    assert git("cat-file", "-p", f"{res.tree}:who.txt", cwd=repo) == "me t"
    assert res.started <= res.finished
    assert pickle.loads(pickle.dumps((spec, res))) == (spec, res)  # it can cross a wire


def test_a_failed_or_cancelled_attempt_has_no_tree(repo, git) -> None:
    res = attempt.execute(_spec(repo, git, "echo x > x.txt; exit 4"), repo, LocalExecutor(), _IO())
    assert (res.exit_code, res.error, res.tree, res.ok) == (4, "exit code 4", None, False)
    io = _IO()
    io.cancel.cancel()
    res = attempt.execute(_spec(repo, git, "sleep 30"), repo, LocalExecutor(), io)
    assert res.cancelled and res.error == "cancelled" and res.tree is None


def test_resources_of_a_task() -> None:
    cfg = parse_config('[workflows.w.tasks.t]\nrun = "true"\nresources = { gpu = 1, mem = 2.5 }\n')
    assert cfg.workflows["w"].tasks[0].resources == (("gpu", 1.0), ("mem", 2.5))
    assert cfg.workflows["w"].tasks[0].to_dict()["resources"] == {"gpu": 1.0, "mem": 2.5}
    with pytest.raises(ConfigError, match=r"resources\.gpu: expected a positive number"):
        parse_config('[workflows.w.tasks.t]\nrun = "true"\nresources = { gpu = 0 }\n')
