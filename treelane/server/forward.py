"""Engine events to LSP notifications: task states (batched when the client asks),
output, resources, run start and end, notices, progress and task-failure diagnostics.

Engine events arrive on engine threads and are handed to the event loop before anything
is written to the client, so stdio and TCP behave alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from treelane.commands.context import Context
from treelane.engine.events import (
    Event,
    Notice,
    Output,
    Resources,
    RunFinished,
    RunStarted,
    TaskState,
)
from treelane.engine.workflow import CONFIG_FILE
from treelane.server.config_diagnostics import ConfigDiagnostics, file_uri
from treelane.server.diagnostics import (
    MAX_PER_TASK,
    FileDiagnostic,
    failure_message,
    parse_output_line,
    task_table_range,
)
from treelane.server.progress import RunProgress
from treelane.server.toml_lsp import SEVERITY

if TYPE_CHECKING:
    from treelane.engine.core import Engine

BATCH_S = 0.05  # how long batched taskState changes wait for company
log = logging.getLogger("treelane.server")


class EngineEvents(ConfigDiagnostics):
    """The part of the treelane server that forwards engine events (see TreelaneServer)."""

    def __init__(self, name: str, version: str, **kwargs: Any) -> None:
        super().__init__(name, version, **kwargs)
        self.ctx = _ServerContext(self)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.runs: dict[str, RunProgress] = {}
        self.tokens: dict[str, str] = {}  # progress token -> run
        self.run_tokens: dict[str, str] = {}  # run -> progress token (once begun)
        self.pending_report: set[str] = set()
        self.tails: dict[tuple[str, str], deque[str]] = {}
        self.found: dict[tuple[str, str], list[FileDiagnostic]] = {}
        self.task_diags: dict[tuple[str, str], dict[str, list[types.Diagnostic]]] = {}
        self.background: set[asyncio.Task[Any]] = set()
        # initializationOptions.batchTaskState: taskState changes go out together, as
        # {"changes": [...]}, at most every BATCH_S (before any other notification).
        self.batch_states = False
        self.state_batch: list[dict[str, Any]] = []
        # Events from engine threads wait here for the event loop: one wake-up of the
        # loop takes all that arrived meanwhile (not one per event; waking the loop
        # costs the engine thread a hand-over of the GIL).
        self._events: list[Event] = []
        self._events_lock = threading.Lock()
        self._wake: str | None = None  # "now" / "later": the loop will take the events

    # --- engine events (engine threads -> event loop) -------------------------

    def on_engine_event(self, event: Event) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        # A batched task state waits anyway: it wakes the loop BATCH_S later, and the
        # changes of that time go out together. Anything else wakes it now.
        urgent = not (self.batch_states and isinstance(event, TaskState))
        with self._events_lock:
            self._events.append(event)
            if self._wake == "now" or (self._wake == "later" and not urgent):
                return
            self._wake = "now" if urgent else "later"
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._take_events if urgent else self._take_later)

    def _take_later(self) -> None:
        assert self.loop is not None
        self.loop.call_later(BATCH_S, self._take_events)

    def _take_events(self) -> None:
        with self._events_lock:
            events, self._events, self._wake = self._events, [], None
        for event in events:
            self._dispatch(event)
        self.flush_states()  # what these events changed, in one message

    def _notify_state(self, params: dict[str, Any]) -> None:
        if not self.batch_states:
            self._notify_plain("treelane/taskState", params)
            return
        if not self.state_batch and self.loop is not None:
            self.loop.call_later(BATCH_S, self.flush_states)
        self.state_batch.append(params)

    def flush_states(self) -> None:
        """Send the taskState changes collected so far as one notification."""
        if self.state_batch:
            changes, self.state_batch = self.state_batch, []
            self._notify_plain("treelane/taskState", {"changes": changes})

    def _notify_plain(self, method: str, params: dict[str, Any]) -> None:
        """A notification whose params are plain JSON values: encoded as they are (pygls'
        converter would walk every value of a batch of thousands of changes first)."""
        self.protocol._send_data({"jsonrpc": "2.0", "method": method, "params": params})

    def _dispatch(self, event: Event) -> None:
        try:
            if not isinstance(event, TaskState):
                self.flush_states()  # the order of notifications stays the engine's
            if isinstance(event, TaskState):
                self._task_state(event)
            elif isinstance(event, Output):
                self._output(event)
            elif isinstance(event, Resources):
                self.protocol.notify("treelane/resources", event.to_dict())
            elif isinstance(event, RunStarted):
                self._run_started(event)
            elif isinstance(event, RunFinished):
                self._run_finished(event)
            elif isinstance(event, Notice):
                self._notice(event)
        except Exception:
            log.exception("could not forward %s", type(event).__name__)

    def _run_started(self, ev: RunStarted) -> None:
        prog = RunProgress(ev.run, ev.workflow, ev.tasks)
        self.runs[ev.run] = prog
        kept = ev.kept or {}
        for task, state in kept.items():  # a resumed run keeps what succeeded
            prog.update(task, state)
        for task in ev.tasks:
            if task in kept:
                continue
            self._notify_state(
                {
                    "run": ev.run,
                    "task": task,
                    "state": "queued",
                    "attempt": 0,
                    "worktree": None,
                    "exit_code": None,
                    "duration_ms": None,
                    **(ev.tags or {}).get(task, {}),
                },
            )
        self._publish_config_file()
        if self._client_has_progress():
            token = str(uuid.uuid4())  # pygls never releases tokens: a fresh one per run
            self.tokens[token] = ev.run
            self._spawn(self._begin_progress(token, prog))

    async def _begin_progress(self, token: str, prog: RunProgress) -> None:
        try:
            await self.work_done_progress.create_async(token)
        except Exception:
            log.info("client refused progress token; custom notifications continue")
            return
        snap = prog.snapshot()
        self.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title=f"treelane: {prog.workflow}",
                cancellable=True,
                message=snap.message,
                percentage=snap.percentage,
            ),
        )
        self.run_tokens[prog.run] = token

    def _report_progress(self, run: str) -> None:
        """At most ten reports a second per run."""
        if run in self.pending_report or run not in self.run_tokens:
            return
        self.pending_report.add(run)

        def send() -> None:
            self.pending_report.discard(run)
            prog, token = self.runs.get(run), self.run_tokens.get(run)
            if prog is not None and token is not None:
                snap = prog.snapshot()
                self.work_done_progress.report(
                    token,
                    types.WorkDoneProgressReport(message=snap.message, percentage=snap.percentage),
                )

        assert self.loop is not None
        self.loop.call_later(0.1, send)

    def _task_state(self, ev: TaskState) -> None:
        self._notify_state(ev.to_dict())
        prog = self.runs.get(ev.run)
        if prog is not None:
            prog.update(ev.task, ev.state)
            self._report_progress(ev.run)
            wf = prog.workflow
        else:
            wf = ""
        key = (ev.run, ev.task)
        if ev.state == "running" and ev.duration_ms == 0:
            self.tails[key] = deque(maxlen=20)
            self.found[key] = []
        elif ev.state == "failed":
            self._task_failed(wf, ev)
        elif ev.state in ("succeeded", "cached"):
            self.found.pop(key, None)
            self.tails.pop(key, None)
            if self.task_diags.pop((wf, ev.task), None) is not None:
                self._republish()

    def _output(self, ev: Output) -> None:
        self.protocol.notify("treelane/output", ev.to_dict())
        key = (ev.run, ev.task)
        tail = self.tails.setdefault(key, deque(maxlen=20))
        found = self.found.setdefault(key, [])
        engine = self.ctx.current
        if engine is None:
            return
        worktree = self._worktree_of(engine, ev.run, ev.task)
        for line in ev.lines:
            tail.append(line)
            if len(found) < MAX_PER_TASK:
                d = parse_output_line(line, worktree, engine.ws.root)
                if d is not None:
                    found.append(d)

    def _worktree_of(self, engine: Engine, run: str, task: str) -> Path | None:
        live = engine.scheduler.runs.get(run)
        wt = live.tasks[task].worktree if live and task in live.tasks else None
        if wt is None:
            return None
        with contextlib.suppress(Exception):
            return engine.pool.find(wt)
        return None

    def _task_failed(self, wf: str, ev: TaskState) -> None:
        engine = self.ctx.current
        if engine is None:
            return
        key = (ev.run, ev.task)
        diags: dict[str, list[types.Diagnostic]] = {}
        toml = engine.ws.root / CONFIG_FILE
        doc = self.workspace.text_documents.get(file_uri(toml))
        if doc is not None:  # what the editor shows, saved or not
            text = doc.source
        else:
            text = toml.read_text(encoding="utf-8", errors="replace") if toml.exists() else ""
        # An expansion or a spawned task: the table of the task it comes from.
        r = task_table_range(text, wf, ev.group or ev.parent or ev.task)
        tail = list(self.tails.pop(key, []))[-10:]
        diags[file_uri(toml)] = [
            types.Diagnostic(
                range=_range(r.start_line, r.start_col, r.end_line, r.end_col),
                message=failure_message(ev.task, ev.exit_code, ev.error, tail),
                severity=types.DiagnosticSeverity.Error,
                source="treelane",
                code="task-failed",
            )
        ]
        for d in self.found.pop(key, []):
            diags.setdefault(file_uri(d.path), []).append(
                types.Diagnostic(
                    range=_range(d.line, d.col, d.line, d.col + 1),
                    message=d.message,
                    severity=SEVERITY[d.severity],
                    source=f"treelane: {ev.task}",
                )
            )
        self.task_diags[(wf, ev.task)] = diags
        self._republish()

    def _run_finished(self, ev: RunFinished) -> None:
        self.protocol.notify(
            "treelane/runFinished",
            {
                "run": ev.run,
                "workflow": ev.workflow,
                "state": ev.state,
                "duration_ms": ev.duration_ms,
                "counts": ev.counts,
                **({"reason": ev.reason} if ev.reason else {}),
                **({"conflicts": ev.conflicts} if ev.conflicts else {}),
            },
        )
        token = self.run_tokens.pop(ev.run, None)
        if token is not None:
            summary = ", ".join(f"{n} {s}" for s, n in sorted(ev.counts.items()))
            self.work_done_progress.end(
                token,
                types.WorkDoneProgressEnd(
                    message=f"{ev.state} in {ev.duration_ms / 1000:.1f} s ({summary})"
                ),
            )
        self.runs.pop(ev.run, None)

    def _notice(self, ev: Notice) -> None:
        kind = {"error": types.MessageType.Error, "warning": types.MessageType.Warning}.get(
            ev.level, types.MessageType.Info
        )
        # treelane/notice first: a client that shows it can skip the showMessage that follows.
        self.protocol.notify("treelane/notice", ev.to_dict())
        self.window_show_message(types.ShowMessageParams(type=kind, message=ev.message))

    # --- diagnostics ---------------------------------------------------------

    def _publish_config_file(self) -> None:
        engine = self.ctx.current
        if engine is None:
            return
        path = engine.ws.root / CONFIG_FILE
        doc = self.workspace.text_documents.get(file_uri(path))
        if doc is not None:  # open in the editor: its text, saved or not
            self.check_document(doc.uri, doc.source)
        elif path.exists():
            self.check_document(file_uri(path), path.read_text(encoding="utf-8", errors="replace"))

    # --- plumbing --------------------------------------------------------------

    def _client_has_progress(self) -> bool:
        caps = self.client_capabilities
        return bool(caps and caps.window and caps.window.work_done_progress)

    def _spawn(self, coro: Any) -> None:
        """Background tasks are kept (so they are not collected) and their errors logged."""
        task = asyncio.ensure_future(coro)
        self.background.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self.background.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("background task failed: %s", t.exception())

        task.add_done_callback(done)


class _ServerContext(Context):
    def __init__(self, server: EngineEvents) -> None:
        super().__init__(None)
        self.server = server
        self.current: Engine | None = None

    def on_engine(self, engine: Engine) -> None:
        self.current = engine
        engine.subscribe(self.server.on_engine_event)


def _range(l1: int, c1: int, l2: int, c2: int) -> types.Range:
    return types.Range(
        start=types.Position(line=l1, character=c1), end=types.Position(line=l2, character=c2)
    )
