"""rules/*.md: one doc per rule, with the metadata the registry has, and executable examples."""

from __future__ import annotations

import re
from pathlib import Path

import libcst as cst
import pytest

from initlint.docs import doc_path, parse_doc
from initlint.rules import ALL_RULES
from initlint.testing import DEFAULT_CODES, fix, lint

ROOT = Path(__file__).resolve().parent.parent
RULES = [pytest.param(rule, id=rule.code) for rule in ALL_RULES]
ENGINE = {"IL900", "IL901", "IL999"}


def test_every_doc_belongs_to_a_rule():
    codes = {r.code for r in ALL_RULES}
    for path in (ROOT / "rules").glob("*.md"):
        assert path.stem in codes, f"{path.name} documents no registered rule"


@pytest.mark.parametrize("rule", RULES)
def test_doc_exists_with_metadata(rule):
    doc = parse_doc(doc_path(rule.code).read_text(encoding="utf-8"))
    assert doc.title_code == rule.code and doc.title_name == rule.name
    assert doc.meta.get("tier") == rule.tier, f"{rule.code}: the doc's table needs a tier column ({rule.tier})"
    assert doc.meta["severity"] == rule.severity
    assert doc.meta["default"] == ("on" if rule.default_enabled else "off")
    assert doc.meta["fix"] == (rule.fix_applicability or "none")
    for section in ("What it does", "Why it matters"):
        assert doc.sections.get(section, "").strip(), f"{rule.code}: empty section {section!r}"


@pytest.mark.parametrize("rule", [r for r in RULES if r.values[0].tier == "legacy"])
def test_legacy_docs_say_how_to_enable_them(rule):
    """`initlint explain` is where a user meets an off-by-default rule: it says how to turn it on."""
    text = doc_path(rule.code).read_text(encoding="utf-8")
    assert "Tier **legacy**, off by default" in text
    assert "--extend-select legacy" in text and f"--extend-select {rule.code}" in text


# Runtime rules (IL6xx) have examples the static linter cannot judge: tests/test_probe.py probes them.
@pytest.mark.parametrize("rule", [r for r in RULES if r.values[0].code not in ENGINE and not r.values[0].runtime])
def test_doc_examples_run(rule):
    doc = parse_doc(doc_path(rule.code).read_text(encoding="utf-8"))
    assert doc.example and doc.use_instead, f"{rule.code}: the doc needs an Example and a Use instead block"
    codes = DEFAULT_CODES | {rule.code}
    files = doc.example_files  # other files of the example's project, for cross-file rules
    found = lint(doc.example, codes, files=files)
    assert found and {f.code for f in found} == {rule.code}, [f.code for f in found]
    assert lint(doc.use_instead, codes, files=files) == []
    if rule.fix_applicability is not None:
        fixed = fix(doc.example, {rule.code}, unsafe=rule.fix_applicability == "unsafe", files=files)
        assert fixed != doc.example
        cst.parse_module(fixed)
        assert not lint(fixed, {rule.code}, files=files)


def test_doc_sources_are_cited():
    for rule in ALL_RULES:
        text = doc_path(rule.code).read_text(encoding="utf-8")
        if rule.code not in ENGINE:
            assert re.search(r"https?://", text), f"{rule.code}: 'Why it matters' should cite its source"
