"""Agent "plan": read the project and the request in README.md, write PLAN.md."""

from __future__ import annotations

import ast

from _agent import ROOT, need, say, sources, write


def main() -> None:
    readme = need("README.md")
    say("reading README.md")
    request = next(
        (line.strip("> ").strip() for line in readme.splitlines() if line.startswith(">")),
        "add top_words(text, n)",
    )
    say(f"request: {request}")
    functions = []
    for path in sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
        functions += [f"{path.relative_to(ROOT)}: {name}()" for name in names]
        say(f"read {path.relative_to(ROOT)}: {', '.join(names) or 'no functions'}")
    say("thinking about the design", 0.5)
    say("splitting the work into tasks that can run side by side")
    existing = "\n".join(f"- `{f}`" for f in functions)
    write(
        "PLAN.md",
        f"""# Plan

Request: {request}

## What exists

{existing}

## Steps

1. **build**: add `src/textstats/top.py` with `top_words(text, n=3)`, built on
   `words()`: the `n` most frequent words, most frequent first, ties in order of
   first appearance; export it from `textstats`.
2. **test** (parallel): unit tests for `words`, `word_count` and `top_words`.
3. **review** (parallel): read the code, list findings in `REVIEW.md`.
4. **document** (parallel): API reference in `docs/API.md` from the docstrings.
5. **merge**: preview, then merge the result into `main`.
""",
    )
    say("plan ready", 0)


if __name__ == "__main__":
    main()
