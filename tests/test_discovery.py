"""Which files `initlint check` reads: excludes, .gitignore, explicit files, symlinks."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from initlint.config import DEFAULT_EXCLUDES, ConfigError, Settings, load_settings
from initlint.discovery import _compile, _LinearMatcher, _translate, discover


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def touch(*names: str) -> None:
    for name in names:
        path = Path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("import torch\n")


def found(settings: Settings, *paths: str) -> list[str]:
    return [p.as_posix() for p in discover([Path(p) for p in paths or ["."]], settings)]


def test_only_python_files_sorted(tree: Path) -> None:
    touch("b.py", "a.py", "pkg/c.py", "pkg/readme.md", "pkg/d.pyi", "pkg/sub/e.py")
    assert found(Settings(root=tree)) == ["a.py", "b.py", "pkg/c.py", "pkg/sub/e.py"]


@pytest.mark.parametrize("folder", DEFAULT_EXCLUDES)
def test_default_excludes(tree: Path, folder: str) -> None:
    touch("keep.py", f"{folder}/skip.py", f"nested/{folder}/skip.py")
    assert found(Settings(root=tree)) == ["keep.py"]


def test_exclude_replaces_and_extend_exclude_adds(tree: Path) -> None:
    touch("a.py", "build/b.py", "gen/c.py", "src/proto/d_pb2.py", "src/e.py")
    settings = Settings(root=tree, extend_exclude=["gen", "*_pb2.py"])
    assert found(settings) == ["a.py", "src/e.py"]
    settings = Settings(root=tree, exclude=["gen"])  # replaces the defaults: build/ is walked now
    assert found(settings) == ["a.py", "build/b.py", "src/e.py", "src/proto/d_pb2.py"]
    settings = Settings(root=tree, extend_exclude=["src/proto/*.py"])  # a path pattern, from the root
    assert found(settings) == ["a.py", "gen/c.py", "src/e.py"]


def test_gitignore_rules(tree: Path) -> None:
    touch(
        "a.py", "secret.py", "gen_x.py", "keep_gen.py", "out/o.py", "sub/out/o.py", "sub/out.py",
        "top/t.py", "sub/top/t.py", "sub/local.py", "sub/deeper/local.py", "sub/deeper/other.py",
    )  # fmt: skip
    Path(".gitignore").write_text("# comment\n\nsecret.py\n*_x.py\ngen*.py\n!keep_gen.py\nout/\n/top\n")
    Path("sub/.gitignore").write_text("local.py\n!deeper/local.py\n")
    assert found(Settings(root=tree)) == [
        "a.py",
        "keep_gen.py",  # negated
        "sub/deeper/local.py",  # negated in the nested .gitignore
        "sub/deeper/other.py",
        "sub/out.py",  # `out/` is for folders only
        "sub/top/t.py",  # `/top` is anchored to the root
    ]


def test_gitignore_above_the_walked_folder_applies(tree: Path) -> None:
    touch("pkg/a.py", "pkg/ignored.py", "pkg/sub/ignored.py")
    Path(".gitignore").write_text("ignored.py\n")
    assert found(Settings(root=tree), "pkg") == ["pkg/a.py"]
    os.chdir("pkg")
    assert found(Settings(root=tree)) == ["a.py"]


def test_explicit_files_are_always_checked(tree: Path) -> None:
    touch("build/gen.py", "ignored.py", "script", "notes.txt", "pkg/a.py")
    Path(".gitignore").write_text("ignored.py\nscript\n")
    settings = Settings(root=tree, extend_exclude=["pkg"])
    assert found(settings, "build/gen.py", "ignored.py", "script", "notes.txt") == [
        "build/gen.py", "ignored.py", "notes.txt", "script",
    ]  # fmt: skip
    assert found(settings) == []
    # A folder named explicitly is still filtered inside.
    assert found(Settings(root=tree, extend_exclude=["a.py"]), "pkg") == []


def test_duplicates_are_reported_once(tree: Path) -> None:
    touch("a.py")
    assert found(Settings(root=tree), ".", "a.py", "./a.py") == ["a.py"]


def test_nonexistent_path(tree: Path) -> None:
    with pytest.raises(ConfigError, match="path does not exist: nope"):
        discover([Path("nope")], Settings(root=tree))


def test_symlink_loops_do_not_hang(tree: Path) -> None:
    touch("pkg/a.py")
    os.symlink("..", "pkg/loop")
    os.symlink(".", "pkg/self")
    os.symlink("a.py", "pkg/link.py")
    os.symlink("missing.py", "pkg/dangling.py")
    os.symlink("x1.py", "pkg/x2.py")
    os.symlink("x2.py", "pkg/x1.py")
    result = found(Settings(root=tree))
    assert "pkg/a.py" in result
    assert all(len(Path(p).parts) <= 3 for p in result)


def test_symlink_loop_end_to_end(tree: Path) -> None:
    from click.testing import CliRunner

    from initlint.cli import main

    touch("pkg/a.py")
    os.symlink("..", "pkg/loop")
    os.symlink("x2.py", "pkg/x1.py")
    os.symlink("x1.py", "pkg/x2.py")
    Path("pyproject.toml").write_text('[tool.initlint]\n[tool.initlint.per-file-ignores]\n"x/*" = ["IL101"]\n')
    result = CliRunner().invoke(main, ["check", "--no-cache", "--format", "json", "."])
    assert result.exit_code == 1, result.output
    findings = json.loads(result.stdout)["findings"]
    assert [(f["path"], f["code"]) for f in findings] == [("pkg/x1.py", "IL901"), ("pkg/x2.py", "IL901")]
    assert "symbolic links" in findings[0]["message"]


# --- the configuration file ------------------------------------------------------------------


def test_nearest_pyproject_from_a_subfolder(tree: Path) -> None:
    Path("pyproject.toml").write_text('[tool.initlint]\nignore = ["IL101"]\n')
    Path("pkg/inner").mkdir(parents=True)
    Path("pkg/pyproject.toml").write_text("[project]\nname = 'no initlint table here'\n")
    settings = load_settings(None, tree / "pkg" / "inner")
    assert settings.root == tree.resolve()
    assert settings.ignore == ["IL101"]
    Path("pkg/pyproject.toml").write_text('[tool.initlint]\nextend-exclude = ["x"]\n')
    settings = load_settings(None, tree / "pkg" / "inner")
    assert settings.root == (tree / "pkg").resolve()
    assert (settings.ignore, settings.extend_exclude) == ([], ["x"])


def test_excludes_are_relative_to_the_project_root(tree: Path) -> None:
    Path("pyproject.toml").write_text('[tool.initlint]\nextend-exclude = ["pkg/gen"]\n')
    touch("pkg/gen/a.py", "pkg/b.py")
    os.chdir("pkg")
    settings = load_settings(None, Path.cwd())
    assert found(settings) == ["b.py"]


# --- hostile .gitignore patterns: bounded time, the same answers ---------------------------------


def test_many_wildcards_do_not_backtrack_for_minutes(tree: Path) -> None:
    """`*a*a*...*b` against a long name of a's backtracks polynomially in a plain regex (eight
    stars: half a minute per file); the run must stay fast and right."""
    name = "a" * 50 + ".py"  # no b: every way to place the a's is tried before giving up
    touch(name, "sub/" + name, "ab.py", "a" * 8 + "b.py", "x/y/z/b.py", "x/y/z/x/y/z/x/y/z/b.py")
    Path(".gitignore").write_text("*a" * 8 + "*b.py\n" + "**/x/**/y/**/z/**/" * 3 + "b.py\n")
    start = time.monotonic()
    assert found(Settings(root=tree)) == [name, "ab.py", "sub/" + name, "x/y/z/b.py"]
    assert time.monotonic() - start < 3


PATTERN = st.text(alphabet="ab/*?[]!-", max_size=10)
SUBJECT = st.text(alphabet="ab/.!-", max_size=12)


@settings(
    max_examples=int(os.environ.get("INITLINT_FUZZ_EXAMPLES", "400")), deadline=None, derandomize=True, database=None
)
@given(PATTERN, st.lists(SUBJECT, min_size=1, max_size=8))
def test_fast_matchers_agree_with_the_plain_regex(pattern: str, subjects: list[str]) -> None:
    """The atomic regex and the linear matcher decide exactly what the plain translation does."""
    try:
        plain = re.compile(_translate(pattern, atomic=False))
        _compile(pattern)
    except re.error:
        with pytest.raises(re.error):
            _compile(pattern)
        return
    atomic = re.compile(_translate(pattern))
    linear = _LinearMatcher(pattern)
    for subject in subjects:
        expected = plain.match(subject) is not None
        assert (atomic.match(subject) is not None) == expected, (pattern, subject, _translate(pattern))
        assert linear.match(subject) == expected, (pattern, subject)
