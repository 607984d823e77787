"""`# noqa` comments, with ruff's syntax: on the finding's first line, bare or with codes;
`# initlint: noqa` (optionally with codes) anywhere in the file silences the whole file."""

from __future__ import annotations

import re

from initlint.finding import Finding
from initlint.source import SourceFile

_CODE_LIST = r"[A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*"
_LINE = re.compile(rf"#\s*noqa(?::\s*(?P<codes>{_CODE_LIST}))?", re.IGNORECASE)
_FILE = re.compile(rf"^[ \t]*#\s*initlint\s*:\s*noqa(?::\s*(?P<codes>{_CODE_LIST}))?\s*$", re.IGNORECASE | re.MULTILINE)


def _codes(text: str | None) -> frozenset[str] | None:
    """None means every code."""
    if not text:
        return None
    return frozenset(code.upper() for code in re.split(r"[\s,]+", text.strip()) if code)


def _matches(codes: frozenset[str] | None, code: str) -> bool:
    return codes is None or code in codes


def filter_suppressed(source: SourceFile, findings: list[Finding]) -> list[Finding]:
    if not findings:
        return findings
    file_level: list[frozenset[str] | None] = [_codes(m.group("codes")) for m in _FILE.finditer(source.text)]
    kept = []
    line_cache: dict[int, list[frozenset[str] | None]] = {}
    for finding in findings:
        if any(_matches(codes, finding.code) for codes in file_level):
            continue
        on_line = line_cache.get(finding.line)
        if on_line is None:
            on_line = [_codes(m.group("codes")) for m in _LINE.finditer(source.line_text(finding.line))]
            line_cache[finding.line] = on_line
        if any(_matches(codes, finding.code) for codes in on_line):
            continue
        kept.append(finding)
    return kept
