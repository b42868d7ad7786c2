"""The ``treelane`` command: parse the command line and dispatch (nothing else here)."""

from __future__ import annotations

import sys

from treelane.cli.app import main as cli_main


def main(argv: list[str] | None = None) -> int:
    return cli_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    raise SystemExit(main())
