"""The repository a front end works on, and its engine (created on first use)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from treelane.errors import RequestFailed

if TYPE_CHECKING:
    from treelane.engine.core import Engine
    from treelane.engine.queries import Reader
    from treelane.engine.workflow import Config


class ReadView(Protocol):
    """What the read-only commands read: the store, the repository and two settings.

    :class:`EngineView` reads them through a running engine (the server);
    :class:`treelane.commands.readonly.LightView` reads them without one (the CLI).
    """

    root: Path

    @property
    def db(self) -> Reader: ...
    def pool_size(self) -> int: ...
    def limit(self) -> int: ...
    def scheduler(self) -> str: ...
    def worktree_paths(self) -> dict[str, Path]: ...
    def worktrees(self) -> list[dict[str, Any]]: ...


class Context:
    def __init__(self, root: Path | str | None) -> None:
        self.root = Path(root) if root is not None else None
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self.listeners: list[object] = []

    def engine(self) -> Engine:
        """The engine of the workspace's repository; RequestFailed if there is none."""
        with self._lock:
            if self._engine is None:
                if self.root is None:
                    raise RequestFailed(
                        "no workspace folder: open a folder inside a git repository"
                    )
                from treelane.engine import git  # the engine loads on first use
                from treelane.engine.core import Engine

                top = git.discover(self.root).toplevel
                self._engine = Engine(top, config=_config_or_default(top), prewarm=True)
                self.on_engine(self._engine)
            return self._engine

    def read_view(self) -> ReadView:
        """The store and repository as the read-only commands see them."""
        from treelane.commands.engineview import EngineView

        return EngineView(self.engine())

    def on_engine(self, engine: Engine) -> None:
        """Hook for front ends that subscribe to engine events (the server overrides it)."""

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.close()
                self._engine = None


def _config_or_default(root: Path) -> Config:
    """The workflow file, or defaults when it is invalid (commands that need it say why)."""
    from treelane.engine.workflow import CONFIG_FILE, ConfigError, load_config, parse_config

    try:
        return load_config(root / CONFIG_FILE)
    except ConfigError:
        return parse_config("")


def load_workflows(engine: Engine) -> Config:
    """Re-read treelane.toml (it may have changed); RequestFailed listing its problems."""
    from treelane.engine.workflow import CONFIG_FILE, ConfigError

    try:
        return engine.reload_config()
    except ConfigError as exc:
        raise RequestFailed(f"{CONFIG_FILE} is invalid:\n{exc}") from None
