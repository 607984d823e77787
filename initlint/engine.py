"""Checking and fixing one file's text: prefilter, parse, model, rules, noqa, fixes."""

from __future__ import annotations

import gc
import os
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from initlint._lazy import cst  # imported on first use: many runs never parse
from initlint.finding import Edit, Finding, Fix, Related
from initlint.noqa import filter_suppressed
from initlint.project.text_facts import mentions_alias
from initlint.rules import BY_CODE, ENGINE_CODES
from initlint.rules.base import Elsewhere, Report, Rule
from initlint.rules.triggers import bare_init_function_call, init_named_call
from initlint.source import SourceFile

if TYPE_CHECKING:
    from initlint.project.index import ProjectSpec

MAX_FIX_PASSES = 10
_TORCH = re.compile(r"\btorch\b")
# A call that may run init code of another file: `.apply(fn)`, `init_weights(self)`, `weights_init(m)`,
# `utils.init_weights(net)`; not a method of `self` (`self.post_init()`: this file's or a base's).
_APPLY = re.compile(r"\.apply\s*\(")


def may_enter_project(text: str) -> bool:
    return bool(_APPLY.search(text)) or init_named_call(text, with_argument=True)


@dataclass(frozen=True)
class LintOptions:
    """What the engine needs to check a file; small and picklable for worker processes."""

    codes: frozenset[str]
    init_aliases: tuple[tuple[str, str], ...] = ()
    prefilter: bool = True
    verbose: bool = False
    # The project the file belongs to: rules then follow imports into its other files.
    project: ProjectSpec | None = None

    @property
    def rules(self) -> list[type[Rule]]:
        return [BY_CODE[c] for c in sorted(self.codes) if c not in ENGINE_CODES and not BY_CODE[c].runtime]


@dataclass
class FixOutcome:
    source: SourceFile
    findings: list[Finding]
    applied: int = 0
    problems: list[str] = field(default_factory=list)
    fixed_codes: dict[str, int] = field(default_factory=dict)  # fixes applied, per rule code


def engine_finding(
    code: str, message: str, path: str, line: int = 1, column: int = 1, end_column: int | None = None
) -> Finding:
    rule = BY_CODE[code]
    end = column + 1 if end_column is None else end_column
    return Finding(code, rule.name, rule.severity, message, path, line, column, line, end)


def candidate_rules(text: str, options: LintOptions) -> list[type[Rule]]:
    """The enabled rules whose trigger tokens all occur in the text."""
    rules = options.rules
    if not options.prefilter:
        return rules
    alias_in_text = mentions_alias(text, options.init_aliases)
    has_torch = alias_in_text or bool(_TORCH.search(text))
    memo: dict[object, bool] = {}
    in_project = options.project is not None
    project = in_project and may_enter_project(text)
    # A call of a project's wrapper named like the nn.init function it passes through to
    # (`trunc_normal_(w, std=.02)` imported from the project's layers/): a derived init alias.
    alias_in_text = alias_in_text or (in_project and bare_init_function_call(text))
    return [
        r
        for r in rules
        if (has_torch or not r.needs_torch)
        and ((r.uses_init_aliases and alias_in_text) or (r.uses_project and project) or r.may_match(text, memo))
    ]


