"""The sets of task states that readers test against (no event classes: cheap to import
for the read-only CLI commands)."""

from __future__ import annotations

OK_STATES = frozenset({"succeeded", "cached"})
FINAL_STATES = frozenset({"succeeded", "cached", "failed", "skipped", "cancelled", "interrupted"})
