"""Report formats: text, full (with code frames) and grouped for people; json and json-lines for
tools; sarif for code scanning; github for workflow annotations; gitlab (Code Quality) and junit
for other CI systems."""

from __future__ import annotations

from dataclasses import dataclass

from initlint.finding import Finding

FORMATS = ("text", "full", "grouped", "json", "json-lines", "sarif", "github", "gitlab", "junit")


@dataclass
class Summary:
    files: int
    findings: list[Finding]
    fixed: int = 0
    unsafe_fixes: bool = False

    @property
    def fixable(self) -> int:
        return sum(1 for f in self.findings if f.fix and (f.fix.applicability == "safe" or self.unsafe_fixes))

    @property
    def hidden_unsafe(self) -> int:
        return sum(1 for f in self.findings if f.fix and f.fix.applicability == "unsafe" and not self.unsafe_fixes)

    def by_code(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[finding.code] = counts.get(finding.code, 0) + 1
        return dict(sorted(counts.items()))

    def to_dict(self) -> dict[str, object]:
        return {
            "files": self.files,
            "findings": len(self.findings),
            "fixable": self.fixable,
            "fixed": self.fixed,
            "by_code": self.by_code(),
            "by_severity": {s: sum(1 for f in self.findings if f.severity == s) for s in ("error", "warning", "info")},
        }
