"""Fix safety beyond "it parses": a safe fix of IL101/IL104/IL105 leaves the module's AST as it
was except in the statements its edits touch (plus an added ``import``). Checked pass by pass,
on the rules' INVALID examples, the rule docs' examples and the corpus files the fixes change."""

from __future__ import annotations

import ast
import re

import pytest

from initlint.docs import doc_path, parse_doc
from initlint.engine import MAX_FIX_PASSES, LintOptions, apply_edits, fix_source, lint_source, select_edits
from initlint.finding import Edit
from initlint.rules import BY_CODE
from initlint.source import SourceFile
from initlint.testing import options_for

CODES = ("IL101", "IL104", "IL105")
OPTIONS = options_for(CODES)
BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


class UnsafeFix(AssertionError):
    pass


def _is_import_insertion(edit: Edit) -> bool:
    if (edit.line, edit.column) != (edit.end_line, edit.end_column):
        return False
    try:
        body = ast.parse(edit.content.strip()).body
    except SyntaxError:
        return False
    return len(body) == 1 and isinstance(body[0], (ast.Import, ast.ImportFrom))


def _touched(node: ast.AST, spans: list[tuple[int, int]]) -> bool:
    return any(node.lineno <= end and start <= node.end_lineno for start, end in spans)  # type: ignore[attr-defined]


def _compare_bodies(old: list, new: list, spans: list[tuple[int, int]], added: list[str], where: str) -> None:
    new = list(new)
    if added:
        # Added import statements: drop them from the new body (each exactly once).
        kept = []
        for stmt in new:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)) and ast.dump(stmt) in added:
                added.remove(ast.dump(stmt))
                continue
            kept.append(stmt)
        new = kept
    if len(old) != len(new):
        raise UnsafeFix(f"{where}: {len(old)} statements became {len(new)}")
    for index, (a, b) in enumerate(zip(old, new, strict=True)):
        _compare_statement(a, b, spans, f"{where}[{index}]")


def _compare_statement(old: ast.AST, new: ast.AST, spans: list[tuple[int, int]], where: str) -> None:
    if ast.dump(old) == ast.dump(new):
        return
    if not _touched(old, spans):
        raise UnsafeFix(f"{where} (line {old.lineno}) changed but no edit touches it")  # type: ignore[attr-defined]
    if type(old) is not type(new) or not any(isinstance(getattr(old, f, None), list) for f in BODIES):
        return  # a simple statement an edit touches: it may differ
    # A compound statement: its nested statements are held to the same rule, one by one.
    for field in BODIES:
        if isinstance(getattr(old, field, None), list):
            _compare_bodies(getattr(old, field), getattr(new, field), spans, [], f"{where}.{field}")


def assert_ast_kept_outside_edits(before: str, after: str, edits: list[Edit]) -> None:
    old, new = ast.parse(before), ast.parse(after)
    spans = [(e.line, e.end_line) for e in edits if not _is_import_insertion(e)]
    added = [ast.dump(ast.parse(e.content.strip()).body[0]) for e in edits if _is_import_insertion(e)]
    _compare_bodies(old.body, new.body, spans, added, "module")
    if added:
        raise UnsafeFix(f"an added import is missing from the fixed module: {added}")


def checked_fix(text: str, options: LintOptions = OPTIONS) -> tuple[str, int]:
    """Run the fix loop as fix_source does, checking each pass; the fixed text and its edits."""
    source = SourceFile("fixed.py", text, "utf-8")
    findings = lint_source(source, options)
    edits_checked = 0
    for _ in range(MAX_FIX_PASSES):
        edits, _count = select_edits(source, findings, unsafe=False)
        if not edits:
            break
        new_text = apply_edits(source, edits)
        assert_ast_kept_outside_edits(source.text, new_text, edits)
        edits_checked += len(edits)
        source = source.with_text(new_text)
        findings = lint_source(source, options)
    expected = fix_source(SourceFile("fixed.py", text, "utf-8"), options, unsafe=False).source.text
    assert source.text == expected, "the checked passes diverged from fix_source"
    return source.text, edits_checked


