"""Shrinks a failing program to a small reproducer (delta debugging over lines, then over
characters of what is left), checking each candidate in process with the engine the command
line uses. A candidate counts only if it still compiles (for the classes that need valid input)
and still fails the same way."""

from __future__ import annotations

from collections.abc import Callable

from fuzzgen.harness import compiles
from initlint.engine import LintOptions, fix_source, lint_source
from initlint.rules import ALL_RULES
from initlint.source import SourceFile, UnreadableSource

OPTIONS = LintOptions(frozenset(r.code for r in ALL_RULES if not r.runtime))

Predicate = Callable[[bytes], bool]


def _source(data: bytes) -> SourceFile | None:
    try:
        return SourceFile.from_bytes("case.py", data)
    except UnreadableSource:
        return None


def il999(rule: str) -> Predicate:
    def failing(data: bytes) -> bool:
        source = _source(data)
        if source is None:
            return False
        findings = lint_source(source, OPTIONS)
        if any(f.code == "IL999" and f"rule {rule}" in f.message for f in findings):
            return True
        outcome = fix_source(source, OPTIONS, True)  # a crash on the text of a later fix pass
        return any(f.code == "IL999" and f"rule {rule}" in f.message for f in outcome.findings)

    return failing


def crash(data: bytes) -> bool:
    source = _source(data)
    if source is None:
        return False
    try:
        fix_source(source, OPTIONS, True)
    except Exception:  # the traceback class: anything escaping the engine
        return True
    return False


def compile_failure(data: bytes) -> bool:
    source = _source(data)
    if source is None or not compiles(data):
        return False
    return not compiles(fix_source(source, OPTIONS, True).source.encode())


def refused(data: bytes) -> bool:
    source = _source(data)
    if source is None or not compiles(data):
        return False
    return bool(fix_source(source, OPTIONS, True).problems)


def second_pass(data: bytes) -> bool:
    source = _source(data)
    if source is None or not compiles(data):
        return False
    first = fix_source(source, OPTIONS, True).source
    return fix_source(first, OPTIONS, True).source.encode() != first.encode()


def _ddmin(parts: list[bytes], failing: Predicate) -> list[bytes]:
    granularity = 2
    while len(parts) >= 2:
        size = max(1, len(parts) // granularity)
        reduced = False
        for start in range(0, len(parts), size):
            candidate = parts[:start] + parts[start + size :]
            if candidate and failing(b"".join(candidate)):
                parts = candidate
                granularity = max(granularity - 1, 2)
                reduced = True
                break
        if not reduced:
            if granularity >= len(parts):
                break
            granularity = min(len(parts), granularity * 2)
    return parts


def minimize(data: bytes, failing: Predicate, *, characters: bool = True) -> bytes:
    """The smallest program found that still fails; ``data`` itself must fail."""
    if not failing(data):
        return data
    lines = _ddmin(data.splitlines(keepends=True), failing)
    # Dedent-free simplifications: a line replaced by `pass` keeps blocks valid.
    for index in range(len(lines)):
        line = lines[index]
        stripped = line.lstrip()
        if not stripped or stripped.startswith(b"pass"):
            continue
        indent = line[: len(line) - len(stripped)]
        newline = b"\r\n" if line.endswith(b"\r\n") else b"\n"
        candidate = [*lines[:index], indent + b"pass" + newline, *lines[index + 1 :]]
        if failing(b"".join(candidate)):
            lines = candidate
    result = b"".join(lines)
    if characters and len(result) < 800:
        result = b"".join(_ddmin([bytes([c]) for c in result], failing))
    return result
