"""The runner and engine end to end: parallelism, the cache, byte-exact fixes, refused writes,
files that cannot be read or parsed, and rules that crash."""

from __future__ import annotations

import builtins
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import initlint.runner as runner
from initlint.cache import Cache, configuration_key
from initlint.engine import LintOptions, lint_source
from initlint.rules import BY_CODE
from initlint.rules.base import Report, Rule
from initlint.rules.il101_deprecated_init_alias import DeprecatedInitAlias
from initlint.source import SourceFile
from initlint.testing import options_for

BAD = "import torch.nn as nn\n\nlayer = nn.Linear(4, 4)\nnn.init.xavier_uniform(layer.weight)\n"
CLEAN = "import torch.nn as nn\n\nlayer = nn.Linear(4, 4)\nnn.init.zeros_(layer.bias)\n"
OPTIONS = options_for(["IL101"])


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def generate(folder: Path, count: int) -> list[str]:
    """Files with 0..3 findings each, on varying lines and columns, in three folders."""
    paths = []
    for n in range(count):
        lines = ["import torch.nn as nn", "from torch.nn import init", ""]
        lines += ["layer = nn.Linear(4, 4)"] * (n % 4)
        lines += ["v" * (k + 1) + f" = nn.init.normal(w{n})" for k in range(n % 3)]
        lines += ["init.xavier_uniform(w)"] if n % 5 == 0 else []
        path = folder / f"sub{n % 3}" / f"file_{n:03}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_text("\n".join(lines) + "\n")
        paths.append(os.path.relpath(path))
    return sorted(paths)


def test_serial_and_parallel_identical_and_ordered(cwd: Path) -> None:
    paths = generate(cwd, 48)
    assert len(paths) > runner.POOL_THRESHOLD
    serial = runner.run(paths, OPTIONS, jobs=1)
    parallel = runner.run(paths, OPTIONS, jobs=2)
    assert serial.findings == parallel.findings
    assert len(serial.findings) > 40
    keys = [(f.path, f.line, f.column, f.code) for f in parallel.findings]
    assert keys == sorted(keys)
    assert serial.files == parallel.files == 48


