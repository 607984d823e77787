"""`initlint check --add-noqa`: a `# noqa: CODES` comment on the line of every finding, so that
a codebase can adopt initlint (or a new rule) at once and fix its findings over time."""

from __future__ import annotations

from pathlib import Path

from initlint.finding import Finding
from initlint.noqa import add_noqa
from initlint.runner import read_regular, write_if_unchanged
from initlint.source import SourceFile, UnreadableSource

# The file could not be read, parsed or checked: a comment cannot silence that.
_NOT_SILENCEABLE = frozenset({"IL900", "IL901", "IL999"})


def add_noqa_to_files(findings: list[Finding], roots: tuple[str, ...] | None) -> tuple[int, list[str]]:
    """Add the directives file by file (written as fixes are: atomically, only over the bytes
    that were read, keeping encoding and line endings); the number of lines that got one and
    a message per file left unchanged."""
    by_path: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.code not in _NOT_SILENCEABLE:
            by_path.setdefault(finding.path, []).append(finding)
    added = 0
    messages = []
    for path, own in sorted(by_path.items()):
        if path.endswith(".ipynb"):
            messages.append(f"{path}: noqa comments not added: notebooks are not supported by --add-noqa")
            continue
        try:
            data = read_regular(path)
            source = SourceFile.from_bytes(path, data)
        except (OSError, UnreadableSource) as exc:
            messages.append(f"{path}: noqa comments not added: {exc}")
            continue
        text, count = add_noqa(source, own)
        if count == 0 or text == source.text:
            continue
        try:
            new = source.with_text(text).encode() if source.round_trips(data) else None
        except Exception:  # the codec is the file's choice: it may raise anything
            new = None
        if new is None:
            messages.append(f"{path}: noqa comments not added: its text cannot be written back as {source.encoding}")
            continue
        problem = write_if_unchanged(Path(path), data, new, roots)
        if problem is not None:
            messages.append(f"{path}: noqa comments not added: {problem}")
            continue
        added += count
    return added, messages
