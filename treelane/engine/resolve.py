"""Resolving conflicts between a task's inputs (or a run's final tasks), by a person or a command.

``open_resolution`` puts the conflicting merge into a worktree of its own
(``<worktrees_dir>/resolve/<run>-<task>``): it checks out the merge of the inputs up to
the first one that conflicts ("ours"), then runs ``git merge --no-commit --no-ff`` of that
input ("theirs") there, so the files carry git's conflict markers and the index its
stages (every merge tool works). Inputs after it are merged when the run resumes (a
further conflict is resolved the same way, starting from this resolution).

``collect`` (when the run resumes) takes the resolution: the commit the user made there,
or else the files once no conflict markers are left; it is kept under
``refs/treelane/resolutions/<run>/<task>`` (``_result`` for the merge of the final tasks)
and used as the task's input (the run's result) from then on, as long as the inputs it
resolved are unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from treelane.engine import git, merge, results, rungraph, snapshot
from treelane.engine.conflicts import InputConflict, culprits
from treelane.engine.resolutions import RESULT as RESULT
from treelane.engine.resolutions import has_markers, wt_id
from treelane.engine.resolutions import remove as _remove_worktree
from treelane.errors import RequestFailed

if TYPE_CHECKING:
    from treelane.engine.host import EngineHost as Engine

RESOLUTION_REFS = "refs/treelane/resolutions"


class Opened(NamedTuple):
    worktree: str
    path: str
    files: list[str]
    conflicts: list[InputConflict]
    ours: list[str]  # the inputs merged into the checked-out side
    theirs: str  # the input being merged in

    def to_dict(self, run: str, task: str | None) -> dict[str, Any]:
        return {
            "run": run,
            "task": task,
            "worktree": self.worktree,
            "path": self.path,
            "files": self.files,
            "conflicts": [c.to_dict() for c in self.conflicts],
            "ours": self.ours,
            "theirs": self.theirs,
        }


def inputs_of(engine: Engine, run_id: str, task: str | None) -> list[tuple[str, str]]:
    """(name, result commit) of what a task (or, for None, the run's result) merges."""
    run = results.run_info(engine.store, run_id)
    names = run.sinks if task is None else run.needs.get(task, [])
    graph = rungraph.needs_of(engine, run_id)  # with expansions and spawned tasks
    if graph is not None:
        names = graph.sinks if task is None else graph.needs.get(task, [])
    if task is not None:
        results.task_info(engine.store, run, task)  # unknown task: a clear error
    named = []
    for n in names:
        t = results.task_info(engine.store, run, n)
        if not t.result:
            raise RequestFailed(f"task {n} of run {run_id} has no result yet (state: {t.state})")
        named.append((n, t.result))
    return named


def lookup(engine: Engine, run_id: str, key: str, commits: Sequence[str]) -> str | None:
    """A resolution that still applies to these inputs (its inputs are a prefix of them)."""
    row = engine.store.one(
        "SELECT * FROM resolutions WHERE run = ? AND task = ? AND state = 'resolved'",
        (run_id, key),
    )
    if row is None or not row["commit_sha"]:
        return None
    recorded = json.loads(row["inputs"])
    if list(commits[: len(recorded)]) != recorded:
        return None  # an input changed since (a need ran again): the resolution is stale
    return str(row["commit_sha"])


def open_resolution(engine: Engine, run_id: str, task: str | None) -> Opened:
    key = task or RESULT
    repo = engine.ws.root
    named = inputs_of(engine, run_id, task)
    row = engine.store.one(
        "SELECT * FROM resolutions WHERE run = ? AND task = ? AND state = 'open'", (run_id, key)
    )
    what = f"the inputs of task {task}" if task else "the final tasks"
    if row is not None and Path(row["worktree"]).is_dir():  # already open: the same again
        conflicts = [InputConflict.from_dict(c) for c in json.loads(row["files"])]
        recorded = json.loads(row["inputs"])
        names = [n for n, c in named if c in recorded]
        return Opened(
            wt_id(run_id, key),
            row["worktree"],
            list(dict.fromkeys(c.path for c in conflicts)),
            conflicts,
            names[:-1],
            names[-1] if names else "",
        )
    commits = [c for _, c in named]
    start = lookup(engine, run_id, key, commits)
    sequence = ([("(resolution)", start)] if start else []) + named
    if len(sequence) < 2:
        raise RequestFailed(f"nothing to resolve: {what} of run {run_id} merge cleanly")
    ours_names = [sequence[0][0]]
    ours = sequence[0][1]
    theirs: tuple[str, str] | None = None
    covered = 1
    for name, commit in sequence[1:]:
        p = merge.preview(repo, commit, ours)
        if not p.clean:
            theirs = (name, commit)
            break
        covered += 1
        if p.base_is_into:
            ours = p.source
        elif not merge.is_ancestor(repo, p.source, ours):
            ours = git.commit_tree(repo, p.tree, [ours, commit], "treelane: inputs merged\n")
        ours_names.append(name)
    if theirs is None:
        raise RequestFailed(f"nothing to resolve: {what} of run {run_id} merge cleanly")
    conflicts = culprits(repo, [*sequence[:covered], theirs], [])
    conflicts = [c for c in conflicts if theirs[0] in c.tasks] or conflicts
    path = engine.ws.worktrees_dir / "resolve" / f"{run_id}-{key}"
    _add_worktree(repo, path, ours)
    env = {"GIT_MERGE_AUTOEDIT": "no"}
    res = git.run(
        ["merge", "--no-commit", "--no-ff", "--no-edit", "--end-of-options", theirs[1]],
        path,
        env=env,
        check=False,
    )
    files = _unmerged(path)
    if res.returncode != 0 and not files:
        raise RequestFailed(f"git merge failed in {path}: {res.stderr.strip() or res.stdout}")
    inputs = [c for _, c in named][: max(0, covered + 1 - (1 if start else 0))]
    with engine.store.write():
        engine.store.execute("DELETE FROM resolutions WHERE run = ? AND task = ?", (run_id, key))
        engine.store.execute(
            "INSERT INTO resolutions (run, task, worktree, ours, theirs, inputs, files, "
            "state, created) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?)",
            (
                run_id,
                key,
                str(path),
                ours,
                theirs[1],
                json.dumps(inputs),
                json.dumps([c.to_dict() for c in conflicts]),
                time.time(),
            ),
        )
    return Opened(wt_id(run_id, key), str(path), files, conflicts, ours_names, theirs[0])


def collect(engine: Engine, run_id: str) -> list[str]:
    """Take the finished resolutions of a run (before it resumes); RequestFailed naming the
    files still in conflict otherwise. Returns the keys taken."""
    taken = []
    for row in engine.store.query(
        "SELECT * FROM resolutions WHERE run = ? AND state = 'open'", (run_id,)
    ):
        path = Path(row["worktree"])
        if not path.is_dir():
            engine.store.execute(
                "DELETE FROM resolutions WHERE run = ? AND task = ?", (run_id, row["task"])
            )
            continue
        commit = resolved_commit(engine, row)
        key = row["task"]
        git.update_ref(engine.ws.root, f"{RESOLUTION_REFS}/{run_id}/{key}", commit)
        engine.store.execute(
            "UPDATE resolutions SET state = 'resolved', commit_sha = ? WHERE run = ? AND task = ?",
            (commit, run_id, key),
        )
        _remove_worktree(engine.ws.root, path)
        taken.append(key)
    return taken


def resolved_commit(engine: Engine, row: dict[str, Any]) -> str:
    """The resolution in a resolve worktree, or RequestFailed saying what is left."""
    path = Path(row["worktree"])
    repo = engine.ws.root
    head = git.head_commit(path)
    where = f"(in {path})"
    if head and head != row["ours"]:
        if not merge.is_ancestor(repo, row["theirs"], head) or not merge.is_ancestor(
            repo, row["ours"], head
        ):
            raise RequestFailed(
                f"the commit in {path} does not merge {row['theirs'][:10]} into "
                f"{row['ours'][:10]}: finish the merge there (git merge --continue)"
            )
        return head
    files = [c["path"] for c in json.loads(row["files"])]
    left = [f for f in dict.fromkeys(files) if has_markers(path / f)]
    if left:
        raise RequestFailed(
            f"conflicts in run {row['run']} are not resolved yet: markers left in "
            f"{', '.join(left)} {where}"
        )
    tree = snapshot.files_tree(path)
    what = "the final tasks" if row["task"] == RESULT else f"the inputs of {row['task']}"
    return git.commit_tree(
        repo, tree, [row["ours"], row["theirs"]], f"treelane: resolve {what} ({row['run']})\n"
    )


def auto(
    engine: Engine,
    run_id: str,
    task: str | None,
    command: str,
    timeout: float | None,
    on_output: Callable[[list[str]], None] | None = None,
) -> str:
    """Run a resolver command in a fresh resolve worktree; '' when it resolved the conflict,
    else why not (the worktree stays for a person). ``on_output`` gets what it printed."""
    try:
        opened = open_resolution(engine, run_id, task)
    except RequestFailed as exc:
        return str(exc)
    env = {
        **os.environ,
        "TREELANE_RUN": run_id,
        "TREELANE_TASK": task or RESULT,
        "TREELANE_WORKTREE": opened.path,
        "TREELANE_CONFLICTS": "\n".join(opened.files),
    }
    try:
        proc = subprocess.run(
            ["/bin/sh", "-c", command],
            cwd=opened.path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"resolver timed out after {timeout} s"
    if on_output is not None:
        text = (proc.stdout + proc.stderr).decode(errors="replace")
        on_output([f"[resolve] {line}" for line in text.splitlines()])
    if proc.returncode != 0:
        return f"resolver exited {proc.returncode}"
    try:
        collect(engine, run_id)
    except RequestFailed as exc:
        return f"resolver left conflicts: {exc}"
    return ""


def _unmerged(path: Path) -> list[str]:
    out = git.out(["diff", "--name-only", "--diff-filter=U", "-z"], path)
    return [p for p in dict.fromkeys(out.split("\0")) if p]


def _add_worktree(repo: Path, path: Path, commit: str) -> None:
    if path.exists():
        _remove_worktree(repo, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    git.run(["worktree", "add", "--detach", "--end-of-options", str(path), commit], repo)
