"""CI output through the real command line: SARIF valid against the OASIS 2.1.0 schema with
percent-encoded URIs relative to the repository root (`%SRCROOT%`), GitHub annotation paths
relative to that root, one finding per line whatever code a message quotes, and --statistics
for the formats ruff supports it in (a usage error for the others)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from initlint.cli import main

jsonschema = pytest.importorskip("jsonschema")

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
BAD = "import torch.nn as nn\n\nlayer = nn.Linear(4, 4)\nnn.init.xavier_uniform(layer.weight)\n"
# Two findings whose messages quote a call written over several lines (IL401, IL403).
MULTILINE = (
    "import torch.nn as nn\n\n\n"
    "class Net(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.a = nn.Linear(4, 4, bias=False)\n"
    "        self.b = nn.Linear(4, 4)\n"
    "        for m in self.modules():\n"
    "            if isinstance(m, nn.Linear):\n"
    "                nn.init.zeros_(\n"
    "                    m.bias\n"
    "                )\n\n"
    "    def forward(self, x):\n"
    "        nn.init.ones_(\n"
    "            self.b.weight)\n"
    "        return self.b(self.a(x))\n"
)

# RFC 3986: only unreserved and reserved characters, `%` only before two hex digits, one `#`.
_URI_CHARS = re.compile(r"^(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$")


def _format_checker() -> object:
    checker = jsonschema.FormatChecker()

    @checker.checks("uri-reference")
    def _uri_reference(value: object) -> bool:
        return not isinstance(value, str) or (bool(_URI_CHARS.match(value)) and value.count("#") <= 1)

    @checker.checks("uri")
    def _uri(value: object) -> bool:
        return not isinstance(value, str) or (_uri_reference(value) and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", value))

    return checker


def validate_sarif(document: dict[str, object]) -> None:
    jsonschema.Draft4Validator(SCHEMA, format_checker=_format_checker()).validate(document)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose checks run from a subfolder (as `working-directory:` in a workflow)."""
    (tmp_path / ".git").mkdir()  # all that marks a work tree's root
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    return tmp_path


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_sarif_is_valid_with_encoded_uris_relative_to_the_repository(repo: Path) -> None:
    (repo / "my model#1.py").write_text(BAD)
    (repo / "sub" / "ünï code.py").write_text(BAD)
    result = invoke("check", "--no-cache", "--format", "sarif", "../my model#1.py", "ünï code.py")
    document = json.loads(result.stdout)
    validate_sarif(document)
    run = document["runs"][0]
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    assert locations == [
        {"uri": "my%20model%231.py", "uriBaseId": "%SRCROOT%"},
        {"uri": "sub/%C3%BCn%C3%AF%20code.py", "uriBaseId": "%SRCROOT%"},
    ]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": repo.resolve().as_uri() + "/"}}


def test_sarif_file_outside_the_repository_is_an_absolute_uri(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("elsewhere") / "odd name.py"
    outside.write_text(BAD)
    result = invoke("check", "--no-cache", "--format", "sarif", str(outside))
    document = json.loads(result.stdout)
    validate_sarif(document)
    location = document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": outside.resolve().as_uri()}
    assert "%20" in location["uri"]


def test_sarif_with_related_locations_and_multiline_messages_is_valid(repo: Path) -> None:
    (repo / "sub" / "m.py").write_text(MULTILINE)
    document = json.loads(invoke("check", "--no-cache", "--format", "sarif", ".").stdout)
    validate_sarif(document)
    results = document["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"IL401", "IL403"}
    related = [loc["physicalLocation"]["artifactLocation"]["uri"] for r in results for loc in r["relatedLocations"]]
    assert related and set(related) == {"sub/m.py"}


def test_github_paths_are_relative_to_the_repository_root(repo: Path) -> None:
    (repo / "top.py").write_text(BAD)
    (repo / "sub" / "m.py").write_text(BAD)
    result = invoke("check", "--no-cache", "--format", "github", "../top.py", "m.py")
    files = re.findall(r"file=([^,]*),", result.stdout)
    assert sorted(files) == ["sub/m.py", "top.py"]


def test_multiline_quoted_code_keeps_one_finding_per_line(repo: Path) -> None:
    (repo / "sub" / "m.py").write_text(MULTILINE)
    text = invoke("check", "--no-cache", "-q", "m.py").stdout.splitlines()
    heads = [line for line in text if not line.startswith(" ")]
    assert [h.split(" ")[1] for h in heads] == ["IL401", "IL403"]
    assert "`nn.init.zeros_(m.bias)" in heads[0] and "\\n" not in heads[0]
    assert "`nn.init.ones_(self.b.weight)" in heads[1]
    github = invoke("check", "--no-cache", "--format", "github", "m.py").stdout.splitlines()
    assert len(github) == 2 and all(line.startswith("::error ") for line in github)
    assert all("%0A" not in line for line in github)
    assert "`nn.init.zeros_(m.bias)" in github[0]


def test_statistics_in_json(repo: Path) -> None:
    (repo / "sub" / "m.py").write_text(BAD + "nn.init.normal(layer.weight)\n")
    result = invoke("check", "--no-cache", "--statistics", "--format", "json", "m.py")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {"code": "IL101", "name": "deprecated-init-alias", "count": 2, "fixable": True}
    ]


@pytest.mark.parametrize("fmt", ["sarif", "github"])
def test_statistics_in_other_formats_is_a_usage_error(repo: Path, fmt: str) -> None:
    (repo / "sub" / "m.py").write_text(BAD)
    result = invoke("check", "--no-cache", "--statistics", "--format", fmt, "m.py")
    assert result.exit_code == 2
    assert "--statistics" in result.stderr and fmt in result.stderr and result.stdout == ""


UNSAFE_ONLY = (  # IL106 (legacy) has only an unsafe fix
    "import torch.nn as nn\n\n\ndef init(m):\n    if type(m) == nn.Linear:\n        nn.init.zeros_(m.weight)\n"
)


def test_statistics_mark_unsafe_only_rules_fixable_only_with_unsafe_fixes(repo: Path) -> None:
    (repo / "sub" / "m.py").write_text(UNSAFE_ONLY)
    text = invoke("check", "--no-cache", "--statistics", "--select", "IL106", "m.py").stdout
    assert re.search(r"^\s+1\s+IL106\s+exact-type-dispatch", text, re.MULTILINE), text
    assert "[*]" not in text
    with_unsafe = invoke("check", "--no-cache", "--statistics", "--unsafe-fixes", "--select", "IL106", "m.py").stdout
    assert re.search(r"IL106\s+\[\*\] exact-type-dispatch", with_unsafe), with_unsafe
    rows = json.loads(
        invoke("check", "--no-cache", "--statistics", "--format", "json", "--select", "IL106", "m.py").stdout
    )
    assert rows == [{"code": "IL106", "name": "exact-type-dispatch", "count": 1, "fixable": False}]


def test_sarif_through_the_console_script(repo: Path) -> None:
    (repo / "my model#1.py").write_text(BAD)
    proc = subprocess.run(
        [sys.executable, "-m", "initlint", "check", "--no-cache", "--format", "sarif", "--exit-zero", "../my model#1.py"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    validate_sarif(json.loads(proc.stdout))
