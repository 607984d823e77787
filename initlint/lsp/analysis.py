"""What the language server computes, without pygls: the findings of an open document under the
configuration of its project, the edit that adds a noqa comment, and LSP position units.

Positions here are initlint's (1-based lines, 1-based columns in code points); the server
converts them to the client's units (UTF-16 unless the client negotiated another) with
:class:`Lines`, which splits lines as initlint and the LSP do (``\\r\\n``, ``\\r``, ``\\n`` only:
not ``str.splitlines``, which also breaks at form feeds and U+2028).
"""

from __future__ import annotations

import io
import re
import tokenize
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from initlint.finding import Edit, Finding

_NEWLINE = re.compile(r"\r\n|\r|\n")
# A noqa comment that lists codes: new codes go after the last one.
_NOQA_CODES = re.compile(r"#\s*noqa:\s*[A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*", re.IGNORECASE)
# Findings a noqa comment cannot silence: the file was not analysed.
_UNSUPPRESSIBLE = frozenset({"IL900", "IL901"})


@dataclass
class DocumentResult:
    """The findings of one version of a document, and what fixing it needs."""

    findings: list[Finding] = field(default_factory=list)
    codes: frozenset[str] = frozenset()  # enabled for this file (per-file ignores removed)
    init_aliases: tuple[tuple[str, str], ...] = ()
    unsafe_fixes: bool = False
    error: str | None = None  # the configuration could not be read: no findings
    excluded: bool = False  # the project's excludes name this file: no findings


def lint_document(text: str, path: Path | None, fallback_root: Path) -> DocumentResult:
    """The findings of ``text`` as ``initlint check`` would report the file at ``path``: the
    nearest pyproject.toml above it decides the rules, excludes and per-file ignores.

    The one place the server calls the engine (to become ``initlint.lint`` once that API lands).
    """
    from initlint.config import ConfigError, load_settings
    from initlint.engine import LintOptions, lint_source
    from initlint.source import SourceFile

    folder = path.parent if path is not None else fallback_root
    try:
        settings = load_settings(None, folder if folder.is_dir() else fallback_root)
        codes = settings.enabled_codes()
    except ConfigError as exc:
        return DocumentResult(error=f"configuration error: {exc}")
    except OSError as exc:  # a folder we may not search
        return DocumentResult(error=f"cannot read the configuration: {exc}")
    relative = _relative(path, settings.root) if path is not None else None
    if relative is not None:
        if _excluded(settings, relative):
            return DocumentResult(excluded=True)
        codes = codes - settings.ignored_codes(relative)
    aliases = tuple(sorted(settings.init_aliases.items()))
    options = LintOptions(codes, aliases)
    name = str(path) if path else "untitled"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate (valid JSON, not text): no file could hold it
        from initlint.engine import engine_finding

        finding = engine_finding("IL901", f"unreadable file: {exc.reason} at character {exc.start}", name)
        return DocumentResult([finding] if "IL901" in codes else [], codes, aliases, settings.unsafe_fixes)
    findings = lint_source(SourceFile(name, text, "utf-8"), options)
    return DocumentResult(findings, codes, aliases, settings.unsafe_fixes)


def fix_document(text: str, result: DocumentResult) -> str | None:
    """The text with every applicable fix applied (unsafe ones only when the project enables
    them), as ``initlint check --fix`` would write it; None when nothing changes."""
    from initlint.engine import LintOptions, fix_source
    from initlint.source import SourceFile

    if result.error is not None or result.excluded:
        return None
    outcome = fix_source(
        SourceFile("untitled", text, "utf-8"), LintOptions(result.codes, result.init_aliases), result.unsafe_fixes
    )
    return outcome.source.text if outcome.applied and outcome.source.text != text else None


def _relative(path: Path, root: Path) -> str | None:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError, RuntimeError):  # outside the project, or a link loop
        return None


def _excluded(settings: object, relative: str) -> bool:
    """As discovery decides: the file or any folder above it (below the root) is excluded."""
    parts = relative.split("/")
    return any(settings.excluded("/".join(parts[: i + 1])) for i in range(len(parts)))  # type: ignore[attr-defined]


