"""Output formats json-lines, junit, gitlab, grouped and full; --output-format, --format and
INITLINT_OUTPUT_FORMAT; --show-fixes, --show-settings, --show-files; `initlint clean`. All
through the real command line."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from initlint.cli import main

BAD = "import torch.nn as nn\n\nlayer = nn.Linear(4, 4)\nnn.init.xavier_uniform(layer.weight)\nnn.init.normal(layer.bias)\n"
FIXED = BAD.replace("xavier_uniform(", "xavier_uniform_(").replace("normal(", "normal_(")
# IL404 (error, no fix) and IL101 (warning, safe fix) in one file.
MIXED = (
    "import torch\nimport torch.nn as nn\n\n\nclass M(nn.Module):\n    def __init__(self, n):\n"
    "        super().__init__()\n        self.w = nn.Parameter(torch.empty(n))\n"
    "        nn.init.normal(nn.Linear(3, 3).weight)\n\n    def forward(self, x):\n        return x * self.w\n"
)
GITLAB_SEVERITIES = {"info", "minor", "major", "critical", "blocker"}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("INITLINT_OUTPUT_FORMAT", raising=False)
    monkeypatch.delenv("CI_PROJECT_DIR", raising=False)
    return tmp_path


def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)


def test_json_lines_is_one_finding_object_per_line(project: Path) -> None:
    (project / "a.py").write_text(BAD)
    (project / "b.py").write_text(BAD)
    result = invoke("check", "--no-cache", "--output-format", "json-lines", ".")
    assert result.exit_code == 1
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(o["path"], o["code"], o["line"]) for o in objects] == [
        ("a.py", "IL101", 4), ("a.py", "IL101", 5), ("b.py", "IL101", 4), ("b.py", "IL101", 5),
    ]  # fmt: skip
    full = json.loads(invoke("check", "--no-cache", "--format", "json", ".").stdout)
    assert objects == full["findings"]
    (project / "a.py").write_text(FIXED)
    (project / "b.py").write_text(FIXED)
    clean = invoke("check", "--no-cache", "--output-format", "json-lines", ".")
    assert (clean.exit_code, clean.stdout) == (0, "")


def test_junit_parses_as_a_suite_per_file_and_a_failure_per_finding(project: Path) -> None:
    (project / "a.py").write_text(MIXED)
    (project / "b.py").write_text(BAD)
    result = invoke("check", "--no-cache", "--output-format", "junit", ".")
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout)
    assert root.tag == "testsuites" and root.get("name") == "initlint"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "4", "0")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert sorted(suites) == ["a.py", "b.py"]
    cases = suites["a.py"].findall("testcase")
    assert [(c.get("name"), c.get("classname"), c.get("line")) for c in cases] == [
        ("org.initlint.IL404", "a.py", "8"), ("org.initlint.IL101", "a.py", "9"),
    ]  # fmt: skip
    failure = cases[0].find("failure")
    assert failure is not None and failure.get("type") == "error"
    assert failure.text is not None and failure.text.startswith("line 8, col 18, IL404 uninitialized-parameter: ")
    assert suites["b.py"].get("failures") == "2"


def test_junit_escapes_what_xml_cannot_hold() -> None:
    from initlint.finding import Finding
    from initlint.output import Summary
    from initlint.output.ci import render_junit

    finding = Finding("IL101", "deprecated-init-alias", "warning", "quoted `a\x01b` & <c>", "m.py", 1, 1, 1, 2)
    root = ET.fromstring(render_junit(Summary(1, [finding])))
    failure = next(root.iter("failure"))
    assert failure.get("message") == "quoted `a\\x01b` & <c>"


def test_junit_without_findings_is_one_passing_case(project: Path) -> None:
    (project / "a.py").write_text(FIXED)
    result = invoke("check", "--no-cache", "--output-format", "junit", ".")
    assert result.exit_code == 0
    root = ET.fromstring(result.stdout)
    assert (root.get("tests"), root.get("failures")) == ("1", "0")
    (case,) = root.iter("testcase")
    assert case.find("failure") is None


def test_gitlab_code_quality_fields(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "src").mkdir()
    (project / "src" / "a.py").write_text(MIXED)
    (project / "src" / "b.py").write_text(BAD.replace("normal(layer.bias)", "xavier_uniform(layer.weight)"))
    monkeypatch.chdir(project / "src")
    result = invoke("check", "--no-cache", "--output-format", "gitlab", ".", env={"CI_PROJECT_DIR": str(project)})
    assert result.exit_code == 1
    issues = json.loads(result.stdout)
    assert isinstance(issues, list) and len(issues) == 4
    for issue in issues:  # the fields GitLab's Code Quality report documents as required
        assert isinstance(issue["description"], str) and issue["description"]
        assert isinstance(issue["check_name"], str) and issue["check_name"].startswith("IL")
        assert isinstance(issue["fingerprint"], str) and len(issue["fingerprint"]) == 64
        assert issue["severity"] in GITLAB_SEVERITIES
        assert isinstance(issue["location"]["lines"]["begin"], int) and issue["location"]["lines"]["begin"] >= 1
    # Paths relative to the repository root (CI_PROJECT_DIR), not to the current folder.
    assert [i["location"]["path"] for i in issues] == ["src/a.py", "src/a.py", "src/b.py", "src/b.py"]
    assert [(i["check_name"], i["severity"]) for i in issues[:2]] == [("IL404", "major"), ("IL101", "minor")]
    # Two identical findings in one file (same rule and message) still get distinct fingerprints,
    # and the fingerprints do not depend on the line (stable when code above moves).
    assert len({i["fingerprint"] for i in issues}) == 4
    (project / "src" / "b.py").write_text("\n\n" + (project / "src" / "b.py").read_text())
    moved = json.loads(
        invoke("check", "--no-cache", "--format", "gitlab", ".", env={"CI_PROJECT_DIR": str(project)}).stdout
    )
    assert [i["fingerprint"] for i in moved] == [i["fingerprint"] for i in issues]
    assert moved[2]["location"]["lines"]["begin"] == issues[2]["location"]["lines"]["begin"] + 2


def test_grouped_lists_findings_under_their_file(project: Path) -> None:
    (project / "a.py").write_text(BAD)
    (project / "b.py").write_text(MIXED)
    result = invoke("check", "--no-cache", "--output-format", "grouped", ".")
    assert result.exit_code == 1
    blocks = result.stdout.split("\n\n")
    assert blocks[0].splitlines()[0] == "a.py:"
    assert blocks[0].splitlines()[1].startswith("  4:9 IL101 [*] ")
    assert blocks[1].splitlines()[0] == "b.py:"
    assert blocks[1].splitlines()[1].startswith("  8:18 IL404 ")
    assert "Found 4 findings in 2 files." in result.stdout


def test_full_shows_a_code_frame(project: Path) -> None:
    (project / "a.py").write_text(MIXED)
    result = invoke("check", "--no-cache", "--output-format", "full", "a.py")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    first = lines.index(next(line for line in lines if line.startswith("a.py:8:18: IL404")))
    assert lines[first + 1 : first + 10] == [
        "   |",
        " 6 |     def __init__(self, n):",
        " 7 |         super().__init__()",
        " 8 |         self.w = nn.Parameter(torch.empty(n))",
        "   |                  " + "^" * 28 + " IL404",
        " 9 |         nn.init.normal(nn.Linear(3, 3).weight)",
        "10 |",
        "   |",
        "",
    ]
    assert "   = fix: Use `normal_`" in lines  # the fix the IL101 finding offers
    # From stdin too: the frame comes from the text read.
    piped = invoke("check", "--output-format", "full", "--stdin-filename", "x.py", input=MIXED)
    assert " 8 |         self.w = nn.Parameter(torch.empty(n))" in piped.stdout


def test_output_format_option_alias_and_environment(project: Path) -> None:
    (project / "a.py").write_text(BAD)
    by_name = invoke("check", "--no-cache", "--output-format", "json", "a.py").stdout
    assert json.loads(by_name)["summary"]["findings"] == 2
    assert invoke("check", "--no-cache", "--format", "json", "a.py").stdout == by_name
    assert invoke("check", "--no-cache", "a.py", env={"INITLINT_OUTPUT_FORMAT": "json"}).stdout == by_name
    # The command line wins over the environment.
    text = invoke("check", "--no-cache", "--format", "text", "a.py", env={"INITLINT_OUTPUT_FORMAT": "json"})
    assert text.stdout.startswith("a.py:4:9: IL101")
    bad = CliRunner().invoke(main, ["check", "a.py"], env={"INITLINT_OUTPUT_FORMAT": "yaml"})
    assert bad.exit_code == 2 and "yaml" in bad.output


def test_show_fixes_lists_applied_fixes_per_file(project: Path) -> None:
    (project / "a.py").write_text(BAD)
    (project / "b.py").write_text(MIXED)
    diff = invoke("check", "--diff", "--show-fixes", ".")
    assert (
        "Would fix 3 findings:\n- a.py:\n    2 \u00d7 IL101 (deprecated-init-alias)\n- b.py:\n    1 \u00d7 IL101"
        in diff.stderr
    )
    assert (project / "a.py").read_text() == BAD
    result = invoke("check", "--fix", "--show-fixes", ".")
    assert (
        "Fixed 3 findings:\n- a.py:\n    2 \u00d7 IL101 (deprecated-init-alias)\n- b.py:\n    1 \u00d7 IL101"
        in result.stdout
    )
    assert (project / "a.py").read_text() == FIXED
    # Beside a machine-read report it goes to stderr, leaving the report valid.
    (project / "a.py").write_text(BAD)
    as_json = invoke("check", "--fix", "--show-fixes", "--format", "json", "a.py")
    assert json.loads(as_json.stdout)["summary"]["fixed"] == 2
    assert "Fixed 2 findings:" in as_json.stderr


def test_show_settings_prints_the_resolved_settings_and_exits_0(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.initlint]\nextend-select = ["legacy"]\nignore = ["IL2"]\n')
    (project / "a.py").write_text(BAD)
    result = invoke("check", "--show-settings", "--select", "IL101,IL103", "a.py")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "Resolved settings for: a.py"
    assert lines[1] == f"Settings path: {project / 'pyproject.toml'}"
    assert 'select = ["IL101", "IL103"]' in lines
    assert 'extend-select = ["legacy"]' in lines and 'ignore = ["IL2"]' in lines
    enabled = json.loads(next(line for line in lines if line.startswith("enabled-rules = ")).split(" = ", 1)[1])
    assert "IL101" in enabled and "IL103" in enabled and "IL201" not in enabled
    assert 'output-format = "text"' in lines
    assert "a.py:4:9" not in result.stdout  # nothing was checked


def test_show_files_prints_what_would_be_checked(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.initlint]\nextend-exclude = ["gen"]\n')
    for name in ("a.py", "nb.ipynb", "notes.txt", "gen/b.py", "pkg/c.py"):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(BAD if name.endswith(".py") else "{}")
    result = invoke("check", "--show-files", ".")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == ["a.py", "nb.ipynb", "pkg/c.py"]


def test_clean_removes_only_initlint_caches(project: Path) -> None:
    (project / "a.py").write_text(BAD)
    (project / "sub").mkdir()
    (project / "sub" / "pyproject.toml").write_text("[tool.initlint]\n")
    (project / "sub" / "b.py").write_text(BAD)
    invoke("check", ".")
    invoke("check", "sub")
    assert (project / ".initlint_cache").is_dir() and (project / "sub" / ".initlint_cache").is_dir()
    # A folder with the name that initlint did not create, and a link to a cache: left alone.
    impostor = project / "other" / ".initlint_cache"
    impostor.mkdir(parents=True)
    (impostor / "precious.txt").write_text("keep")
    elsewhere = project.parent / f"{project.name}-outside"
    (elsewhere / ".initlint_cache").mkdir(parents=True, exist_ok=True)
    (elsewhere / ".initlint_cache" / ".gitignore").write_text(
        "# Created by initlint; the cache is never committed.\n*\n"
    )
    (project / "link").symlink_to(elsewhere)
    result = invoke("clean", ".")
    assert result.exit_code == 0
    assert sorted(result.stdout.splitlines()) == ["Removed .initlint_cache", "Removed sub/.initlint_cache"]
    assert not (project / ".initlint_cache").exists() and not (project / "sub" / ".initlint_cache").exists()
    assert (impostor / "precious.txt").read_text() == "keep"
    assert "not an initlint cache" in result.stderr
    assert (elsewhere / ".initlint_cache" / ".gitignore").exists()
    assert sorted(p.name for p in project.iterdir()) == ["a.py", "link", "other", "pyproject.toml", "sub"]
    again = invoke("clean")
    assert "No initlint cache found." in again.stdout


def test_clean_cache_dir_option(project: Path) -> None:
    (project / "a.py").write_text(BAD)
    invoke("check", "--cache-dir", "custom", "a.py")
    assert (project / "custom").is_dir()
    result = invoke("clean", "--cache-dir", "custom")
    assert result.exit_code == 0 and not (project / "custom").exists()
    (project / "custom").mkdir()
    (project / "custom" / "data").write_text("mine")
    refused = invoke("clean", "--cache-dir", "custom")
    assert "not an initlint cache" in refused.stderr and (project / "custom" / "data").exists()
