"""Helpers for checking rules on snippets, used by the test suite and by rule authors."""

from __future__ import annotations

from collections.abc import Iterable

from initlint.engine import LintOptions, fix_source, lint_source
from initlint.finding import Finding
from initlint.rules import ALL_RULES, ENGINE_CODES
from initlint.source import SourceFile

DEFAULT_CODES = frozenset(r.code for r in ALL_RULES if r.default_enabled)
EVERY_CODE = frozenset(r.code for r in ALL_RULES)


def options_for(
    codes: Iterable[str] | None = None, *, prefilter: bool = True, aliases: dict[str, str] | None = None
) -> LintOptions:
    chosen = frozenset(codes) | ENGINE_CODES if codes is not None else DEFAULT_CODES
    return LintOptions(chosen, tuple(sorted((aliases or {}).items())), prefilter=prefilter)


def lint(
    code: str,
    codes: Iterable[str] | None = None,
    *,
    prefilter: bool = True,
    path: str = "snippet.py",
    aliases: dict[str, str] | None = None,
) -> list[Finding]:
    return lint_source(SourceFile(path, code, "utf-8"), options_for(codes, prefilter=prefilter, aliases=aliases))


def fix(
    code: str, codes: Iterable[str] | None = None, *, unsafe: bool = False, aliases: dict[str, str] | None = None
) -> str:
    outcome = fix_source(SourceFile("snippet.py", code, "utf-8"), options_for(codes, aliases=aliases), unsafe)
    assert not outcome.problems, outcome.problems
    return outcome.source.text
