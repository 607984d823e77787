"""Text formats for people beyond one line per finding: `grouped` (findings under their file)
and `full` (each finding with a frame of the code around it, as ruff's `full`)."""

from __future__ import annotations

import re
from collections.abc import Callable

from initlint.finding import Finding
from initlint.output import Summary
from initlint.output.text import _paint, cell_prefix, escape_text

# The lines of a finding's file (of its cell, in a notebook), or None when they cannot be read.
SourceReader = Callable[[str, "int | None"], "list[str] | None"]
CONTEXT = 2  # lines shown before and after a finding
MAX_MARKED = 6  # lines of a long finding shown before "..."


def _marker(finding: Finding, summary: Summary) -> str:
    fixable = finding.fix and (finding.fix.applicability == "safe" or summary.unsafe_fixes)
    return " [*]" if fixable else ""


def render_grouped(summary: Summary, color: bool) -> str:
    """Findings under the name of their file, one indented line each, a blank line between files."""
    blocks: list[str] = []
    current: str | None = None
    lines: list[str] = []
    for f in summary.findings:
        if f.path != current:
            if lines:
                blocks.append("\n".join(lines))
            current, lines = f.path, [_paint(f"{escape_text(f.path)}:", "bold", color)]
        where = f"{cell_prefix(f.extra.get('cell'))}{f.line}:{f.column}"
        code = _paint(f.code, f.severity, color)
        lines.append(f"  {where} {code}{_marker(f, summary)} {escape_text(f.message)}")
    if lines:
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def read_source_lines(path: str, cell: int | None) -> list[str] | None:
    """The lines of a file on disk as initlint reads it (its encoding; a notebook's cell)."""
    from initlint.runner import read_regular
    from initlint.source import SourceFile, UnreadableSource

    try:
        data = read_regular(path)
    except OSError:
        return None
    if cell is not None:
        return cell_lines(data, cell)
    try:
        source = SourceFile.from_bytes(path, data)
    except UnreadableSource:
        return None
    return [source.line_text(n) for n in range(1, source.line_count + 1)]


def cell_lines(data: bytes, cell: int) -> list[str] | None:
    import json

    try:
        cells = json.loads(data.decode("utf-8-sig")).get("cells")
        source = cells[cell - 1].get("source", "")
    except (ValueError, AttributeError, IndexError, TypeError, RecursionError):
        return None
    text = "".join(source) if isinstance(source, list) else source
    if not isinstance(text, str):
        return None
    # Lines ended as Python ends them (not at the form feeds str.splitlines also splits on).
    lines = re.split(r"\r\n|\r|\n", text)
    return lines[:-1] if lines and not lines[-1] else lines


def _shown(text: str) -> str:
    return escape_text(text.replace("\t", "    "))


def render_full(summary: Summary, color: bool, read: SourceReader = read_source_lines) -> str:
    """Each finding's line, then the code around it with the finding's columns underlined and
    the fix it offers; a blank line between findings. A file that cannot be read gets no frame."""
    cache: dict[tuple[str, int | None], list[str] | None] = {}
    blocks = []
    for f in summary.findings:
        cell = f.extra.get("cell") if isinstance(f.extra.get("cell"), int) else None
        head = _paint(f"{escape_text(f.path)}:{cell_prefix(cell)}{f.line}:{f.column}:", "bold", color)
        lines = [f"{head} {_paint(f.code, f.severity, color)}{_marker(f, summary)} {escape_text(f.message)}"]
        key = (f.path, cell)
        if key not in cache:
            cache[key] = read(f.path, cell)
        source = cache[key]
        if source is not None and 1 <= f.line <= len(source) + 1:
            lines += _frame(f, source, color)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _frame(f: Finding, source: list[str], color: bool) -> list[str]:
    first = max(1, f.line - CONTEXT)
    last_marked = min(max(f.end_line, f.line), len(source))
    last = min(len(source), last_marked + CONTEXT)
    width = len(str(last))
    gutter = " " * width + " |"
    out = [_paint(gutter, "dim", color)]
    for number in range(first, last + 1):
        if f.line + MAX_MARKED <= number < last_marked:
            if number == f.line + MAX_MARKED:
                out.append(_paint(f"{'.' * width} |", "dim", color) + " ...")
            continue
        text = source[number - 1] if number <= len(source) else ""
        out.append(_paint(f"{number:>{width}} |", "dim", color) + (f" {_shown(text)}" if text else ""))
        if f.line <= number <= last_marked and (number == f.line or number == last_marked):
            start = f.column if number == f.line else 1
            end = f.end_column if number == f.end_line else len(text) + 1
            if number == f.line and f.end_line > f.line:
                end = len(text) + 1
            offset = len(_shown(text[: start - 1]))
            length = max(1, len(_shown(text[start - 1 : end - 1])))
            carets = _paint("^" * length, f.severity, color)
            label = f" {f.code}" if number == f.line else ""
            out.append(_paint(gutter, "dim", color) + " " + " " * offset + carets + label)
    out.append(_paint(gutter, "dim", color))
    if f.fix is not None:
        kind = "fix" if f.fix.applicability == "safe" else "unsafe fix"
        out.append(f"{' ' * width} = {kind}: {escape_text(f.fix.description)}")
    cells = f.extra.get("related_cells") or [None] * len(f.related)
    for related, related_cell in zip(f.related, cells, strict=False):
        where = escape_text(related.path or f.path) + ":" + cell_prefix(related_cell)
        out.append(f"{' ' * width} = note: {where}{related.line}:{related.column}: {escape_text(related.message)}")
    return out
