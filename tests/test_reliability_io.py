"""Issue 8, the run and IO half: what a hostile user tried against `initlint check` and what it
must do instead. Through the real command line (click's CliRunner, real files in tmp_path), and
one subprocess where the behaviour is about processes (workers outliving a killed parent).

- `-j N` is capped at min(N, files, 2 x cores); workers end when their parent dies.
- A coding declaration naming a codec that is not a text codec is IL901 for that file only; a
  bad .gitignore line is skipped with a warning, the rest of the file still applies.
- A file swapped for a named pipe after discovery is IL901, never a hang.
- The cache stores no internal errors (so no tracebacks) and validates every entry it reads.
- --fix keeps owner, group and mode, refuses hard-linked files and links leading outside the
  checked paths.
- An empty path is a usage error; text output is one finding per line, control characters
  escaped."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import initlint.discovery as discovery
import initlint.runner as runner
from initlint.cache import Cache, _valid_entry
from initlint.cli import main
from initlint.rules.il101_deprecated_init_alias import DeprecatedInitAlias
from initlint.testing import options_for

BAD = "import torch.nn as nn\n\nlayer = nn.Linear(4, 4)\nnn.init.xavier_uniform(layer.weight)\n"
FIXED = BAD.replace("xavier_uniform(", "xavier_uniform_(")
OPTIONS = options_for(["IL101"])


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: str | Path, text: str | bytes = BAD) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, ["check", *args])


def found(result: Result) -> list[tuple[str, str]]:
    return [(f["path"], f["code"]) for f in json.loads(result.stdout)["findings"]]


def no_traceback(result: Result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output


class Hang(Exception):  # not an OSError (TimeoutError is one), so no reader mistakes it for an IO error
    pass


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging: a blocked open() is interrupted and the handler raises."""

    def expired(signum: int, frame: object) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# --- 1. worker processes: capped, and never outliving the parent -----------------------------


class FakePool:
    """Stands in for ProcessPoolExecutor: records how many workers were asked for and runs the
    chunks in this process (no fork, so no fork bomb whatever the request)."""

    created: list[int] = []

    def __init__(self, max_workers: int, **kwargs: Any) -> None:
        FakePool.created.append(max_workers)

    def __enter__(self) -> FakePool:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn: Callable[..., Any], chunks: Iterator[list[runner.Job]]) -> list[list[runner.FileOutcome]]:
        return [[runner.run_job(job, OPTIONS) for job in chunk] for chunk in chunks]


