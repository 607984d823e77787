"""Formats CI systems read: JSON Lines, JUnit XML and the GitLab Code Quality report.

Notebook findings (``extra["cell"]``): JSON Lines keeps the per-cell line and the cell, like
`json`; JUnit names the cell in the text; GitLab, whose report places a finding on a line of the
file and an .ipynb file's lines are JSON, gets line 1 (ruff's fallback for notebooks) and the
cell, line and column in the description.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from initlint.finding import Finding
from initlint.output import Summary

# GitLab Code Quality severities: info, minor, major, critical, blocker.
_GITLAB_SEVERITY = {"error": "major", "warning": "minor", "info": "info"}


def _cell(finding: Finding) -> str:
    cell = finding.extra.get("cell")
    return f"cell {cell}, " if isinstance(cell, int) else ""


def render_json_lines(summary: Summary) -> str:
    """One JSON object per finding per line (the objects of `--format json`), no summary."""
    return "\n".join(json.dumps(f.to_dict(), ensure_ascii=False) for f in summary.findings)


def render_junit(summary: Summary) -> str:
    """JUnit XML as ruff writes it: one test suite per file, one failing test case per finding
    (named after the rule), a passing case when there is nothing to report."""
    import xml.etree.ElementTree as ET

    by_path: dict[str, list[Finding]] = {}
    for finding in summary.findings:
        by_path.setdefault(finding.path, []).append(finding)
    total = len(summary.findings)
    root = ET.Element("testsuites", name="initlint", tests=str(max(total, 1)), failures=str(total), errors="0")
    if not by_path:
        suite = ET.SubElement(root, "testsuite", name="initlint", tests="1", failures="0", errors="0")
        ET.SubElement(suite, "testcase", name="No findings")
    for path, findings in by_path.items():
        suite = ET.SubElement(
            root, "testsuite", name=path, tests=str(len(findings)), failures=str(len(findings)), errors="0"
        )
        for f in findings:
            case = ET.SubElement(
                suite, "testcase", name=f"org.initlint.{f.code}", classname=path, line=str(f.line), column=str(f.column)
            )
            failure = ET.SubElement(case, "failure", message=_xml_text(f.message), type=f.severity)
            failure.text = _xml_text(f"{_cell(f)}line {f.line}, col {f.column}, {f.code} {f.name}: {f.message}")
    ET.indent(root, space="    ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _xml_text(text: str) -> str:
    """XML 1.0 cannot hold most control characters, not even escaped: they are written as
    Python escapes (a message may quote code holding them)."""
    return "".join(c if c in "\t\n\r" or ord(c) >= 0x20 else f"\\x{ord(c):02x}" for c in text)


def _gitlab_path(path: str) -> str:
    """GitLab wants paths relative to the repository root: CI_PROJECT_DIR when GitLab CI sets it
    and the file lies below it (as ruff does), else the path as shown."""
    root = os.environ.get("CI_PROJECT_DIR")
    if root:
        try:
            return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
        except ValueError:
            pass
    return Path(path).as_posix()


def render_gitlab(summary: Summary) -> str:
    """The GitLab Code Quality report: a JSON array of issues with `description`, `check_name`,
    `fingerprint`, `severity` and `location.path` / `location.lines.begin` (and `end`).

    The fingerprint hashes the path, rule and message, not the line, so that an issue keeps its
    identity when code above it moves; identical issues in one file are told apart by a counter."""
    issues = []
    seen: dict[str, int] = {}
    for f in summary.findings:
        path = _gitlab_path(f.path)
        key = "\0".join([path, f.code, f.message])
        seen[key] = seen.get(key, 0) + 1
        fingerprint = hashlib.sha256(f"{key}\0{seen[key]}".encode()).hexdigest()
        cell = f.extra.get("cell")
        if isinstance(cell, int):  # an .ipynb file's lines are JSON: no line of it is the finding's
            description = f"{f.code} cell {cell}:{f.line}:{f.column}: {f.message}"
            lines = {"begin": 1, "end": 1}
        else:
            description = f"{f.code} {f.message}"
            lines = {"begin": f.line, "end": f.end_line}
        issues.append(
            {
                "type": "issue",
                "description": description,
                "check_name": f.code,
                "categories": ["Bug Risk"],
                "fingerprint": fingerprint,
                "severity": _GITLAB_SEVERITY[f.severity],
                "location": {"path": path, "lines": lines},
            }
        )
    return json.dumps(issues, indent=2, ensure_ascii=False)
