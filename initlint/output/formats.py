"""Machine-readable formats: json, SARIF 2.1.0 and GitHub workflow commands (more CI formats
in initlint.output.ci)."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from initlint import __version__
from initlint.finding import Finding, Related
from initlint.output import Summary
from initlint.output.text import one_line

PROJECT_URL = "https://github.com/initlint/initlint"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def render_json(summary: Summary) -> str:
    return json.dumps(
        {"version": __version__, "findings": [f.to_dict() for f in summary.findings], "summary": summary.to_dict()},
        indent=2,
    )


def help_uri(code: str) -> str:
    return f"{PROJECT_URL}/blob/main/rules/{code}.md"


def _region(line: int, column: int, end_line: int, end_column: int) -> dict[str, int]:
    return {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column}


def repository_root(start: Path) -> Path | None:
    """The git work tree holding ``start`` (a `.git` folder, or file for worktrees and
    submodules): code scanning and annotations name files relative to it."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def report_root() -> Path:
    """The root report paths are relative to: the repository of the current folder, or the
    current folder outside a repository."""
    cwd = Path(os.getcwd())
    return repository_root(cwd) or cwd


def _relative_to_root(path: str, root: Path | None) -> str | None:
    """``path`` relative to ``root`` (posix), or None when it lies outside (or no root)."""
    if root is None:
        return None
    try:
        return Path(os.path.abspath(path)).relative_to(root).as_posix()
    except ValueError:
        return None


def artifact_location(path: str, root: Path | None) -> dict[str, str]:
    """A SARIF artifactLocation: a percent-encoded URI relative to ``%SRCROOT%`` (the report
    root) for a file below it, an absolute file URI for one outside it (never `../x.py`, which
    code scanning cannot place)."""
    relative = _relative_to_root(path, root)
    if relative is not None:
        return {"uri": quote(relative, safe="/"), "uriBaseId": "%SRCROOT%"}
    if root is None and not os.path.isabs(path) and not path.replace("\\", "/").startswith("../"):
        return {"uri": quote(path.replace("\\", "/"), safe="/"), "uriBaseId": "%SRCROOT%"}
    return {"uri": Path(os.path.abspath(path)).as_uri()}


def _location(
    path: str, region: dict[str, int], message: str | None = None, root: Path | None = None
) -> dict[str, Any]:
    location: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": artifact_location(path, root),
            "region": region,
        }
    }
    if message:
        location["message"] = {"text": message}
    return location


def render_sarif(summary: Summary, root: Path | None = None) -> str:
    """``root``: the folder `%SRCROOT%` stands for (see `report_root`); None: paths as given."""
    from initlint.docs import read_doc
    from initlint.rules import ALL_RULES

    rules = []
    index = {}
    for position, rule in enumerate(ALL_RULES):
        index[rule.code] = position
        try:
            doc = read_doc(rule.code)
        except FileNotFoundError:
            doc = rule.summary
        rules.append(
            {
                "id": rule.code,
                "name": rule.name,
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": rule.summary},
                "help": {"text": doc, "markdown": doc},
                "helpUri": help_uri(rule.code),
                "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity], "enabled": rule.default_enabled},
                # The tier as a tag: code scanning filters on tags (e.g. hide `legacy`).
                "properties": {"tags": ["pytorch", "initialization", rule.tier], "tier": rule.tier},
            }
        )
    results = [_sarif_result(f, index, root) for f in summary.findings]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "initlint",
                        "version": __version__,
                        "informationUri": PROJECT_URL,
                        "rules": rules,
                    }
                },
                "results": results,
                "columnKind": "unicodeCodePoints",
                **({"originalUriBaseIds": {"%SRCROOT%": {"uri": root.as_uri().rstrip("/") + "/"}}} if root else {}),
            }
        ],
    }
    return json.dumps(document, indent=2)


def _sarif_result(finding: Finding, index: dict[str, int], root: Path | None = None) -> dict[str, Any]:
    # A notebook's finding is placed, as ruff does, at its line in the code cells joined (an
    # .ipynb file's own lines are JSON); its cell and the line in that cell go in properties.
    offset = finding.extra.get("cell_line_offset", 0) if "cell" in finding.extra else 0
    region = _region(finding.line + offset, finding.column, finding.end_line + offset, finding.end_column)
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": _SARIF_LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [_location(finding.path, region, root=root)],
    }
    if "cell" in finding.extra:
        result["properties"] = {"cell": finding.extra["cell"], "cellLine": finding.line, "cellColumn": finding.column}
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    if finding.related:
        result["relatedLocations"] = [
            {
                "id": n,
                **_location(
                    r.path or finding.path, _region(r.line, r.column, r.end_line, r.end_column), r.message, root
                ),
            }
            for n, r in enumerate(_in_joined_cells(finding))
        ]
    return result


def _in_joined_cells(finding: Finding) -> list[Related]:
    """The related locations; in a notebook, moved to their lines in the code cells joined, as
    the finding's own region (each may lie in another cell)."""
    offsets = finding.extra.get("related_line_offsets") or [0] * len(finding.related)
    return [
        replace(r, line=r.line + offset, end_line=r.end_line + offset)
        for r, offset in zip(finding.related, offsets, strict=False)
    ]


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(summary: Summary, root: Path | None = None) -> str:
    """``root``: the repository root, which annotation paths are relative to (None: as given)."""
    lines = []
    for f in summary.findings:
        line, column, end_line, end_column, message = f.line, f.column, f.end_line, f.end_column, f.message
        if "cell" in f.extra:  # an .ipynb file's lines are JSON: line 1 (ruff's fallback), the cell in the text
            line, column, end_line, end_column = 1, 1, 1, 1
            message = f"cell {f.extra['cell']}:{f.line}:{f.column}: {message}"
        properties = ",".join(
            [
                f"file={_escape_property(_relative_to_root(f.path, root) or f.path)}",
                f"line={line}",
                f"col={column}",
                f"endLine={end_line}",
                f"endColumn={end_column}",
                f"title={_escape_property(f.code)}",
            ]
        )
        lines.append(f"::{_GITHUB_LEVEL[f.severity]} {properties}::{_escape_data(one_line(message))}")
    return "\n".join(lines)
