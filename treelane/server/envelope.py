"""Checks of a JSON-RPC message's envelope before pygls sees it (one answer per request).

pygls leaves some malformed messages unanswered (a request without ``method``, another
``jsonrpc`` version, anything after ``shutdown``) and answers others with a misleading
code; :func:`refusal` says which error a message gets instead, or None to let it pass.
"""

from __future__ import annotations

from typing import Any, NamedTuple

INVALID_REQUEST = -32600
SERVER_NOT_INITIALIZED = -32002
MAX_LOGGED = 2000  # characters of a value written to the log


class Refusal(NamedTuple):
    id: int | str | None  # the request's id (None when it has no usable one)
    code: int
    message: str


def valid_id(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, str)


def refusal(msg: Any, *, initialized: bool, shut_down: bool) -> Refusal | None:
    """The error answer ``msg`` gets instead of being handled, or None.

    A notification (no ``id``) never gets an answer; one that is not acceptable is dropped
    (``drop`` is signalled by a Refusal with ``code`` 0).
    """
    if not isinstance(msg, dict):
        return Refusal(None, INVALID_REQUEST, "invalid request: expected a JSON-RPC message object")
    has_id = "id" in msg
    if has_id and not valid_id(msg["id"]) and msg["id"] is not None:
        return Refusal(
            None, INVALID_REQUEST, "invalid request: 'id' must be an integer or a string"
        )
    msg_id = msg.get("id")
    is_response = has_id and "method" not in msg and ("result" in msg or "error" in msg)
    if msg.get("jsonrpc") != "2.0":
        if not has_id:
            return Refusal(None, 0, "dropped a notification that is not JSON-RPC 2.0")
        got = short(msg.get("jsonrpc"))
        return Refusal(
            msg_id, INVALID_REQUEST, f"invalid request: 'jsonrpc' must be \"2.0\", got {got}"
        )
    if is_response:
        return None
    if "method" not in msg:
        if not has_id:
            return Refusal(None, INVALID_REQUEST, "invalid request: no 'method' and no 'id'")
        return Refusal(msg_id, INVALID_REQUEST, "invalid request: no 'method'")
    method = msg["method"]
    if not isinstance(method, str):
        if not has_id:
            return Refusal(None, 0, "dropped a notification whose 'method' is not a string")
        return Refusal(msg_id, INVALID_REQUEST, "invalid request: 'method' must be a string")
    if (
        "params" in msg
        and not isinstance(msg["params"], (dict, list))
        and msg["params"] is not None
    ):
        if not has_id:
            return Refusal(None, 0, f"dropped {short(method)}: 'params' is not an object")
        return Refusal(
            msg_id, INVALID_REQUEST, "invalid request: 'params' must be an object or an array"
        )
    if shut_down and method != "exit":
        if not has_id:
            return Refusal(None, 0, f"dropped {short(method)} after shutdown")
        return Refusal(
            msg_id,
            INVALID_REQUEST,
            f"invalid request: {short(method)} after shutdown (only exit is accepted)",
        )
    if not initialized and method not in ("initialize", "exit"):
        if not has_id:
            return Refusal(None, 0, f"dropped {short(method)} before initialize")
        return Refusal(
            msg_id,
            SERVER_NOT_INITIALIZED,
            f"server not initialized: send initialize before {short(method)}",
        )
    return None


def short(value: Any, limit: int = 80) -> str:
    """A value for a message or the log, cut to ``limit`` characters."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        return f"{text[:limit]}... ({len(text):,} characters)"
    return text
