"""The Python API: check (and fix) source text in memory, as `initlint check` would.

Nothing here writes to disk, and nothing is imported until a function is called: `import initlint`
stays cheap for an editor or CI script that may never lint anything.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from initlint.config import Settings
    from initlint.engine import LintOptions
    from initlint.finding import Finding

Selectors = str | Iterable[str] | None


@dataclass
class FixResult:
    """What :func:`fix` gives back: the fixed text, the findings left in it, and counts."""

    source: str
    findings: list[Finding]
    applied: int = 0
    problems: list[str] = field(default_factory=list)  # passes dropped (the text kept as before them)


def _selectors(value: Selectors) -> list[str] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def _settings(
    path: str, select: Selectors, ignore: Selectors, extend_select: Selectors,
    config: str | os.PathLike[str] | None, find_config: bool, init_aliases: dict[str, str] | None,
) -> Settings:  # fmt: skip
    from initlint.config import Settings, load_settings, parse_aliases

    if config is not None:
        settings = load_settings(Path(config), Path(path).parent)
    elif find_config:
        # The file need not exist (an unsaved editor buffer): its nearest existing folder.
        start = Path(path).absolute().parent
        while not start.is_dir() and start != start.parent:
            start = start.parent
        settings = load_settings(None, start)
    else:
        settings = Settings(root=Path.cwd().resolve())
    chosen = _selectors(select)
    if chosen is not None:
        settings.select = chosen
    settings.ignore = [*settings.ignore, *(_selectors(ignore) or [])]
    settings.extend_select = [*settings.extend_select, *(_selectors(extend_select) or [])]
    if init_aliases is not None:
        settings.init_aliases = parse_aliases(dict(init_aliases))
    return settings


def _options(settings: Settings) -> LintOptions:
    from initlint.engine import LintOptions

    return LintOptions(settings.enabled_codes(), tuple(sorted(settings.init_aliases.items())))


def _per_file_ignored(settings: Settings, path: str) -> set[str]:
    if not settings.per_file_ignores:
        return set()
    try:
        relative = Path(path).resolve().relative_to(settings.root.resolve()).as_posix()
    except (ValueError, OSError, RuntimeError):
        relative = Path(path).as_posix()
    return settings.ignored_codes(relative)


def lint(
    source: str | bytes,
    path: str = "<string>",
    *,
    select: Selectors = None,
    ignore: Selectors = None,
    extend_select: Selectors = None,
    init_aliases: dict[str, str] | None = None,
    config: str | os.PathLike[str] | None = None,
    find_config: bool = False,
) -> list[Finding]:
    """The findings of initlint's static rules on ``source``, sorted by position.

    ``source``: the text of a Python file, or its bytes (decoded as Python does: PEP 263 coding
    line, BOM). When ``path`` ends with ``.ipynb`` the source is a notebook's JSON and its code
    cells are checked: a finding's line and column are counted within its cell and
    ``extra["cell"]`` is the cell's 1-based index in the notebook's ``cells`` (see
    :mod:`initlint.notebook`); a file that is no notebook is IL901.

    ``path`` is only a name for the findings (nothing is read from it), unless ``find_config``.

    Rule selection works as on the command line: ``select`` replaces the default set, ``ignore``
    and ``extend_select`` add to it; each is a code, prefix (``"IL2"``), name, tier (``"legacy"``)
    or ``"ALL"``, or a comma-separated string or iterable of them. By default no configuration
    file is read; ``config`` names one (a pyproject.toml or a TOML file of initlint keys), and
    ``find_config=True`` uses the nearest pyproject.toml with ``[tool.initlint]`` above ``path``
    (its per-file-ignores then apply to ``path``). ``init_aliases`` maps your own init helpers to
    the ``torch.nn.init`` function they behave like, as ``[tool.initlint.init-aliases]``.

    Each finding is an :class:`initlint.finding.Finding` (``code``, ``name``, ``severity``,
    ``message``, 1-based ``line``/``column``, exclusive ``end_line``/``end_column`` counted in
    code points, ``related`` locations, and a ``fix`` with its edits and applicability, or None).
    Bad input never raises: a syntax error is IL900, undecodable bytes are IL901. An invalid
    selection or configuration raises :class:`initlint.config.ConfigError`. Never writes to disk
    and never imports torch.

    >>> import initlint
    >>> [f.code for f in initlint.lint("import torch.nn as nn\\nnn.init.normal(nn.Linear(2, 2).weight)\\n")]
    ['IL101']
    """
    settings = _settings(path, select, ignore, extend_select, config, find_config, init_aliases)
    options = _options(settings)
    if path.lower().endswith(".ipynb"):
        from initlint.notebook import lint_notebook_bytes

        findings = lint_notebook_bytes(path, _as_bytes(source), options)
    else:
        from initlint.engine import lint_source

        parsed, problem = _decode(path, source, options)
        findings = lint_source(parsed, options) if parsed is not None else problem
    ignored = _per_file_ignored(settings, path)
    return [f for f in findings if f.code not in ignored]


def fix(
    source: str | bytes,
    path: str = "<string>",
    *,
    unsafe_fixes: bool = False,
    select: Selectors = None,
    ignore: Selectors = None,
    extend_select: Selectors = None,
    init_aliases: dict[str, str] | None = None,
    config: str | os.PathLike[str] | None = None,
    find_config: bool = False,
) -> FixResult:
    """``source`` with the safe fixes (and the unsafe ones with ``unsafe_fixes=True``) applied
    until none is left, as ``initlint check --fix`` would write it, and the findings that remain.
    Arguments as for :func:`lint`; for a notebook the result is its JSON text with only the
    fixed cells changed, its layout kept. Text that cannot be read or fixed comes back unchanged.
    Never writes to disk."""
    settings = _settings(path, select, ignore, extend_select, config, find_config, init_aliases)
    options = _options(settings)
    ignored = _per_file_ignored(settings, path)
    if path.lower().endswith(".ipynb"):
        from initlint.notebook import fix_notebook_bytes

        outcome = fix_notebook_bytes(path, _as_bytes(source), options, unsafe_fixes)
        text = outcome.data.decode("utf-8-sig") if outcome.applied else _as_text(source)
        remaining = [f for f in outcome.findings if f.code not in ignored]
        return FixResult(text, remaining, outcome.applied, outcome.problems)
    from initlint.engine import fix_source

    parsed, problem = _decode(path, source, options)
    if parsed is None:
        return FixResult(_as_text(source), problem)
    result = fix_source(parsed, options, unsafe_fixes)
    remaining = [f for f in result.findings if f.code not in ignored]
    return FixResult(result.source.text, remaining, result.applied, result.problems)


def _as_bytes(source: str | bytes) -> bytes:
    return source.encode("utf-8") if isinstance(source, str) else source


def _as_text(source: str | bytes) -> str:
    return source if isinstance(source, str) else source.decode("utf-8", errors="replace")


def _decode(path: str, source: str | bytes, options: LintOptions):  # type: ignore[no-untyped-def]
    """A SourceFile, or None and the IL901 finding (if enabled) for bytes that are no text."""
    from initlint.engine import engine_finding
    from initlint.source import SourceFile, UnreadableSource

    if isinstance(source, str):
        return SourceFile(path, source, "utf-8"), []
    try:
        return SourceFile.from_bytes(path, source), []
    except UnreadableSource as exc:
        problem = engine_finding("IL901", f"unreadable file: {exc}", path)
        return None, [problem] if problem.code in options.codes else []
