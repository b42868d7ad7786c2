"""``treelane serve``: the language server itself (stdio by default, or TCP)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from argparse import Namespace

import psutil

log = logging.getLogger(__name__)

#: How often the editor's process is looked for, and how long a clean exit may take.
POLL_SECONDS = 1.0
GRACE_SECONDS = 10.0


def serve(args: Namespace) -> int:
    from treelane.server.server import serve as run_server

    tcp = None
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        tcp = (host or "127.0.0.1", int(port))
    if args.client_pid is not None:
        watch_client(args.client_pid)
    run_server(tcp, args.log_level)
    # Everything is closed (the engine, its store, the connection): skip the interpreter's
    # teardown of a big run's objects, which the client would otherwise wait for.
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


def watch_client(pid: int) -> threading.Thread:
    """Exit when process ``pid`` is gone: the server's own shutdown runs (as for Ctrl-C),
    so running tasks stop and their runs stay resumable; a server that does not finish
    within GRACE_SECONDS exits anyway."""

    def watch() -> None:
        while _alive(pid):
            threading.Event().wait(POLL_SECONDS)
        log.info("the client process %d exited; shutting down", pid)
        os.kill(os.getpid(), signal.SIGINT)
        threading.Event().wait(GRACE_SECONDS)
        os._exit(0)

    thread = threading.Thread(target=watch, name="treelane-client-watch", daemon=True)
    thread.start()
    return thread


def _alive(pid: int) -> bool:
    try:
        status: str = psutil.Process(pid).status()
        return status != str(psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False
