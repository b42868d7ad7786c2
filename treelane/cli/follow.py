"""Follow one run to its ``treelane/runFinished``, cancelling it on Ctrl-C.

Ctrl-C (SIGINT) once: ``treelane.cancel`` for the run, then keep following until the
server reports the run finished (state ``cancelled``); the command then exits 130.
Ctrl-C twice, or SIGTERM: stop at once; closing the server interrupts what still
runs (the run stays resumable with ``treelane resume``).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

from treelane.cli.client import CLOSED, Message
from treelane.cli.errors import EXIT_INTERRUPTED, EXIT_TERMINATED, CliError, Stopped
from treelane.cli.live import RunView
from treelane.cli.session import Session

SIGINT_MSG = "$/sigint"
SIGTERM_MSG = "$/sigterm"

__all__ = ["EXIT_INTERRUPTED", "EXIT_TERMINATED", "Interrupts", "Stopped", "follow", "outcome"]


class Interrupts:
    """SIGINT/SIGTERM while a command runs: counted, and posted to the follower's queue."""

    def __init__(self) -> None:
        self.count = 0
        self.terminated = False
        self.queue: asyncio.Queue[Message] | None = None

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, self._post, SIGINT_MSG)
        loop.add_signal_handler(signal.SIGTERM, self._post, SIGTERM_MSG)

    def uninstall(self) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)

    def _post(self, what: str) -> None:
        if what == SIGINT_MSG:
            self.count += 1
        else:
            self.terminated = True
        if self.queue is not None:
            self.queue.put_nowait((what, None))

    def check(self) -> None:
        """Raise :class:`Stopped` if the user already asked to stop (before a run began)."""
        if self.terminated:
            raise Stopped(EXIT_TERMINATED)
        if self.count:
            raise Stopped(EXIT_INTERRUPTED)


async def follow(
    session: Session,
    run: str,
    view: RunView,
    interrupts: Interrupts,
    keep: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Show the run's notifications until it finishes; the runFinished params.

    ``keep``: tasks a resume did not requeue (their ``queued`` announcements are stale).
    """
    queue = session.client.notifications
    interrupts.queue = queue
    failures: dict[str, str] = {}
    told: set[str] = set()
    if interrupts.count:
        await _cancel(session, run, view)
    while True:
        if queue.empty():
            view.flush()  # what was handled so far is out before we wait for more
        method, params = await queue.get()
        if method == SIGTERM_MSG:
            raise Stopped(EXIT_TERMINATED)
        if method == SIGINT_MSG:
            if interrupts.count > 1:
                view.note("stopping without waiting: the run is left interrupted (resumable)")
                raise Stopped(EXIT_INTERRUPTED)
            await _cancel(session, run, view)
            continue
        if method == CLOSED:
            tail = session.client.stderr_tail
            raise CliError("the treelane server exited" + (f": {tail[-1]}" if tail else ""))
        if not isinstance(params, dict) or params.get("run", run) != run:
            continue
        if method == "treelane/notice":
            if params.get("code") == "run-failed":
                view.handle(method, params)
                continue  # the command ends with the reason itself (not on stderr twice)
            # Warnings go to stderr; the window/showMessage that repeats it is skipped.
            told.add(str(params.get("message")))
            level = params.get("level", "info")
            print(f"treelane: {level}: {params.get('message')}", file=sys.stderr, flush=True)
            view.handle(method, params)  # --json: a line of its own, like every notification
            continue
        if method == "window/showMessage" and params.get("message") in told:
            continue
        stale = params.get("task") in keep and params.get("state") == "queued"
        if method == "treelane/taskState" and stale:
            continue
        view.handle(method, params)
        if method == "treelane/taskState" and params.get("state") == "failed":
            failures[params["task"]] = params.get("error") or f"exit code {params.get('exit_code')}"
        if method == "treelane/runFinished":
            view.end(params)
            return {**params, "failures": failures}


async def _cancel(session: Session, run: str, view: RunView) -> None:
    view.note(f"Ctrl-C: cancelling run {run} (press Ctrl-C again to stop without waiting)")
    try:
        await session.execute("treelane.cancel", {"run": run})
    except CliError as exc:  # it may have finished meanwhile; runFinished still comes
        view.note(f"cancel: {exc.message}")


def outcome(final: dict[str, Any], interrupts: Interrupts) -> int:
    """0 when the run succeeded; otherwise CliError with the reason and the exit code:
    130 if the user's Ctrl-C cancelled it, 1 else (a task failed, cancelled, interrupted)."""
    state, run = final["state"], f"run {final['run']} ({final['workflow']})"
    if state == "succeeded":
        return 0
    if state == "cancelled":
        by = " by Ctrl-C" if interrupts.count else ""
        code = EXIT_INTERRUPTED if interrupts.count else 1
        raise CliError(f"{run} cancelled{by}; resume it with: treelane resume {final['run']}", code)
    failures = final.get("failures") or {}
    why = final.get("reason") or ", ".join(f"{task} ({error})" for task, error in failures.items())
    if final.get("conflicts"):
        why += f"; resolve with: treelane resolve {final['run']}"
        if not str(final.get("reason", "")).startswith("final tasks"):
            why += " " + (list(failures) or ["TASK"])[0]
    if state == "interrupted":
        why = f"resume it with: treelane resume {final['run']}"
    raise CliError(f"{run} {state}" + (f": {why}" if why else ""))
