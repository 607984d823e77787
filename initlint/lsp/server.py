"""The pygls language server: diagnostics on open, change (debounced) and save; code actions for
each fix (unsafe ones marked) and for a noqa comment; fix-all; the rule's documentation on hover.

Documents are synced whole (TextDocumentSyncKind.Full): initlint reads the text once per lint
anyway, and positions stay exactly those of the text the client sent.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from initlint import __version__
from initlint.finding import Edit, Finding
from initlint.lsp.analysis import DocumentResult, Lines, fix_document, lint_document, noqa_edit, overlaps

DEBOUNCE_S = 0.25  # typing pauses shorter than this lint once
FIX_ALL_KIND = f"{types.CodeActionKind.SourceFixAll.value}.initlint"
_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
}


class InitlintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("initlint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full)
        # One lint at a time, off the event loop: requests (shutdown, code actions) stay answered.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="initlint-lint")
        self.pending: dict[str, asyncio.TimerHandle] = {}
        self.results: dict[str, tuple[int | None, str, DocumentResult]] = {}  # uri -> (version, text, result)

    # ---- documents -------------------------------------------------------------------------

    def path_of(self, uri: str) -> Path | None:
        if urlparse(uri).scheme != "file":
            return None  # untitled:, git: ...: linted under the workspace's configuration
        path = to_fs_path(uri)
        return Path(path) if path else None

    def fallback_root(self) -> Path:
        root = self.workspace.root_path
        return Path(root) if root else Path.cwd()

    def encoding(self) -> str:
        value = self.workspace.position_encoding
        return str(getattr(value, "value", value) or "utf-16")

    def current(self, uri: str) -> tuple[int | None, str, DocumentResult]:
        """The result for the document as it is now, linting it if it changed since (nothing for
        a document the client never opened: its text is not ours to read)."""
        if uri not in self.workspace.text_documents:
            return None, "", DocumentResult()
        document = self.workspace.get_text_document(uri)
        cached = self.results.get(uri)
        if cached is not None and cached[0] == document.version and cached[1] == document.source:
            return cached
        result = _lint_safely(document.source, self.path_of(uri), self.fallback_root())
        entry = (document.version, document.source, result)
        self.results[uri] = entry
        return entry

    def schedule(self, uri: str, delay: float) -> None:
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        loop = asyncio.get_running_loop()
        self.pending[uri] = loop.call_later(delay, lambda: asyncio.ensure_future(self.lint_and_publish(uri)))

    async def lint_and_publish(self, uri: str) -> None:
        self.pending.pop(uri, None)
        if uri not in self.workspace.text_documents:
            return  # closed meanwhile
        document = self.workspace.get_text_document(uri)
        version, text = document.version, document.source
        path, root = self.path_of(uri), self.fallback_root()
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self.executor, _lint_safely, text, path, root)
        if uri not in self.workspace.text_documents:
            return
        now = self.workspace.get_text_document(uri)
        if now.version != version or now.source != text:
            return  # stale: a newer lint is scheduled
        self.results[uri] = (version, text, result)
        diagnostics = self.diagnostics(uri, text, result)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )

    def forget(self, uri: str) -> None:
        handle = self.pending.pop(uri, None)
        if handle is not None:
            handle.cancel()
        self.results.pop(uri, None)
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    # ---- conversions -----------------------------------------------------------------------

    def range(self, lines: Lines, line: int, column: int, end_line: int, end_column: int) -> types.Range:
        start = lines.to_client(line, column)
        end = lines.to_client(end_line, end_column)
        return types.Range(types.Position(*start), types.Position(*end))

    def diagnostics(self, uri: str, text: str, result: DocumentResult) -> list[types.Diagnostic]:
        lines = Lines(text, self.encoding())
        if result.error is not None:
            message = f"initlint: {result.error}"
            origin = types.Range(types.Position(0, 0), types.Position(0, 0))
            return [types.Diagnostic(origin, message, severity=types.DiagnosticSeverity.Error, source="initlint")]
        return [self.diagnostic(uri, lines, finding) for finding in result.findings]

    def diagnostic(self, uri: str, lines: Lines, finding: Finding) -> types.Diagnostic:
        related = [
            types.DiagnosticRelatedInformation(
                types.Location(
                    uri if r.path is None else Path(r.path).resolve().as_uri(),
                    self.range(lines, r.line, r.column, r.end_line, r.end_column),
                ),
                r.message,
            )
            for r in finding.related
            if r.path is None or Path(r.path).is_absolute()
        ]
        return types.Diagnostic(
            range=self.range(lines, finding.line, finding.column, finding.end_line, finding.end_column),
            message=finding.message,
            severity=_SEVERITY.get(finding.severity, types.DiagnosticSeverity.Warning),
            code=finding.code,
            code_description=_doc_link(finding.code),
            source="initlint",
            related_information=related or None,
            data={"name": finding.name, "fix": finding.fix.applicability if finding.fix else None},
        )

    def text_edit(self, lines: Lines, edit: Edit) -> types.TextEdit:
        return types.TextEdit(self.range(lines, edit.line, edit.column, edit.end_line, edit.end_column), edit.content)

    # ---- code actions and hover ------------------------------------------------------------

    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        _, text, result = self.current(uri)
        lines = Lines(text, self.encoding())
        start = lines.from_client(params.range.start.line, params.range.start.character)
        end = lines.from_client(params.range.end.line, params.range.end.character)
        wanted = params.context.only
        quickfix = not wanted or any(types.CodeActionKind.QuickFix.value.startswith(k) for k in wanted)
        fix_all = not wanted or any(FIX_ALL_KIND.startswith(k) for k in wanted)
        actions: list[types.CodeAction] = []
        for finding in result.findings if quickfix else []:
            if not overlaps(finding, start, end):
                continue
            diagnostic = self.diagnostic(uri, lines, finding)
            if finding.fix is not None:
                unsafe = finding.fix.applicability == "unsafe"
                title = f"{finding.code}: {finding.fix.description}" + (" (unsafe fix)" if unsafe else "")
                edits = [self.text_edit(lines, e) for e in finding.fix.edits]
                actions.append(
                    types.CodeAction(
                        title,
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        edit=types.WorkspaceEdit(changes={uri: edits}),
                        is_preferred=not unsafe,
                    )
                )
            noqa = noqa_edit(text, finding)
            if noqa is not None:
                actions.append(
                    types.CodeAction(
                        f"{finding.code}: disable for this line (# noqa)",
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        edit=types.WorkspaceEdit(changes={uri: [self.text_edit(lines, noqa)]}),
                    )
                )
        if fix_all and any(f.fix is not None for f in result.findings):
            fixed = fix_document(text, result)
            if fixed is not None:
                whole = types.Range(types.Position(0, 0), types.Position(*lines.end()))
                actions.append(
                    types.CodeAction(
                        "initlint: fix all" + (" (including unsafe fixes)" if result.unsafe_fixes else ""),
                        kind=FIX_ALL_KIND,
                        edit=types.WorkspaceEdit(changes={uri: [types.TextEdit(whole, fixed)]}),
                    )
                )
        return actions

    def hover(self, params: types.HoverParams) -> types.Hover | None:
        from initlint.docs import read_doc

        _, text, result = self.current(params.text_document.uri)
        lines = Lines(text, self.encoding())
        point = lines.from_client(params.position.line, params.position.character)
        codes = sorted({f.code for f in result.findings if overlaps(f, point, point)})
        docs = []
        for code in codes:
            try:
                docs.append(read_doc(code).rstrip())
            except (FileNotFoundError, OSError):
                continue
        if not docs:
            return None
        return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, "\n\n---\n\n".join(docs)))


def _lint_safely(text: str, path: Path | None, root: Path) -> DocumentResult:
    """lint_document, with a failure of initlint itself said as one diagnostic, not a dead server."""
    try:
        return lint_document(text, path, root)
    except Exception as exc:
        return DocumentResult(error=f"internal error: {type(exc).__name__}: {exc}")


def _doc_link(code: str) -> types.CodeDescription | None:
    """The rule's page (the Markdown `initlint explain` prints), as a file link the editor opens."""
    from initlint.docs import doc_path

    try:
        return types.CodeDescription(href=doc_path(code).as_uri())
    except (FileNotFoundError, OSError):
        return None


