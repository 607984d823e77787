"""Helpers for checking rules on snippets, used by the test suite and by rule authors."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from initlint.engine import LintOptions, fix_source, lint_source
from initlint.finding import Finding
from initlint.project.index import ProjectSpec
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
    files: Iterable[tuple[str, str]] = (),
) -> list[Finding]:
    """The findings on ``code``; with ``files`` (other files of its project: relative path, text),
    checked as ``path`` inside a temporary project holding them, its findings' paths relative."""
    options = options_for(codes, prefilter=prefilter, aliases=aliases)
    files = tuple(files)
    if not files:
        return lint_source(SourceFile(path, code, "utf-8"), options)
    with _project(files) as root:
        options = replace(options, project=ProjectSpec(str(root), None, options.init_aliases))
        found = lint_source(SourceFile(str(root / path), code, "utf-8"), options)
        return [_relative(finding, root) for finding in found]


def fix(
    code: str,
    codes: Iterable[str] | None = None,
    *,
    unsafe: bool = False,
    aliases: dict[str, str] | None = None,
    files: Iterable[tuple[str, str]] = (),
) -> str:
    options = options_for(codes, aliases=aliases)
    files = tuple(files)
    with _project(files) as root:
        if files:
            options = replace(options, project=ProjectSpec(str(root), None, options.init_aliases))
        outcome = fix_source(SourceFile(str(root / "snippet.py"), code, "utf-8"), options, unsafe)
    assert not outcome.problems, outcome.problems
    return outcome.source.text


@contextmanager
def _project(files: tuple[tuple[str, str], ...]) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="initlint-project-") as folder:
        root = Path(folder).resolve()
        (root / "pyproject.toml").write_text("")
        for name, text in files:
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        yield root


def _relative(finding: Finding, root: Path) -> Finding:
    def rel(path: str | None) -> str | None:
        return None if path is None else os.path.relpath(path, root)

    related = tuple(replace(r, path=rel(r.path)) for r in finding.related)
    return replace(finding, path=rel(finding.path) or finding.path, related=related)
