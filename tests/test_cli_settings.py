"""Settings through the real command line: per-file configuration (the nearest
[tool.initlint] of each file), --force-exclude, and the usage errors ruff also makes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from initlint.cli import main

BAD = "import torch.nn as nn\n\nlayer = nn.Linear(4, 4)\nnn.init.xavier_uniform(layer.weight)\n"
FIXED = BAD.replace("xavier_uniform(", "xavier_uniform_(")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def findings(output: str) -> list[tuple[str, str]]:
    return [(f["path"], f["code"]) for f in json.loads(output)["findings"]]


# --- per-file configuration -------------------------------------------------------------------


def test_each_file_gets_its_nearest_config_whatever_the_order(project: Path) -> None:
    write(project / "a" / "pyproject.toml", '[tool.initlint]\nignore = ["IL101"]\n')
    write(project / "a" / "m.py", BAD)
    write(project / "b" / "m.py", BAD)
    ab = invoke("check", "--no-cache", "--format", "json", "a", "b")
    ba = invoke("check", "--no-cache", "--format", "json", "b", "a")
    assert ab.output == ba.output
    assert findings(ab.output) == [("b/m.py", "IL101")]


def test_folder_walk_uses_the_nested_config(project: Path) -> None:
    write(project / "pkg" / "pyproject.toml", '[tool.initlint]\nignore = ["IL101"]\nextend-exclude = ["gen"]\n')
    write(project / "pkg" / "m.py", BAD)
    write(project / "pkg" / "gen" / "g.py", BAD)
    write(project / "top.py", BAD)
    result = invoke("check", "--no-cache", "--format", "json", ".")
    assert findings(result.output) == [("top.py", "IL101")]


def test_per_file_ignores_are_relative_to_their_own_config(project: Path) -> None:
    write(project / "sub" / "pyproject.toml", '[tool.initlint.per-file-ignores]\n"tests/*" = ["IL101"]\n')
    write(project / "sub" / "tests" / "t.py", BAD)
    write(project / "tests" / "t.py", BAD)
    result = invoke("check", "--no-cache", "--format", "json", "sub/tests/t.py", "tests/t.py")
    assert findings(result.output) == [("tests/t.py", "IL101")]


def test_unsafe_fixes_and_aliases_come_from_the_file_config(project: Path) -> None:
    write(project / "a" / "pyproject.toml", '[tool.initlint]\nselect = ["IL102"]\n')
    write(project / "a" / "m.py", BAD)
    write(project / "b" / "m.py", BAD)
    result = invoke("check", "--fix", "b/m.py", "a/m.py")
    assert (project / "a" / "m.py").read_text() == BAD  # IL101 is not selected there
    assert (project / "b" / "m.py").read_text() == FIXED
    assert result.exit_code == 0, result.output


def test_config_option_overrides_every_nested_config(project: Path) -> None:
    write(project / "a" / "pyproject.toml", '[tool.initlint]\nignore = ["IL101"]\n')
    write(project / "a" / "m.py", BAD)
    write(project / "cfg.toml", 'select = ["IL1"]\n')
    result = invoke("check", "--no-cache", "--format", "json", "--config", "cfg.toml", "a")
    assert findings(result.output) == [("a/m.py", "IL101")]


def test_cache_key_includes_the_file_own_settings(project: Path) -> None:
    # Same content in two configurations: the cached result of one must not serve the other.
    write(project / "a" / "pyproject.toml", '[tool.initlint]\nignore = ["IL101"]\n')
    write(project / "a" / "m.py", BAD)
    write(project / "b" / "m.py", BAD)
    cache = project / "cache"
    first = invoke("check", "--cache-dir", str(cache), "--format", "json", "a", "b")
    second = invoke("check", "--cache-dir", str(cache), "--format", "json", "b", "a")
    assert findings(first.output) == findings(second.output) == [("b/m.py", "IL101")]


# --- --force-exclude -----------------------------------------------------------------------------


def test_named_excluded_file_is_checked_without_force_exclude(project: Path) -> None:
    write(project / "pyproject.toml", '[tool.initlint]\nextend-exclude = ["third_party"]\n')
    write(project / "third_party" / "x.py", BAD)
    assert invoke("check", "--no-cache", "third_party/x.py").exit_code == 1
    assert invoke("check", "--no-cache", ".").exit_code == 0


def test_force_exclude_skips_named_excluded_files_and_folders(project: Path) -> None:
    write(project / "pyproject.toml", '[tool.initlint]\nextend-exclude = ["third_party", "src/gen/*.py"]\n')
    write(project / "third_party" / "x.py", BAD)
    write(project / "src" / "gen" / "g.py", BAD)
    write(project / "m.py", BAD)
    result = invoke(
        "check",
        "--no-cache",
        "--force-exclude",
        "--format",
        "json",
        "third_party/x.py",
        "src/gen/g.py",
        "third_party",
        "m.py",
    )
    assert findings(result.output) == [("m.py", "IL101")]
    fix = invoke("check", "--fix", "--force-exclude", "third_party/x.py", "m.py")
    assert fix.exit_code == 0, fix.output
    assert (project / "third_party" / "x.py").read_text() == BAD
    assert (project / "m.py").read_text() == FIXED


def test_force_exclude_from_config_and_its_negation(project: Path) -> None:
    write(project / "pyproject.toml", '[tool.initlint]\nextend-exclude = ["third_party"]\nforce-exclude = true\n')
    write(project / "third_party" / "x.py", BAD)
    assert invoke("check", "--no-cache", "third_party/x.py").exit_code == 0
    assert invoke("check", "--no-cache", "--no-force-exclude", "third_party/x.py").exit_code == 1


def test_force_exclude_uses_the_named_file_own_config(project: Path) -> None:
    write(project / "lib" / "pyproject.toml", '[tool.initlint]\nextend-exclude = ["vendored"]\n')
    write(project / "lib" / "vendored" / "v.py", BAD)
    write(project / "vendored" / "v.py", BAD)
    result = invoke("check", "--no-cache", "--force-exclude", "--format", "json", "lib/vendored/v.py", "vendored/v.py")
    assert findings(result.output) == [("vendored/v.py", "IL101")]


# --- usage and configuration errors ---------------------------------------------------------------


@pytest.mark.parametrize("option", ["--select", "--extend-select", "--ignore"])
@pytest.mark.parametrize("value", ["", " , "])
def test_empty_selection_is_a_usage_error(project: Path, option: str, value: str) -> None:
    write(project / "m.py", BAD)
    result = invoke("check", "--no-cache", option, value, "m.py")
    assert result.exit_code == 2
    assert option in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_config_without_initlint_keys_is_an_error(project: Path) -> None:
    write(project / "m.py", BAD)
    write(project / "other" / "pyproject.toml", "[tool.black]\nline-length = 100\n")
    write(project / "empty.toml", "")
    for config in ("other/pyproject.toml", "empty.toml"):
        result = invoke("check", "--no-cache", "--config", config, "m.py")
        assert result.exit_code == 2, result.output
        assert "no initlint configuration" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    write(project / "ours.toml", "[tool.initlint]\n")  # an empty table of ours is a configuration
    assert invoke("check", "--no-cache", "--config", "ours.toml", "m.py").exit_code == 1


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ("seed = 1", "seed"),
        ("dead-fraction = -1", "dead-fraction"),
        ('batch = "big"', "batch"),
        ("batch = 0.5", "batch"),
    ],
)
def test_check_validates_the_probe_table(project: Path, table: str, named: str) -> None:
    write(project / "pyproject.toml", f"[tool.initlint.probe]\n{table}\n")
    write(project / "m.py", BAD)
    result = invoke("check", "--no-cache", "m.py")
    assert result.exit_code == 2
    assert f"`{named}`" in result.stderr and "pyproject.toml" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_force_exclude_applies_to_stdin_filename(project: Path) -> None:
    write(project / "pyproject.toml", '[tool.initlint]\nextend-exclude = ["third_party"]\n')
    runner = CliRunner()
    excluded = runner.invoke(main, ["check", "--force-exclude", "--stdin-filename", "third_party/x.py"], input=BAD)
    assert excluded.exit_code == 0 and "IL101" not in excluded.output
    fixed = runner.invoke(
        main, ["check", "--fix", "--force-exclude", "--stdin-filename", "third_party/x.py"], input=BAD
    )
    assert fixed.exit_code == 0 and fixed.stdout == BAD  # given back unchanged
    checked = runner.invoke(main, ["check", "--stdin-filename", "third_party/x.py"], input=BAD)
    assert checked.exit_code == 1 and "IL101" in checked.output
    other = runner.invoke(main, ["check", "--force-exclude", "--stdin-filename", "src/x.py"], input=BAD)
    assert other.exit_code == 1
