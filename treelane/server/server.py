"""The pygls language server (this package is the only place that knows pygls).

Handlers are thin: unpack the one JSON argument, run the command from
:mod:`treelane.commands` off the event loop, convert its errors to JSON-RPC
codes. The protocol's strictness is in :mod:`treelane.server.protocol`, the
forwarding of engine events in :mod:`treelane.server.forward`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInternalError, JsonRpcInvalidParams
from pygls.io_ import run_async

from treelane import __version__
from treelane.commands import COMMAND_NAMES, READ_ONLY, Command, command
from treelane.commands.context import Context
from treelane.errors import RequestFailed
from treelane.server.envelope import MAX_LOGGED, valid_id
from treelane.server.forward import EngineEvents
from treelane.server.framing import FrameWriter, StrictReader
from treelane.server.protocol import REQUEST_FAILED, TreelaneProtocol, first_line
from treelane.server.toml_lsp import code_actions

# What an untrusted workspace may still do (the client says so in initializationOptions):
# the commands that only read (treelane.commands.READ_ONLY).
log = logging.getLogger("treelane.server")


class TreelaneServer(EngineEvents):
    def __init__(self) -> None:
        super().__init__("treelane", __version__, protocol_cls=TreelaneProtocol, max_workers=8)
        self.toml_diags: list[types.Diagnostic] = []
        self.published: set[str] = set()
        self.trusted = True
        self.prewarm = False
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
            raise JsonRpcInternalError(f"internal error: {first_line(str(exc))}") from None

    def workspace_root(self) -> Path | None:
        return self.ctx.root or self._root()

    # --- plumbing --------------------------------------------------------------

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
        self.protocol.set_writer(FrameWriter(stdout or sys.stdout.buffer))
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


def _quiet(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*a: Any) -> Any:
        with contextlib.suppress(Exception):
            return fn(*a)
        return None

    return call


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
    # What start-up made (the protocol's ~80,000 classes, functions and converters) lives as
    # long as the server: out of the collector's sight, a big run's full collections no
    # longer walk it (about a tenth of the server's time in a 10,000-task run).
    gc.collect()
    gc.freeze()
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
