"""The wheel: built by hatchling from pyproject.toml, it must carry the rule docs (rules/ is
force-included as initlint/rule_docs) and work without the source tree."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from initlint import __version__

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow
SHOW_PATHS = "import initlint, initlint.docs as d; print(initlint.__file__); print(d.doc_path('IL101'))"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check", "-w", str(out),
         str(ROOT)],
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (built,) = out.glob("initlint-*.whl")
    return built


def test_wheel_contents(wheel: Path) -> None:
    assert wheel.name == f"initlint-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        docs = {n for n in names if n.startswith("initlint/rule_docs/")}
        assert "initlint/rule_docs/IL101.md" in docs
        assert docs == {f"initlint/rule_docs/{p.name}" for p in (ROOT / "rules").glob("*.md")}
        assert archive.read("initlint/rule_docs/IL101.md") == (ROOT / "rules" / "IL101.md").read_bytes()
        assert {
            "initlint/__init__.py",
            "initlint/__main__.py",
            "initlint/cli.py",
            "initlint/rules/__init__.py",
            "initlint/lsp/server.py",
        } <= names
        assert not [n for n in names if n.startswith(("tests/", "rules/", "examples/")) or "__pycache__" in n]
        dist_info = f"initlint-{__version__}.dist-info"
        assert "initlint = initlint.cli:main" in archive.read(f"{dist_info}/entry_points.txt").decode()
        metadata = archive.read(f"{dist_info}/METADATA").decode()
        assert "Requires-Dist: libcst" in metadata
        assert "Requires-Dist: click" in metadata
        assert "Provides-Extra: lsp" in metadata and "Requires-Dist: pygls" in metadata  # initlint server


def test_installed_wheel_explains_from_packaged_docs(wheel: Path, tmp_path: Path) -> None:
    # A pure-Python wheel installs by unpacking; the dependencies come from the running
    # environment, and the source tree is kept off sys.path (cwd elsewhere, wheel first).
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONSAFEPATH": "1"}
    where = subprocess.run(
        [sys.executable, "-c", SHOW_PATHS],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert where.returncode == 0, where.stderr
    module_file, doc_file = where.stdout.split()
    assert Path(module_file).is_relative_to(site)
    assert Path(doc_file) == site / "initlint" / "rule_docs" / "IL101.md"

    explain = subprocess.run(
        [sys.executable, "-m", "initlint", "explain", "IL101"],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert explain.returncode == 0, explain.stderr
    assert explain.stdout.startswith("# IL101 `deprecated-init-alias`")
    assert explain.stdout.strip() == (ROOT / "rules" / "IL101.md").read_text(encoding="utf-8").strip()

    (workdir / "m.py").write_text("import torch.nn as nn\nnn.init.normal(w)\n")
    check = subprocess.run(
        [sys.executable, "-m", "initlint", "check", "--no-cache", "m.py"],
        cwd=workdir, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert check.returncode == 1, check.stderr
    assert check.stdout.startswith("m.py:2:9: IL101")
