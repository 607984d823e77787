from __future__ import annotations

from initlint.output import Summary

_STYLES = {"error": "\033[1;31m", "warning": "\033[1;33m", "info": "\033[1;36m", "bold": "\033[1m", "dim": "\033[2m"}
_RESET = "\033[0m"


def _paint(text: str, style: str, color: bool) -> str:
    return f"{_STYLES[style]}{text}{_RESET}" if color else text


def render_findings(summary: Summary, color: bool) -> str:
    lines = []
    for f in summary.findings:
        marker = " [*]" if f.fix and (f.fix.applicability == "safe" or summary.unsafe_fixes) else ""
        location = _paint(f"{f.path}:{f.line}:{f.column}:", "bold", color)
        lines.append(f"{location} {_paint(f.code, f.severity, color)}{marker} {f.message}")
        for related in f.related:
            where = related.path or f.path
            lines.append(_paint(f"    {where}:{related.line}:{related.column}: {related.message}", "dim", color))
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
    from initlint.rules import BY_CODE

    lines = []
    for code, count in sorted(summary.by_code().items(), key=lambda kv: (-kv[1], kv[0])):
        rule = BY_CODE.get(code)
        fixable = any(f.fix for f in summary.findings if f.code == code)
        lines.append(f"{count:>5}  {code}  {'[*]' if fixable else '   '} {rule.name if rule else ''}")
    return "\n".join(lines)