EXAMPLES = [
    pytest.param(example.code, id=f"{code}-invalid-{n}")
    for code in CODES
    for n, example in enumerate(BY_CODE[code].INVALID)
    if example.fixed is not None and not example.unsafe
]
DOCS = [pytest.param(parse_doc(doc_path(code).read_text(encoding="utf-8")).example, id=f"{code}-doc") for code in CODES]


@pytest.mark.parametrize("code", EXAMPLES + DOCS)
def test_fix_keeps_the_ast_outside_the_fixed_statements(code: str) -> None:
    fixed, edits = checked_fix(code)
    assert edits and fixed != code


# A bigger module: each fix sits among statements that must come through unchanged, inside
# classes, functions, loops and conditionals.
MIXED = """\
import torch
import torch.nn as nn
from torch.autograd import Variable


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.reset()

    def reset(self):
        for m in self.modules():
            if isinstance(m, nn.Linear):
                m.weight.data.normal_(0.0, 0.02)
                nn.init.constant(m.bias, 0)
            else:
                pass
        x = Variable(torch.zeros(3))
        return x


def helper(w):
    try:
        w.data.fill_(1)
    finally:
        print("done")
"""


def test_fix_keeps_the_ast_of_a_mixed_module() -> None:
    fixed, edits = checked_fix(MIXED)
    assert edits >= 4
    assert lint_source(SourceFile("m.py", fixed, "utf-8"), OPTIONS) == []


# The checker itself must catch what it is for: a "fix" that also changes an untouched
# statement, one that drops a statement, and one that adds a statement that is not an import.
@pytest.mark.parametrize(
    ("after", "message"),
    [
        (MIXED.replace("normal_(0.0, 0.02)", "normal_(0.0, 0.2)").replace('print("done")', 'print("Done")'), "changed"),
        (
            MIXED.replace("normal_(0.0, 0.02)", "normal_(0.0, 0.2)").replace(
                "            else:\n                pass\n", ""
            ),
            "pass",
        ),
        (MIXED.replace("import torch\n", "import torch\nx = 1\n", 1), "statements became"),
    ],
    ids=["untouched-statement-changed", "else-branch-dropped", "non-import-added"],
)
def test_the_checker_rejects_unsafe_rewrites(after: str, message: str) -> None:
    line = MIXED.splitlines().index("                m.weight.data.normal_(0.0, 0.02)") + 1
    edit = Edit(line, 17, line, 49, "m.weight.data.normal_(0.0, 0.2)")
    with pytest.raises(UnsafeFix):
        assert_ast_kept_outside_edits(MIXED, after, [edit])


def test_the_checker_accepts_an_added_import() -> None:
    before = "from torch import optim\nm.bias.data.zero_()\n"
    after = "from torch import optim\nimport torch\ntorch.nn.init.zeros_(m.bias)\n"
    edits = [Edit(1, 24, 1, 24, "\nimport torch"), Edit(2, 1, 2, 20, "torch.nn.init.zeros_(m.bias)")]
    assert_ast_kept_outside_edits(before, after, edits)
    with pytest.raises(UnsafeFix):
        assert_ast_kept_outside_edits(before, after.replace("import torch\n", "import numpy\n"), edits)


# -- the corpus ---------------------------------------------------------------------------------
_TRIGGERS = [re.compile(t) for code in CODES for t in BY_CODE[code].triggers]


@pytest.mark.corpus
def test_fixes_keep_the_ast_on_the_corpus() -> None:
    """Every corpus file one of these fixes changes: the rest of the module keeps its AST."""
    from benchmarks import corpus

    src = corpus.ensure_corpus()
    if src is None:
        pytest.skip(f"corpus unavailable: {corpus.last_reason}")
    files = corpus.python_files(corpus.corpus_roots(src))
    checked = edits = 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        if not any(t.search(text) for t in _TRIGGERS):
            continue
        source = SourceFile(str(path), text, "utf-8")
        if not any(f.fix and f.fix.applicability == "safe" for f in lint_source(source, OPTIONS)):
            continue
        try:
            fixed, count = checked_fix(text)
        except UnsafeFix as exc:
            raise AssertionError(f"{path}: {exc}") from None
        compile(fixed, str(path), "exec")
        checked += 1
        edits += count
    assert checked >= 10 and edits >= checked, (checked, edits)
    print(f"\nfix safety on the corpus: {checked} files, {edits} edits checked")
