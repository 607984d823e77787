"""The data every layer of initlint exchanges: findings, fixes and text edits.

Positions are 1-based lines and 1-based columns counted in characters (code points),
end positions exclusive, the way SARIF and editors expect them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
Applicability = Literal["safe", "unsafe"]


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the text between two positions with ``content``."""

    line: int
    column: int
    end_line: int
    end_column: int
    content: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "content": self.content,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Edit:
        return cls(data["line"], data["column"], data["end_line"], data["end_column"], data["content"])


@dataclass(frozen=True, slots=True)
class Fix:
    applicability: Applicability
    description: str
    edits: tuple[Edit, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "applicability": self.applicability,
            "description": self.description,
            "edits": [e.to_dict() for e in self.edits],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fix:
        return cls(data["applicability"], data["description"], tuple(Edit.from_dict(e) for e in data["edits"]))


@dataclass(frozen=True, slots=True)
class Related:
    """Another location the message refers to (an activation, a layer, an init call)."""

    message: str
    line: int
    column: int
    end_line: int
    end_column: int
    path: str | None = None  # None: the finding's own file

    def to_dict(self, default_path: str) -> dict[str, Any]:
        return {
            "message": self.message,
            "path": self.path or default_path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Related:
        return cls(
            data["message"], data["line"], data["column"], data["end_line"], data["end_column"], data.get("path")
        )


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    name: str
    severity: Severity
    message: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    related: tuple[Related, ...] = ()
    fix: Fix | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def sort_key(self) -> tuple[str, int, int, int, str]:
        # A notebook's lines are counted per cell (extra["cell"]): the cell orders first.
        cell = self.extra.get("cell")
        return (self.path, cell if isinstance(cell, int) else 0, self.line, self.column, self.code)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "related": [r.to_dict(self.path) for r in self.related],
            "fix": self.fix.to_dict() if self.fix else None,
        }
        data.update(self.extra)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        known = {
            "code", "name", "severity", "message", "path", "line", "column",
            "end_line", "end_column", "related", "fix",
        }  # fmt: skip
        return cls(
            code=data["code"],
            name=data["name"],
            severity=data["severity"],
            message=data["message"],
            path=data["path"],
            line=data["line"],
            column=data["column"],
            end_line=data["end_line"],
            end_column=data["end_column"],
            related=tuple(Related.from_dict(r) for r in data.get("related", ())),
            fix=Fix.from_dict(data["fix"]) if data.get("fix") else None,
            extra={k: v for k, v in data.items() if k not in known},
        )
