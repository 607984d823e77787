"""Findings the engine itself produces: the file could not be read, parsed or checked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from initlint.rules.base import Report, Rule

if TYPE_CHECKING:
    from initlint.semantic import SemanticModel


class _EngineRule(Rule):
    tier = "engine"
    needs_torch = False

    def check(self, model: SemanticModel) -> Iterator[Report]:  # the engine reports these itself
        return iter(())


class SyntaxErrorRule(_EngineRule):
    code = "IL900"
    name = "syntax-error"
    summary = "The file does not parse as Python; nothing else in it was checked"
    severity = "error"


class UnreadableFile(_EngineRule):
    code = "IL901"
    name = "unreadable-file"
    summary = "The file cannot be read or decoded (permissions, binary content, unknown encoding)"
    severity = "error"


class InternalError(_EngineRule):
    code = "IL999"
    name = "internal-error"
    summary = "A rule raised on this file (a bug in initlint: please report it); other rules still ran"
    severity = "error"
