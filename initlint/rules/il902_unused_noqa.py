"""IL902 unused-noqa: a `# noqa: ILxxx` whose codes silence nothing (ruff's RUF100).

The engine reports it (initlint/noqa.py) after every other rule has run on the file, since only
then is it known which directives were used; this class carries the metadata and examples."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from initlint.rules.base import Invalid, Report, Rule, src

if TYPE_CHECKING:
    from initlint.semantic import SemanticModel


class UnusedNoqa(Rule):
    code = "IL902"
    name = "unused-noqa"
    summary = "A `# noqa: ILxxx` code that silences nothing on its line (opt-in, as ruff's RUF100)"
    severity = "info"
    tier = "advice"
    default_enabled = False
    fix_applicability = "safe"
    needs_torch = False
    # Any case: `# NOQA: IL101` is a directive too.
    triggers = (r"(?i)noqa",)

    VALID = (
        src("""
            x = 1  # noqa: E501
        """),  # another tool's code
        src("""
            x = 1  # noqa
        """),  # bare: may be for another tool
        src('''
            def f():
                """Example: `y = 2  # noqa: IL101`."""
        '''),  # text in a docstring is no directive
        src("""
            x = 1  # noqa: IL902, IL101
        """),  # naming IL902 keeps the directive
    )
    INVALID = (
        Invalid(
            src("""
                x = 1  # noqa: IL101
            """),
            src("""
                x = 1
            """),
        ),
        Invalid(
            src("""
                x = 1  # noqa: E501, IL101
            """),
            src("""
                x = 1  # noqa: E501
            """),
        ),
        Invalid(
            src("""
                x = 1  # type: ignore  # noqa: IL999
            """),
            src("""
                x = 1  # type: ignore
            """),
        ),
        Invalid(
            src("""
                x = 1  # noqa: IL101 kept for the old API
            """),
            src("""
                x = 1  # kept for the old API
            """),
        ),
        Invalid(
            src("""
                s = '''
                  text
                '''  # NOQA: IL123
            """),
            src("""
                s = '''
                  text
                '''
            """),
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:  # reported by the engine (noqa.py)
        return iter(())
