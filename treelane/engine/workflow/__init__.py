"""Parse and validate the workflow file ``treelane.toml``.

The module is pure (standard library only) and reports *every* problem of a
document in one pass, each with a precise source range, so that the language
server can publish them as diagnostics and the CLI can print them all at once.

File format::

    [settings]
    max_parallel = "auto"       # or a positive int
    pool_size = 4               # warm worktrees kept (int >= 0)
    pool_create_parallel = 4    # new worktrees made at once (int > 0)
    pool_max_disk_mb = 0        # evict idle worktrees (LRU) above this; 0 = no limit
    memory_per_task_mb = 500    # estimate used by "auto" (int > 0)
    log_max_mb = 10             # output stored per task attempt: its first and last halves
    cache_salt = ""             # mixed into every cache key
    worktrees_dir = ""          # "" = default inside the git dir
    include = [".env"]          # ignored files copied into new worktrees (relative paths)
    setup = "npm ci"            # run once when a worktree is created
    reset = "keep-ignored"      # or "pristine"
    schedule = "critical-path"  # or "fifo": which ready task starts when slots are short

    [limits]                    # named concurrency limits: name -> positive int
    api = 2

    [workflows.feature]
    base = "HEAD"               # any commit-ish; default "HEAD"
    description = "..."
    resolve = "tools/resolve.sh" # run in a conflicted merge's worktree (see below)
    sparse = ["src/", "tests/"]  # folders its tasks' worktrees check out (cone mode)

    [workflows.feature.tasks.plan]
    run = "python tools/plan.py > PLAN.md"   # required
    uses = ["api"]              # limit names
    needs = []                  # task names of the same workflow (order matters)
    timeout = 900               # seconds > 0
    retries = 1                 # int >= 0
    isolation = "worktree"      # or "shared" (at most one need)
    env = { DOCS_STRICT = "1" }
    cache = true
    cache_ttl = 3600            # seconds > 0
    inputs = ["src/**", "!**/*.md"]  # git pathspec globs the cache key reads (default: all)
    outputs = ["dist/**"]       # ignored files kept and passed to dependents
    resolve = "..."             # resolves conflicts between this task's inputs

``resolve``: a command run in a worktree holding a conflicted merge (git's markers and
index stages); exit 0 leaving no markers resolves it and the run goes on.

``tomllib`` gives no positions, so :class:`_Locator` scans the (already
validated) source text once and maps every key path - table headers, dotted
keys, inline tables and array elements - to its span.
"""

from __future__ import annotations

from treelane.engine.workflow.loader import (
    analyze_config,
    check_config,
    load_config,
    parse_config,
    parse_workflow_dict,
)
from treelane.engine.workflow.model import (
    CONFIG_FILE,
    DEFAULT_BASE,
    Config,
    ConfigError,
    Problem,
    Range,
    Settings,
    Task,
    Workflow,
    topological_order,
)
from treelane.engine.workflow.places import SYSTEM_DIRS, SYSTEM_TREES, worktrees_dir_problem

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_BASE",
    "SYSTEM_DIRS",
    "SYSTEM_TREES",
    "Config",
    "ConfigError",
    "Problem",
    "Range",
    "Settings",
    "Task",
    "Workflow",
    "analyze_config",
    "check_config",
    "load_config",
    "parse_config",
    "parse_workflow_dict",
    "topological_order",
    "worktrees_dir_problem",
]
