"""Command-line front end (the full client lives in treelane.cli.client)."""

from __future__ import annotations

import argparse


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="treelane")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    serve.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    if args.command == "serve":
        from treelane.server.server import serve as run_server

        tcp = None
        if args.tcp:
            host, _, port = args.tcp.rpartition(":")
            tcp = (host or "127.0.0.1", int(port))
        run_server(tcp, args.log_level)
        return 0
    return 2
