"""Subcommands of agent workflows: ``treelane pick RUN TASK N``."""

from __future__ import annotations

from argparse import Namespace

from treelane.cli import render
from treelane.cli.follow import Interrupts, follow, outcome
from treelane.cli.live import make_view
from treelane.cli.session import open_session


async def pick(args: Namespace) -> int:
    """Pick candidate N; when the run was finished, follow the re-run of its dependents."""
    interrupts = Interrupts()
    interrupts.install()
    argument = {"run": args.run, "task": args.task, "candidate": args.candidate}
    async with open_session(args.directory) as s:
        interrupts.check()
        before = (await s.execute("treelane.status", {"run": args.run}))["runs"][0]
        result = await s.execute("treelane.pick", argument)
        if before["state"] == "running":  # re-pointed in the live run
            if args.json:
                render.print_json(result)
            else:
                render.Printer().line(f"run {args.run}: {args.task} is now {result['picked']}")
            return 0
        if not args.json:
            p = render.Printer()
            p.line(f"run {args.run}: {args.task} is now {result['picked']}")
            p.line(f"re-running: {', '.join(result['rerun']) or 'nothing (merging the result)'}")
        view = make_view(args.json)
        try:
            states = {t["name"]: t["state"] for t in before["tasks"]}
            rerun = set(result["rerun"])
            states.update(dict.fromkeys(rerun, "queued"))
            view.begin(args.run, before["workflow"], list(states), states)
            final = await follow(s, args.run, view, interrupts, keep=frozenset(states) - rerun)
            return outcome(final, interrupts)
        finally:
            view.close()


async def checkpoints(args: Namespace) -> int:
    """The checkpoints taken while a run's tasks ran (checkpoint_every), oldest first."""
    async with open_session(args.directory) as s:
        run = (await s.execute("treelane.status", {"run": args.run}))["runs"][0]
    rows = [{"task": t["name"], **cp} for t in run["tasks"] for cp in t.get("checkpoints", [])]
    rows.sort(key=lambda r: r["created"])
    if args.json:
        render.print_json({"run": args.run, "checkpoints": rows})
        return 0
    p = render.Printer()
    if not rows:
        p.line(f"run {args.run}: no checkpoints (set checkpoint_every on a task)")
        return 0
    start = rows[0]["created"]
    for r in rows:
        p.line(
            f"{r['task']}  checkpoint {r['id']} of {r['worktree']}  {render.short(r['commit'])}"
            f"  +{r['created'] - start:.0f} s"
        )
    p.line(f"restore one with: treelane undo {rows[-1]['worktree']} (repeat to go further back)")
    return 0