def test_parallel_really_uses_the_pool(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = generate(cwd, 40)
    used = []
    import concurrent.futures

    original = concurrent.futures.ProcessPoolExecutor

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        used.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", spy)
    runner.run(paths, OPTIONS, jobs=2)
    assert used
    used.clear()
    runner.run(paths[:3], OPTIONS, jobs=2)  # below the threshold: in process
    assert not used


def test_parallel_fix_mode(cwd: Path) -> None:
    paths = generate(cwd, 40)
    result = runner.run(paths, OPTIONS, mode="fix", jobs=2)
    assert result.fixed > 40
    assert runner.run(paths, OPTIONS, jobs=1).findings == []


# --- cache -----------------------------------------------------------------------------------


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def spy(source, options, deps=None):  # type: ignore[no-untyped-def]
        calls.append(source.path)
        return lint_source(source, options, deps)

    monkeypatch.setattr(runner, "lint_source", spy)
    return calls


def test_second_run_hits_the_cache(cwd: Path, counting: list[str]) -> None:
    paths = generate(cwd, 6)
    cache = Cache(cwd / "cache", configuration_key(["IL101"]))
    first = runner.run(paths, OPTIONS, cache=cache)
    assert sorted(counting) == paths
    assert len(list((cwd / "cache").glob("*/*.json"))) == 6
    counting.clear()
    second = runner.run(paths, OPTIONS, cache=Cache(cwd / "cache", configuration_key(["IL101"])))
    assert counting == []
    assert second.findings == first.findings
    # An edited file is a miss; the others still hit.
    Path(paths[1]).write_text(BAD)
    third = runner.run(paths, OPTIONS, cache=Cache(cwd / "cache", configuration_key(["IL101"])))
    assert counting == [paths[1]]
    assert next(f for f in third.findings if f.path == paths[1]).line == 4


def test_cached_findings_keep_fixes_and_take_the_current_path(cwd: Path) -> None:
    Path("a.py").write_text(BAD)
    Path("b.py").write_text(BAD)  # the same content: one entry, two paths
    cache = Cache(cwd / "cache", "k")
    first = runner.run(["a.py"], OPTIONS, cache=cache)
    second = runner.run(["a.py", "b.py"], OPTIONS, cache=cache)
    assert second.findings[0] == first.findings[0]
    assert second.findings[0].fix is not None
    assert [f.path for f in second.findings] == ["a.py", "b.py"]


def test_cached_related_locations_follow_the_file(tmp_path: Path) -> None:
    from initlint.finding import Finding, Related

    finding = Finding(
        "IL101", "deprecated-init-alias", "warning", "m", "a.py", 3, 1, 3, 2,
        related=(Related("here", 1, 1, 1, 2), Related("there", 2, 1, 2, 2, path="other.py")),
    )  # fmt: skip
    cache = Cache(tmp_path, "k")
    cache.put("digest", [finding])
    (hit,) = cache.get("digest", "b.py") or []
    assert hit.path == "b.py"
    assert [r.to_dict(hit.path)["path"] for r in hit.related] == ["b.py", "other.py"]


def test_cache_key_changes_with_the_selection(cwd: Path, counting: list[str]) -> None:
    from click.testing import CliRunner

    from initlint.cli import main

    (cwd / "pyproject.toml").write_text("[tool.initlint]\n")
    Path("a.py").write_text(BAD)
    invoke = CliRunner().invoke
    assert invoke(main, ["check", "a.py"]).exit_code == 1
    assert invoke(main, ["check", "a.py"]).exit_code == 1
    assert len(counting) == 1
    # A different selection must not reuse the entry (it would report IL101).
    assert invoke(main, ["check", "--ignore", "IL101", "a.py"]).exit_code == 0
    assert len(counting) == 2
    assert len([p for p in (cwd / ".initlint_cache").iterdir() if p.is_dir()]) == 2
    assert configuration_key(["IL101"]) != configuration_key(["IL101,IL102"])
    assert configuration_key(["IL101", "()"]) != configuration_key(["IL101", "(('a.b', 'normal_'),)"])


@pytest.mark.parametrize("garbage", [b"\x00\xff\xfe garbage", b"{not json", b'{"a": 1}', b"null", b"[1, 2]", b""])
def test_corrupt_cache_entry_is_rebuilt(cwd: Path, counting: list[str], garbage: bytes) -> None:
    Path("a.py").write_text(BAD)
    cache = Cache(cwd / "cache", "k")
    first = runner.run(["a.py"], OPTIONS, cache=cache)
    (entry,) = (cwd / "cache" / "k").glob("*.json")
    entry.write_bytes(garbage)
    second = runner.run(["a.py"], OPTIONS, cache=Cache(cwd / "cache", "k"))
    assert second.findings == first.findings
    assert len(counting) == 2
    assert entry.read_bytes() != garbage  # rewritten with a good entry
    runner.run(["a.py"], OPTIONS, cache=Cache(cwd / "cache", "k"))
    assert len(counting) == 2


def test_cache_dir_gets_its_own_gitignore(cwd: Path) -> None:
    Path("a.py").write_text(CLEAN)
    runner.run(["a.py"], OPTIONS, cache=Cache(cwd / "deep" / "cache", "k"))
    assert (cwd / "deep" / "cache" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_unwritable_cache_is_not_an_error(cwd: Path) -> None:
    Path("a.py").write_text(BAD)
    Path("blocker").write_text("a file where the cache folder should be")
    result = runner.run(["a.py"], OPTIONS, cache=Cache(cwd / "blocker" / "cache", "k"))
    assert [f.code for f in result.findings] == ["IL101"]


# --- fixes are byte-exact --------------------------------------------------------------------


@pytest.mark.parametrize(
    "original",
    [
        pytest.param(BAD.replace("\n", "\r\n").encode(), id="crlf"),
        pytest.param(b"\xef\xbb\xbf" + BAD.encode(), id="bom"),
        pytest.param(
            b"import torch.nn as nn\n\nclass M:\n\tdef f(self):\n\t\tnn.init.xavier_uniform(self.w)\t# tab\n", id="tabs"
        ),
        pytest.param(
            b"# -*- coding: latin-1 -*-\n# caf\xe9 \xb5\nimport torch.nn as nn\n"
            b"x = '\xe9'; nn.init.xavier_uniform(w)\n",
            id="latin-1",
        ),
        pytest.param(b"\xef\xbb\xbf" + BAD.replace("\n", "\r\n").encode() + b"# no newline at end", id="bom-crlf"),
        pytest.param(BAD.replace("\n", "\r").encode(), id="cr"),
    ],
)
def test_fix_preserves_bytes_outside_the_edit(cwd: Path, original: bytes) -> None:
    Path("a.py").write_bytes(original)
    result = runner.run(["a.py"], OPTIONS, mode="fix")
    assert result.fixed == 1, result.messages
    assert Path("a.py").read_bytes() == original.replace(b"xavier_uniform(", b"xavier_uniform_(")


def test_fix_keeps_the_file_mode(cwd: Path) -> None:
    Path("a.py").write_text(BAD)
    os.chmod("a.py", 0o751)
    runner.run(["a.py"], OPTIONS, mode="fix")
    assert stat.S_IMODE(os.stat("a.py").st_mode) == 0o751
    assert "xavier_uniform_(" in Path("a.py").read_text()


def test_diff_mode_writes_nothing(cwd: Path) -> None:
    Path("a.py").write_text(BAD)
    result = runner.run(["a.py"], OPTIONS, mode="diff")
    assert Path("a.py").read_text() == BAD
    assert result.fixed == 1
    assert result.diffs[0].startswith("--- a/a.py\n+++ b/a.py\n")


def test_changed_on_disk_between_read_and_write_is_refused(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Path("a.py").write_text(BAD)
    edited = BAD + "# edited by someone else meanwhile\n"
    original = runner.fix_source

    def racing(source, options, unsafe):  # type: ignore[no-untyped-def]
        outcome = original(source, options, unsafe)
        Path("a.py").write_text(edited)
        return outcome

    monkeypatch.setattr(runner, "fix_source", racing)
    result = runner.run(["a.py"], OPTIONS, mode="fix")
    assert Path("a.py").read_text() == edited
    assert result.fixed == 0
    assert result.messages == ["a.py: fixes not written: the file changed on disk since it was read"]
    assert [f.code for f in result.findings] == ["IL101"]  # still there


def test_read_only_file_is_reported_not_crashed(cwd: Path) -> None:
    Path("a.py").write_text(BAD)
    os.chmod("a.py", 0o444)
    try:
        result = runner.run(["a.py"], OPTIONS, mode="fix")
    finally:
        os.chmod("a.py", 0o644)
    assert Path("a.py").read_text() == BAD
    assert result.messages == ["a.py: fixes not written: the file is read-only"]
    assert result.fixed == 0
    assert [f.code for f in result.findings] == ["IL101"]


def test_read_only_file_through_the_cli(cwd: Path) -> None:
    from click.testing import CliRunner

    from initlint.cli import main

    (cwd / "pyproject.toml").write_text("[tool.initlint]\n")
    Path("a.py").write_text(BAD)
    os.chmod("a.py", 0o444)
    try:
        result = CliRunner().invoke(main, ["check", "--fix", "a.py"])
    finally:
        os.chmod("a.py", 0o644)
    assert result.exit_code == 1
    assert "initlint: a.py: fixes not written: the file is read-only" in result.stderr
    assert "a.py:4:9: IL101" in result.stdout


def test_files_without_fixes_are_not_rewritten(cwd: Path) -> None:
    Path("clean.py").write_text(CLEAN)
    Path("broken.py").write_text("import torch.nn as nn\nnn.init.normal(w\n")
    Path("a.py").write_text(BAD)
    before = {}
    for name in ("clean.py", "broken.py", "a.py"):
        os.utime(name, ns=(1_000_000_000, 1_000_000_000))
        before[name] = os.stat(name)
    result = runner.run(["a.py", "broken.py", "clean.py"], OPTIONS, mode="fix")
    assert result.fixed == 1
    for name in ("clean.py", "broken.py"):
        after = os.stat(name)
        assert (after.st_mtime_ns, after.st_ino) == (before[name].st_mtime_ns, before[name].st_ino)
    assert os.stat("a.py").st_mtime_ns != before["a.py"].st_mtime_ns
    assert not [p for p in cwd.iterdir() if p.name.endswith(".initlint")]  # no temp files left


# --- files that cannot be checked ------------------------------------------------------------


def test_syntax_error_is_il900_with_location(cwd: Path) -> None:
    Path("a.py").write_text("import torch.nn as nn\ndef f(:\n    nn.init.normal(w)\n")
    (finding,) = runner.run(["a.py"], OPTIONS).findings
    assert finding.code == "IL900"
    assert finding.message.startswith("SyntaxError")
    assert finding.path == "a.py"
    assert (finding.line, finding.column) == (2, 7)  # where the interpreter puts it


def test_syntax_error_reported_even_when_no_rule_can_fire(cwd: Path) -> None:
    Path("a.py").write_text("x = [1,\n")
    (finding,) = runner.run(["a.py"], OPTIONS).findings
    assert finding.code == "IL900" and finding.line == 1


def test_newer_grammar_than_the_interpreter_is_not_a_syntax_error(cwd: Path) -> None:
    Path("a.py").write_text("type Vector = list[float]\n")
    assert runner.run(["a.py"], OPTIONS).findings == []


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x7fELF\x02\x01\x01\x00\x00\x00torch", "NUL"),
        (b"import torch\nx = 1\x00\n", "NUL"),
        (b"import torch\nx = '\xff\xfe'\n", "cannot decode"),
        (b"# -*- coding: klingon -*-\nimport torch\n", "klingon"),
        (b"\xef\xbb\xbf# coding: latin-1\nimport torch\n", "encoding"),
    ],
)
def test_unreadable_content_is_il901(cwd: Path, data: bytes, reason: str) -> None:
    Path("a.py").write_bytes(data)
    (finding,) = runner.run(["a.py"], OPTIONS).findings
    assert finding.code == "IL901"
    assert reason in finding.message
    assert (finding.line, finding.column) == (1, 1)


def test_unreadable_file_is_il901(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Path("a.py").write_text(BAD)
    Path("b.py").write_text(BAD)
    os.chmod("a.py", 0)
    try:
        with open("a.py", "rb"):
            pass
    except PermissionError:
        pass  # chmod bites (not root)
    else:  # root reads anything: simulate the refusal
        real_open = builtins.open

        def deny(file, *args, **kwargs):  # type: ignore[no-untyped-def]
            if os.fspath(file) == "a.py":
                raise PermissionError(13, "Permission denied", file)
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(runner, "open", deny, raising=False)
    try:
        for cache in (None, Cache(cwd / "cache", "k")):
            result = runner.run(["a.py", "b.py"], OPTIONS, cache=cache)
            assert [(f.path, f.code) for f in result.findings] == [("a.py", "IL901"), ("b.py", "IL101")]
            assert "Permission denied" in result.findings[0].message
    finally:
        os.chmod("a.py", 0o644)


# --- rules that crash ------------------------------------------------------------------------


class _Exploding(Rule):
    code = "IL990"
    name = "exploding-test-rule"
    summary = "raises"

    def check(self, model):  # type: ignore[no-untyped-def]
        raise ValueError("rule bug")


class _Reporting(Rule):
    code = "IL991"
    name = "reporting-test-rule"
    summary = "reports the first statement"

    def check(self, model) -> Iterator[Report]:  # type: ignore[no-untyped-def]
        yield Report(model.module.body[0], "first statement")


def test_crashing_rule_is_il999_and_others_still_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BY_CODE, "IL990", _Exploding)
    monkeypatch.setitem(BY_CODE, "IL991", _Reporting)
    source = SourceFile("m.py", BAD, "utf-8")
    findings = lint_source(source, options_for(["IL101", "IL990", "IL991"]))
    assert sorted(f.code for f in findings) == ["IL101", "IL991", "IL999"]
    (crash,) = [f for f in findings if f.code == "IL999"]
    assert "IL990 (exploding-test-rule)" in crash.message
    assert "ValueError: rule bug" in crash.message
    assert "Traceback" not in crash.message
    verbose = lint_source(source, LintOptions(frozenset({"IL990", "IL999"}), verbose=True))
    assert "Traceback" in verbose[0].message


def test_crashing_rule_in_a_worker_process(cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self, model):  # type: ignore[no-untyped-def]
        raise RuntimeError("kaboom")

    monkeypatch.setattr(DeprecatedInitAlias, "check", boom)  # inherited by forked workers
    paths = generate(cwd, 40)
    result = runner.run(paths, OPTIONS, jobs=2)
    codes = {f.code for f in result.findings}
    assert codes == {"IL999"}
    assert all("IL101 (deprecated-init-alias)" in f.message for f in result.findings)
