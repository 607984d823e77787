from __future__ import annotations

import re

from initlint.output import Summary

# Characters that would end a line or drive the terminal if printed as they are: C0 and C1
# controls, DEL, and the line and paragraph separators. Messages quote code and paths come from
# file names, either of which may hold them.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


# A line break with the indentation around it, as in code a message quotes (`f(\n    x\n)`).
_BREAK_AFTER_OPEN = re.compile(r"(?<=[(\[{])[ \t]*(?:\r\n|\r|\n)[ \t]*")
_BREAK_BEFORE_CLOSE = re.compile(r"[ \t]*(?:\r\n|\r|\n)[ \t]*(?=[)\]}])")
_BREAK = re.compile(r"[ \t]*(?:\r\n|\r|\n)[ \t]*")


def one_line(text: str) -> str:
    """A message on one line, for the one-finding-per-line formats (grep, problem matchers):
    the line breaks of quoted code joined as the code reads on one line (`f(x)`, `a, b`)."""
    text = _BREAK_AFTER_OPEN.sub("", text)
    text = _BREAK_BEFORE_CLOSE.sub("", text)
    return _BREAK.sub(" ", text)


def escape_text(text: str) -> str:
    """``text`` on one line, with no terminal control codes: unprintable characters escaped as
    Python writes them (``\\n``, ``\\x1b``, ``\\u2028``)."""
    return _UNPRINTABLE.sub(_escape_char, text)


_STYLES = {"error": "\033[1;31m", "warning": "\033[1;33m", "info": "\033[1;36m", "bold": "\033[1m", "dim": "\033[2m"}
_RESET = "\033[0m"


def _paint(text: str, style: str, color: bool) -> str:
    return f"{_STYLES[style]}{text}{_RESET}" if color else text


def cell_prefix(cell: object) -> str:
    """``cell N:`` before the line of a position in a notebook (ruff's form), else nothing."""
    return f"cell {cell}:" if isinstance(cell, int) else ""


def render_findings(summary: Summary, color: bool) -> str:
    lines = []
    for f in summary.findings:
        marker = " [*]" if f.fix and (f.fix.applicability == "safe" or summary.unsafe_fixes) else ""
        cell = cell_prefix(f.extra.get("cell"))
        location = _paint(f"{escape_text(f.path)}:{cell}{f.line}:{f.column}:", "bold", color)
        lines.append(f"{location} {_paint(f.code, f.severity, color)}{marker} {escape_text(one_line(f.message))}")
        related_cells = f.extra.get("related_cells") or [None] * len(f.related)
        for related, related_cell in zip(f.related, related_cells, strict=False):
            where = escape_text(related.path or f.path)
            own_cell = cell_prefix(related_cell) if related.path in (None, f.path) else ""
            text = f"    {where}:{own_cell}{related.line}:{related.column}: {escape_text(one_line(related.message))}"
            lines.append(_paint(text, "dim", color))
    return "\n".join(lines)


def render_summary(summary: Summary) -> str:
    total = len(summary.findings)
    parts = []
    if summary.fixed:
        parts.append(f"Fixed {summary.fixed} finding{'s' if summary.fixed != 1 else ''}.")
    if total == 0:
        parts.append(f"All checks passed ({summary.files} file{'s' if summary.files != 1 else ''} checked).")
        return "\n".join(parts)
    line = (
        f"Found {total} finding{'s' if total != 1 else ''} in {summary.files} file{'s' if summary.files != 1 else ''}."
    )
    if summary.fixable:
        line += f"\n[*] {summary.fixable} fixable with `initlint check --fix`."
    if summary.hidden_unsafe:
        line += f"\n{summary.hidden_unsafe} more fixable with `--fix --unsafe-fixes`."
    parts.append(line)
    return "\n".join(parts)


def render_statistics(summary: Summary) -> str:
    lines = []
    for row in statistics(summary):
        lines.append(f"{row['count']:>5}  {row['code']}  {'[*]' if row['fixable'] else '   '} {row['name']}")
    return "\n".join(lines)


def statistics(summary: Summary) -> list[dict[str, object]]:
    """Findings per rule, most first: code, name, count, and whether a fix applies with the
    current settings (an unsafe fix only with unsafe fixes on: as the `[*]` of the findings)."""
    from initlint.rules import BY_CODE

    rows: list[dict[str, object]] = []
    for code, count in sorted(summary.by_code().items(), key=lambda kv: (-kv[1], kv[0])):
        rule = BY_CODE.get(code)
        fixable = any(
            f.fix and (f.fix.applicability == "safe" or summary.unsafe_fixes)
            for f in summary.findings
            if f.code == code
        )
        rows.append({"code": code, "name": rule.name if rule else "", "count": count, "fixable": fixable})
    return rows
