"""treelane.toml's diagnostics: its problems as it is edited, and the task failures
anchored on the tasks' tables, published together with the failures' file diagnostics."""

from __future__ import annotations

import contextlib
from pathlib import Path

import attrs
from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from treelane.engine.workflow import CONFIG_FILE, check_config
from treelane.server.diagnostics import task_table_range
from treelane.server.toml_lsp import diagnostic, lsp_range


class ConfigDiagnostics(LanguageServer):
    """The diagnostics part of the treelane server (see :class:`TreelaneServer`)."""

    toml_diags: list[types.Diagnostic]
    task_diags: dict[tuple[str, str], dict[str, list[types.Diagnostic]]]  # (wf, task) -> uri
    published: set[str]
    _config_of: tuple[Path, Path] | None  # (workspace root, its treelane.toml)

    def workspace_root(self) -> Path | None:
        return self._root()

    def _root(self) -> Path | None:
        ws = self.workspace
        if ws.root_path:
            return Path(ws.root_path)
        for folder in ws.folders.values():
            path = to_fs_path(folder.uri)
            if path:
                return Path(path)
        return None

    def check_document(self, uri: str, text: str) -> None:
        """Publish the problems of treelane.toml when that file is opened, edited or saved."""
        if not self._is_config(uri):
            return
        self.toml_diags = [diagnostic(p) for p in check_config(text)]
        self._reanchor(uri, text)
        self._republish()

    def _reanchor(self, uri: str, text: str) -> None:
        """Task-failure diagnostics follow their task's table header as the file is edited."""
        path = Path(to_fs_path(uri) or "").resolve()
        for (wf, task), diags in self.task_diags.items():
            for key, items in diags.items():
                if Path(to_fs_path(key) or "").resolve() != path:
                    continue
                at = lsp_range(task_table_range(text, wf, task))
                diags[key] = [
                    attrs.evolve(d, range=at) if d.code == "task-failed" else d for d in items
                ]

    def files_changed(self, params: types.DidChangeWatchedFilesParams) -> None:
        """treelane.toml changed on disk (not open in the editor): check it again."""
        for change in params.changes:
            if not self._is_config(change.uri) or change.uri in self.workspace.text_documents:
                continue
            path = Path(to_fs_path(change.uri) or "")
            if change.type == types.FileChangeType.Deleted or not path.is_file():
                self.toml_diags = []
                self._republish()
            else:
                self.check_document(change.uri, path.read_text(encoding="utf-8", errors="replace"))

    def _config_file(self) -> Path | None:
        """The workspace's treelane.toml (the repository is discovered once per root)."""
        root = self.workspace_root()
        if root is None:
            return None
        if self._config_of is None or self._config_of[0] != root:
            self._config_of = (root, _toplevel(root) / CONFIG_FILE)
        return self._config_of[1]

    def _is_config(self, uri: str) -> bool:
        path = to_fs_path(uri)
        if not path or Path(path).name != CONFIG_FILE:
            return False
        config = self._config_file()
        return config is None or Path(path).resolve() == config

    def _republish(self) -> None:
        by_uri: dict[str, list[types.Diagnostic]] = {}
        config = self._config_file()
        if config is not None:
            by_uri.setdefault(file_uri(config), []).extend(self.toml_diags)
        for diags in self.task_diags.values():
            for uri, items in diags.items():
                by_uri.setdefault(uri, []).extend(items)
        for uri in self.published - set(by_uri):
            by_uri[uri] = []
        for uri, items in by_uri.items():
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=items)
            )
        self.published = {u for u, items in by_uri.items() if items}


def _toplevel(root: Path) -> Path:
    with contextlib.suppress(Exception):
        from treelane.engine import git

        return git.discover(root).toplevel
    return root.resolve()


def file_uri(path: Path) -> str:
    return from_fs_path(str(path)) or path.as_uri()
