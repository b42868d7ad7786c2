"""Agent "test": write unit tests for the package and run them (exit 1 if they fail)."""

from __future__ import annotations

import os
import subprocess
import sys

from _agent import ROOT, need, say, write

TESTS = '''"""Unit tests for textstats (written by the demo's test agent)."""

import unittest

from textstats import top_words, word_count, words


class WordsTest(unittest.TestCase):
    def test_words_are_lower_case_and_keep_apostrophes(self):
        self.assertEqual(words("It's a Test, a TEST!"), ["it's", "a", "test", "a", "test"])

    def test_word_count(self):
        self.assertEqual(word_count("one two  three"), 3)
        self.assertEqual(word_count(""), 0)


class TopWordsTest(unittest.TestCase):
    def test_most_frequent_first(self):
        self.assertEqual(top_words("b a b c b a", 2), [("b", 3), ("a", 2)])

    def test_ties_keep_first_appearance(self):
        self.assertEqual(top_words("x y z", 3), [("x", 1), ("y", 1), ("z", 1)])

    def test_n_zero_and_negative(self):
        self.assertEqual(top_words("a a", 0), [])
        with self.assertRaises(ValueError):
            top_words("a", -1)


if __name__ == "__main__":
    unittest.main()
'''


def main() -> None:
    need("src/textstats/top.py")
    say("reading the code under test")
    say("choosing cases: ordering, ties, empty text, bad n", 1.2)
    write("tests/test_textstats.py", TESTS)
    say("running python -m unittest", 0.3)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "unittest", "discover", "-s", "tests", "-v"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stderr.splitlines():
        say(line, 0.2)
    say("tests passed" if proc.returncode == 0 else "tests FAILED", 0)
    raise SystemExit(proc.returncode)


if __name__ == "__main__":
    main()
