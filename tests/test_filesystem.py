"""The file system under `initlint check`, through the real command line: symlink loops,
folders and files that cannot be read, paths that do not exist, explicit non-`.py` files, files
that change under `--fix`, read-only files and folders, and checked code that must never run.

Tests run as root in CI, where chmod does not bite: refusals are simulated with monkeypatch
(`os.scandir`, `open`, `tempfile.mkstemp`), and the real thing runs as root without the
capabilities that bypass file permissions (`setpriv`), else as `nobody` (`runuser`), else that
variant is skipped, saying why."""

from __future__ import annotations

import builtins
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import initlint.runner as runner
from initlint.cli import main

BAD = "import torch.nn as nn\n\nlayer = nn.Linear(4, 4)\nnn.init.xavier_uniform(layer.weight)\n"
FIXED = BAD.replace("xavier_uniform(", "xavier_uniform_(")
TIMEOUT = 120  # a hang fails the test instead of the CI job
SCRIPT = Path(sys.executable).parent / "initlint"  # the console script: what users run


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\n")
    return tmp_path


def write(path: str | Path, text: str = BAD) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, ["check", "--no-cache", *args])


def proc(*args: str, cwd: Path, prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(SCRIPT) if SCRIPT.exists() else sys.executable, *([] if SCRIPT.exists() else ["-m", "initlint"])]
    command += ["check", *args]
    command = [*(prefix or []), *command]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT)


def json_findings(stdout: str) -> list[tuple[str, str]]:
    return [(f["path"], f["code"]) for f in json.loads(stdout)["findings"]]


def no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text, text


# --- running without the privilege to ignore permissions --------------------------------------

DROP_DAC = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]


def unprivileged() -> list[str]:
    """A command prefix under which file permissions bite: nothing when not root; as root,
    setpriv dropping the capabilities that bypass them (root keeps reaching its own private
    interpreter), else runuser as nobody; skips when neither can run initlint."""
    if os.geteuid() != 0:
        return []
    tried = []
    for prefix in (DROP_DAC, ["runuser", "-u", "nobody", "--"]):
        if shutil.which(prefix[0]) is None:
            tried.append(f"{prefix[0]} is not installed")
            continue
        probe = subprocess.run([*prefix, sys.executable, "-c", "import initlint"], capture_output=True, timeout=60)
        if probe.returncode == 0:
            return prefix
        tried.append(f"{prefix[0]} cannot run {sys.executable}")
    pytest.skip("running as root and " + "; ".join(tried))


@pytest.fixture
def shared_dir() -> Iterator[tuple[Path, list[str]]]:
    """A folder anyone may use, and the command prefix that makes permissions bite."""
    prefix = unprivileged()
    folder = Path(tempfile.mkdtemp(prefix="initlint-fs-"))
    os.chmod(folder, 0o777)
    try:
        yield folder, prefix
    finally:
        for path in [folder, *folder.rglob("*")]:
            if not path.is_symlink():
                os.chmod(path, 0o777)
        shutil.rmtree(folder)


# --- symlink loops ------------------------------------------------------------------------------


def test_symlink_loops_terminate_with_a_clear_result(project: Path) -> None:
    write("pkg/a.py")
    os.symlink("..", "pkg/up")  # a folder loop through the parent
    os.symlink(".", "pkg/self")  # a folder that contains itself
    os.mkdir("d1")
    os.mkdir("d2")
    os.symlink("../d2", "d1/to2")  # two folders pointing at each other
    os.symlink("../d1", "d2/to1")
    os.symlink("x2.py", "pkg/x1.py")  # a file loop
    os.symlink("x1.py", "pkg/x2.py")
    os.symlink("me.py", "pkg/me.py")  # a file that points at itself
    start = time.monotonic()
    result = proc("--no-cache", "--format", "json", ".", cwd=project)
    assert time.monotonic() - start < 60
    assert result.returncode == 1, result.stderr
    no_traceback(result.stderr)
    findings = json.loads(result.stdout)["findings"]
    assert [(f["path"], f["code"]) for f in findings] == [
        ("pkg/a.py", "IL101"),  # once: no loop walked it twice
        ("pkg/me.py", "IL901"),
        ("pkg/x1.py", "IL901"),
        ("pkg/x2.py", "IL901"),
    ]
    assert all("symbolic links" in f["message"] for f in findings if f["code"] == "IL901")

    # The looping links named explicitly: still a clear answer, not a hang or a crash.
    result = proc("--no-cache", "--format", "json", "pkg/x1.py", "pkg/me.py", "pkg/self", "d1/to2", cwd=project)
    assert result.returncode == 1, result.stderr
    no_traceback(result.stderr)
    assert json_findings(result.stdout) == [
        ("pkg/me.py", "IL901"),
        ("pkg/self/a.py", "IL101"),  # the named link is walked once; the links inside it are not
        ("pkg/self/me.py", "IL901"),
        ("pkg/self/x1.py", "IL901"),
        ("pkg/self/x2.py", "IL901"),
        ("pkg/x1.py", "IL901"),
    ]


