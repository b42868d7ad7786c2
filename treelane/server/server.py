"""The pygls language server: the only module that knows pygls.

Handlers are thin: unpack the one JSON argument, run the command from
:mod:`treelane.commands` off the event loop, convert its errors to JSON-RPC
codes. Engine events arrive on engine threads and are handed to the event loop
(``call_soon_threadsafe``) before anything is written to the client, so stdio
and TCP behave alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import threading
import uuid
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidParams
from pygls.io_ import StdoutWriter, run_async
from pygls.protocol import LanguageServerProtocol

from treelane import __version__
from treelane.commands import COMMAND_NAMES, READ_ONLY, Command, command
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
from treelane.errors import RequestFailed
from treelane.server.config_diagnostics import ConfigDiagnostics, file_uri
from treelane.server.diagnostics import (
    MAX_PER_TASK,
    FileDiagnostic,
    failure_message,
    parse_output_line,
    task_table_range,
)
from treelane.server.envelope import MAX_LOGGED, refusal, short, valid_id
from treelane.server.framing import StrictReader
from treelane.server.progress import RunProgress
from treelane.server.toml_lsp import SEVERITY, code_actions

if TYPE_CHECKING:
    from treelane.engine.core import Engine

REQUEST_FAILED = -32803  # LSP RequestFailed
# What an untrusted workspace may still do (the client says so in initializationOptions):
# the commands that only read (treelane.commands.READ_ONLY).
log = logging.getLogger("treelane.server")


class _Answered:
    """What a message becomes once the protocol has already answered it."""

    jsonrpc = "answered"


class TreelaneProtocol(LanguageServerProtocol):
    """pygls' protocol with every request answered exactly once.

    * A request whose params fail pygls' own type validation gets -32602 with its id
      (pygls would log it and answer nothing, leaving the editor waiting).
    * ``$/cancelRequest`` for a request already running is ignored: the command
      finishes and answers with its real result, instead of -32800 while it goes on.
    """

    initialized = False

    def structure_message(self, data: dict[str, Any]) -> Any:
        """The JSON decoder's object hook: every object stays a dict (a nested object that
        looks like a message is an argument, not a message); see :meth:`handle_message`."""
        return data

    def handle_message(self, message: Any) -> None:
        """Check the envelope (one answer per request), then structure and handle it."""
        if isinstance(message, _Answered):
            return
        refused = refusal(message, initialized=self.initialized, shut_down=self._shutdown)
        if refused is not None:
            if refused.code == 0:
                log.warning("%s", refused.message)
            else:
                log.warning("refused a request: %s", refused.message)
                self._send_error(refused.id, refused.code, refused.message)
            return
        try:
            structured = super().structure_message(message)
        except JsonRpcException as exc:
            if "id" in message and "method" in message:
                cause = exc.__cause__ or exc
                msg = f"invalid params for {message['method']}: {_first_line(str(cause))}"
                self._send_error(message["id"], JsonRpcInvalidParams.CODE, msg)
                return
            log.warning("dropped a message that could not be read: %s", short(message))
            return
        if message.get("method") == "initialize" and "id" in message:
            self.initialized = True
        super().handle_message(structured)

    def _send_error(self, msg_id: Any, code: int, message: str) -> None:
        self._send_data(
            {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}
        )

    def _send_handler_result(self, future: Any, *, msg_id: Any) -> None:
        """A request refused as expected (-32602 bad arguments, -32803 cannot be done now,
        e.g. "nothing to undo") is answered without a traceback or an error in the log."""
        if future.done() and not future.cancelled():
            exc = future.exception()
            if isinstance(exc, JsonRpcException) and exc.code in (REQUEST_FAILED, -32602):
                self._request_futures.pop(msg_id, None)
                log.info("request %s refused: %s", msg_id, exc.message)
                self._send_response(msg_id, error=exc.to_response_error())
                return
        super()._send_handler_result(future, msg_id=msg_id)

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        future = self._request_futures.get(msg_id)
        if future is not None and not future.done():
            log.debug("request %s is running: it will answer with its result", msg_id)


BATCH_S = 0.05  # how long batched taskState changes wait for company


class TreelaneServer(ConfigDiagnostics):
    def __init__(self) -> None:
        super().__init__("treelane", __version__, protocol_cls=TreelaneProtocol, max_workers=8)
        self.ctx = _ServerContext(self)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.runs: dict[str, RunProgress] = {}
        self.tokens: dict[str, str] = {}  # progress token -> run
        self.run_tokens: dict[str, str] = {}  # run -> progress token (once begun)
        self.pending_report: set[str] = set()
        self.tails: dict[tuple[str, str], deque[str]] = {}
        self.found: dict[tuple[str, str], list[FileDiagnostic]] = {}
        self.task_diags: dict[tuple[str, str], dict[str, list[types.Diagnostic]]] = {}
        self.toml_diags: list[types.Diagnostic] = []
        self.published: set[str] = set()
        self.background: set[asyncio.Task[Any]] = set()
        self.trusted = True
        self.prewarm = False
        # initializationOptions.batchTaskState: taskState changes go out together, as
        # {"changes": [...]}, at most every BATCH_S (before any other notification).
        self.batch_states = False
        self.state_batch: list[dict[str, Any]] = []
        self._config_of: tuple[Path, Path] | None = None  # (workspace root, its treelane.toml)
        self.reader: StrictReader | None = None

    # --- commands ----------------------------------------------------------

    async def call(self, name: str, fn: Command, args: tuple[Any, ...]) -> Any:
        """Run a command off the event loop and turn its errors into JSON-RPC errors."""
        self.loop = asyncio.get_running_loop()
        if not self.trusted and name not in READ_ONLY:
            raise JsonRpcException(
                f"{name} is not available in an untrusted workspace (workflows run commands "
                "from the repository); trust the workspace first",
                code=REQUEST_FAILED,
            )
        if self.ctx.root is None:
            self.ctx.root = self._root()
        if len(args) > 1:
            raise JsonRpcInvalidParams(
                f"expected one JSON object as the only argument, got {len(args)} arguments"
            )
        try:
            return await asyncio.to_thread(fn, self.ctx, args[0] if args else {})
        except JsonRpcException:
            raise
        except RequestFailed as exc:
            raise JsonRpcException(str(exc), code=REQUEST_FAILED) from None
        except ValueError as exc:
            raise JsonRpcInvalidParams(str(exc)) from None
        except Exception as exc:
            log.exception("command failed")
            raise JsonRpcInternalError(f"internal error: {_first_line(str(exc))}") from None

    def workspace_root(self) -> Path | None:
        return self.ctx.root or self._root()

    # --- engine events (engine threads -> event loop) -------------------------

    def on_engine_event(self, event: Event) -> None:
        if self.loop is not None and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._dispatch, event)

    def _notify_state(self, params: dict[str, Any]) -> None:
        if not self.batch_states:
            self.protocol.notify("treelane/taskState", params)
            return
        if not self.state_batch and self.loop is not None:
            self.loop.call_later(BATCH_S, self.flush_states)
        self.state_batch.append(params)

    def flush_states(self) -> None:
        """Send the taskState changes collected so far as one notification."""
        if self.state_batch:
            changes, self.state_batch = self.state_batch, []
            self.protocol.notify("treelane/taskState", {"changes": changes})

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

    def cancel_progress(self, token: str) -> None:
        run = self.tokens.get(token)
        engine = self.ctx.current
        if run is not None and engine is not None:
            self._spawn(asyncio.to_thread(_quiet(engine.cancel), run))

    def report_server_error(self, error: Exception, source: Any) -> None:
        """A message pygls could not even read still gets its one answer (-32700/-32600)."""
        if isinstance(error, UnicodeDecodeError):
            self._invalid_utf8(error)
        elif isinstance(error, json.JSONDecodeError):
            self._send_raw_error(-32700, f"parse error: {error}")
        elif isinstance(error, AttributeError) and source is JsonRpcException:
            self._send_raw_error(-32600, "invalid request: expected a JSON-RPC message object")
        else:
            log.error("%s", error)

    def _send_raw_error(self, code: int, message: str, msg_id: Any = None) -> None:
        self.protocol._send_data(
            {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}
        )

    def _invalid_utf8(self, error: UnicodeDecodeError) -> None:
        """A body that is not UTF-8: answered -32600, with its id when one can be read."""
        msg_id = None
        with contextlib.suppress(Exception):
            data = json.loads(bytes(error.object).decode("utf-8", errors="replace"))
            if isinstance(data, dict) and valid_id(data.get("id")):
                msg_id = data["id"]
            elif isinstance(data, dict) and "id" not in data:
                log.warning("dropped a notification that is not valid UTF-8")
                return
        self._send_raw_error(
            -32600, f"invalid request: the message is not valid UTF-8 ({error.reason})", msg_id
        )

    def start_io(self, stdin: Any = None, stdout: Any = None) -> None:
        """Serve stdio with strict framing: a framing error ends the server (non-zero)."""
        self._stop_event = threading.Event()
        self.reader = StrictReader(stdin or sys.stdin.buffer, self.thread_pool)
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        try:
            asyncio.run(
                run_async(
                    stop_event=self._stop_event,
                    reader=self.reader,
                    protocol=self.protocol,
                    logger=log,
                    error_handler=self.report_server_error,
                )
            )
        except BrokenPipeError:
            log.error("the connection to the client is lost: the server stops")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        """On exit: running tasks stop and their runs become 'interrupted' (resumable)."""
        self.ctx.close()
        super().shutdown()  # type: ignore[no-untyped-call]


class _ServerContext(Context):
    def __init__(self, server: TreelaneServer) -> None:
        super().__init__(None)
        self.server = server
        self.current: Engine | None = None

    def on_engine(self, engine: Engine) -> None:
        self.current = engine
        engine.subscribe(self.server.on_engine_event)


def _quiet(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*a: Any) -> Any:
        with contextlib.suppress(Exception):
            return fn(*a)
        return None

    return call


def _range(l1: int, c1: int, l2: int, c2: int) -> types.Range:
    return types.Range(
        start=types.Position(line=l1, character=c1), end=types.Position(line=l2, character=c2)
    )


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:300]


def _prewarm(ctx: Context) -> None:
    """Open the engine and fill the pool in the background (initializationOptions.prewarm)."""
    with contextlib.suppress(Exception):  # no repository, a bad treelane.toml: nothing to do
        ctx.engine().prewarm_pool()


def create_server() -> TreelaneServer:
    """A server with every command and notification handler registered."""
    ls = TreelaneServer()

    for name in COMMAND_NAMES:
        ls.command(name)(_command_handler(name))

    @ls.feature(types.INITIALIZE)
    def initialize(ls: TreelaneServer, params: types.InitializeParams) -> None:
        opts = params.initialization_options
        if isinstance(opts, dict) and opts.get("trusted") is False:
            ls.trusted = False
        ls.prewarm = isinstance(opts, dict) and opts.get("prewarm") is True
        ls.batch_states = isinstance(opts, dict) and opts.get("batchTaskState") is True

    @ls.feature(types.INITIALIZED)
    def initialized(ls: TreelaneServer, params: types.InitializedParams) -> None:
        ls.loop = asyncio.get_event_loop()
        ls.ctx.root = ls._root()
        if ls.prewarm and ls.trusted:  # worktrees run `setup`: never in an untrusted one
            threading.Thread(target=_prewarm, args=(ls.ctx,), daemon=True).start()

    @ls.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: TreelaneServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.check_document(params.text_document.uri, params.text_document.text)

    @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: TreelaneServer, params: types.DidChangeTextDocumentParams) -> None:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        ls.check_document(doc.uri, doc.source)

    @ls.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: TreelaneServer, params: types.DidSaveTextDocumentParams) -> None:
        doc = ls.workspace.get_text_document(params.text_document.uri)
        ls.check_document(doc.uri, doc.source)

    @ls.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    def code_action(ls: TreelaneServer, params: types.CodeActionParams) -> Any:
        if not ls._is_config(params.text_document.uri):
            return None
        doc = ls.workspace.get_text_document(params.text_document.uri)
        return code_actions(doc.uri, doc.source, params.range, params.context)

    @ls.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched_files(ls: TreelaneServer, params: types.DidChangeWatchedFilesParams) -> None:
        ls.files_changed(params)

    @ls.feature(types.SHUTDOWN)
    async def shutdown(ls: TreelaneServer, *args: Any) -> None:
        # pygls cancels requests still in flight when shutdown arrives (they would answer
        # -32800 while their work goes on): let them finish and answer for real first.
        me: object = asyncio.current_task()
        pending: list[Any] = [
            f
            for mid, f in list(ls.protocol._request_futures.items())
            if mid != ls.protocol.msg_id
            and f is not me
            and isinstance(f, asyncio.Future)
            and not f.done()
        ]
        if pending:
            await asyncio.wait(pending, timeout=30)

    @ls.feature(types.WINDOW_WORK_DONE_PROGRESS_CANCEL)
    def progress_cancel(ls: TreelaneServer, params: types.WorkDoneProgressCancelParams) -> None:
        ls.cancel_progress(str(params.token))

    return ls


def _command_handler(name: str) -> Callable[..., Any]:
    async def handler(ls: TreelaneServer, *args: Any) -> Any:
        return await ls.call(name, command(name), args)

    handler.__name__ = name.replace(".", "_")
    return handler


class LogForwarder(logging.Handler):
    """Forward treelane's log records to the client as window/logMessage."""

    def __init__(self, server: TreelaneServer) -> None:
        super().__init__(logging.INFO)
        self.server = server

    def emit(self, record: logging.LogRecord) -> None:
        loop = self.server.loop
        if loop is None or loop.is_closed():
            return
        kind = (
            types.MessageType.Error
            if record.levelno >= logging.ERROR
            else types.MessageType.Warning
            if record.levelno >= logging.WARNING
            else types.MessageType.Info
        )
        params = types.LogMessageParams(type=kind, message=self.format(record))
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self.server.window_log_message, params)


