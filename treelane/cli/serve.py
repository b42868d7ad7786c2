"""``treelane serve``: the language server itself (stdio by default, or TCP)."""

from __future__ import annotations

from argparse import Namespace


def serve(args: Namespace) -> int:
    from treelane.server.server import serve as run_server

    tcp = None
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        tcp = (host or "127.0.0.1", int(port))
    run_server(tcp, args.log_level)
    return 0
