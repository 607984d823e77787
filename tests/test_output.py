"""Report formats: json, SARIF 2.1.0, GitHub workflow commands, text."""

from __future__ import annotations

import json

from initlint.finding import Edit, Finding, Fix, Related
from initlint.output import Summary
from initlint.output.formats import render_github, render_json, render_sarif
from initlint.output.text import render_findings, render_statistics, render_summary
from initlint.testing import lint

BAD = "import torch.nn as nn\n\nlayer = nn.Linear(4, 4)\nnn.init.xavier_uniform(layer.weight)\n"
FINDING_KEYS = {
    "code", "name", "severity", "message", "path", "line", "column",
    "end_line", "end_column", "related", "fix",
}  # fmt: skip


def related_finding(path: str = "m.py") -> Finding:
    return Finding(
        "IL101", "deprecated-init-alias", "error", "two lines\n100% sure: a, b", path, 3, 5, 3, 9,
        related=(Related("the layer", 1, 1, 1, 6), Related("elsewhere", 7, 2, 8, 1, path="other.py")),
        fix=Fix("unsafe", "do it", (Edit(3, 5, 3, 9, "new"),)),
    )  # fmt: skip


def test_json_keys_and_positions() -> None:
    findings = lint(BAD, ["IL101"], path="pkg/m.py")
    data = json.loads(render_json(Summary(1, findings)))
    assert set(data) == {"version", "findings", "summary"}
    (finding,) = data["findings"]
    assert set(finding) == FINDING_KEYS
    assert (finding["line"], finding["column"], finding["end_line"], finding["end_column"]) == (4, 9, 4, 23)
    assert BAD.splitlines()[3][8:22] == "xavier_uniform"  # 1-based, end exclusive
    assert finding["path"] == "pkg/m.py"
    assert finding["related"] == []
    assert set(finding["fix"]) == {"applicability", "description", "edits"}
    assert finding["fix"]["applicability"] == "safe"
    assert finding["fix"]["edits"] == [
        {"line": 4, "column": 9, "end_line": 4, "end_column": 23, "content": "xavier_uniform_"}
    ]
    assert data["summary"]["findings"] == 1
    assert data["summary"]["by_code"] == {"IL101": 1}


def test_json_null_fix_and_related() -> None:
    plain = Finding("IL900", "syntax-error", "error", "bad", "a.py", 1, 1, 1, 2)
    data = json.loads(render_json(Summary(2, [plain, related_finding()])))
    assert data["findings"][0]["fix"] is None
    assert set(data["findings"][1]) == FINDING_KEYS
    assert data["findings"][1]["related"][1] == {
        "message": "elsewhere", "path": "other.py", "line": 7, "column": 2, "end_line": 8, "end_column": 1,
    }  # fmt: skip
    assert data["findings"][1]["related"][0]["path"] == "m.py"
    assert data["summary"]["by_severity"] == {"error": 2, "warning": 0, "info": 0}


def test_json_round_trip() -> None:
    finding = related_finding()
    again = Finding.from_dict(json.loads(json.dumps(finding.to_dict())))
    assert again.to_dict() == finding.to_dict()
    assert (again.fix, again.sort_key) == (finding.fix, finding.sort_key)


def test_sarif_structure() -> None:
    findings = [*lint(BAD, ["IL101"], path="pkg\\win.py"), related_finding()]
    doc = json.loads(render_sarif(Summary(2, findings)))
    assert doc["version"] == "2.1.0"
    assert doc["$schema"].endswith("sarif-2.1.0.json")
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "initlint"
    rules = {r["id"]: r for r in driver["rules"]}
    assert {"IL101", "IL900", "IL901", "IL999"} <= set(rules)
    il101 = rules["IL101"]
    assert il101["name"] == "deprecated-init-alias"
    assert il101["help"]["text"].startswith("# IL101")
    assert il101["helpUri"].endswith("/rules/IL101.md")
    first, second = run["results"]
    assert first["ruleId"] == "IL101"
    assert first["level"] == "warning"
    assert driver["rules"][first["ruleIndex"]]["id"] == "IL101"
    assert first["message"]["text"].startswith("`torch.nn.init.xavier_uniform`")
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "pkg/win.py"
    assert location["region"] == {"startLine": 4, "startColumn": 9, "endLine": 4, "endColumn": 23}
    assert "relatedLocations" not in first
    assert second["level"] == "error"
    related = second["relatedLocations"]
    assert [r["id"] for r in related] == [0, 1]
    assert related[0]["message"]["text"] == "the layer"
    assert related[0]["physicalLocation"]["artifactLocation"]["uri"] == "m.py"
    assert related[1]["physicalLocation"]["artifactLocation"]["uri"] == "other.py"
    assert related[1]["physicalLocation"]["region"] == {"startLine": 7, "startColumn": 2, "endLine": 8, "endColumn": 1}


