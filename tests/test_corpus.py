"""Real code no one here wrote: the pinned corpus (timm, torchvision, diffusers, transformers).

One `initlint check` over every file and one `--fix` over a copy of timm and torchvision are
shared by the assertions (module-scoped fixtures): the corpus costs minutes, not the tests.
Skipped, with the reason, only when the corpus cannot be fetched."""

from __future__ import annotations

import json
import py_compile
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks import corpus

pytestmark = pytest.mark.corpus
FIX_PACKAGES = ["timm", "torchvision"]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict:
        return json.loads(self.stdout)


# Every run adds the opt-in legacy group: most safe fixes on this corpus are legacy ones, and the
# fix tests need a broad set of them.
WITH_LEGACY = ("--extend-select", "legacy")


def initlint(*args: str, cwd: Path) -> Run:
    proc = subprocess.run(
        [sys.executable, "-m", "initlint", *args, *WITH_LEGACY], capture_output=True, text=True, cwd=cwd, timeout=1800
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="module")
def src() -> Path:
    found = corpus.ensure_corpus()
    if found is None:
        pytest.skip(f"corpus unavailable: {corpus.last_reason}")
    return found


@pytest.fixture(scope="module")
def roots(src: Path) -> list[Path]:
    found = corpus.corpus_roots(src)
    assert [r.name for r in found] == ["timm", "torchvision", "diffusers", "transformers"]
    return found


@pytest.fixture(scope="module")
def check_run(roots: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Run:
    cwd = tmp_path_factory.mktemp("corpus-check")
    return initlint("check", "--no-cache", "--format", "json", *map(str, roots), cwd=cwd)


@dataclass
class FixRun:
    root: Path
    before: dict[Path, bytes]
    fix: Run
    after: dict[Path, bytes]
    relint: Run
    second_fix: Run
    after_second: dict[Path, bytes]

    @property
    def changed(self) -> list[Path]:
        return sorted(p for p in self.before if self.before[p] != self.after[p])


def _snapshot(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(root.rglob("*.py"))}


@pytest.fixture(scope="module")
def fix_run(src: Path, tmp_path_factory: pytest.TempPathFactory) -> FixRun:
    root = tmp_path_factory.mktemp("corpus-fix")
    for root_dir in corpus.corpus_roots(src, FIX_PACKAGES):
        shutil.copytree(root_dir, root / root_dir.name)
    before = _snapshot(root)
    fix = initlint("check", "--fix", "--no-cache", "--format", "json", ".", cwd=root)
    after = _snapshot(root)
    relint = initlint("check", "--no-cache", "--format", "json", ".", cwd=root)
    second = initlint("check", "--fix", "--no-cache", "--format", "json", ".", cwd=root)
    return FixRun(root, before, fix, after, relint, second, _snapshot(root))


def _no_crash(run: Run) -> None:
    assert run.returncode in (0, 1), run.stderr[-3000:]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert "internal error" not in run.stderr, run.stderr[-3000:]


def test_check_over_the_whole_corpus(check_run: Run, roots: list[Path]) -> None:
    _no_crash(check_run)
    report = check_run.report
    files = corpus.python_files(roots)
    assert len(files) > 4000
    assert report["summary"]["files"] == len(files)
    codes = Counter(f["code"] for f in report["findings"])
    assert "IL999" not in codes, [f["message"] for f in report["findings"] if f["code"] == "IL999"][:5]
    assert codes, "the corpus has init code with findings; none at all means the rules did not run"
    print(f"\ncorpus: {len(files)} files, findings {dict(sorted(codes.items()))}")


def test_corpus_finding_locations_lie_inside_their_files(check_run: Run) -> None:
    texts: dict[str, list[str]] = {}
    for finding in check_run.report["findings"]:
        lines = texts.setdefault(finding["path"], Path(finding["path"]).read_text(encoding="utf-8").splitlines())
        assert 1 <= finding["line"] <= finding["end_line"] <= len(lines) + 1, finding
        assert 1 <= finding["column"] <= len(lines[finding["line"] - 1]) + 1, finding
        if finding["line"] == finding["end_line"]:
            assert finding["column"] <= finding["end_column"], finding


def test_fix_changes_files_that_still_compile(fix_run: FixRun, check_run: Run) -> None:
    _no_crash(fix_run.fix)
    changed = fix_run.changed
    assert changed, "--fix changed no file: the test would pass vacuously"
    for path in changed:
        py_compile.compile(str(path), cfile=str(path) + "c", doraise=True)
    # Only files that had a safe fix were touched.
    suffixes = {
        _below_src(Path(f["path"]))
        for f in check_run.report["findings"]
        if f["fix"] and f["fix"]["applicability"] == "safe"
    }
    for path in changed:
        assert str(path.relative_to(fix_run.root)) in suffixes, path
    print(f"\n--fix: {len(changed)} files changed, {fix_run.fix.report['summary']['fixed']} fixes applied")


def _below_src(path: Path) -> str:
    parts = path.parts
    for index, part in enumerate(parts):
        if part in FIX_PACKAGES and index > 0 and parts[index - 1] == "src":
            return str(Path(*parts[index:]))
    return str(path)


def test_fix_count_matches_the_safe_findings(fix_run: FixRun, check_run: Run) -> None:
    safe = [
        f
        for f in check_run.report["findings"]
        if f["fix"]
        and f["fix"]["applicability"] == "safe"
        and _below_src(Path(f["path"])).split("/")[0] in FIX_PACKAGES
    ]
    assert safe
    assert fix_run.fix.report["summary"]["fixed"] == len(safe)


def test_relint_finds_none_of_the_fixed_codes(fix_run: FixRun) -> None:
    _no_crash(fix_run.relint)
    before = initlint_codes_with_safe_fixes(fix_run)
    assert before
    after = fix_run.relint.report["findings"]
    assert not [f for f in after if f["code"] in before], [
        (f["path"], f["line"], f["code"]) for f in after if f["code"] in before
    ]
    assert not [f for f in after if f["fix"] and f["fix"]["applicability"] == "safe"]


def initlint_codes_with_safe_fixes(fix_run: FixRun) -> set[str]:
    # The fix run reports what is left; the codes it fixed are those of the first check.
    report = initlint("check", "--no-cache", "--format", "json", ".", cwd=_pristine(fix_run))
    return {f["code"] for f in report.report["findings"] if f["fix"] and f["fix"]["applicability"] == "safe"}


def _pristine(fix_run: FixRun) -> Path:
    """A copy of the changed files as they were before the fix (small: only those files)."""
    pristine = fix_run.root.parent / (fix_run.root.name + "-pristine")
    if not pristine.exists():
        for path in fix_run.changed:
            target = pristine / path.relative_to(fix_run.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(fix_run.before[path])
    return pristine


def test_second_fix_changes_no_byte(fix_run: FixRun) -> None:
    _no_crash(fix_run.second_fix)
    assert fix_run.second_fix.report["summary"]["fixed"] == 0
    assert fix_run.after_second == fix_run.after
