"""The ``treelane`` command: parse the command line and dispatch (nothing else here)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    from treelane.cli import quick

    plain = quick.parse(words)  # `treelane status` and the like, without argparse
    if plain is not None:
        return quick.run(plain)
    from treelane.cli.app import main as cli_main

    return cli_main(words)


if __name__ == "__main__":
    raise SystemExit(main())