# --- folders and files that cannot be read ----------------------------------------------------


def test_unreadable_folder_is_skipped_with_a_message(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write("ok/a.py")
    write("secret/b.py")
    write("secret/deeper/c.py")
    real_scandir = os.scandir

    def scandir(path=".", *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.path.basename(os.fspath(path).rstrip("/")) == "secret":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)  # what os.walk lists folders with
    result = cli(".")
    assert result.exit_code == 1, result.output
    no_traceback(result.output)
    assert "ok/a.py:4:9: IL101" in result.stdout
    assert "secret" not in result.stdout
    assert "initlint: warning: cannot read folder ./secret: Permission denied; skipped" in result.stderr
    # The unreadable folder named itself: nothing to check, said, exit 0.
    result = cli("secret")
    assert (result.exit_code, result.stdout.strip()) == (0, "All checks passed (0 files checked)."), result.output
    assert "cannot read folder secret: Permission denied" in result.stderr


def test_unreadable_file_is_il901_through_the_cli(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(runner.POOL_THRESHOLD + 4):  # enough files for the process pool
        write(f"pkg/m{n:02}.py")
    real_open = builtins.open

    def deny(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.fspath(file).endswith("m07.py"):
            raise PermissionError(13, "Permission denied", file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(runner, "open", deny, raising=False)  # forked workers inherit it
    for args in (["-j", "1"], ["-j", "2"], ["--fix"]):
        result = cli("--format", "json", *args, "pkg")
        assert result.exit_code == 1, result.output
        found = json_findings(result.stdout)
        assert ("pkg/m07.py", "IL901") in found
        assert (
            "Permission denied"
            in next(f for f in json.loads(result.stdout)["findings"] if f["code"] == "IL901")["message"]
        )
        if args != ["--fix"]:
            assert len(found) == runner.POOL_THRESHOLD + 4
    assert Path("pkg/m07.py").read_text() == BAD  # never read, so never rewritten
    assert Path("pkg/m08.py").read_text() == FIXED


def test_real_permissions(shared_dir: tuple[Path, list[str]]) -> None:
    folder, prefix = shared_dir
    write(folder / "ok.py")
    write(folder / "locked.py")
    write(folder / "closed" / "inner.py")
    write(folder / "ro.py")
    write(folder / "sealed" / "s.py")  # a writable file in a folder that is not
    for path in (folder / "ok.py", folder / "sealed" / "s.py"):
        os.chmod(path, 0o666)
    os.chmod(folder / "locked.py", 0)
    os.chmod(folder / "closed", 0)
    os.chmod(folder / "ro.py", 0o444)
    os.chmod(folder / "sealed", 0o555)
    result = proc("--no-cache", "--format", "json", ".", cwd=folder, prefix=prefix)
    no_traceback(result.stderr)
    assert result.returncode == 1, result.stderr
    assert json_findings(result.stdout) == [
        ("locked.py", "IL901"), ("ok.py", "IL101"), ("ro.py", "IL101"), ("sealed/s.py", "IL101"),
    ]  # fmt: skip
    assert "Permission denied" in json.loads(result.stdout)["findings"][0]["message"]
    assert "initlint: warning: cannot read folder ./closed: Permission denied; skipped" in result.stderr
    result = proc("--no-cache", "--fix", ".", cwd=folder, prefix=prefix)
    no_traceback(result.stderr)
    assert result.returncode == 1, result.stderr
    assert "initlint: ro.py: fixes not written: the file is read-only" in result.stderr
    assert "initlint: sealed/s.py: fixes not written: Permission denied" in result.stderr
    assert (folder / "ro.py").read_text() == BAD
    assert (folder / "sealed" / "s.py").read_text() == BAD
    assert (folder / "ok.py").read_text() == FIXED
    assert (folder / "locked.py").read_text() == BAD
    # A read-only cache folder: the run succeeds, nothing is cached.
    cache = folder / "cache"
    cache.mkdir(mode=0o555)
    os.chmod(cache, 0o555)
    result = proc("--format", "json", "--cache-dir", "cache", ".", cwd=folder, prefix=prefix)
    no_traceback(result.stderr)
    assert result.returncode == 1 and len(json_findings(result.stdout)) == 3, result.stderr  # ok.py was fixed
    assert list(cache.iterdir()) == []


def test_unreadable_files_named_on_the_command_line_are_il901(shared_dir: tuple[Path, list[str]]) -> None:
    """Named explicitly, a file that cannot be read (or whose folder cannot be searched) is
    IL901 like any other, not a usage error (click's readable check) or an internal error."""
    folder, prefix = shared_dir
    for name in ("ok.py", "locked.py", "closed/inner.py"):
        os.chmod(write(folder / name), 0o666)
    os.chmod(folder / "locked.py", 0)
    os.chmod(folder / "closed", 0)
    cases = [
        (["locked.py", "closed/inner.py", "ok.py"], [("closed/inner.py", "IL901"), ("locked.py", "IL901"), ("ok.py", "IL101")]),
        (["closed/inner.py"], [("closed/inner.py", "IL901")]),  # its folder cannot hold the config either
        (["--fix", "locked.py", "ok.py"], [("locked.py", "IL901")]),
    ]  # fmt: skip
    for args, expected in cases:
        result = proc("--no-cache", "--format", "json", *args, cwd=folder, prefix=prefix)
        no_traceback(result.stderr)
        assert result.returncode == 1, result.stderr
        assert json_findings(result.stdout) == expected
        messages = [f["message"] for f in json.loads(result.stdout)["findings"] if f["code"] == "IL901"]
        assert all("Permission denied" in m for m in messages), messages
    assert (folder / "ok.py").read_text() == FIXED


# --- named pipes ------------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_named_pipe_in_a_walked_folder_is_skipped_not_waited_on(project: Path) -> None:
    write("a.py")
    os.mkfifo("pipe.py")  # opening it for reading would wait for a writer forever
    os.mkdir("pkg")
    os.mkfifo("pkg/other.py")
    result = proc("--no-cache", "--format", "json", ".", cwd=project)
    assert result.returncode == 1, result.stderr
    assert json_findings(result.stdout) == [("a.py", "IL101")]
    assert result.stderr.splitlines() == [
        "initlint: warning: pipe.py: not a regular file; skipped",
        "initlint: warning: pkg/other.py: not a regular file; skipped",
    ]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_named_pipe_given_explicitly_is_read_and_never_replaced(project: Path) -> None:
    os.mkfifo("pipe.py")
    for args, code in ((["--format", "json"], 1), (["--fix"], 1)):
        writer = threading.Thread(target=Path("pipe.py").write_text, args=(BAD,), daemon=True)
        writer.start()  # like `initlint check <(git show HEAD:model.py)`
        result = proc("--no-cache", *args, "pipe.py", cwd=project)
        writer.join(timeout=60)
        no_traceback(result.stderr)
        assert result.returncode == code, result.stderr
        assert "pipe.py:4:9: IL101" in result.stdout or json_findings(result.stdout) == [("pipe.py", "IL101")]
    assert "initlint: pipe.py: fixes not written: not a regular file" in result.stderr
    assert stat.S_ISFIFO(os.stat("pipe.py").st_mode)  # still the pipe, not replaced by a file


# --- paths that do not exist, and explicit files ----------------------------------------------


def test_nonexistent_path_is_a_clear_error_exit_2(project: Path) -> None:
    write("a.py")
    for args in (["a.py", "missing.py"], ["--fix", "nowhere/"], ["--diff", "missing.py"]):
        result = proc("--no-cache", *args, cwd=project)
        assert result.returncode == 2, result
        assert result.stdout == ""
        (line,) = result.stderr.splitlines()
        assert line == f"initlint: error: path does not exist: {args[-1].rstrip('/')}"
    assert Path("a.py").read_text() == BAD  # nothing was fixed before the error
    # A dangling symlink exists as a name: it is checked and cannot be read (IL901), exit 1.
    os.symlink("gone.py", "dangling.py")
    result = proc("--no-cache", "--format", "json", "dangling.py", cwd=project)
    assert result.returncode == 1
    assert json_findings(result.stdout) == [("dangling.py", "IL901")]


def test_explicit_non_python_files_are_checked(project: Path) -> None:
    write("a.py")
    write("bin/train")  # a script without an extension
    write("notes.txt")
    write("model.pyw")
    result = cli("--format", "json", ".")
    assert json_findings(result.stdout) == [("a.py", "IL101")]  # a walk takes only *.py
    result = cli("--format", "json", "bin/train", "notes.txt", "model.pyw")
    assert result.exit_code == 1
    assert json_findings(result.stdout) == [("bin/train", "IL101"), ("model.pyw", "IL101"), ("notes.txt", "IL101")]
    result = cli("--fix", "bin/train")
    assert result.exit_code == 0, result.output
    assert Path("bin/train").read_text() == FIXED


# --- a file that changes between the read and the fix --------------------------------------------


def test_change_from_another_thread_during_fix_is_refused(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write("a.py")
    write("b.py")
    theirs = BAD + "# saved by the editor meanwhile\n"
    original = runner.fix_source

    def racing(source, options, unsafe):  # type: ignore[no-untyped-def]
        outcome = original(source, options, unsafe)
        if source.path == "a.py":  # the other writer saves while the fix is being computed
            other = threading.Thread(target=Path("a.py").write_text, args=(theirs,))
            other.start()
            other.join()
        return outcome

    monkeypatch.setattr(runner, "fix_source", racing)
    result = cli("--fix", "a.py", "b.py")
    no_traceback(result.output)
    assert result.exit_code == 1
    assert "initlint: a.py: fixes not written: the file changed on disk since it was read" in result.stderr
    assert Path("a.py").read_text() == theirs
    assert "a.py:4:9: IL101" in result.stdout
    assert Path("b.py").read_text() == FIXED  # the other file is fixed as usual
    assert "Fixed 1" in result.stdout


def test_change_at_the_last_moment_before_the_swap_is_refused(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second look, after the temporary file is written and just before the rename."""
    write("a.py")
    theirs = "# replaced wholesale by a formatter\n"
    real_chmod = os.chmod

    def chmod(path, mode, *args, **kwargs):  # type: ignore[no-untyped-def]
        if os.fspath(path).endswith(".initlint"):  # runner: os.chmod(temp, ...) right before the last look
            other = threading.Thread(target=Path(project / "a.py").write_text, args=(theirs,))
            other.start()
            other.join()
        return real_chmod(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "chmod", chmod)
    result = cli("--fix", "a.py")
    monkeypatch.setattr(os, "chmod", real_chmod)
    assert "a.py: fixes not written: the file changed on disk since it was read" in result.stderr
    assert Path("a.py").read_text() == theirs
    assert sorted(p.name for p in project.iterdir()) == ["a.py", "pyproject.toml"]  # no temp file left


WRAPPER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import initlint.runner as runner
    from initlint.cli import main

    ready, go = Path(sys.argv[1]), Path(sys.argv[2])
    original = runner.fix_source

    def paused(source, options, unsafe):
        outcome = original(source, options, unsafe)
        ready.touch()  # read and fixed in memory: let the other process write now
        deadline = time.monotonic() + 60
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return outcome

    runner.fix_source = paused
    sys.argv = ["initlint", *sys.argv[3:]]
    main()
    """
)


def test_change_from_another_process_during_fix_is_refused(project: Path) -> None:
    write("model.py")
    (project / "wrapper.py").write_text(WRAPPER)
    ready, go = project / "ready", project / "go"
    fixer = subprocess.Popen(
        [sys.executable, "wrapper.py", str(ready), str(go), "check", "--no-cache", "--fix", "model.py"],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and fixer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ready.exists(), fixer.communicate()
        theirs = BAD + "x = 1  # the other process's edit\n"
        subprocess.run(
            [sys.executable, "-c", f"open('model.py', 'w').write({theirs!r})"], cwd=project, check=True, timeout=60
        )
        go.touch()
        out, err = fixer.communicate(timeout=TIMEOUT)
    finally:
        if fixer.poll() is None:
            fixer.kill()
    assert fixer.returncode == 1, err
    no_traceback(err)
    assert "initlint: model.py: fixes not written: the file changed on disk since it was read" in err
    assert "model.py:4:9: IL101" in out
    assert Path("model.py").read_text() == theirs


# --- read-only files and folders under --fix ----------------------------------------------------


def test_read_only_file_under_fix_is_reported_and_unchanged(project: Path) -> None:
    write("ro.py")
    write("rw.py")
    os.chmod("ro.py", 0o444)
    before = os.stat("ro.py")
    try:
        result = proc("--no-cache", "--fix", ".", cwd=project)
    finally:
        after = os.stat("ro.py")
        os.chmod("ro.py", 0o644)
    no_traceback(result.stderr)
    assert result.returncode == 1, result.stderr
    assert "initlint: ro.py: fixes not written: the file is read-only" in result.stderr
    assert "ro.py:4:9: IL101" in result.stdout
    assert Path("ro.py").read_text() == BAD
    assert (after.st_ino, after.st_mtime_ns, stat.S_IMODE(after.st_mode)) == (
        before.st_ino, before.st_mtime_ns, 0o444,
    )  # fmt: skip
    assert Path("rw.py").read_text() == FIXED
    assert not [p for p in project.iterdir() if p.name.endswith(".initlint")]


def test_unwritable_folder_under_fix_is_reported(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is writable but its folder is not: the temporary file cannot be made."""
    write("a.py")

    def mkstemp(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError(13, "Permission denied", kwargs.get("dir"))

    monkeypatch.setattr(runner.tempfile, "mkstemp", mkstemp)
    result = cli("--fix", "a.py")
    no_traceback(result.output)
    assert result.exit_code == 1
    assert "initlint: a.py: fixes not written: Permission denied" in result.stderr
    assert Path("a.py").read_text() == BAD


# --- checked code never runs --------------------------------------------------------------------


def _booby_trapped(folder: Path, markers: Path) -> list[Path]:
    """Files whose code, if it ever ran, would leave a marker file behind."""

    def trap(name: str) -> str:
        return f"open({str(markers / name)!r}, 'w').write('ran')\n"

    files = {
        "model.py": trap("toplevel") + BAD,
        "script.py": BAD + 'if __name__ == "__main__":\n    ' + trap("main"),
        "conftest.py": BAD + trap("conftest"),
        "setup.py": "from setuptools import setup\n" + trap("setup") + BAD + "setup(name='x')\n",
        "pkg/__init__.py": trap("init") + BAD,
        "pkg/__main__.py": trap("dunder_main") + BAD,
        "torch.py": trap("torch") + BAD,  # shadows torch: initlint must never import it
        "sitecustomize.py": trap("sitecustomize") + BAD,
        "module_decorator.py": BAD + f"@(lambda f: {trap('decorator').strip()})\ndef f():\n    pass\n",
    }
    paths = [write(folder / name, text) for name, text in files.items()]
    for n in range(runner.POOL_THRESHOLD):  # enough files that the process pool runs too
        paths.append(write(folder / "many" / f"f{n:02}.py", trap(f"many{n}") + BAD))
    return paths


def test_check_never_executes_the_checked_code(tmp_path: Path) -> None:
    folder, markers = tmp_path / "project", tmp_path / "markers"
    markers.mkdir()
    paths = _booby_trapped(folder, markers)
    (folder / "pyproject.toml").write_text("[tool.initlint]\n")
    # The traps work: running one file for real leaves its marker.
    subprocess.run([sys.executable, "model.py"], cwd=folder, capture_output=True, timeout=60)
    assert (markers / "toplevel").exists()
    for marker in markers.iterdir():
        marker.unlink()
    shutil.rmtree(folder / "__pycache__", ignore_errors=True)
    runs = [
        (["--no-cache", "."], 1),
        (["-j", "1", "."], 1),  # with the cache
        (["-j", "2", "."], 1),  # the cache again, warm
        (["--no-cache", "-j", "2", "--diff", "."], 1),
        (["--no-cache", "--fix", "-j", "2", "."], 0),  # every finding fixed
    ]
    for args, code in runs:
        result = proc(*args, cwd=folder)
        no_traceback(result.stderr)
        assert result.returncode == code, (args, result.stderr)
        assert list(markers.iterdir()) == [], f"checked code ran with {args}"
    # The files were really processed: every one was fixed, and nothing was imported.
    assert all(p.read_text().count("xavier_uniform_(") == 1 for p in paths)
    assert not list(folder.rglob("__pycache__"))
    result = CliRunner().invoke(main, ["check", "--no-cache", str(folder)])
    assert result.exit_code == 0, result.output
    assert list(markers.iterdir()) == []
