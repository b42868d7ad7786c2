"""Score a candidate by its tests: prints the number of passing tests (treelane's pick).

    python3 prompts/score_tests.py [pytest args...]

Runs ``python3 -m pytest -q`` and prints, as its last line, how many tests passed
(0 if the suite cannot run), so treelane keeps the candidate that passes the most.
Standard library only.
"""

from __future__ import annotations

import re
import subprocess
import sys


def main() -> int:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *sys.argv[1:]],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    print(proc.stdout[-2000:])
    match = re.search(r"(\d+) passed", proc.stdout)
    print(match[1] if match else 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
