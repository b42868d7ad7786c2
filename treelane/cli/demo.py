"""``treelane demo [DIR]``: make the example repository, run its pipeline through the
server with live progress, merge the result into main, write the timeline report and
say how much faster than one-after-another it was."""

from __future__ import annotations

import subprocess
import tempfile
from argparse import Namespace
from pathlib import Path
from typing import Any

from treelane.cli import render, review
from treelane.cli.follow import Interrupts, follow, outcome
from treelane.cli.live import LiveView, PlainView, RunView
from treelane.cli.session import CliError, Session, open_session
from treelane.demo import project


async def demo(args: Namespace) -> int:
    interrupts = Interrupts()
    interrupts.install()
    p = render.Printer()
    where = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="treelane-demo-"))
    try:
        repo = project.create(where)
    except project.DemoError as exc:
        raise CliError(str(exc)) from None
    _intro(p, repo)
    view: RunView = LiveView() if p.rich else PlainView()
    try:
        async with open_session(str(repo)) as s:
            interrupts.check()
            started = await s.execute("treelane.start", {"workflow": project.WORKFLOW})
            run = started["run"]
            view.begin(run, started["workflow"], started["tasks"], {})
            final = await follow(s, run, view, interrupts)
            view.close()
            report = await _write_report(s, run, repo)
            if final["state"] != "succeeded":
                p.line(f"report: {report}")
                return outcome(final, interrupts)
            status = (await s.execute("treelane.status", {"run": run}))["runs"][0]
            await _merge(s, p, run, status["base"])
    finally:
        view.close()
    _outro(p, repo, final, status, report)
    return 0


def _intro(p: render.Printer, repo: Path) -> None:
    p.line(f"created a demo repository in {repo}", "bold")
    p.line("a tiny Python package (textstats) and a treelane.toml whose tasks are agents:")
    for task, needs, what in project.PIPELINE:
        after = f" (after {', '.join(needs)})" if needs else ""
        p.line(f"  {task:<9} {what}{after}")
    p.line("each task works in its own git worktree; test, review and document run at once.")
    p.line("")


async def _merge(s: Session, p: render.Printer, run: str, base: str) -> None:
    preview = await s.execute("treelane.merge", {"run": run, "into": "main", "preview": True})
    review.write_merge(preview, f"run {run}", "main", True, p.rich)
    if not preview["clean"]:
        paths = ", ".join(c["path"] for c in preview["conflicts"])
        raise CliError(f"the demo run does not merge cleanly: conflicts in {paths}")
    merged = await s.execute("treelane.merge", {"run": run, "into": "main"})
    review.write_merge(merged, f"run {run}", "main", False, p.rich)
    p.line("the agents' work, now on main:")
    for line in _git(s.root, "diff", "--stat=72", base, "HEAD").splitlines():
        p.line(f"  {line}", "dim")


async def _write_report(s: Session, run: str, repo: Path) -> Path:
    html = (await s.execute("treelane.report", {"run": run}))["html"]
    path = repo.parent / f"{repo.name}-report.html"
    try:
        path.write_text(html, encoding="utf-8")
    except OSError:  # the parent is not writable: keep it inside the repository's git dir
        path = repo / ".git" / "treelane-report.html"
        path.write_text(html, encoding="utf-8")
    return path


def _outro(
    p: render.Printer, repo: Path, final: dict[str, Any], status: dict[str, Any], report: Path
) -> None:
    work_ms = sum(t.get("duration_ms") or 0 for t in status["tasks"])
    wall_ms = max(1, final.get("duration_ms") or 1)
    p.line("")
    p.line(
        f"speed-up: {work_ms / wall_ms:.1f}x: {render.seconds(work_ms)} of task time in "
        f"{render.seconds(wall_ms)} of wall time, against running the same tasks one after "
        "another",
        "bold green",
    )
    p.line(f"report: {report}  (the run's timeline: open it in a browser)")
    p.line(f"repository: {repo}  (try: cd {repo} && git log --oneline && treelane status)")


def _git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    return proc.stdout