def test_sarif_info_is_note() -> None:
    info = Finding("IL101", "deprecated-init-alias", "info", "m", "a.py", 1, 1, 1, 2)
    doc = json.loads(render_sarif(Summary(1, [info])))
    assert doc["runs"][0]["results"][0]["level"] == "note"


def test_github_line() -> None:
    (finding,) = lint(BAD, ["IL101"], path="pkg/m.py")
    line = render_github(Summary(1, [finding]))
    assert line == ("::warning file=pkg/m.py,line=4,col=9,endLine=4,endColumn=23,title=IL101::" + finding.message)


def test_github_escaping() -> None:
    finding = related_finding(path="odd,dir/a:b%c.py")
    line = render_github(Summary(1, [finding]))
    assert "\n" not in line
    assert line == (
        "::error file=odd%2Cdir/a%3Ab%25c.py,line=3,col=5,endLine=3,endColumn=9,title=IL101"
        "::two lines 100%25 sure: a, b"  # one line: the break joined (output.text.one_line)
    )


def test_github_levels() -> None:
    make = lambda severity: Finding("IL101", "n", severity, "m", "a.py", 1, 1, 1, 2)  # noqa: E731
    lines = render_github(Summary(1, [make("error"), make("warning"), make("info")])).splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == ["::error", "::warning", "::notice"]


def test_output_order_is_deterministic() -> None:
    # The runner sorts findings by (path, line, column, code): every format follows that order.
    a = Finding("IL101", "n", "warning", "m", "b.py", 2, 1, 2, 2)
    b = Finding("IL101", "n", "warning", "m", "a.py", 9, 1, 9, 2)
    c = Finding("IL900", "n", "error", "m", "a.py", 2, 5, 2, 6)
    d = Finding("IL101", "n", "warning", "m", "a.py", 2, 5, 2, 6)
    ordered = sorted([a, b, c, d], key=lambda f: f.sort_key)
    assert ordered == [d, c, b, a]
    for render in (render_json, render_sarif, render_github):
        first, second = render(Summary(2, ordered)), render(Summary(2, list(ordered)))
        assert first == second
        assert first.index("b.py") > first.index("a.py")


def test_text_rendering() -> None:
    finding = related_finding()
    summary = Summary(3, [finding])
    text = render_findings(summary, color=False)
    assert text.splitlines() == [
        "m.py:3:5: IL101 two lines 100% sure: a, b",  # one finding, one line: the break joined
        "    m.py:1:1: the layer",
        "    other.py:7:2: elsewhere",
    ]
    assert "[*]" in render_findings(Summary(3, [finding], unsafe_fixes=True), color=False)
    assert render_summary(summary) == "Found 1 finding in 3 files.\n1 more fixable with `--fix --unsafe-fixes`."
    assert render_summary(Summary(1, [])) == "All checks passed (1 file checked)."
    assert render_summary(Summary(2, [], fixed=2)) == "Fixed 2 findings.\nAll checks passed (2 files checked)."
    # An unsafe-only fix is `[*]` only with unsafe fixes on, as in the findings.
    assert render_statistics(Summary(1, [finding, finding])).split() == ["2", "IL101", "deprecated-init-alias"]
    with_unsafe = Summary(1, [finding, finding], unsafe_fixes=True)
    assert render_statistics(with_unsafe).split() == ["2", "IL101", "[*]", "deprecated-init-alias"]
    assert "\033[" in render_findings(summary, color=True)
