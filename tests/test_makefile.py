"""The Makefile's install steps, planned with `make -n` against a stand-in .venv: `make demo`
installs only what it runs (torch and initlint), `make test` the extras on top, and the stamps
make demo-then-test install the rest and a new TORCH_VERSION install again."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def plan(venv: Path, target: str, *extra: str) -> list[str]:
    proc = subprocess.run(
        ["make", "-n", "-C", str(ROOT), target, f"VENV={venv}", *extra],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return [line for line in proc.stdout.splitlines() if "pip install" in line]


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    folder = tmp_path / "venv"
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "python").write_text("")  # the venv exists: only the installs are planned
    return folder


def stamp(path: Path, text: str) -> None:
    path.write_text(text + "\n")
    future = time.time() + 3600  # newer than pyproject.toml and the requirements files
    os.utime(path, (future, future))


def test_demo_installs_only_torch_and_initlint(venv: Path) -> None:
    (install,) = plan(venv, "demo")
    assert '"torch==2.13.0" -e .' in install.replace("  ", " ")
    assert "[" not in install and "requirements" not in install


def test_test_after_demo_installs_the_rest(venv: Path) -> None:
    stamp(venv / ".installed-demo", "torch==2.13.0")
    assert plan(venv, "demo") == []
    steps = plan(venv, "test")
    assert any('-e ".[runtime,dev,plot]"' in step for step in steps)
    assert any("requirements-probe-tests.txt" in step for step in steps)
    assert not any(step.rstrip().endswith("-e .") for step in steps)  # the demo's set is there already


def test_test_then_demo_installs_nothing_more(venv: Path) -> None:
    stamp(venv / ".installed-demo", "torch==2.13.0")
    stamp(venv / ".installed", "torch==2.13.0 extras=runtime,dev,plot")
    assert plan(venv, "demo") == [] and plan(venv, "test") == []


def test_another_torch_version_installs_again(venv: Path) -> None:
    stamp(venv / ".installed-demo", "torch==2.13.0")
    stamp(venv / ".installed", "torch==2.13.0 extras=runtime,dev,plot")
    (demo,) = plan(venv, "demo", "TORCH_VERSION=2.12.0")
    assert "torch==2.12.0" in demo
    assert any(
        "torch==2.12.0" in step and "[runtime,dev,plot]" in step for step in plan(venv, "test", "TORCH_VERSION=2.12.0")
    )