def _python_syntax_error(text: str) -> SyntaxError | None:
    """The interpreter's own verdict (fast, C parser); None when it compiles."""
    import warnings

    try:
        # Under the default limit, whatever the caller set: CPython scales its C-level AST
        # recursion guard from it, and a raised limit lets a deep file overflow the C stack.
        # Warnings (invalid escapes) are the file's business: not shown, and under `-W error`
        # not mistaken for a syntax error of the file.
        with _recursion_limit(PYTHON_DEFAULT_RECURSION_LIMIT), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # To bytecode, not to an `ast` tree: a quarter faster (no Python objects per node),
            # and it also rejects what only the compiler checks (`return` outside a function).
            compile(text, "<initlint>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return exc
    except (ValueError, RecursionError, MemoryError) as exc:
        return SyntaxError(str(exc) or type(exc).__name__)
    return None


# Python's verdicts that are limits of nesting, not grammar: libcst knows no newer grammar that
# would accept the file, and its native parser overflows its stack (a segfault that kills the
# process) past about 1,000 nested brackets and is quadratic on long operator chains, so such a
# file is reported without being handed to libcst.
_NESTING_LIMITS = (
    "too many nested parentheses",
    "too many levels of indentation",
    "too many statically nested blocks",
    "maximum recursion depth exceeded",
    "RecursionError",
    "MemoryError",
)


def _is_nesting_limit(error: SyntaxError | None) -> bool:
    return error is not None and any(limit in str(error.msg) for limit in _NESTING_LIMITS)


def _syntax_finding(source: SourceFile, libcst_error: Exception | None, python_error: SyntaxError | None) -> Finding:
    """IL900 at the interpreter's location when it agrees the file is invalid, else libcst's."""
    if python_error is not None:
        line = python_error.lineno or 1
        column = python_error.offset or 1
        # The interpreter's offset can point one past the end of the line.
        width = len(source.line_text(line))
        column = max(1, min(column, width + 1))
        # At the end of the line (an unexpected EOF, say) the range is empty: one character
        # wide it would end past the line (found by tests/test_fuzz.py on b"import").
        end_column = column + 1 if column <= width else column
        return engine_finding("IL900", f"SyntaxError: {python_error.msg}", source.path, line, column, end_column)
    line, column, message = 1, 1, "too deeply nested to parse"
    raw_line = getattr(libcst_error, "raw_line", None)
    if raw_line is not None:
        line, column = raw_line, libcst_error.raw_column + 1  # type: ignore[union-attr]
        message = str(libcst_error.message).splitlines()[0] or "invalid syntax"  # type: ignore[union-attr]
    return engine_finding("IL900", f"SyntaxError: {message}", source.path, line, column)


# libcst's visitors and code generator recurse about five Python frames per level of the tree;
# the deepest trees Python itself compiles (a chain of ~3,000 operators, 200 nested calls) need
# ~15,000 frames, above the default limit of 1,000 (rules failed with IL999 on valid code). The
# analysis runs under a raised limit; files deeper than Python compiles never get that far.
ANALYSIS_RECURSION_LIMIT = 20_000
PYTHON_DEFAULT_RECURSION_LIMIT = 1_000


@contextmanager
def _recursion_limit(limit: int) -> Iterator[None]:
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def lint_source(source: SourceFile, options: LintOptions, deps: dict[str, str] | None = None) -> list[Finding]:
    # A parsed file is hundreds of thousands of live objects that are freed by reference
    # counting, not by the cycle collector; collections during the parse walk them all again
    # and again (40% of the time on a 100k-line module). Collect nothing while a file is
    # checked; whatever cycles it left are collected once the collector runs again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _lint_source(source, options, deps)
    finally:
        if collecting:
            gc.enable()


def _lint_source(source: SourceFile, options: LintOptions, deps: dict[str, str] | None = None) -> list[Finding]:
    rules = candidate_rules(source.text, options)

    python_error = _python_syntax_error(source.text)
    if _is_nesting_limit(python_error):
        return _enabled([_syntax_finding(source, None, python_error)], options)
    if not rules:
        # No rule can fire, so skip the slow parse; but a file Python cannot compile is still
        # reported. libcst confirms first: it knows newer grammar than the running interpreter.
        if "IL900" not in options.codes or python_error is None:
            return []
        try:
            cst.parse_module(source.text)
            return []
        except (cst.ParserSyntaxError, RecursionError) as exc:
            return _enabled([_syntax_finding(source, exc, python_error)], options)

    try:
        module = cst.parse_module(source.text)
    except (cst.ParserSyntaxError, RecursionError) as exc:
        return _enabled([_syntax_finding(source, exc, python_error)], options)
    with _recursion_limit(max(sys.getrecursionlimit(), ANALYSIS_RECURSION_LIMIT)):
        return _analyse(source, module, rules, options, deps)


def _analyse(
    source: SourceFile, module: object, rules: list[type[Rule]], options: LintOptions, deps: dict[str, str] | None
) -> list[Finding]:

    index = None
    if options.project is not None:
        from initlint.project.index import open_index

        index = open_index(options.project)
        index.read = {}
    try:
        return _run_rules(source, module, rules, options, index)
    finally:
        if index is not None and deps is not None:
            own = os.path.abspath(source.path)
            deps.update((path, digest) for path, digest in index.read.items() if path != own)


def _run_rules(
    source: SourceFile, module: object, rules: list[type[Rule]], options: LintOptions, index: object
) -> list[Finding]:
    from initlint.semantic import SemanticModel

    try:
        model = SemanticModel(source, module, dict(options.init_aliases), project=index)  # type: ignore[arg-type]
    except RecursionError:
        return _enabled([engine_finding("IL900", "SyntaxError: too deeply nested to analyse", source.path)], options)
    findings: list[Finding] = []
    for rule in rules:
        try:
            findings.extend(_to_finding(model, rule, report) for report in rule().check(model))
        except Exception as exc:  # a bug in one rule must not stop the run
            detail = traceback.format_exc() if options.verbose else f"{type(exc).__name__}: {exc}"
            findings.append(
                engine_finding("IL999", f"rule {rule.code} ({rule.name}) failed on this file: {detail}", source.path)
            )
    findings = filter_suppressed(source, findings, options.codes)  # and IL902, when enabled
    return _enabled(sorted(set(findings), key=lambda f: f.sort_key), options)


def _enabled(findings: list[Finding], options: LintOptions) -> list[Finding]:
    return [f for f in findings if f.code in options.codes]


def _to_finding(model: object, rule: type[Rule], report: Report) -> Finding:
    span = model.range_of(report.node)  # type: ignore[attr-defined]
    related = []
    for node, message in report.related:
        if isinstance(node, Elsewhere):  # a location in another file of the project
            w = node.where
            # Shown as the finding's own path is (relative when that is): the index knows absolute ones.
            where = node.path if os.path.isabs(model.source.path) else os.path.relpath(node.path)  # type: ignore[attr-defined]
            related.append(Related(message, w.line, w.column, w.end_line, w.end_column, where))
            continue
        r = model.range_of(node)  # type: ignore[attr-defined]
        related.append(Related(message, r.start.line, r.start.column + 1, r.end.line, r.end.column + 1))
    fix = None
    if report.fix is not None:
        fix = Fix(report.fix.applicability, report.fix.description, tuple(report.fix.edits))
    return Finding(
        code=rule.code,
        name=rule.name,
        severity=report.severity or rule.severity,
        message=report.message,
        path=model.source.path,  # type: ignore[attr-defined]
        line=span.start.line,
        column=span.start.column + 1,
        end_line=span.end.line,
        end_column=span.end.column + 1,
        related=tuple(related),
        fix=fix,
    )


def is_applicable(finding: Finding, unsafe: bool) -> bool:
    return finding.fix is not None and (finding.fix.applicability == "safe" or unsafe)


def _span(source: SourceFile, edit: Edit) -> tuple[int, int]:
    return source.offset(edit.line, edit.column), source.offset(edit.end_line, edit.end_column)


def select_edits(
    source: SourceFile, findings: list[Finding], unsafe: bool, chosen_findings: list[Finding] | None = None
) -> tuple[list[Edit], int]:
    """Edits of the applicable fixes that do not overlap one another (first come, first kept),
    and how many fixes they make up (their findings added to ``chosen_findings``). Identical
    edits (the same import added twice) merge."""
    chosen: list[Edit] = []
    spans: list[tuple[int, int]] = []
    count = 0
    for finding in findings:
        if not is_applicable(finding, unsafe):
            continue
        assert finding.fix is not None
        new_edits = [e for e in finding.fix.edits if e not in chosen]
        new_spans = [_span(source, e) for e in new_edits]
        if any(_overlaps(a, b) for a in new_spans for b in spans) or any(
            _overlaps(a, b) for i, a in enumerate(new_spans) for b in new_spans[i + 1 :]
        ):
            continue  # applied in a later pass, once the first fix has landed
        chosen.extend(new_edits)
        spans.extend(new_spans)
        count += 1
        if chosen_findings is not None:
            chosen_findings.append(finding)
    return chosen, count


def apply_edits(source: SourceFile, edits: list[Edit]) -> str:
    """The text with non-overlapping edits applied, back to front. An insertion at the offset
    where a replacement starts goes before the replaced text: the replacement is applied first
    (ordered by start, then end), whatever order the edits came in (an added import at the
    first statement of a file met the fix of that statement there, and landed inside it)."""
    text = source.text
    for start, end, content in sorted(((*_span(source, e), e.content) for e in edits), reverse=True):
        text = text[:start] + content + text[end:]
    return text


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    if a == b:
        return True  # two insertions at one point: order would be arbitrary
    return a[0] < b[1] and b[0] < a[1]


def fix_source(source: SourceFile, options: LintOptions, unsafe: bool) -> FixOutcome:
    """Apply fixes until none applies (bounded). Every pass must leave code that compiles under
    the running Python, as the bytes that would be written (encoding and coding line included);
    a pass that does not is dropped, with a note, and fixing stops there."""
    import libcst as cst

    outcome = FixOutcome(source, lint_source(source, options))
    original_compiles: bool | None = None  # decided on the first pass that has edits
    for _ in range(MAX_FIX_PASSES):
        fixed: list[Finding] = []
        edits, count = select_edits(outcome.source, outcome.findings, unsafe, fixed)
        if not edits:
            break
        new_text = apply_edits(outcome.source, edits)
        try:
            cst.parse_module(new_text)
        except (cst.ParserSyntaxError, RecursionError):
            outcome.problems.append("a fix produced code that does not parse; it was not applied")
            break
        if original_compiles is None:
            original_compiles = compile_error(source) is None
        # A file this Python cannot compile before the fix (newer grammar, which libcst knows)
        # cannot be held to compiling after it: there the parse above is the check.
        error = compile_error(outcome.source.with_text(new_text)) if original_compiles else None
        if error is not None:
            codes = ", ".join(sorted({f.code for f in outcome.findings if is_applicable(f, unsafe)}))
            outcome.problems.append(
                f"a fix ({codes}) produced code that does not compile ({error}); it was not applied"
            )
            break
        outcome.source = outcome.source.with_text(new_text)
        outcome.applied += count
        for finding in fixed:
            outcome.fixed_codes[finding.code] = outcome.fixed_codes.get(finding.code, 0) + 1
        outcome.findings = lint_source(outcome.source, options)
    return outcome


def compile_error(source: SourceFile) -> str | None:
    """Why the file, as the bytes it would be written as, does not compile; None when it does.
    The bytes, not the text: the interpreter reads them through their coding line."""
    import warnings

    try:
        data = source.encode()
    except Exception as exc:  # the codec is the file's choice: it may raise anything
        return f"not encodable as {source.encoding}: {type(exc).__name__}: {exc}"
    try:
        # Under the default recursion limit: see _python_syntax_error.
        with _recursion_limit(PYTHON_DEFAULT_RECURSION_LIMIT), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes and the like: warnings, not errors
            compile(data, source.path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return f"{type(exc).__name__}: {exc.msg} at line {exc.lineno}"
    except Exception as exc:  # ValueError, RecursionError, MemoryError, a codec's own errors
        return f"{type(exc).__name__}: {exc}"
    return None