@pytest.fixture
def fake_pool(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    FakePool.created = []
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", FakePool)
    monkeypatch.setattr(runner, "_cores", lambda: 2)
    return FakePool.created


def test_workers_are_capped_at_twice_the_cores(project: Path, fake_pool: list[int]) -> None:
    for n in range(40):
        write(f"m{n:02}.py")
    result = cli("--no-cache", "--format", "json", "-j", "10000", ".")
    assert result.exit_code == 1, result.output
    assert len(found(result)) == 40
    assert fake_pool == [4]  # min(10000, 40 files, 2 cores x 2)


def test_workers_are_capped_at_the_number_of_files(project: Path, fake_pool: list[int], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(runner, "_cores", lambda: 64)
    paths = [str(write(f"m{n:02}.py")) for n in range(runner.POOL_THRESHOLD + 2)]
    result = runner.run(paths, OPTIONS, jobs=10000)
    assert len(result.findings) == len(paths)
    assert fake_pool == [len(paths)]
    assert runner.worker_count(3, 100) == 3  # never more than asked
    assert runner.worker_count(1000, 0) == 1


ORPHAN_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import initlint.runner as runner
    from initlint.testing import options_for

    folder, mode = Path(sys.argv[1]), sys.argv[2]
    if mode == "watchdog":
        runner._parent_death_signal = lambda: False  # a platform without prctl: the fallback
    else:
        runner._watch_parent = lambda parent: None  # prctl alone must do it

    def stuck(job, options):  # inherited by the forked workers: each records itself, then waits
        (folder / "pids" / str(os.getpid())).touch()
        time.sleep(300)

    runner.run_job = stuck
    paths = sorted(str(p) for p in folder.glob("*.py"))
    runner.run(paths, options_for(["IL101"]), jobs=2)
    """
)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has exited; only its reaping is left


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc and fork: Linux")
@pytest.mark.parametrize("mode", ["prctl", "watchdog"])
def test_workers_exit_when_the_parent_is_killed(tmp_path: Path, mode: str) -> None:
    for n in range(runner.POOL_THRESHOLD + 4):
        write(tmp_path / f"m{n:02}.py")
    (tmp_path / "pids").mkdir()
    script = tmp_path / "parent.py"
    script.write_text(ORPHAN_SCRIPT)
    parent = subprocess.Popen([sys.executable, str(script), str(tmp_path), mode], stderr=subprocess.PIPE)
    workers: list[int] = []
    try:
        start = time.monotonic()
        while len(workers) < 2 and time.monotonic() - start < 60:
            time.sleep(0.1)
            workers = [int(p.name) for p in (tmp_path / "pids").iterdir()]
        assert len(workers) == 2, parent.stderr.read() if parent.poll() is not None else "workers did not start"
        parent.kill()  # SIGKILL: no chance to shut the pool down
        parent.wait(timeout=30)
        start = time.monotonic()
        while any(_alive(pid) for pid in workers) and time.monotonic() - start < 20:
            time.sleep(0.1)
        assert not [pid for pid in workers if _alive(pid)], "workers outlived their parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        for pid in workers:  # the workers this test started, if the fix ever regresses
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


# --- 3. one bad file or .gitignore line never stops the run --------------------------------------

NOT_TEXT_CODECS = ["punycode", "undefined", "no-such-codec", "rot13", "hex", "base64", "zip", "uu", "bz2"]


@pytest.mark.parametrize("codec", NOT_TEXT_CODECS)
def test_coding_declaration_naming_a_non_text_codec_is_il901(project: Path, codec: str) -> None:
    write("good.py")
    write("weird.py", f"# -*- coding: {codec} -*-\n{BAD}")
    for args in (["--no-cache"], [], [], ["--fix"]):  # the cache written, then read
        result = cli(*args, "--format", "json", ".")
        no_traceback(result)
        assert result.exit_code == 1, result.output
        assert found(result) == [("good.py", "IL101")] * (args != ["--fix"]) + [("weird.py", "IL901")]
    message = json.loads(result.stdout)["findings"][-1]["message"]
    assert "unreadable file" in message and "weird.py" not in message
    assert Path("weird.py").read_text(encoding="latin-1").endswith(BAD)  # never rewritten


def test_fix_never_rewrites_a_file_whose_codec_does_not_round_trip(project: Path) -> None:
    # unicode_escape decodes these bytes fine, but encodes each newline back as a backslash-n.
    original = f"# coding: unicode_escape\n{BAD}".encode()
    write("esc.py", original)
    result = cli("--no-cache", "--fix", "esc.py")
    no_traceback(result)
    assert result.exit_code == 1, result.output
    assert Path("esc.py").read_bytes() == original
    assert "esc.py: fixes not applied: its text cannot be written back as unicode_escape" in result.stderr
    assert "esc.py:5:9: IL101" in result.stdout


def test_bad_gitignore_lines_are_skipped_with_a_warning(project: Path) -> None:
    write("a.py")
    write("ignored.py")
    write("sub/b.py")
    write("sub/gone.py")
    write(".gitignore", "[z-a]\n[]\nignored.py\n")
    write("sub/.gitignore", "gone.py\n[!]\n")
    result = cli("--no-cache", "--format", "json", ".")
    no_traceback(result)
    assert result.exit_code == 1, result.output
    assert found(result) == [("a.py", "IL101"), ("sub/b.py", "IL101")]  # the good lines still apply
    warnings = result.stderr.splitlines()
    assert len(warnings) == 3, warnings
    assert all(line.startswith("initlint: warning: ") and "line skipped" in line for line in warnings)
    assert ".gitignore:1: invalid pattern '[z-a]'" in warnings[0]
    assert ".gitignore:2: invalid pattern '[]'" in warnings[1]
    assert "sub/.gitignore:2: invalid pattern '[!]'" in warnings[2]
    # The root .gitignore applies to each given folder, and is warned about once.
    result = cli("--no-cache", "--format", "json", "sub", "./sub")
    assert found(result) == [("sub/b.py", "IL101")]
    assert len([line for line in result.stderr.splitlines() if "'[z-a]'" in line]) == 1


def test_gitignore_brackets_are_character_sets_not_regex(project: Path) -> None:
    for name in ("xa.py", "x!.py", "x^.py", "xb.py"):
        write(name)
    write(".gitignore", "x[a!].py\n")  # `!` negates only in first place
    result = cli("--no-cache", "--format", "json", ".")
    assert result.exit_code == 1, result.output
    assert found(result) == [("x^.py", "IL101"), ("xb.py", "IL101")]


# --- 4. a file swapped for a named pipe after discovery ------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
@pytest.mark.parametrize("args", [["--no-cache"], [], ["--fix"], ["--diff"]])
def test_file_swapped_for_a_pipe_after_discovery_is_il901(
    project: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    write("a.py")
    write("b.py")
    real = discovery.discover

    def discover_then_swap(*a: Any, **k: Any) -> list[Path]:
        files = real(*a, **k)
        os.unlink("b.py")
        os.mkfifo("b.py")  # nobody will ever write to it
        return files

    monkeypatch.setattr(discovery, "discover", discover_then_swap)
    with deadline(30):
        result = cli(*args, "--format", "json", ".")
    no_traceback(result)
    assert stat.S_ISFIFO(os.stat("b.py").st_mode)  # left as it is
    if args == ["--diff"]:
        assert result.exit_code == 1 and "+nn.init.xavier_uniform_(" in result.stdout
        return
    assert result.exit_code == 1, result.output
    findings = json.loads(result.stdout)["findings"]
    assert [(f["path"], f["code"]) for f in findings][-1] == ("b.py", "IL901")
    assert "not a regular file" in findings[-1]["message"]


# --- 5. the cache: no replayed tracebacks, no unchecked entries -----------------------------------


def test_verbose_traceback_is_not_replayed_from_the_cache(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(self, model):  # type: ignore[no-untyped-def]
        raise RuntimeError("kaboom")

    monkeypatch.setattr(DeprecatedInitAlias, "check", boom)
    write("a.py")
    verbose = cli("-v", "--format", "json", "a.py")
    assert json.loads(verbose.stdout)["findings"][0]["code"] == "IL999"
    assert "Traceback" in json.loads(verbose.stdout)["findings"][0]["message"]
    plain = cli("--format", "json", "a.py")
    (finding,) = json.loads(plain.stdout)["findings"]
    assert finding["code"] == "IL999"
    assert "Traceback" not in finding["message"] and "RuntimeError: kaboom" in finding["message"]
    assert list(Path(".initlint_cache").glob("*/*.json")) == []  # an internal error is never stored


def _entry(project: Path) -> Path:
    (entry,) = project.glob(".initlint_cache/*/*.json")
    return entry


TAMPERED: dict[str, Callable[[dict[str, Any]], object]] = {
    "severity": lambda d: d.update(severity="fatal"),
    "severity-type": lambda d: d.update(severity=["error"]),
    "unknown-code": lambda d: d.update(code="IL000"),
    "il999": lambda d: d.update(code="IL999", name="internal-error"),
    "name": lambda d: d.update(name="something-else"),
    "line-zero": lambda d: d.update(line=0),
    "line-string": lambda d: d.update(line="4"),
    "line-bool": lambda d: d.update(column=True),
    "line-float": lambda d: d.update(end_column=10.5),
    "end-before-start": lambda d: d.update(end_line=1),
    "message": lambda d: d.update(message=None),
    "extra-key": lambda d: d.update(confirmed_at_runtime="IL601"),
    "missing-key": lambda d: d.pop("end_column"),
    "related-line": lambda d: d.update(related=[{"message": "m", "line": -1, "column": 1, "end_line": 1, "end_column": 2}]),
    "related-type": lambda d: d.update(related={"message": "m"}),
    "fix-applicability": lambda d: d["fix"].update(applicability="maybe"),
    "fix-no-edits": lambda d: d["fix"].update(edits=[]),
    "fix-edit-shape": lambda d: d["fix"].update(edits=[{"line": 1, "column": 1}]),
    "fix-edit-content": lambda d: d["fix"]["edits"][0].update(content=3),
    "fix-type": lambda d: d.update(fix="yes"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(TAMPERED))
def test_invalid_cache_entries_are_misses(project: Path, name: str) -> None:
    write("a.py")
    first = cli("--format", "json", "a.py")
    entry = _entry(project)
    items = json.loads(entry.read_bytes())
    assert all(_valid_entry(item) for item in items)
    TAMPERED[name](items[0])
    assert not _valid_entry(items[0])
    entry.write_text(json.dumps(items))
    for output in ("sarif", "github", "text", "json"):
        result = cli("--format", output, "a.py")
        no_traceback(result)
        assert result.exit_code == 1, result.output
    assert cli("--format", "json", "a.py").stdout == first.stdout  # recomputed, and stored right again
    assert all(_valid_entry(item) for item in json.loads(_entry(project).read_bytes()))


def test_cache_miss_for_deeply_nested_json(tmp_path: Path) -> None:
    cache = Cache(tmp_path, "k")
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "d.json").write_text("[" * 100_000 + "]" * 100_000)
    assert cache.get("d", "a.py") is None


# --- 7. --fix keeps the file's identity and stays inside the checked paths ------------------------


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file away needs root")
def test_fix_as_root_keeps_owner_group_and_mode(project: Path) -> None:
    path = write("a.py")
    os.chown(path, 12345, 23456)
    os.chmod(path, 0o640)
    result = cli("--no-cache", "--fix", "a.py")
    assert result.exit_code == 0, result.output
    assert path.read_text() == FIXED
    info = os.stat(path)
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (12345, 23456, 0o640)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file away needs root")
def test_fix_refuses_when_the_owner_cannot_be_kept(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write("a.py")
    os.chown(path, 12345, 23456)  # someone else's file, in a folder we may write

    def denied(*args: Any) -> None:  # what chown says to a user who is not root
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "chown", denied)
    result = cli("--no-cache", "--fix", "a.py")
    assert result.exit_code == 1, result.output
    assert "a.py: fixes not written: cannot keep the file's owner and group (uid 12345, gid 23456)" in result.stderr
    assert path.read_text() == BAD and os.stat(path).st_uid == 12345
    assert [p.name for p in project.iterdir() if p.name.endswith(".initlint")] == []  # no temporary left


def test_fix_refuses_hard_linked_files(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = write("a.py")
    elsewhere = tmp_path_factory.mktemp("backup") / "a.py"
    os.link(path, elsewhere)  # like a `cp -al` snapshot
    result = cli("--no-cache", "--fix", ".")
    assert result.exit_code == 1, result.output
    assert "a.py: fixes not written: the file has 2 hard links" in result.stderr
    assert path.read_text() == BAD and elsewhere.read_text() == BAD
    assert os.stat(path).st_ino == os.stat(elsewhere).st_ino  # still one file


def test_fix_never_writes_through_a_link_to_outside_the_checked_paths(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = write(tmp_path_factory.mktemp("outside") / "target.py")
    os.mkdir("pkg")
    os.symlink(outside, "pkg/link.py")
    inside = write("pkg/real.py")
    os.symlink("real.py", "pkg/alias.py")  # a link inside the checked paths is written through
    result = cli("--no-cache", "--fix", "pkg")
    assert result.exit_code == 1, result.output
    assert (
        f"pkg/link.py: fixes not written: it links to {outside.resolve()}, outside the checked paths" in result.stderr
    )
    assert outside.read_text() == BAD
    assert inside.read_text() == FIXED and os.path.islink("pkg/alias.py")
    assert "pkg/link.py:4:9: IL101" in result.stdout
    # A link named on the command line is the file the user asked to fix.
    result = cli("--no-cache", "--fix", "pkg/link.py")
    assert result.exit_code == 0, result.output
    assert outside.read_text() == FIXED and os.path.islink("pkg/link.py")


# --- 8. empty paths, one finding per line ----------------------------------------------------------


@pytest.mark.parametrize("args", [[""], ["--fix", ""], ["a.py", ""], ["--cache-dir", "", "a.py"]])
def test_empty_path_is_a_usage_error(project: Path, args: list[str]) -> None:
    write("a.py")
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert "empty path" in result.output
    assert Path("a.py").read_text() == BAD
    assert not Path(".initlint_cache").exists()


def test_text_output_is_one_finding_per_line(project: Path) -> None:
    names = ["new\nline.py", "esc\x1b[2J.py", "cr\rhere.py", "sep\u2028x.py"]
    for name in names:
        write(name)
    result = cli("--no-cache", "--color", "never", ".")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(names) + 2  # the findings, the summary and the fixable count
    assert "\x1b" not in result.stdout
    assert any(line.startswith("new\\nline.py:4:9: IL101") for line in lines)
    assert any(line.startswith("esc\\x1b[2J.py:4:9: IL101") for line in lines)
    assert any(line.startswith("sep\\u2028x.py:4:9: IL101") for line in lines)
    # Messages on stderr too: one line per refused write.
    os.chmod("new\nline.py", 0o444)
    result = cli("--no-cache", "--fix", "new\nline.py")
    assert "initlint: new\\nline.py: fixes not written: the file is read-only" in result.stderr.splitlines()
