"""The JSON-RPC protocol of the treelane server: every request is answered exactly once."""

from __future__ import annotations

import logging
from typing import Any

from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.protocol import LanguageServerProtocol

from treelane.server.envelope import refusal, short

REQUEST_FAILED = -32803  # LSP RequestFailed
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
                msg = f"invalid params for {message['method']}: {first_line(str(cause))}"
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


def first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:300]