def build_server() -> InitlintServer:
    server = InitlintServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(params: types.DidOpenTextDocumentParams) -> None:
        server.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(params: types.DidChangeTextDocumentParams) -> None:
        server.schedule(params.text_document.uri, DEBOUNCE_S)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(params: types.DidSaveTextDocumentParams) -> None:
        server.schedule(params.text_document.uri, 0)  # the project's config may have changed too

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(params: types.DidCloseTextDocumentParams) -> None:
        server.forget(params.text_document.uri)

    @server.feature(types.INITIALIZED)
    def initialized(params: types.InitializedParams) -> None:
        # Diagnostics depend on pyproject.toml files no document event reports: ask the client
        # to tell us when one changes (where it can watch files for us).
        capabilities = server.client_capabilities.workspace
        watched = capabilities.did_change_watched_files if capabilities else None
        if watched is not None and watched.dynamic_registration:
            options = types.DidChangeWatchedFilesRegistrationOptions([types.FileSystemWatcher("**/pyproject.toml")])
            registration = types.Registration("initlint-config", types.WORKSPACE_DID_CHANGE_WATCHED_FILES, options)
            server.client_register_capability(types.RegistrationParams([registration]))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def config_changed(params: types.DidChangeWatchedFilesParams) -> None:
        for uri in list(server.workspace.text_documents):
            server.results.pop(uri, None)
            server.schedule(uri, DEBOUNCE_S)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND]),
    )
    def code_action(params: types.CodeActionParams) -> list[types.CodeAction]:
        return server.code_actions(params)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(params: types.HoverParams) -> types.Hover | None:
        return server.hover(params)

    return server


def serve() -> None:
    """Serve one client over stdin/stdout until it exits."""
    build_server().start_io()
