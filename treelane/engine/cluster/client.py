"""The coordinator's side of the Dask backend: one attempt per Dask task.

The coordinator keeps the repository, the store, the cache and the scheduler (named
limits, ``max_parallel``). For each attempt it sends the objects the workers lack as a
git bundle, streams the output from the worker's ``log_event`` topic, cancels through a
``distributed.Event`` and fetches the result bundle under ``refs/treelane/runs/...``.
A worker lost mid-attempt: Dask runs the task again on another worker (nothing was
written here yet).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, NamedTuple

from treelane.engine import git
from treelane.engine.attempt import AttemptResult, AttemptSpec
from treelane.engine.cluster import bundles
from treelane.engine.remote import RemoteIO
from treelane.engine.workflow.expand import ref_part
from treelane.errors import RequestFailed

RUN_REFS = "refs/treelane/runs"
INSECURE_ENV = "TREELANE_DASK_INSECURE"  # "1": allow tcp:// to a host that is not loopback
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
PREPARE_WAIT = 60.0  # s attempts wait for a worker's preparation (a busy one: they go on)


def check_address(address: str) -> None:
    """Plain ``tcp://`` (no TLS, no authentication) only to this machine, unless allowed.

    Anyone who can reach an unauthenticated scheduler runs code on its workers and on
    this coordinator's client: outside loopback use ``tls://`` with Dask's TLS settings.
    """
    scheme, _, rest = address.partition("://")
    host = rest.rsplit(":", 1)[0] if rest else ""
    if scheme not in ("tcp", "tls") or not host:
        raise RequestFailed(f"{address!r} is not a Dask scheduler address (tcp://HOST:PORT)")
    if scheme == "tcp" and host not in LOOPBACK and os.environ.get(INSECURE_ENV) != "1":
        raise RequestFailed(
            f"{address} is plain tcp:// to another machine (no encryption, no "
            "authentication): use tls:// with Dask's TLS settings (distributed.comm.tls.*, "
            f"see docs/distributed.md), or set {INSECURE_ENV}=1 on a network you trust"
        )


class AttemptTimes(NamedTuple):
    """Where one attempt's time went: (phase, seconds) in order, coordinator and worker.

    Phases: ``prepare`` (waiting for new workers to be readied), ``bundle`` (made or
    waited for here), ``queue`` (submitted until it started on
    the worker), the worker's ``receive``, ``acquire``, ``command``, ``snapshot`` and
    ``result_bundle``, ``return`` (until the answer was here) and ``fetch`` (here).
    """

    task: str
    worker: str
    phases: tuple[tuple[str, float], ...]


class DaskBackend:
    """Attempts on the Dask cluster whose scheduler is at ``address``."""

    name = "dask"

    def __init__(self, address: str, security: Any = None, timeout: float = 10.0) -> None:
        self.address = address
        self.security = security
        self.timeout = timeout
        self.submitted = 0  # Dask tasks sent (a cache hit sends none)
        self._client: Any = None
        self._lock = threading.Lock()
        self._known: dict[str, set[str]] = {}  # worker address -> commits it holds
        self._known_lock = threading.Lock()
        # Bundles already made, by (commit, what the workers had): fan-out tasks share one.
        self._bundles: dict[tuple[str, tuple[str, ...]], bytes | None] = {}
        self._bundles_lock = threading.Lock()
        self._making: dict[tuple[str, tuple[str, ...]], threading.Lock] = {}
        # Worker -> (its prepare future, until when attempts wait for it); None: done.
        self._prepared: dict[str, tuple[Any, float] | None] = {}
        self._prepare_lock = threading.RLock()  # (a done-callback may run at once)
        self.timings: deque[AttemptTimes] = deque(maxlen=1000)  # the latest attempts' phases

    # --- connection --------------------------------------------------------

    def client(self) -> Any:
        with self._lock:
            if self._client is not None and self._client.status == "running":
                return self._client
            check_address(self.address)
            try:
                import distributed
            except ImportError as exc:
                raise RequestFailed(
                    'executor "dask" needs the dask extra: pip install "treelane[dask]"'
                ) from exc
            try:
                dd: Any = distributed
                self._client = dd.Client(
                    self.address,
                    timeout=f"{self.timeout}s",
                    set_as_default=False,
                    security=self.security,
                )
            except (OSError, TimeoutError, ValueError) as exc:
                raise RequestFailed(
                    f"no Dask scheduler reachable at {self.address} ({exc}); start one "
                    "(dask scheduler) or fix dask_scheduler, --dask or TREELANE_DASK_SCHEDULER"
                ) from exc
            return self._client

    def ready(self) -> None:
        """Connect, and check there is at least one worker (RequestFailed if not)."""
        workers = _workers(self.client())
        if not workers:
            raise RequestFailed(
                f"the Dask scheduler at {self.address} has no workers: start some "
                f"(dask worker {self.address})"
            )

    def slots(self) -> int:
        """Threads over all workers: how many attempts the cluster runs at once."""
        client = self._client
        if client is None:  # not connected yet (no run started): do not block on connecting
            raise RuntimeError("not connected")
        info = _workers(client)
        return max(1, sum(int(w.get("nthreads", 1)) for w in info.values()))

    def dashboard(self) -> str | None:
        """The cluster's dashboard link; None without one, or while not connected."""
        client = self._client
        if client is None:
            return None
        with contextlib.suppress(Exception):
            link = client.dashboard_link
            return str(link) if link else None
        return None

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                with contextlib.suppress(Exception):
                    self._client.close()
                self._client = None

    # --- attempts ----------------------------------------------------------

    def _lacking(self, client: Any, spec: AttemptSpec) -> str | None:
        """Why no worker can take ``spec`` (its resources), or None."""
        if not spec.resources:
            return None
        need = dict(spec.resources)
        for w in _workers(client).values():
            has = w.get("resources") or {}
            if all(float(has.get(k, 0)) >= v for k, v in need.items()):
                return None
        wanted = ",".join(f"{k}={v:g}" for k, v in need.items())
        return (
            f"no Dask worker has the resources {wanted}: start workers with "
            f'dask worker {self.address} --resources "{wanted}"'
        )

    def _bundle(self, repo: Path, commit: str, have: list[str]) -> bytes | None:
        """The bundle of ``commit`` minus ``have``, made once: attempts that need the same
        one wait for it; different ones are made side by side."""
        key = (commit, tuple(have))
        with self._bundles_lock:
            lock = self._making.setdefault(key, threading.Lock())
        with lock:
            with self._bundles_lock:
                if key in self._bundles:
                    return self._bundles[key]
            data = bundles.create(repo, commit, have)
            with self._bundles_lock:
                if len(self._bundles) >= 8:
                    self._bundles.clear()
                    self._making = {k: v for k, v in self._making.items() if k == key}
                self._bundles[key] = data
            return data

    def _prepare(self, client: Any, repo: Path, spec: AttemptSpec, key: str) -> None:
        """Ready every worker that has had nothing from here yet, once and all at once.

        Each gets the whole history of the input (one bundle, made once for all of them)
        and as many idle worktrees as it has threads, in one Dask task pinned to it. Later
        attempts then carry only the commits the workers lack (usually nothing, or a
        bundle of one commit) instead of each carrying the whole history and making a
        worktree while the others wait for the same cores. A worker that joins later is
        readied by the first attempt after it joined; one that fails to get ready, or is
        not ready within PREPARE_WAIT (its threads busy with other work), gets the whole
        history with its attempts until it is.
        """
        from treelane.engine.cluster.worker import prepare

        workers = _workers(client)
        commit = spec.input_commit
        with self._prepare_lock:
            new = [w for w in workers if w not in self._prepared]
            if new:
                bundle = self._bundle(repo, commit, [])
                for w in new:
                    future = client.submit(
                        prepare,
                        key,
                        commit,
                        bundle,
                        int(workers[w].get("nthreads", 1)),
                        spec.setup,
                        key=f"treelane-prepare-{key}-{secrets.token_hex(4)}",
                        workers=[w],
                        allow_other_workers=False,
                        pure=False,
                    )
                    self._prepared[w] = (future, time.monotonic() + PREPARE_WAIT)
                    future.add_done_callback(
                        lambda f, w=w: self._prepared_done(w, commit, f.status == "finished")
                    )
            waits = [(w, v) for w, v in self._prepared.items() if w in workers and v is not None]
        for w, (future, deadline) in waits:
            try:
                future.result(timeout=max(0.0, deadline - time.monotonic()))
            except Exception:  # lost, failing or busy: its attempts carry what it needs
                continue
            self._prepared_done(w, commit, True)

    def _prepared_done(self, worker: str, commit: str, ok: bool) -> None:
        """A worker's preparation ended (either way): later attempts do not wait for it."""
        if ok:
            self._learn(worker, commit)
        with self._prepare_lock:
            self._prepared[worker] = None

    def _have(self, client: Any) -> list[str]:
        """Commits every current worker holds (the bundle leaves them out)."""
        workers = list(_workers(client))
        with self._known_lock:
            sets = [self._known.get(w, set()) for w in workers]
        common = set.intersection(*sets) if sets else set()
        return sorted(common)

    def _learn(self, worker: str, *commits: str | None) -> None:
        with self._known_lock:
            known = self._known.setdefault(worker, set())
            known.update(c for c in commits if c)
            if len(known) > 64:  # the newest ones are what later inputs build on
                known.clear()
                known.update(c for c in commits if c)

    def run(self, repo: Path, spec: AttemptSpec, io: RemoteIO) -> AttemptResult:
        import distributed

        dd: Any = distributed
        client = self.client()
        token = secrets.token_hex(6)
        topic = f"treelane-out-{token}"
        cancel = dd.Event(f"treelane-cancel-{token}", client=client)
        key = hashlib.sha256(str(repo.resolve()).encode()).hexdigest()[:16]
        seen: dict[str, int] = {}  # incarnation -> lines already passed on
        lock = threading.Lock()

        def on_event(event: tuple[float, dict[str, Any]]) -> None:
            msg = event[1]
            with lock:
                inc = msg.get("inc", "")
                if "on" in msg:  # (the scheduler adds "worker" to every message)
                    if seen and inc not in seen:
                        io.line(f"(treelane: the attempt runs again on {msg['on']})")
                    seen.setdefault(inc, 0)
                    io.on_worker(str(msg["on"]), str(msg.get("worktree", "")))
                    return
                done = seen.setdefault(inc, 0)
                start, lines = int(msg["i"]), list(msg["lines"])
                if start <= done < start + len(lines):
                    for text in lines[done - start :]:
                        io.line(text)
                    seen[inc] = start + len(lines)

        client.subscribe_topic(topic, on_event)
        unhook = io.cancel.on_cancel(lambda: _set(cancel))
        began = time.time()
        lacking = self._lacking(client, spec)
        if lacking:
            return _failed(spec, began, lacking, False)
        try:
            answer, before, back = self._submit(client, repo, spec, key, topic, cancel.name)
        except RequestFailed as exc:
            return _failed(spec, began, str(exc), io.cancel.is_set())
        except Exception as exc:  # the cluster gave up on it (KilledWorker and the like)
            return _failed(spec, began, f"on the Dask cluster: {exc!r}", io.cancel.is_set())
        finally:
            unhook()
            with contextlib.suppress(Exception):
                client.unsubscribe_topic(topic)
        res: AttemptResult = answer.result
        t_fetch = time.perf_counter()
        with lock:
            for text in res.lines[seen.get(answer.incarnation, 0) :]:
                io.line(text)
            seen[answer.incarnation] = len(res.lines)
        if answer.commit is not None and answer.bundle is not None:
            into = f"{RUN_REFS}/{spec.run}/{ref_part(spec.task)}"
            bundles.fetch(repo, answer.bundle, answer.commit, into, verify=False)
            if git.tree_of(repo, answer.commit) != res.tree:
                raise RequestFailed(f"the result bundle of {spec.task} does not hold its tree")
        self._learn(res.where, spec.input_commit, answer.commit)
        phases = [*before, *answer.timings, ("return", max(0.0, back))]
        phases.append(("fetch", time.perf_counter() - t_fetch))
        self.timings.append(AttemptTimes(spec.task, res.where, tuple(phases)))
        return res

    def _submit(
        self, client: Any, repo: Path, spec: AttemptSpec, key: str, topic: str, cancel: str
    ) -> tuple[Any, tuple[tuple[str, float], ...], float]:
        """The answer, the phases before the worker started, and the time it took back."""
        from treelane.engine.cluster.worker import run_attempt

        t0 = time.perf_counter()
        self._prepare(client, repo, spec, key)
        ready = time.perf_counter() - t0
        have = self._have(client)
        for _ in range(3):
            t0 = time.perf_counter()
            bundle = self._bundle(repo, spec.input_commit, have)
            made = time.perf_counter() - t0
            sent = time.time()
            self.submitted += 1
            future = client.submit(
                run_attempt,
                spec,
                key,
                bundle,
                topic,
                cancel,
                key=f"treelane-{spec.run}-{ref_part(spec.task)}-{spec.attempt}-{topic[-12:]}",
                pure=False,
                resources=dict(spec.resources) or None,
            )
            try:
                answer = future.result()
            except bundles.MissingObjects:
                have = []  # the worker lacks what we thought all had: the whole history
                continue
            back = time.time() - answer.began - sum(d for _, d in answer.timings)
            queued = max(0.0, answer.began - sent)
            before = (("prepare", ready), ("bundle", made), ("queue", queued))
            return answer, before, back
        raise RequestFailed(f"could not send the input of {spec.task} to a Dask worker")


def _workers(client: Any) -> dict[str, Any]:
    """Every worker's info (address -> dict). Some Dask releases list only the first five
    unless asked for all: the cluster's slots, and who holds what, need every one."""
    try:
        info = client.scheduler_info(n_workers=-1)
    except TypeError:  # a release without the argument lists them all
        info = client.scheduler_info()
    workers: dict[str, Any] = info.get("workers", {})
    return workers


def _failed(spec: AttemptSpec, began: float, why: str, cancelled: bool) -> AttemptResult:
    return AttemptResult(
        None,
        cancelled,
        False,
        "cancelled" if cancelled else why,
        None,
        (),
        began,
        time.time(),
        "dask",
    )


def _set(event: Any) -> None:
    with contextlib.suppress(Exception):
        event.set()
