"""Machine-readable formats: json, SARIF 2.1.0 and GitHub workflow commands (more CI formats
in initlint.output.ci)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from initlint import __version__
from initlint.finding import Finding, Related
from initlint.output import Summary

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


def _location(path: str, region: dict[str, int], message: str | None = None) -> dict[str, Any]:
    location: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": path.replace("\\", "/"), "uriBaseId": "%SRCROOT%"},
            "region": region,
        }
    }
    if message:
        location["message"] = {"text": message}
    return location


def render_sarif(summary: Summary) -> str:
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
    results = [_sarif_result(f, index) for f in summary.findings]
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
            }
        ],
    }
    return json.dumps(document, indent=2)


def _sarif_result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    # A notebook's finding is placed, as ruff does, at its line in the code cells joined (an
    # .ipynb file's own lines are JSON); its cell and the line in that cell go in properties.
    offset = finding.extra.get("cell_line_offset", 0) if "cell" in finding.extra else 0
    region = _region(finding.line + offset, finding.column, finding.end_line + offset, finding.end_column)
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": _SARIF_LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [_location(finding.path, region)],
    }
    if "cell" in finding.extra:
        result["properties"] = {"cell": finding.extra["cell"], "cellLine": finding.line, "cellColumn": finding.column}
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    if finding.related:
        result["relatedLocations"] = [
            {
                "id": n,
                **_location(r.path or finding.path, _region(r.line, r.column, r.end_line, r.end_column), r.message),
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


def render_github(summary: Summary) -> str:
    lines = []
    for f in summary.findings:
        line, column, end_line, end_column, message = f.line, f.column, f.end_line, f.end_column, f.message
        if "cell" in f.extra:  # an .ipynb file's lines are JSON: line 1 (ruff's fallback), the cell in the text
            line, column, end_line, end_column = 1, 1, 1, 1
            message = f"cell {f.extra['cell']}:{f.line}:{f.column}: {message}"
        properties = ",".join(
            [
                f"file={_escape_property(f.path)}",
                f"line={line}",
                f"col={column}",
                f"endLine={end_line}",
                f"endColumn={end_column}",
                f"title={_escape_property(f.code)}",
            ]
        )
        lines.append(f"::{_GITHUB_LEVEL[f.severity]} {properties}::{_escape_data(message)}")
    return "\n".join(lines)
