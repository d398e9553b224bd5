"""`archc lsp`: a language server for `.arch` files (pygls), over stdio.

Diagnostics as you type (every change is compiled, shapes included), hover (a value's
shape, a choice's domain and realisation), go to definition (blocks, ops, constants,
imports) and formatting. The answers come from `archc.lsp_analysis`; this module only
speaks the protocol. Needs the `lsp` extra: `pip install 'archc[lsp]'`.
"""

from __future__ import annotations

from lsprotocol import types as lsp
from pygls.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

import archc
from archc.kernel.diagnostics import Diagnostic, Severity
from archc.kernel.span import Span
from archc.lsp_analysis import Analysis, analyse

_SEVERITY = {
    Severity.ERROR: lsp.DiagnosticSeverity.Error,
    Severity.WARNING: lsp.DiagnosticSeverity.Warning,
    Severity.NOTE: lsp.DiagnosticSeverity.Information,
}


def build_server() -> LanguageServer:
    server = LanguageServer(
        "archc", archc.__version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Full
    )
    analyses: dict[str, Analysis] = {}

    def refresh(uri: str) -> None:
        document = server.workspace.get_text_document(uri)
        analysis = analyse(to_fs_path(uri) or uri, document.source)
        analyses[uri] = analysis
        server.publish_diagnostics(uri, [_diagnostic(d) for d in analysis.diagnostics])

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: lsp.DidOpenTextDocumentParams) -> None:
        refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: lsp.DidChangeTextDocumentParams) -> None:
        refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: lsp.DidSaveTextDocumentParams) -> None:
        refresh(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: lsp.DidCloseTextDocumentParams) -> None:
        analyses.pop(params.text_document.uri, None)
        server.publish_diagnostics(params.text_document.uri, [])

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(params: lsp.HoverParams) -> lsp.Hover | None:
        analysis = analyses.get(params.text_document.uri)
        pos = params.position
        text = analysis.hover(pos.line + 1, pos.character + 1) if analysis else None
        if text is None:
            return None
        return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text))

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    def definition(params: lsp.DefinitionParams) -> lsp.Location | None:
        analysis = analyses.get(params.text_document.uri)
        pos = params.position
        found = analysis.definition(pos.line + 1, pos.character + 1) if analysis else None
        if found is None:
            return None
        return lsp.Location(uri=from_fs_path(found.path) or found.path, range=_range(found.span))

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    def formatting(params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
        analysis = analyses.get(params.text_document.uri)
        text = analysis.formatted() if analysis else None
        if text is None or text == analysis.text:
            return [] if text is not None else None
        lines = analysis.text.split("\n")
        end = lsp.Position(line=len(lines) - 1, character=len(lines[-1]))
        whole = lsp.Range(start=lsp.Position(line=0, character=0), end=end)
        return [lsp.TextEdit(range=whole, new_text=text)]

    return server


def _range(span: Span) -> lsp.Range:
    return lsp.Range(
        start=lsp.Position(line=max(span.line - 1, 0), character=max(span.column - 1, 0)),
        end=lsp.Position(line=max(span.end_line - 1, 0), character=max(span.end_column - 1, 0)),
    )


def _diagnostic(d: Diagnostic) -> lsp.Diagnostic:
    span = d.span or Span.point("", 1, 1)
    message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
    related = [
        lsp.DiagnosticRelatedInformation(
            location=lsp.Location(
                uri=from_fs_path(n.span.file) or n.span.file, range=_range(n.span)
            ),
            message=n.message,
        )
        for n in d.notes
        if n.span is not None
    ]
    return lsp.Diagnostic(
        range=_range(span),
        message=message,
        severity=_SEVERITY[d.severity],
        code=d.code,
        source="archc",
        related_information=related or None,
    )


def serve() -> None:
    """Run the server on stdin/stdout until the client exits."""
    build_server().start_io()
