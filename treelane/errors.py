"""The two kinds of failure every front end (LSP server, CLI) maps to its own codes.

* ``ValueError`` (and :class:`InvalidArgument`): the request itself is malformed
  (LSP -32602, CLI exit 2).
* :class:`RequestFailed`: a valid request that cannot be done (LSP -32803, CLI exit 1).
"""

from __future__ import annotations


class InvalidArgument(ValueError):
    """A request argument is missing or has the wrong type or value."""


class RequestFailed(Exception):
    """A well-formed request that cannot be carried out; the message is for people."""