def serve(tcp: tuple[str, int] | None = None, log_level: str = "INFO") -> None:
    """Run the server over stdio (default) or TCP. Logs go to stderr and the client."""
    logging.basicConfig(level=log_level, format="treelane %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pygls").setLevel(logging.WARNING)  # it logs every message at INFO
    for handler in logging.getLogger().handlers:
        handler.addFilter(Truncate())
    server = create_server()
    forwarder = LogForwarder(server)
    forwarder.addFilter(Truncate())
    logging.getLogger("treelane").addHandler(forwarder)
    if tcp is None:
        server.start_io()
        error = server.reader.error if server.reader is not None else None
        if error is not None:
            raise SystemExit(f"treelane serve: {error}")
    else:
        server.start_tcp(*tcp)


class Truncate(logging.Filter):
    """Log records are cut to a few thousand characters (a request may carry megabytes)."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if len(text) > MAX_LOGGED:
            record.msg = f"{text[:MAX_LOGGED]}... ({len(text):,} characters in all)"
            record.args = None
        if record.exc_info and record.exc_text is None:
            # Tracebacks quote the failing call's arguments: format once, then cut.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            if len(record.exc_text) > 4 * MAX_LOGGED:
                record.exc_text = record.exc_text[: 4 * MAX_LOGGED] + "..."
        return True
