"""A stand-in for a coding agent CLI (claude, codex or aider), for the recipes' tests.

It accepts the real tool's non-interactive command line, checks what a treelane task
sees (stdin closed or empty, no TTY, its worktree as the current directory), reads
the prompt and edits files the way the real agent would for that prompt's role. Each
call is logged as one JSON line to $STANDIN_LOG.

    python3 standin.py TOOL ARGS...
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path


def prompt_of(tool: str, args: list[str]) -> str:
    if tool == "claude":
        if "-p" not in args:
            sys.exit("claude: this stand-in expects -p (print mode)")
        return args[-1]
    if tool == "codex":
        if not args or args[0] != "exec":
            sys.exit("codex: this stand-in expects 'codex exec PROMPT'")
        return args[-1]
    if tool == "aider":
        if "--yes" not in args or "--message-file" not in args:
            sys.exit("aider: this stand-in expects --yes --message-file FILE")
        return Path(args[args.index("--message-file") + 1]).read_text(encoding="utf-8")
    sys.exit(f"unknown tool {tool}")


def write(path: str, text: str) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    print(f"wrote {path}")


CALC = {
    "add": "def add(a, b):\n    return a + b\n",
    "sub": "def sub(a, b):\n    return a - b\n",
    "mul": "def mul(a, b):\n    return a * b\n",
}
# Candidate n implements these functions (candidate 2 the whole request).
CANDIDATES = {"1": ["add"], "2": ["add", "sub", "mul"], "3": ["add", "sub"]}


def act(role: str, prompt: str) -> None:
    suffix = prompt.rstrip().splitlines()[-1] if prompt.strip() else ""
    if role == "scout":
        area = re.search(r"Area: (\S+)", prompt)
        assert area, "the scout prompt names no area"
        write(f"notes/scout-{area[1]}.md", f"# {area[1]}\n\nsrc/calc.py holds the code.\n")
    elif role == "plan":
        notes = sorted(p.name for p in Path("notes").glob("scout-*.md"))
        write(
            "PLAN.md",
            "# Plan\n\nAdd sub and mul.\n\n## Parts\n- sub: subtraction\n- mul: multiplication\n\n"
            f"Scouts read: {', '.join(notes)}\n",
        )
    elif role in ("build", "test"):
        part = re.search(r"Part: ([a-z0-9-]+)", suffix)
        assert part, "the prompt names no part"
        if role == "build":
            write(f"src/calc_{part[1]}.py", CALC[part[1]])
        else:
            write(f"tests/test_{part[1]}_extra.py", f"def test_{part[1]}_exists():\n    pass\n")
    elif role == "review":
        write("REVIEW.md", "# Review\n\nNo blocking findings.\n")
    elif role == "document":
        write("CHANGELOG.md", "# Changelog\n\n- sub and mul.\n")
    elif role == "implement":
        chosen = CANDIDATES[os.environ.get("TREELANE_CANDIDATE", "1")]
        write("src/calc.py", "".join(CALC[name] for name in chosen))
    else:
        sys.exit(f"unknown role {role!r}")


def main() -> int:
    tool, args = sys.argv[1], sys.argv[2:]
    seen = {
        "tool": tool,
        "args": args,
        "stdin_tty": os.isatty(0),
        "stdout_tty": os.isatty(1),
        "stdin": sys.stdin.read() if not os.isatty(0) else "(tty)",
        "cwd_is_worktree": Path.cwd().resolve() == Path(os.environ["TREELANE_WORKTREE"]).resolve(),
        "task": os.environ.get("TREELANE_TASK"),
    }
    with open(os.environ["STANDIN_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(seen) + "\n")
    prompt = prompt_of(tool, args)
    role = re.match(r"# Role: (\S+)", prompt)
    if not role:
        sys.exit("the prompt does not start with '# Role: NAME'")
    act(role[1], prompt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
