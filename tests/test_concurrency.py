"""Several `initlint check` processes at once over one shared `--cache-dir`, runs killed in the
middle of filling it, damaged entries, and cache folders that cannot be used: output stays
identical and correct, the cache never holds a corrupt entry, and no run fails because of it."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from initlint.cli import main
from initlint.runner import cache_digest

COUNT = 200
TIMEOUT = 120
SCRIPT = Path(sys.executable).parent / "initlint"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "initlint"]


def generate(folder: Path, count: int = COUNT) -> dict[str, list[str]]:
    """``count`` distinct files in a few folders; every 4th has an IL101 (one or two), every
    25th a syntax error (IL900), the rest are clean. Returns the expected codes per path."""
    expected: dict[str, list[str]] = {}
    for n in range(count):
        path = f"pkg{n % 4}/mod_{n:03}.py"
        lines = [f"# file {n}", "import torch.nn as nn", "", f"layer{n} = nn.Linear({n + 1}, 4)"]
        codes = []
        if n % 4 == 0:
            lines.append(f"nn.init.xavier_uniform(layer{n}.weight)")
            codes.append("IL101")
            if n % 8 == 0:
                lines.append(f"nn.init.normal(layer{n}.bias)")
                codes.append("IL101")
        else:
            lines.append(f"nn.init.zeros_(layer{n}.bias)")
        if n % 25 == 7:
            lines.append("def broken(:")
            codes = ["IL900"]
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text("\n".join(lines) + "\n")
        if codes:
            expected[path] = codes
    return expected


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]], str]:
    """The generated project, its expected findings, and the reference output (serial, no cache)."""
    folder = tmp_path_factory.mktemp("concurrency")
    (folder / "pyproject.toml").write_text("[tool.initlint]\n")
    expected = generate(folder)
    reference = check(folder, "--no-cache", "-j", "1")
    assert reference.returncode == 1, reference.stderr
    found: dict[str, list[str]] = {}
    for finding in json.loads(reference.stdout)["findings"]:
        found.setdefault(finding["path"], []).append(finding["code"])
    assert found == expected  # the reference itself is right
    return folder, expected, reference.stdout


def check(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, "check", "--format", "json", *args, "."], cwd=folder, capture_output=True, text=True,
        timeout=TIMEOUT,
    )  # fmt: skip


def start(folder: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*COMMAND, "check", "--format", "json", *args, "."], cwd=folder, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("*/*.json"))


def assert_sound(cache: Path, count: int | None = COUNT) -> None:
    """Every entry parses, nothing else is there (no temporary files), one entry per content."""
    names = sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*") if p.is_file())
    strays = [n for n in names if n != ".gitignore" and not (n.endswith(".json") and n.count("/") == 1)]
    assert strays == [], strays
    for entry in entries(cache):
        assert isinstance(json.loads(entry.read_bytes()), list), entry
        assert not entry.name.startswith(".tmp-")
    if count is not None:
        assert len(entries(cache)) == count


def entry_of(cache: Path, folder: Path, path: str) -> Path:
    (key,) = [p for p in cache.iterdir() if p.is_dir() and p.name != "summaries"]
    # With project analysis (the CLI's default) a file's key includes its place.
    return key / f"{cache_digest((folder / path).read_bytes(), str(folder / path), project=True)}.json"


# --- several processes at once -----------------------------------------------------------------


def test_concurrent_runs_share_one_cache(corpus: tuple[Path, dict[str, list[str]], str], tmp_path: Path) -> None:
    folder, _, reference = corpus
    rounds = [  # cold, cold again, then warm: each a race between processes sharing the folder
        (tmp_path / "cache-a", ("1", "2", "1")),
        (tmp_path / "cache-b", ("2", "1")),
        (tmp_path / "cache-b", ("1", "2")),
    ]
    for cache, jobs in rounds:
        runs = [start(folder, "--cache-dir", str(cache), "-j", j) for j in jobs]
        outputs = [run.communicate(timeout=TIMEOUT) for run in runs]
        for run, (out, err) in zip(runs, outputs, strict=True):
            assert run.returncode == 1, err
            assert err == ""
            assert out == reference  # identical and correct, whoever wrote the cache
        assert_sound(cache)


def test_warm_run_reads_the_cache(corpus: tuple[Path, dict[str, list[str]], str], tmp_path: Path) -> None:
    folder, _, reference = corpus
    cache = tmp_path / "cache"
    assert check(folder, "--cache-dir", str(cache)).stdout == reference
    assert_sound(cache)
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in entries(cache)}
    # Poison one entry with a finding no analysis could produce: only a cache read shows it.
    poisoned = entry_of(cache, folder, "pkg0/mod_004.py")
    data = json.loads(poisoned.read_bytes())
    data[0]["message"] = "POISONED: read from the cache"
    poisoned.write_text(json.dumps(data))
    before[poisoned] = (poisoned.stat().st_ino, poisoned.stat().st_mtime_ns)
    warm = check(folder, "--cache-dir", str(cache))
    assert warm.returncode == 1, warm.stderr
    (hit,) = [f for f in json.loads(warm.stdout)["findings"] if f["message"].startswith("POISONED")]
    assert hit["path"] == "pkg0/mod_004.py"
    # Nothing was recomputed and written again.
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in entries(cache)} == before
    # Without the cache the poison is gone: the entry, not the file, said it.
    assert check(folder, "--no-cache").stdout == reference


# --- damaged entries and runs killed mid-write -------------------------------------------------------


def test_truncated_entry_is_rebuilt(corpus: tuple[Path, dict[str, list[str]], str], tmp_path: Path) -> None:
    folder, _, reference = corpus
    cache = tmp_path / "cache"
    check(folder, "--cache-dir", str(cache))
    damaged = {
        entry_of(cache, folder, "pkg0/mod_000.py"): lambda b: b[: len(b) // 2],  # cut mid-write
        entry_of(cache, folder, "pkg0/mod_008.py"): lambda b: b"",  # created, never written
        entry_of(cache, folder, "pkg3/mod_007.py"): lambda b: b[:-1],  # the syntax error's entry, one byte short
    }
    good = {}
    for entry, damage in damaged.items():
        good[entry] = entry.read_bytes()
        entry.write_bytes(damage(good[entry]))
    stray = next(iter(damaged)).parent / ".tmp-abc123.part"  # a writer killed before its rename
    stray.write_bytes(b'[{"code": "IL1')
    result = check(folder, "--cache-dir", str(cache))
    assert (result.returncode, result.stdout) == (1, reference), result.stderr
    for entry, content in good.items():
        assert entry.read_bytes() == content  # rebuilt
    stray.unlink()
    assert_sound(cache)


def test_killed_run_leaves_no_corrupt_entry(corpus: tuple[Path, dict[str, list[str]], str], tmp_path: Path) -> None:
    folder, _, reference = corpus
    cache = tmp_path / "cache"
    run = start(folder, "--cache-dir", str(cache), "-j", "1")  # serial: entries appear one by one
    deadline = time.monotonic() + 60
    while run.poll() is None and time.monotonic() < deadline and len(entries(cache)) < 20:
        time.sleep(0.005)
    run.send_signal(signal.SIGKILL)
    run.communicate(timeout=TIMEOUT)
    for entry in entries(cache):
        assert isinstance(json.loads(entry.read_bytes()), list), entry
    result = check(folder, "--cache-dir", str(cache))
    assert (result.returncode, result.stdout) == (1, reference), result.stderr
    for stray in cache.glob("*/.tmp-*.part"):  # a kill between write and rename may leave one
        stray.unlink()
    assert_sound(cache)


# --- cache folders that cannot be used ----------------------------------------------------------


def test_cache_dir_that_is_a_file(corpus: tuple[Path, dict[str, list[str]], str], tmp_path: Path) -> None:
    folder, _, reference = corpus
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache should be\n")
    for path in (blocker, blocker / "below-a-file"):
        result = check(folder, "--cache-dir", str(path))
        assert (result.returncode, result.stdout, result.stderr) == (1, reference, "")
    assert blocker.read_text() == "a file where the cache should be\n"


def test_read_only_cache_dir(
    corpus: tuple[Path, dict[str, list[str]], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, expected, _ = corpus
    monkeypatch.chdir(folder)
    full, empty = tmp_path / "full", tmp_path / "empty"
    assert CliRunner().invoke(main, ["check", "-q", "--cache-dir", str(full), "."]).exit_code == 1
    empty.mkdir()
    if os.geteuid() == 0:  # root writes anyway: refuse the way a read-only folder would
        import initlint.cache

        def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
            raise PermissionError(13, "Permission denied", kwargs.get("dir"))

        monkeypatch.setattr(initlint.cache.tempfile, "mkstemp", refuse)
    for cache in (full, empty):
        os.chmod(cache, 0o555)
        for key in [p for p in cache.iterdir() if p.is_dir()]:
            os.chmod(key, 0o555)
    try:
        for cache in (full, empty):
            result = CliRunner().invoke(main, ["check", "--format", "json", "--cache-dir", str(cache), "."])
            assert result.exit_code == 1, result.output
            assert "Traceback" not in result.output and result.stderr == ""
            assert len(json.loads(result.stdout)["findings"]) == sum(len(c) for c in expected.values())
    finally:
        for path in (full, empty, *full.iterdir()):
            os.chmod(path, stat.S_IRWXU)
    assert list(empty.rglob("*.json")) == []  # nothing cached
    assert not [p for p in empty.rglob("*") if p.name.startswith(".tmp-")]
    assert len(entries(full)) == COUNT  # the entries that were there are still there, whole
    assert_sound(full)


def test_concurrent_fix_runs_never_corrupt_a_file(tmp_path: Path) -> None:
    """Two `--fix` runs racing over the same files: each file ends fixed exactly once (a run
    that finds the file changed under it refuses its write and says so), none is damaged."""
    racing, serial = tmp_path / "racing", tmp_path / "serial"
    for folder in (racing, serial):
        folder.mkdir()
        (folder / "pyproject.toml").write_text("[tool.initlint]\n")
        generate(folder)
    check(serial, "--no-cache", "--fix", "-j", "1")  # the reference result
    runs = [start(racing, "--no-cache", "--fix", "-j", j) for j in ("2", "1")]
    outputs = [run.communicate(timeout=TIMEOUT) for run in runs]
    for run, (_, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 1, err  # the syntax errors stay
        assert "Traceback" not in err
        for line in err.splitlines():  # the only thing a run may say: a refused write
            assert line.endswith("fixes not written: the file changed on disk since it was read"), line
    expected = {p.relative_to(serial): p.read_bytes() for p in serial.rglob("*.py")}
    assert {p.relative_to(racing): p.read_bytes() for p in racing.rglob("*.py")} == expected
    assert sum(b"xavier_uniform_(" in data for data in expected.values()) == COUNT // 4 - 2  # 2 are IL900 files
    assert not [p for p in racing.rglob("*") if p.name.endswith(".initlint")]
