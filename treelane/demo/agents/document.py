"""Agent "document": write docs/API.md from the package's docstrings and signatures."""

from __future__ import annotations

import ast

from _agent import ROOT, need, say, sources, write


def main() -> None:
    need("src/textstats/top.py")
    parts = ["# textstats API\n", "Generated from the docstrings by the demo's document agent.\n"]
    for path in sources():
        if path.name == "__init__.py":
            continue
        module = ".".join(path.relative_to(ROOT / "src").with_suffix("").parts)
        say(f"documenting {module}", 0.8)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parts.append(f"## `{module}`\n\n{ast.get_docstring(tree) or ''}\n")
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
                signature = f"{node.name}({ast.unparse(node.args)}){returns}"
                doc = ast.get_docstring(node) or "(undocumented)"
                parts.append(f"### `{signature}`\n\n{doc}\n")
                say(f"  {signature}", 0.35)
    say("adding an example", 1.2)
    parts.append(
        "## Example\n\n```python\n>>> from textstats import top_words\n"
        ">>> top_words(\"the cat and the hat\", 1)\n[('the', 2)]\n```\n"
    )
    write("docs/API.md", "\n".join(parts))
    say("docs done", 0)


if __name__ == "__main__":
    main()