def noqa_edit(text: str, finding: Finding) -> Edit | None:
    """The edit that silences ``finding`` with a noqa comment on its first line (extending a
    ``# noqa: CODES`` comment already there), or None when no comment can: the line ends inside
    a string, or the comment would break the code."""
    from initlint.noqa import filter_suppressed
    from initlint.source import SourceFile

    if finding.code in _UNSUPPRESSIBLE:
        return None
    lines = _NEWLINE.split(text)
    if not 1 <= finding.line <= len(lines):
        return None
    line_text = lines[finding.line - 1]
    tokens = _tokens(text)
    if tokens is None:
        return None
    comment = None
    for token in tokens:
        if token.start[0] <= finding.line < token.end[0] and token.type not in (tokenize.NL, tokenize.NEWLINE):
            return None  # the line ends inside a string: a comment there would be text
        if token.type == tokenize.COMMENT and token.start[0] == finding.line:
            comment = token
    edit = Edit(finding.line, len(line_text) + 1, finding.line, len(line_text) + 1, f"  # noqa: {finding.code}")
    if comment is not None:
        listed = None
        for match in _NOQA_CODES.finditer(comment.string):
            listed = match
        if listed is not None:
            column = comment.start[1] + listed.end() + 1
            edit = Edit(finding.line, column, finding.line, column, f", {finding.code}")
    new_text = _apply(lines, edit)
    if filter_suppressed(SourceFile("untitled", new_text, "utf-8"), [finding]):
        return None  # the comment would not silence it (a bare noqa is handled there already)
    if _compiles(text) and not _compiles(new_text):
        return None  # a backslash continuation, or the like
    return edit


def _tokens(text: str) -> list[tokenize.TokenInfo] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return None


def _compiles(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<noqa>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _apply(lines: list[str], edit: Edit) -> str:
    line = lines[edit.line - 1]
    changed = line[: edit.column - 1] + edit.content + line[edit.end_column - 1 :]
    # Any newline joins them back: only the edited line matters to the checks.
    return "\n".join([*lines[: edit.line - 1], changed, *lines[edit.line :]])


class Lines:
    """A document's lines, converting initlint positions to and from the client's units."""

    def __init__(self, text: str, encoding: str = "utf-16") -> None:
        self.lines = _NEWLINE.split(text)
        self.encoding = encoding

    def _units(self, segment: str) -> int:
        if self.encoding == "utf-32":
            return len(segment)
        if self.encoding == "utf-8":
            return len(segment.encode("utf-8", errors="surrogatepass"))
        return len(segment) + sum(1 for char in segment if ord(char) > 0xFFFF)

    def to_client(self, line: int, column: int) -> tuple[int, int]:
        """A 1-based line and code-point column as a 0-based LSP (line, character)."""
        if line > len(self.lines):
            return len(self.lines) - 1, self._units(self.lines[-1])
        text = self.lines[max(line, 1) - 1]
        return max(line, 1) - 1, self._units(text[: max(column, 1) - 1])

    def from_client(self, line: int, character: int) -> tuple[int, int]:
        """A 0-based LSP (line, character) as a 1-based line and code-point column."""
        if line >= len(self.lines):
            return len(self.lines), len(self.lines[-1]) + 1
        text = self.lines[max(line, 0)]
        units = 0
        for index, char in enumerate(text):
            if units >= character:
                return line + 1, index + 1
            units += self._units(char)
        return line + 1, len(text) + 1

    def end(self) -> tuple[int, int]:
        """The end of the document, as an LSP (line, character)."""
        return len(self.lines) - 1, self._units(self.lines[-1])


def overlaps(finding: Finding, start: tuple[int, int], end: tuple[int, int]) -> bool:
    """Whether the finding's span touches the range [start, end] (1-based line, column pairs)."""
    return (finding.line, finding.column) <= end and start <= (finding.end_line, finding.end_column)
