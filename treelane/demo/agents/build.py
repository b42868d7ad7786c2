"""Agent "build": implement what PLAN.md asks for (a new module, exported)."""

from __future__ import annotations

from _agent import ROOT, need, say, write

TOP = '''"""The most frequent words of a text."""

from __future__ import annotations

from collections import Counter

from textstats.core import words


def top_words(text: str, n: int = 3) -> list[tuple[str, int]]:
    """The ``n`` most frequent words of ``text`` with their counts.

    Most frequent first; words seen equally often keep the order of their first
    appearance.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return Counter(words(text)).most_common(n)
'''


def main() -> None:
    plan = need("PLAN.md")
    say("reading PLAN.md")
    if "top_words" not in plan:
        print("error: the plan does not ask for top_words", flush=True)
        raise SystemExit(1)
    say("designing top_words(text, n=3) on top of words()", 0.6)
    write("src/textstats/top.py", TOP)
    init = ROOT / "src" / "textstats" / "__init__.py"
    text = init.read_text(encoding="utf-8")
    if "top_words" not in text:
        text = text.replace(
            "from textstats.core import word_count, words\n",
            "from textstats.core import word_count, words\nfrom textstats.top import top_words\n",
        ).replace(
            '__all__ = ["word_count", "words"]', '__all__ = ["top_words", "word_count", "words"]'
        )
        init.write_text(text, encoding="utf-8")
        say("exported top_words from textstats/__init__.py")
    for path in sorted((ROOT / "src" / "textstats").glob("*.py")):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
    say("compiled every module: no syntax errors")
    say("build done", 0)


if __name__ == "__main__":
    main()
