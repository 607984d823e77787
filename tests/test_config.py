"""[tool.initlint] loading and rule selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from initlint.config import (
    DEFAULT_EXCLUDES,
    ConfigError,
    Settings,
    expand,
    load_settings,
    matches_any,
    resolve_selection,
)
from initlint.rules import ALL_RULES, BY_CODE, ENGINE_CODES

DEFAULT_ON = {r.code for r in ALL_RULES if r.default_enabled}


def write_config(folder: Path, body: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text("[tool.initlint]\n" + body)
    return path


def test_no_config_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(None, tmp_path)
    assert settings.config_path is None
    assert settings.root == tmp_path.resolve()
    assert settings.exclude == list(DEFAULT_EXCLUDES)
    assert settings.enabled_codes() == frozenset(DEFAULT_ON)


def test_every_key_is_read(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        'select = ["IL1"]\nignore = ["IL101"]\nextend-select = ["IL900"]\nexclude = ["a"]\n'
        'extend-exclude = ["b"]\nunsafe-fixes = true\ninit-aliases = ["m.init.normal_"]\n'
        '[tool.initlint.per-file-ignores]\n"t/*" = ["IL1"]\n[tool.initlint.probe]\nbatch = 8\n',
    )
    s = load_settings(None, tmp_path)
    assert (s.select, s.ignore, s.extend_select) == (["IL1"], ["IL101"], ["IL900"])
    assert (s.exclude, s.extend_exclude, s.unsafe_fixes) == (["a"], ["b"], True)
    assert s.init_aliases == {"m.init.normal_": "normal_"}
    assert s.per_file_ignores == {"t/*": ["IL1"]}
    assert s.probe == {"batch": 8}
    assert "IL101" not in s.enabled_codes()
    assert "IL101" in s.ignored_codes("t/x.py")
    assert s.ignored_codes("u/x.py") == set()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("colour = 1\n", "unknown key `colour`"),
        ('select = "IL101"\n', "`select` must be a list of strings"),
        ("ignore = [1]\n", "`ignore` must be a list of strings"),
        ('unsafe-fixes = "yes"\n', "`unsafe-fixes` must be true or false"),
        ('select = ["IL7"]\n', "'IL7'"),
        ('select = ["XX101"]\n', "'XX101'"),
        ('extend-select = ["nonsense-name"]\n', "'nonsense-name'"),
        ('per-file-ignores = ["x"]\n', "per-file-ignores"),
        ("probe = 3\n", "`probe` must be a table"),
    ],
)
def test_invalid_config(tmp_path: Path, body: str, message: str) -> None:
    write_config(tmp_path, body)
    with pytest.raises(ConfigError, match=message.replace("`", ".").replace("(", r"\(")):
        load_settings(None, tmp_path)


def test_config_file_given_explicitly(tmp_path: Path) -> None:
    bare = tmp_path / "initlint.toml"
    bare.write_text('ignore = ["IL101"]\n')
    settings = load_settings(bare, tmp_path / "elsewhere")
    assert settings.ignore == ["IL101"]
    assert settings.root == tmp_path.resolve()
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "missing.toml", tmp_path)


def test_pyproject_without_our_table_is_skipped(tmp_path: Path) -> None:
    write_config(tmp_path, 'ignore = ["IL101"]\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pyproject.toml").write_text("[tool.black]\nline-length = 1\n")
    assert load_settings(None, tmp_path / "sub").ignore == ["IL101"]
    (tmp_path / "sub" / "pyproject.toml").write_text("this is [not toml\n")  # someone else's broken file
    assert load_settings(None, tmp_path / "sub").ignore == ["IL101"]
    (tmp_path / "sub" / "pyproject.toml").write_text("[tool.initlint\n")  # our own, broken: an error
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(None, tmp_path / "sub")


def test_selection_semantics() -> None:
    assert resolve_selection(None, [], []) == frozenset(DEFAULT_ON)
    assert resolve_selection(["IL101"], [], []) == frozenset({"IL101"} | ENGINE_CODES)
    assert resolve_selection(["deprecated-init-alias"], [], []) == resolve_selection(["il101"], [], [])
    assert "IL101" not in resolve_selection(None, ["IL1"], [])
    assert "IL101" not in resolve_selection(None, ["deprecated-init-alias"], [])
    assert "IL101" in resolve_selection(["IL9"], [], ["IL101"])
    # The engine codes cannot be deselected by select, only by ignore.
    assert resolve_selection(["IL101"], [], []) >= ENGINE_CODES
    assert "IL900" not in resolve_selection(None, ["IL900"], [])


def test_prefix_skips_rules_that_are_off_by_default_all_and_exact_names_do_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from initlint.rules.base import Rule

    class Off(Rule):
        code = "IL180"
        name = "off-by-default-test-rule"
        summary = "test"
        tier = "advice"
        default_enabled = False

    monkeypatch.setitem(BY_CODE, "IL180", Off)
    assert "IL180" not in expand(["IL1"], include_off=False)
    assert "IL180" in expand(["ALL"], include_off=False)  # ALL is every rule, as the README says
    assert "IL180" in expand(["all"], include_off=False)
    assert "IL180" in expand(["IL180"], include_off=False)
    assert "IL180" in expand(["off-by-default-test-rule"], include_off=False)
    assert "IL180" in expand(["advice"], include_off=False)  # a tier selects all its members
    assert "IL180" in expand(["IL1"], include_off=True)  # ignore and per-file-ignores take them all


LEGACY = {"IL103", "IL104", "IL105", "IL106", "IL107"}


def test_select_all_enables_every_rule_including_off_by_default_ones() -> None:
    everything = {r.code for r in ALL_RULES}
    assert resolve_selection(["ALL"], [], []) == frozenset(everything)
    assert "IL303" in resolve_selection(["ALL"], [], [])  # was left out before
    assert resolve_selection(None, [], ["ALL"]) == frozenset(everything)
    assert resolve_selection(["ALL"], ["legacy"], []) == frozenset(everything - LEGACY)


def test_default_selection_is_the_bug_tier() -> None:
    """Issue 9: the findings that change training or raise/warn at run time are on by default;
    the legacy group and advice are opt-in."""
    default = resolve_selection(None, [], [])
    assert {"IL101", "IL102", "IL201", "IL301", "IL304", "IL401", "IL407", "IL501"} <= default
    assert not default & LEGACY
    assert "IL303" not in default
    assert default >= ENGINE_CODES


def test_legacy_is_a_group_selector() -> None:
    assert {c for c, r in BY_CODE.items() if r.tier == "legacy"} == LEGACY
    assert resolve_selection(["legacy"], [], []) == frozenset(LEGACY | ENGINE_CODES)
    assert resolve_selection(["LEGACY"], [], []) == resolve_selection(["legacy"], [], [])
    assert resolve_selection(None, [], ["legacy"]) == frozenset(DEFAULT_ON | LEGACY)
    assert not resolve_selection(None, ["legacy"], ["legacy"]) & LEGACY  # ignore wins
    assert not resolve_selection(None, ["legacy"], ["IL104"]) & LEGACY  # even over an exact code
    # A prefix keeps ruff's meaning: only the rules under it that are on by default ...
    assert resolve_selection(["IL1"], [], []) == frozenset({"IL101", "IL102"} | ENGINE_CODES)
    # ... and an exact code or name always selects.
    assert "IL104" in resolve_selection(None, [], ["IL104"])
    assert "IL105" in resolve_selection(None, [], ["variable-wrapper"])
    assert expand(["legacy"], include_off=True) == LEGACY


def test_legacy_group_from_config(tmp_path: Path) -> None:
    write_config(tmp_path, 'extend-select = ["legacy"]\nignore = ["IL106"]\n')
    codes = load_settings(None, tmp_path).enabled_codes()
    assert codes == frozenset((DEFAULT_ON | LEGACY) - {"IL106"})
    write_config(tmp_path, 'select = ["legacy"]\n[tool.initlint.per-file-ignores]\n"old/*" = ["legacy"]\n')
    settings = load_settings(None, tmp_path)
    assert settings.enabled_codes() == frozenset(LEGACY | ENGINE_CODES)
    assert settings.ignored_codes("old/m.py") == LEGACY


def test_every_rule_has_a_tier_that_agrees_with_its_default() -> None:
    from initlint.rules.base import OFF_BY_DEFAULT_TIERS, TIERS

    for rule in ALL_RULES:
        assert rule.tier in TIERS, rule.code
        assert rule.default_enabled == (rule.tier not in OFF_BY_DEFAULT_TIERS), rule.code
        assert (rule.tier == "engine") == (rule.code in ENGINE_CODES), rule.code
        assert (rule.tier == "runtime") == rule.runtime, rule.code


def test_a_new_rule_is_a_bug_rule_unless_it_says_otherwise() -> None:
    from initlint.rules.base import Rule

    class New(Rule):
        code = "IL490"
        name = "some-new-bug"
        summary = "test"

    assert New.tier == "bug" and New.default_enabled


@pytest.mark.parametrize(
    ("path", "patterns", "expected"),
    [
        ("a/build/x.py", ["build"], True),
        ("a/builder/x.py", ["build"], False),
        ("a/x_pb2.py", ["*_pb2.py"], True),
        ("src/gen", ["src/gen"], True),  # folders are matched (and pruned) by the walk
        ("src/gen", ["src/gen/"], True),
        ("other/src/gen", ["src/gen"], False),
        ("src/gen/x.py", ["src/**/*.py"], True),
        ("src/x.py", ["src/**/*.py"], True),
        ("x/src/y.py", ["src/**/*.py"], False),
        (".venv2/x.py", ["./.venv2/*"], True),
        ("venv2/x.py", ["./.venv2/*"], False),
        ("tests/unit/test_x.py", ["docs/*.py"], False),
        ("tests/test_x.py", ["tests/*.py"], True),
    ],
)
def test_matches_any(path: str, patterns: list[str], expected: bool) -> None:
    assert matches_any(path, patterns) is expected


def test_settings_excluded_combines_exclude_and_extend(tmp_path: Path) -> None:
    settings = Settings(root=tmp_path, extend_exclude=["gen"])
    assert settings.excluded("pkg/.venv/x.py")
    assert settings.excluded("gen/x.py")
    assert not settings.excluded("pkg/x.py")
