"""One task's file sets within its run: the cache key it reads, the outputs it gets and keeps.

* Key: :func:`key_for` hashes the command, env and salt with the task's input: the
  whole input tree, or with ``inputs`` only the files they match
  (:func:`treelane.engine.filesets.input_digest`), plus, for each need, the need's
  own key and the tree of ignored outputs it passed on.
* Outputs: what a task *passes on* is the overlay of what its needs passed on and
  the ignored files matching its own ``outputs`` (so ``dist/`` built by ``wheel``
  reaches ``publish`` through ``check`` too). Before a worktree task's command runs,
  ignored files matching any output pattern upstream of it (or its own) are removed
  from the worktree and what its needs passed on is written there; after it, they
  are removed again, so a warm worktree never hands stale outputs to the next task.
  The tree is kept under ``refs/treelane/outputs/runs/<run>/<task>`` (resumed runs
  read it back from there). Results are made of non-ignored files only, so outputs
  never reach a merge into the user's branch.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from treelane.engine import filesets, git
from treelane.engine.cache import cache_key
from treelane.engine.pool import Lease
from treelane.engine.scheduler import RunRec, TaskRec
from treelane.engine.snapshot import EMPTY_TREE
from treelane.engine.workflow import topological_order

if TYPE_CHECKING:
    from treelane.engine.host import EngineHost as Engine

OUTPUT_RUN_REFS = "refs/treelane/outputs/runs"


@dataclass(frozen=True)
class _Plan:
    """Per run: the output patterns each task must clean around its command."""

    any_outputs: bool
    clean: dict[str, tuple[str, ...]]  # task -> its own and its upstream output patterns


def passes_outputs(run: RunRec) -> bool:
    """Whether any task of the run has ``outputs`` (worked out once per run)."""
    return _plan(run).any_outputs


def _plan(run: RunRec) -> _Plan:
    plan = run.files
    if isinstance(plan, _Plan):
        return plan
    with run.inputs_lock:
        if not isinstance(run.files, _Plan):
            run.files = _make_plan(run)
        plan = run.files
    assert isinstance(plan, _Plan)
    return plan


def _make_plan(run: RunRec) -> _Plan:
    wf = run.workflow
    if not any(t.outputs for t in wf.tasks):
        return _Plan(False, {})
    upstream: dict[str, tuple[str, ...]] = {}  # what reaches a task from its needs
    clean: dict[str, tuple[str, ...]] = {}
    for name in topological_order(wf):
        spec = run.tasks[name].spec
        got: dict[str, None] = {}
        for need in spec.needs:
            got.update(dict.fromkeys(upstream[need]))
        clean[name] = tuple({**got, **dict.fromkeys(spec.outputs)})
        upstream[name] = clean[name]
    return _Plan(True, clean)


def key_for(engine: Engine, run: RunRec, t: TaskRec, input_tree: str) -> str:
    """The task's cache key (also recorded on ``t`` for its dependents' keys)."""
    spec = t.spec
    ident = input_tree
    if spec.inputs is not None:
        ident = "files:" + filesets.input_digest(engine.ws.root, input_tree, spec.inputs)
    needs = [f"{n}:{run.tasks[n].cache_key or ''}:{passed_on(engine, run, n)}" for n in spec.needs]
    t.cache_key = cache_key(spec.run, spec.env_dict, ident, engine.settings.cache_salt, needs)
    return t.cache_key


def passed_on(engine: Engine, run: RunRec, name: str) -> str:
    """The tree of ignored outputs task ``name`` passes to its dependents."""
    t = run.tasks[name]
    if t.outputs is None:
        if not _plan(run).any_outputs:
            t.outputs = EMPTY_TREE
        else:  # a task kept from before a resume: read back what it recorded
            res = git.run(
                ["rev-parse", "--verify", "--quiet", f"{OUTPUT_RUN_REFS}/{run.id}/{name}"],
                engine.ws.root,
                check=False,
            )
            t.outputs = res.stdout.strip() or EMPTY_TREE
    return t.outputs


def received(engine: Engine, run: RunRec, t: TaskRec) -> str:
    """What the task's needs passed on, overlaid in the order of ``needs``."""
    if not _plan(run).any_outputs:
        return EMPTY_TREE
    return filesets.overlay(engine.ws.root, [passed_on(engine, run, n) for n in t.spec.needs])


def prepare(engine: Engine, run: RunRec, t: TaskRec, lease: Lease) -> None:
    """Before the command: no stale outputs in the worktree, the needs' outputs in place."""
    patterns = _plan(run).clean.get(t.spec.name)
    if not patterns:
        return
    filesets.clean(lease.path, patterns)
    filesets.restore(lease.path, received(engine, run, t))


def finish(engine: Engine, run: RunRec, t: TaskRec, lease: Lease | None, own: str) -> str:
    """The command succeeded (or its entry was a hit, ``lease`` None): record what it
    passes on; returns the tree of its own outputs (collected now, or the hit's ``own``)."""
    if lease is not None and t.spec.outputs:
        own = filesets.collect_outputs(lease.path, t.spec.outputs)
    if not _plan(run).any_outputs:
        t.outputs = EMPTY_TREE
        return own
    t.outputs = filesets.overlay(engine.ws.root, [received(engine, run, t), own])
    if t.outputs != EMPTY_TREE:
        git.update_ref(engine.ws.root, f"{OUTPUT_RUN_REFS}/{run.id}/{t.spec.name}", t.outputs)
    return own


def leave(run: RunRec, t: TaskRec, lease: Lease) -> None:
    """Before the worktree goes back to the pool: the outputs around this task go."""
    patterns = _plan(run).clean.get(t.spec.name)
    if patterns:
        with contextlib.suppress(git.GitError):  # the pool's reset still runs
            filesets.clean(lease.path, patterns)
