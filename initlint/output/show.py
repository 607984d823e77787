"""What `--show-settings` and `--show-fixes` print."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from initlint.output.text import escape_text


def _value(value: Any) -> str:
    if isinstance(value, Path):
        return json.dumps(str(value))
    if value is None:
        return "none"
    return json.dumps(value, ensure_ascii=False, default=str)


def render_settings(settings: Any, path: str, codes: frozenset[str], extra: dict[str, Any]) -> str:
    """The settings that apply to ``path`` as `key = value` lines (TOML values): every field of
    the resolved settings (command-line options included), the rules they enable, and ``extra``
    (output format, cache folder)."""
    lines = [f"Resolved settings for: {escape_text(path)}"]
    config = getattr(settings, "config_path", None)
    lines.append(f"Settings path: {escape_text(str(config)) if config else 'none (defaults)'}")
    lines.append("")
    for item in dataclasses.fields(settings):
        if item.name == "config_path":
            continue
        lines.append(f"{item.name.replace('_', '-')} = {_value(getattr(settings, item.name))}")
    lines.append(f"enabled-rules = {_value(sorted(codes))}")
    for key, value in extra.items():
        lines.append(f"{key} = {_value(value)}")
    return "\n".join(lines)


def render_fixes(fixed_by_file: dict[str, dict[str, int]], *, would: bool) -> str:
    """The fixes applied per file and rule, as ruff's --show-fixes."""
    from initlint.rules import BY_CODE

    total = sum(sum(codes.values()) for codes in fixed_by_file.values())
    verb = "Would fix" if would else "Fixed"
    if total == 0:
        return f"No findings {'would be ' if would else ''}fixed."
    lines = [f"{verb} {total} finding{'s' if total != 1 else ''}:"]
    for path in sorted(fixed_by_file):
        lines.append(f"- {escape_text(path)}:")
        for code, count in sorted(fixed_by_file[path].items()):
            rule = BY_CODE.get(code)
            lines.append(f"    {count} \u00d7 {code} ({rule.name if rule else '?'})")
    return "\n".join(lines)
