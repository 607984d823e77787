"""The README's promises: its rule table is `initlint rules`, its quick start is two commands."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from initlint.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _table_rows(text: str) -> list[tuple[str, ...]]:
    rows = []
    for line in text.splitlines():
        match = re.match(r"^\| (IL\d{3}) \|", line)
        if match:
            rows.append(tuple(cell.strip() for cell in line.strip().strip("|").split("|")))
    return rows


def test_rule_table_matches_initlint_rules():
    generated = CliRunner().invoke(main, ["rules", "--format", "markdown"]).output
    assert _table_rows(README) == _table_rows(generated), "regenerate with `initlint rules --format markdown`"


def test_quick_start_is_exactly_make_demo_and_make_test():
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^\$ (.+)$", section, flags=re.MULTILINE)
    assert commands == ["make demo", "make test"]
