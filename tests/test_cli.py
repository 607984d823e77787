"""The `initlint` command line, through click's CliRunner (and once as a real subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from initlint.cli import main
from initlint.rules.il101_deprecated_init_alias import DeprecatedInitAlias

BAD = "import torch.nn as nn\n\nlayer = nn.Linear(4, 4)\nnn.init.xavier_uniform(layer.weight)\n"
FIXED = BAD.replace("xavier_uniform(", "xavier_uniform_(")
CLEAN = "import torch.nn as nn\n\nlayer = nn.Linear(4, 4)\nnn.init.zeros_(layer.bias)\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with a pyproject.toml (so that nothing above tmp_path is read), as cwd."""
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


def invoke(*args: str, input: str | bytes | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def codes_in(output: str) -> list[str]:
    return [f["code"] for f in json.loads(output)["findings"]]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def set_config(folder: Path, body: str) -> None:
    (folder / "pyproject.toml").write_text("[tool.initlint]\n" + body)


# --- exit codes and basic output -------------------------------------------------------------


def test_findings_exit_1_and_text_output(project: Path) -> None:
    write(project, "a.py", BAD)
    result = invoke("check", "a.py")
    assert result.exit_code == 1
    assert "a.py:4:9: IL101 [*]" in result.stdout
    assert "Found 1 finding in 1 file." in result.stdout


def test_clean_exit_0(project: Path) -> None:
    write(project, "a.py", CLEAN)
    result = invoke("check", "a.py")
    assert result.exit_code == 0
    assert "All checks passed (1 file checked)." in result.stdout


def test_default_path_is_cwd(project: Path) -> None:
    write(project, "pkg/a.py", BAD)
    result = invoke("check")
    assert result.exit_code == 1
    assert os.path.join("pkg", "a.py") + ":4:9: IL101" in result.stdout


def test_nonexistent_path_exit_2(project: Path) -> None:
    result = invoke("check", "missing.py")
    assert result.exit_code == 2
    assert "path does not exist: missing.py" in result.stderr


@pytest.mark.parametrize("option", ["--select", "--ignore", "--extend-select"])
def test_unknown_code_exit_2_naming_it(project: Path, option: str) -> None:
    write(project, "a.py", BAD)
    result = invoke("check", option, "IL777", "a.py")
    assert result.exit_code == 2
    assert "IL777" in result.stderr


def test_unknown_config_key_exit_2_naming_it(project: Path) -> None:
    set_config(project, "selct = ['IL101']\n")
    write(project, "a.py", BAD)
    result = invoke("check", "a.py")
    assert result.exit_code == 2
    assert "selct" in result.stderr


def test_invalid_toml_exit_2(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.initlint\n")
    write(project, "a.py", BAD)
    result = invoke("check", "a.py")
    assert result.exit_code == 2
    assert "invalid TOML" in result.stderr


# --- selection -------------------------------------------------------------------------------


@pytest.mark.parametrize("selector", ["IL101", "IL1", "il101", "deprecated-init-alias", "ALL", "IL900,IL101"])
def test_select_enables(project: Path, selector: str) -> None:
    write(project, "a.py", BAD)
    result = invoke("check", "--format", "json", "--select", selector, "a.py")
    assert result.exit_code == 1
    assert codes_in(result.stdout) == ["IL101"]


@pytest.mark.parametrize("selector", ["IL9", "IL900"])
def test_select_replaces_the_default_set(project: Path, selector: str) -> None:
    write(project, "a.py", BAD)
    result = invoke("check", "--select", selector, "a.py")
    assert result.exit_code == 0, result.stdout


@pytest.mark.parametrize("selector", ["IL101", "IL1", "deprecated-init-alias"])
def test_ignore_disables(project: Path, selector: str) -> None:
    write(project, "a.py", BAD)
    result = invoke("check", "--ignore", selector, "a.py")
    assert result.exit_code == 0
    assert "IL101" not in result.stdout


def test_extend_select_adds_to_configured_select(project: Path) -> None:
    set_config(project, 'select = ["IL9"]\n')
    write(project, "a.py", BAD)
    assert invoke("check", "a.py").exit_code == 0
    result = invoke("check", "--extend-select", "IL101", "a.py")
    assert result.exit_code == 1
    assert "IL101" in result.stdout


def test_cli_select_overrides_config(project: Path) -> None:
    set_config(project, 'ignore = ["IL101"]\n')
    write(project, "a.py", BAD)
    assert invoke("check", "a.py").exit_code == 0
    # --select replaces the selection but --ignore accumulates: the config's ignore still applies.
    assert invoke("check", "--select", "IL101", "a.py").exit_code == 0
    set_config(project, 'select = ["IL9"]\n')
    assert invoke("check", "a.py").exit_code == 0
    assert invoke("check", "--select", "IL101", "a.py").exit_code == 1


# Legacy code (IL103-IL105, the opt-in `legacy` tier), one deprecated alias (IL101, on) and one
# untruncated trunc_normal_ (IL303, advice: off).
OLD_STYLE = """import torch
import torch.nn as nn
from torch.autograd import Variable

layer = nn.Linear(4, 4)
layer.weight.data.normal_(0, 0.02)
w = torch.Tensor(3, 3)
x = Variable(torch.ones(2))
nn.init.xavier_uniform(layer.weight)
nn.init.trunc_normal_(layer.bias, std=0.02)
"""
MODERNIZED = """import torch
import torch.nn as nn
from torch.autograd import Variable

layer = nn.Linear(4, 4)
nn.init.normal_(layer.weight, 0, 0.02)
w = torch.empty(3, 3)
x = torch.ones(2)
nn.init.xavier_uniform_(layer.weight)
nn.init.trunc_normal_(layer.bias, std=0.02)
"""


def test_legacy_rules_are_off_by_default(project: Path) -> None:
    write(project, "a.py", OLD_STYLE)
    assert codes_in(invoke("check", "--format", "json", "a.py").stdout) == ["IL101"]


@pytest.mark.parametrize(
    "options",
    [["--extend-select", "legacy"], ["--extend-select", "LEGACY"], ["--extend-select", "IL103,IL104,IL105"]],
)
def test_extend_select_legacy_enables_the_group(project: Path, options: list[str]) -> None:
    write(project, "a.py", OLD_STYLE)
    result = invoke("check", "--format", "json", *options, "a.py")
    assert codes_in(result.stdout) == ["IL104", "IL103", "IL105", "IL101"]


def test_legacy_from_config_and_ignore_legacy(project: Path) -> None:
    write(project, "a.py", OLD_STYLE)
    set_config(project, 'extend-select = ["legacy"]\n')
    assert codes_in(invoke("check", "--format", "json", "a.py").stdout) == ["IL104", "IL103", "IL105", "IL101"]
    assert codes_in(invoke("check", "--format", "json", "--ignore", "legacy", "a.py").stdout) == ["IL101"]
    set_config(project, 'select = ["legacy"]\n')
    assert codes_in(invoke("check", "--format", "json", "a.py").stdout) == ["IL104", "IL103", "IL105"]


def test_a_prefix_does_not_enable_the_legacy_group(project: Path) -> None:
    """ruff's semantics: a prefix takes only the rules under it that are on by default."""
    write(project, "a.py", OLD_STYLE)
    assert codes_in(invoke("check", "--format", "json", "--select", "IL1", "a.py").stdout) == ["IL101"]


def test_select_all_enables_off_by_default_rules(project: Path) -> None:
    write(project, "a.py", OLD_STYLE)
    result = invoke("check", "--format", "json", "--select", "ALL", "a.py")
    assert codes_in(result.stdout) == ["IL104", "IL103", "IL105", "IL101", "IL303"]


def test_extend_select_legacy_fix_modernizes_in_one_run(project: Path) -> None:
    path = write(project, "a.py", OLD_STYLE)
    result = invoke("check", "--extend-select", "legacy", "--fix", "a.py")
    assert result.exit_code == 0, result.stdout
    assert "Fixed 4 findings." in result.stdout
    assert path.read_text() == MODERNIZED
    assert invoke("check", "--extend-select", "legacy", "a.py").exit_code == 0


def test_default_fix_leaves_legacy_code_alone(project: Path) -> None:
    path = write(project, "a.py", OLD_STYLE)
    assert invoke("check", "--fix", "a.py").exit_code == 0
    assert path.read_text() == OLD_STYLE.replace("xavier_uniform(", "xavier_uniform_(")


# --- fixes -----------------------------------------------------------------------------------


def test_fix_writes_and_reports(project: Path) -> None:
    path = write(project, "a.py", BAD)
    result = invoke("check", "--fix", "a.py")
    assert result.exit_code == 0
    assert path.read_text() == FIXED
    assert "Fixed 1 finding." in result.stdout
    assert invoke("check", "a.py").exit_code == 0


def test_diff_writes_nothing_and_exits_1(project: Path) -> None:
    path = write(project, "a.py", BAD)
    result = invoke("check", "--diff", "a.py")
    assert result.exit_code == 1
    assert path.read_text() == BAD
    assert "--- a/a.py" in result.stdout
    assert "-nn.init.xavier_uniform(layer.weight)" in result.stdout
    assert "+nn.init.xavier_uniform_(layer.weight)" in result.stdout


def test_diff_without_changes_exits_0(project: Path) -> None:
    write(project, "a.py", CLEAN)
    result = invoke("check", "--diff", "a.py")
    assert result.exit_code == 0
    assert result.stdout == ""


def test_diff_exit_zero(project: Path) -> None:
    write(project, "a.py", BAD)
    assert invoke("check", "--diff", "--exit-zero", "a.py").exit_code == 0


@pytest.fixture
def unsafe_il101(monkeypatch: pytest.MonkeyPatch) -> None:
    """IL101's fix, marked unsafe: no shipped rule is needed to exercise --unsafe-fixes."""
    original = DeprecatedInitAlias.check

    def check(self, model):  # type: ignore[no-untyped-def]
        for report in original(self, model):
            if report.fix is not None:
                report.fix.applicability = "unsafe"
            yield report

    monkeypatch.setattr(DeprecatedInitAlias, "check", check)


@pytest.mark.usefixtures("unsafe_il101")
def test_unsafe_fixes_only_with_the_flag(project: Path) -> None:
    path = write(project, "a.py", BAD)
    result = invoke("check", "--fix", "a.py")
    assert result.exit_code == 1
    assert path.read_text() == BAD
    assert "1 more fixable with `--fix --unsafe-fixes`" in result.stdout
    assert "[*]" not in result.stdout.splitlines()[0]

    result = invoke("check", "--fix", "--unsafe-fixes", "a.py")
    assert result.exit_code == 0
    assert path.read_text() == FIXED


@pytest.mark.usefixtures("unsafe_il101")
def test_unsafe_fixes_from_config_and_no_flag(project: Path) -> None:
    set_config(project, "unsafe-fixes = true\n")
    path = write(project, "a.py", BAD)
    assert invoke("check", "--fix", "--no-unsafe-fixes", "a.py").exit_code == 1
    assert path.read_text() == BAD
    assert invoke("check", "--fix", "a.py").exit_code == 0
    assert path.read_text() == FIXED


# --- formats and reporting options -----------------------------------------------------------


def test_format_json(project: Path) -> None:
    write(project, "a.py", BAD)
    result = invoke("check", "--format", "json", "a.py")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["findings"][0]["path"] == "a.py"
    assert (data["findings"][0]["line"], data["findings"][0]["column"]) == (4, 9)
    assert data["summary"]["findings"] == 1


def test_format_sarif(project: Path) -> None:
    write(project, "a.py", BAD)
    result = invoke("check", "--format", "sarif", "a.py")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["version"] == "2.1.0"
    assert [r["ruleId"] for r in data["runs"][0]["results"]] == ["IL101"]


def test_format_sarif_rules_carry_their_tier(project: Path) -> None:
    write(project, "a.py", BAD)
    rules = {
        r["id"]: r
        for r in json.loads(invoke("check", "--format", "sarif", "a.py").stdout)["runs"][0]["tool"]["driver"]["rules"]
    }
    assert "bug" in rules["IL101"]["properties"]["tags"] and rules["IL101"]["properties"]["tier"] == "bug"
    assert "legacy" in rules["IL104"]["properties"]["tags"]
    assert rules["IL104"]["defaultConfiguration"]["enabled"] is False


def test_format_github(project: Path) -> None:
    write(project, "a.py", BAD)
    result = invoke("check", "--format", "github", "a.py")
    assert result.exit_code == 1
    assert result.stdout.startswith("::warning file=a.py,line=4,col=9,endLine=4,endColumn=23,title=IL101::")


def test_format_github_clean_prints_nothing(project: Path) -> None:
    write(project, "a.py", CLEAN)
    result = invoke("check", "--format", "github", "a.py")
    assert (result.exit_code, result.stdout) == (0, "")


def test_exit_zero(project: Path) -> None:
    write(project, "a.py", BAD)
    result = invoke("check", "--exit-zero", "a.py")
    assert result.exit_code == 0
    assert "IL101" in result.stdout


def test_statistics(project: Path) -> None:
    write(project, "a.py", BAD)
    write(project, "b.py", BAD + "nn.init.normal(layer.bias)\n")
    result = invoke("check", "--statistics", "a.py", "b.py")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["3", "IL101", "[*]", "deprecated-init-alias"]
    assert "a.py:4:9" not in result.stdout


def test_quiet(project: Path) -> None:
    write(project, "a.py", BAD)
    result = invoke("check", "--quiet", "a.py")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith("a.py:4:9: IL101")
    assert "Found" not in result.stdout
    write(project, "a.py", CLEAN)
    result = invoke("check", "--quiet", "a.py")
    assert (result.exit_code, result.stdout) == (0, "")


def test_color_always_and_never(project: Path) -> None:
    write(project, "a.py", BAD)
    assert "\033[" in invoke("check", "--color", "always", "a.py").stdout
    assert "\033[" not in invoke("check", "--color", "never", "a.py").stdout
    assert "\033[" not in invoke("check", "a.py").stdout  # auto, and CliRunner is not a terminal


def test_no_cache_writes_no_cache(project: Path) -> None:
    write(project, "a.py", BAD)
    assert invoke("check", "--no-cache", "a.py").exit_code == 1
    assert not (project / ".initlint_cache").exists()
    assert invoke("check", "a.py").exit_code == 1
    assert (project / ".initlint_cache").is_dir()


def test_cache_dir(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    cache = tmp_path_factory.mktemp("elsewhere") / "cache"
    write(project, "a.py", BAD)
    first = invoke("check", "--cache-dir", str(cache), "a.py")
    assert first.exit_code == 1
    assert not (project / ".initlint_cache").exists()
    assert (cache / ".gitignore").is_file()
    assert list(cache.glob("*/*.json"))
    second = invoke("check", "--cache-dir", str(cache), "a.py")
    assert (second.exit_code, second.stdout) == (first.exit_code, first.stdout)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_jobs(project: Path, jobs: str) -> None:
    for n in range(20):  # above the pool threshold
        write(project, f"m{n:02}.py", BAD if n % 2 else CLEAN)
    result = invoke("check", "--no-cache", "-j", jobs, "--format", "json", ".")
    assert result.exit_code == 1
    paths = [f["path"] for f in json.loads(result.stdout)["findings"]]
    assert paths == [f"m{n:02}.py" for n in range(1, 20, 2)]


def test_jobs_must_be_positive(project: Path) -> None:
    write(project, "a.py", BAD)
    result = invoke("check", "-j", "0", "a.py")
    assert result.exit_code == 2


def test_config_option(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    other = tmp_path_factory.mktemp("conf") / "initlint.toml"
    other.write_text('ignore = ["IL101"]\n')  # a bare initlint TOML file
    write(project, "a.py", BAD)
    assert invoke("check", "a.py").exit_code == 1
    assert invoke("check", "--config", str(other), "a.py").exit_code == 0
    other.write_text('[tool.initlint]\nignore = ["IL101"]\n')  # or a pyproject.toml
    assert invoke("check", "--config", str(other), "a.py").exit_code == 0
    missing = invoke("check", "--config", str(other.parent / "nope.toml"), "a.py")
    assert missing.exit_code == 2
    assert "nope.toml" in missing.stderr


# --- stdin -----------------------------------------------------------------------------------


def test_stdin_check(project: Path) -> None:
    result = invoke("check", "--stdin-filename", "pkg/model.py", input=BAD)
    assert result.exit_code == 1
    assert "pkg/model.py:4:9: IL101" in result.stdout
    result = invoke("check", "--stdin-filename", "model.py", input=CLEAN)
    assert result.exit_code == 0


def test_stdin_fix_prints_fixed_source(project: Path) -> None:
    result = invoke("check", "--fix", "--stdin-filename", "model.py", input=BAD)
    assert result.exit_code == 0
    assert result.stdout == FIXED
    assert not (project / "model.py").exists()


def test_stdin_fix_without_changes_echoes_source(project: Path) -> None:
    result = invoke("check", "--fix", "--stdin-filename", "model.py", input=CLEAN)
    assert (result.exit_code, result.stdout) == (0, CLEAN)


def test_stdin_respects_per_file_ignores(project: Path) -> None:
    set_config(project, '[tool.initlint.per-file-ignores]\n"legacy/*.py" = ["IL101"]\n')
    assert invoke("check", "--stdin-filename", "legacy/old.py", input=BAD).exit_code == 0
    assert invoke("check", "--stdin-filename", "new/old.py", input=BAD).exit_code == 1


# --- suppression and configuration ------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "suppressed"),
    [
        ("  # noqa", True),
        ("  # noqa: IL101", True),
        ("  # NOQA:IL101,IL102", True),
        ("  # noqa: E501", False),
        ("  # noqa: IL102", False),
        ("", False),
    ],
)
def test_noqa(project: Path, comment: str, suppressed: bool) -> None:
    write(project, "a.py", BAD.rstrip("\n") + comment + "\n")
    result = invoke("check", "a.py")
    assert result.exit_code == (0 if suppressed else 1)


@pytest.mark.parametrize(("comment", "suppressed"), [("# initlint: noqa", True), ("# initlint: noqa: IL9", False)])
def test_file_level_noqa(project: Path, comment: str, suppressed: bool) -> None:
    write(project, "a.py", comment + "\n" + BAD)
    assert invoke("check", "a.py").exit_code == (0 if suppressed else 1)


def test_per_file_ignores(project: Path) -> None:
    set_config(project, '[tool.initlint.per-file-ignores]\n"tests/*.py" = ["IL101"]\n"scripts/" = ["IL1"]\n')
    write(project, "tests/test_a.py", BAD)
    write(project, "scripts/b.py", BAD)
    write(project, "src/a.py", BAD)
    result = invoke("check", "--format", "json", ".")
    assert result.exit_code == 1
    assert [f["path"] for f in json.loads(result.stdout)["findings"]] == [os.path.join("src", "a.py")]
    # Paths are matched relative to the project root, also when run from a subfolder.
    os.chdir(project / "tests")
    assert invoke("check", "test_a.py").exit_code == 0


def test_per_file_ignores_unknown_code(project: Path) -> None:
    set_config(project, '[tool.initlint.per-file-ignores]\n"tests/*.py" = ["IL7777"]\n')
    write(project, "a.py", BAD)
    result = invoke("check", "a.py")
    assert result.exit_code == 2
    assert "IL7777" in result.stderr


def test_init_aliases_reach_the_engine(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import initlint.engine

    seen = []
    original = initlint.engine.lint_source

    def spy(source, options, deps=None):  # type: ignore[no-untyped-def]
        seen.append(dict(options.init_aliases))
        return original(source, options, deps)

    monkeypatch.setattr(initlint.engine, "lint_source", spy)
    monkeypatch.setattr("initlint.runner.lint_source", spy)
    set_config(project, 'init-aliases = ["mylib.init.trunc_normal_"]\n')
    write(project, "a.py", "import mylib.init\nmylib.init.trunc_normal_(w)\n")
    assert invoke("check", "--no-cache", "a.py").exit_code == 0
    assert seen == [{"mylib.init.trunc_normal_": "trunc_normal_"}]

    set_config(project, '[tool.initlint.init-aliases]\n"mylib.init.my_init" = "torch.nn.init.kaiming_normal_"\n')
    seen.clear()
    assert invoke("check", "--no-cache", "a.py").exit_code == 0
    assert seen == [{"mylib.init.my_init": "kaiming_normal_"}]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('["trunc_normal_"]', "not a qualified name"),
        ('["mylib.init.frobnicate"]', "frobnicate"),
        ("3", "init-aliases"),
    ],
)
def test_init_aliases_invalid(project: Path, value: str, message: str) -> None:
    set_config(project, f"init-aliases = {value}\n")
    write(project, "a.py", BAD)
    result = invoke("check", "a.py")
    assert result.exit_code == 2
    assert message in result.stderr


# --- internal errors -------------------------------------------------------------------------


def test_crash_in_a_rule_is_il999_without_traceback(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self, model):  # type: ignore[no-untyped-def]
        raise RuntimeError("kaboom")

    monkeypatch.setattr(DeprecatedInitAlias, "check", boom)
    write(project, "a.py", BAD)
    result = invoke("check", "--no-cache", "a.py")
    assert result.exit_code == 1
    assert "IL999" in result.stdout
    assert "IL101 (deprecated-init-alias)" in result.stdout
    assert "RuntimeError: kaboom" in result.stdout
    assert "Traceback" not in result.output
    verbose = invoke("check", "--no-cache", "--verbose", "a.py")
    assert "Traceback" in verbose.stdout


def test_unexpected_error_is_one_line_exit_2(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("initlint.runner.run", broken)
    write(project, "a.py", BAD)
    result = invoke("check", "a.py")
    assert result.exit_code == 2
    assert result.stderr.strip() == "initlint: error: internal error: RuntimeError: disk on fire"
    verbose = invoke("check", "--verbose", "a.py")
    assert verbose.exit_code == 2
    assert "Traceback" in verbose.stderr


# --- rules and explain -----------------------------------------------------------------------


def test_rules_text() -> None:
    result = invoke("rules")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:6] == ["code", "name", "tier", "severity", "default", "fix"]
    rows = {line.split()[0]: line.split()[:6] for line in lines[1:]}
    assert rows["IL101"] == ["IL101", "deprecated-init-alias", "bug", "warning", "on", "safe"]
    assert rows["IL104"] == ["IL104", "data-attribute-init", "legacy", "warning", "off", "safe"]
    assert rows["IL303"][2:5] == ["advice", "info", "off"]
    assert rows["IL900"][2] == "engine" and rows["IL601"][2] == "runtime"


def test_rules_json() -> None:
    result = invoke("rules", "--format", "json")
    assert result.exit_code == 0
    rules = json.loads(result.stdout)
    il101 = next(r for r in rules if r["code"] == "IL101")
    assert il101 == {
        "code": "IL101",
        "name": "deprecated-init-alias",
        "summary": DeprecatedInitAlias.summary,
        "severity": "warning",
        "default_enabled": True,
        "fix": "safe",
        "tier": "bug",
    }
    assert {r["code"]: r["tier"] for r in rules}["IL105"] == "legacy"
    assert {"IL900", "IL901", "IL999"} <= {r["code"] for r in rules}


@pytest.mark.parametrize("name", ["IL101", "il101", "deprecated-init-alias"])
def test_explain(name: str) -> None:
    result = invoke("explain", name)
    assert result.exit_code == 0
    assert result.stdout.startswith("# IL101 `deprecated-init-alias`")
    assert "## Use instead" in result.stdout


def test_explain_shows_the_tier_and_how_to_enable_a_legacy_rule() -> None:
    result = invoke("explain", "IL104")
    assert result.exit_code == 0
    assert "| IL104 | data-attribute-init | legacy | warning | off | safe |" in result.stdout
    assert "--extend-select legacy" in result.stdout
    assert "| IL101 | deprecated-init-alias | bug |" in invoke("explain", "IL101").stdout


def test_explain_unknown() -> None:
    result = invoke("explain", "IL777")
    assert result.exit_code == 2
    assert "IL777" in result.stderr


def test_version() -> None:
    from initlint import __version__

    result = invoke("--version")
    assert result.exit_code == 0
    assert __version__ in result.stdout


# --- the real entry points -------------------------------------------------------------------


def test_console_script_and_module(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\n")
    write(tmp_path, "a.py", BAD)
    script = Path(sys.executable).parent / "initlint"
    commands = [[sys.executable, "-m", "initlint"]]
    if script.exists():
        commands.append([str(script)])
    for command in commands:
        proc = subprocess.run(
            [*command, "check", "--no-cache", "a.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 1, proc.stderr
        assert proc.stdout.startswith("a.py:4:9: IL101 [*]")
        assert "Found 1 finding in 1 file." in proc.stdout
        bad = subprocess.run([*command, "check", "--select", "IL777"], cwd=tmp_path, capture_output=True, text=True)
        assert bad.returncode == 2
        assert "IL777" in bad.stderr
