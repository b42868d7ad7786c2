"""treelane.toml's problems and quick fixes as LSP types (the server's conversions)."""

from __future__ import annotations

from lsprotocol import types

from treelane.engine.workflow import Problem, Range, check_config
from treelane.server.codeactions import Fix, fixes, overlaps

SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "information": types.DiagnosticSeverity.Information,
}


def lsp_range(r: Range) -> types.Range:
    return types.Range(
        start=types.Position(line=r.start_line, character=r.start_col),
        end=types.Position(line=r.end_line, character=r.end_col),
    )


def diagnostic(p: Problem) -> types.Diagnostic:
    return types.Diagnostic(
        range=lsp_range(p.range),
        message=p.message,
        severity=SEVERITY.get(p.severity, SEVERITY["error"]),
        source="treelane",
        code=p.code or None,
    )


def code_actions(
    uri: str, text: str, at: types.Range, context: types.CodeActionContext
) -> list[types.CodeAction]:
    """Quick fixes for the problems of the document under ``at``.

    When the client names diagnostics (VS Code's Problems panel, Neovim's line
    diagnostics), only problems with one of their messages are fixed.
    """
    wanted = _range(at)
    problems = [p for p in check_config(text) if overlaps(p.range, wanted)]
    named = {d.message for d in context.diagnostics or []}
    if named:
        problems = [p for p in problems if p.message in named]
    only = context.only
    if only and not any(k in (types.CodeActionKind.QuickFix, "quickfix") for k in only):
        return []
    return [_action(uri, fix) for fix in fixes(text, problems)]


def _action(uri: str, fix: Fix) -> types.CodeAction:
    edits = [types.TextEdit(range=lsp_range(e.range), new_text=e.new_text) for e in fix.edits]
    return types.CodeAction(
        title=fix.title,
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diagnostic(fix.problem)],
        is_preferred=fix.preferred or None,
        edit=types.WorkspaceEdit(changes={uri: edits}),
    )


def _range(r: types.Range) -> Range:
    return Range(r.start.line, r.start.character, r.end.line, r.end.character)
