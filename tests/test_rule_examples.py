"""Every rule's own VALID/INVALID examples: invalid ones fire exactly that rule, valid ones
fire nothing; fixes produce the expected code, which parses and lints clean, and a second
fix pass changes nothing; the prefilter never hides a finding."""

from __future__ import annotations

import libcst as cst
import pytest

from initlint.rules import ALL_RULES
from initlint.testing import fix, lint

CHECKED = [r for r in ALL_RULES if r.INVALID or r.VALID]
INVALID = [pytest.param(rule, i, id=f"{rule.code}-invalid-{n}") for rule in CHECKED for n, i in enumerate(rule.INVALID)]
VALID = [pytest.param(rule, v, id=f"{rule.code}-valid-{n}") for rule in CHECKED for n, v in enumerate(rule.VALID)]


@pytest.mark.parametrize(("rule", "example"), INVALID)
def test_invalid_example_fires(rule, example):
    findings = lint(example.code, {rule.code}, files=example.files)
    assert findings, f"{rule.code} did not fire on:\n{example.code}"
    assert {f.code for f in findings} == {rule.code}
    for finding in findings:
        assert 1 <= finding.line <= finding.end_line <= example.code.count("\n") + 1


@pytest.mark.parametrize(("rule", "example"), INVALID)
def test_invalid_example_fix(rule, example):
    findings = lint(example.code, {rule.code}, files=example.files)
    fixable = [f for f in findings if f.fix]
    if example.fixed is None:
        assert not fixable, f"{rule.code} offered a fix where the example expects none"
        return
    assert fixable, f"{rule.code} offered no fix"
    assert rule.fix_applicability is not None
    files = example.files
    fixed = fix(example.code, {rule.code}, unsafe=example.unsafe, files=files)
    assert fixed == example.fixed
    cst.parse_module(fixed)
    assert not lint(fixed, {rule.code}, files=files), "the fixed code still fires the rule"
    assert fix(fixed, {rule.code}, unsafe=example.unsafe, files=files) == fixed, "a second fix changed the code"
    if example.unsafe:
        unsafe_off = fix(example.code, {rule.code}, unsafe=False, files=files)
        assert unsafe_off == example.code, "an unsafe fix ran without --unsafe-fixes"


@pytest.mark.parametrize(("rule", "code"), VALID)
def test_valid_example_is_clean(rule, code):
    assert lint(code, {rule.code}) == []


@pytest.mark.parametrize(("rule", "example"), INVALID)
def test_prefilter_never_hides_a_finding(rule, example):
    files = example.files
    with_prefilter = lint(example.code, {rule.code}, prefilter=True, files=files)
    assert with_prefilter == lint(example.code, {rule.code}, prefilter=False, files=files)


def _test_corpus() -> list[tuple[str, str]]:
    """Every snippet the suite knows: rule examples, doc examples, and examples/*.py."""
    from pathlib import Path

    from initlint.docs import doc_path, parse_doc

    snippets = []
    for rule in CHECKED:
        snippets += [(f"{rule.code}-valid", code) for code in rule.VALID]
        snippets += [(f"{rule.code}-invalid", example.code) for example in rule.INVALID]
    for rule in ALL_RULES:
        try:
            doc = parse_doc(doc_path(rule.code).read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        snippets += [(f"{rule.code}-doc", code) for code in (doc.example, doc.use_instead) if code]
    root = Path(__file__).resolve().parent.parent
    snippets += [(path.name, path.read_text(encoding="utf-8")) for path in sorted((root / "examples").glob("*.py"))]
    return snippets


def test_prefilter_never_hides_a_finding_on_the_test_corpus():
    every = {r.code for r in ALL_RULES if not getattr(r, "runtime", False)}
    checked = 0
    for name, code in _test_corpus():
        with_prefilter = lint(code, every, prefilter=True)
        without = lint(code, every, prefilter=False)
        assert with_prefilter == without, name
        checked += bool(without)
    assert checked > 50  # the corpus really exercises the rules
