"""Agent "review": read the source and write REVIEW.md with what it finds."""

from __future__ import annotations

import ast
from pathlib import Path

from _agent import ROOT, need, say, sources, write

MAX_LINE = 88


def findings(path: Path) -> list[str]:
    rel = path.relative_to(ROOT)
    text = path.read_text(encoding="utf-8")
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > MAX_LINE:
            found.append(f"`{rel}:{number}`: line is {len(line)} characters (> {MAX_LINE})")
        if "TODO" in line:
            found.append(f"`{rel}:{number}`: TODO left in the code")
    tree = ast.parse(text)
    if ast.get_docstring(tree) is None:
        found.append(f"`{rel}:1`: module has no docstring")
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            where = f"`{rel}:{node.lineno}` `{node.name}()`"
            if ast.get_docstring(node) is None:
                found.append(f"{where}: no docstring")
            if node.returns is None:
                found.append(f"{where}: no return type annotation")
        if isinstance(node, ast.ExceptHandler) and node.type is None:
            found.append(f"`{rel}:{node.lineno}`: bare `except:`")
    return found


def main() -> None:
    need("src/textstats/top.py")
    everything = []
    for path in sources():
        say(f"reviewing {path.relative_to(ROOT)}", 0.5)
        found = findings(path)
        for item in found:
            say(f"  finding: {item.replace('`', '')}", 0.25)
        everything += found
    say("weighing the findings", 1.5)
    listed = "\n".join(f"- {item}" for item in everything) or "- nothing to report"
    verdict = "approve with comments" if everything else "approve"
    write(
        "REVIEW.md",
        f"# Review\n\nVerdict: **{verdict}** ({len(everything)} finding(s)).\n\n{listed}\n",
    )
    say(f"review done: {verdict}", 0)


if __name__ == "__main__":
    main()
