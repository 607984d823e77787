"""Positions of nodes, computed per top-level statement.

libcst's PositionProvider generates the code of the whole module and visits every node, which
costs more than the parse on a large file; a rule reports on a few statements at most. So
positions are computed on a one-statement module for each top-level statement that holds a
reported node, and shifted by where the interpreter's parser says that statement starts.
"""

from __future__ import annotations

import ast
import re
import warnings
from typing import TYPE_CHECKING

from initlint._lazy import cst

if TYPE_CHECKING:
    from libcst.metadata import CodeRange

    from initlint.source import SourceFile


class Positions:
    def __init__(self, module: cst.Module, source: SourceFile, parent: dict[cst.CSTNode, cst.CSTNode]) -> None:
        self.module = module
        self.source = source
        self.text = source.text
        self.parent = parent
        self._starts: dict[cst.CSTNode, int] | bool | None = False  # False: not computed yet
        self._per_statement: dict[cst.CSTNode, tuple[dict[cst.CSTNode, CodeRange], int]] = {}
        self._whole: dict[cst.CSTNode, CodeRange] | None = None

    def range_of(self, node: cst.CSTNode) -> CodeRange:
        named = self._definition_name(node)
        if named is not None:
            return named
        statement = self._top_statement(node)
        starts = self._statement_starts()
        if statement is None or starts is None or statement not in starts:
            return self._whole_module()[node]
        ranges, offset = self._statement_ranges(statement, starts[statement])
        span = ranges[node]
        if offset == 0:
            return span
        from libcst.metadata import CodePosition, CodeRange

        return CodeRange(
            CodePosition(span.start.line + offset, span.start.column),
            CodePosition(span.end.line + offset, span.end.column),
        )

    def _definition_name(self, node: cst.CSTNode) -> CodeRange | None:
        """The name of a top-level ``def``/``class``, found on the line the C parser gives for it:
        without generating the code of the whole definition (a summary asks for every one)."""
        definition = self.parent.get(node)
        if not isinstance(definition, (cst.FunctionDef, cst.ClassDef)) or definition.name is not node:
            return None
        starts = self._statement_starts() if self.parent.get(definition) is self.module else None
        line = starts.get(definition) if starts else None
        if line is None:
            return None
        name = definition.name.value
        header = self.source.line_text(line)
        found = re.match(rf"[ \t\f]*(?:async[ \t]+)?(?:def|class)[ \t]+({re.escape(name)})\b", header)
        if found is None:
            return None  # `def \` continued on the next line, say: the slow way
        from libcst.metadata import CodePosition, CodeRange

        return CodeRange(CodePosition(line, found.start(1)), CodePosition(line, found.end(1)))

    def statement_text(self, statement: cst.CSTNode) -> str | None:
        """The source of a top-level statement, cut from the text at the lines the C parser gives
        (up to the next statement: trailing comments and its decorators too); None when unknown."""
        starts = self._statement_starts()
        if starts is None or statement not in starts:
            return None
        body = self.module.body
        index = body.index(statement)  # type: ignore[arg-type]
        end = starts.get(body[index + 1]) if index + 1 < len(body) else None
        lines = self.source.line_starts
        first = lines[starts[statement] - 1]
        last = lines[end - 1] if end is not None and end - 1 < len(lines) else len(self.text)
        return self.text[first:last]

    def _top_statement(self, node: cst.CSTNode) -> cst.CSTNode | None:
        current = node
        parent = self.parent.get(current)
        while parent is not None and parent is not self.module:
            current, parent = parent, self.parent.get(parent)
        return current if parent is self.module else None

    def _statement_starts(self) -> dict[cst.CSTNode, int] | None:
        """First line of each top-level statement, from the C parser; None when the two parsers
        cannot be matched statement for statement (newer syntax, say)."""
        if self._starts is not False:
            return self._starts  # type: ignore[return-value]
        self._starts = None
        try:
            with warnings.catch_warnings():  # the file's invalid escapes: not ours to show
                warnings.simplefilter("ignore")
                body = ast.parse(self.text).body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        starts: dict[cst.CSTNode, int] = {}
        index = 0
        for statement in self.module.body:
            count = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
            group = body[index : index + count]
            if len(group) != count or len({node.lineno for node in group}) != 1:
                return None
            # Both parsers put a decorated definition at its `def`/`class` line.
            starts[statement] = group[0].lineno
            index += count
        if index != len(body):
            return None
        self._starts = starts
        return starts

    def _statement_ranges(self, statement: cst.CSTNode, first_line: int) -> tuple[dict[cst.CSTNode, CodeRange], int]:
        cached = self._per_statement.get(statement)
        if cached is None:
            alone = cst.Module(
                body=[statement],  # type: ignore[list-item]
                header=[],
                footer=[],
                default_indent=self.module.default_indent,
                default_newline=self.module.default_newline,
            )
            from libcst.metadata import MetadataWrapper, PositionProvider

            ranges = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
            cached = (ranges, first_line - ranges[statement].start.line)  # type: ignore[assignment]
            self._per_statement[statement] = cached  # type: ignore[assignment]
        return cached  # type: ignore[return-value]

    def _whole_module(self) -> dict[cst.CSTNode, CodeRange]:
        if self._whole is None:
            from libcst.metadata import MetadataWrapper, PositionProvider

            self._whole = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(PositionProvider)  # type: ignore[assignment]
        return self._whole  # type: ignore[return-value]
