"""The pre-commit hooks of .pre-commit-hooks.yaml, through the real `pre-commit try-repo`.

pre-commit builds the hook's environment from a clone of this repository's HEAD (plus its
uncommitted changes), installing from PyPI: slow the first time, shared by the module after."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BAD = "import torch.nn as nn\n\nlayer = nn.Linear(4, 4)\nnn.init.xavier_uniform(layer.weight)\n"
FIXED = BAD.replace("xavier_uniform(", "xavier_uniform_(")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("git") is None, reason="needs git"),
    pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs this project as a git repository"),
]

GIT_ENV = {
    "GIT_AUTHOR_NAME": "initlint tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "initlint tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("pre-commit-home")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    environment.update(GIT_ENV, PRE_COMMIT_HOME=str(home), HOME=str(home))
    return environment


@pytest.fixture(scope="module")
def hook_repo(env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This project as pre-commit sees it: a git repository whose HEAD holds the working tree.

    try-repo on the checkout itself would clone HEAD and add only the changes to tracked files,
    so a half-committed tree (a new module not yet added) would break the hook's install; a
    snapshot of the files git sees (tracked and untracked, not ignored) tests what is here."""
    snapshot = tmp_path_factory.mktemp("hook-repo")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, env=env, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    assert (snapshot / ".pre-commit-hooks.yaml").is_file()
    for command in (["git", "init", "-q", "."], ["git", "add", "-A", "."], ["git", "commit", "-q", "-m", "snapshot"]):
        subprocess.run(command, cwd=snapshot, env=env, check=True)
    return snapshot


def pre_commit(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_hook_manifest_is_valid(env: dict[str, str]) -> None:
    proc = pre_commit(env, ROOT, "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hooks_report_and_fix(env: dict[str, str], hook_repo: Path, tmp_path: Path) -> None:
    repo = tmp_path / "user-repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "."], cwd=repo, env=env, check=True)
    (repo / "model.py").write_text(BAD)
    (repo / "notes.txt").write_text("nn.init.normal(w) in a text file is not checked\n")
    subprocess.run(["git", "add", "."], cwd=repo, env=env, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "init"], cwd=repo, env=env, check=True)

    check = pre_commit(env, repo, "try-repo", str(hook_repo), "initlint", "--all-files")
    assert check.returncode == 1, check.stdout + check.stderr
    assert "model.py:4:9: IL101" in check.stdout
    assert (repo / "model.py").read_text() == BAD

    fix = pre_commit(env, repo, "try-repo", str(hook_repo), "initlint-fix", "--all-files")
    # pre-commit fails a hook that modified files, even when the hook itself passed.
    assert fix.returncode == 1, fix.stdout + fix.stderr
    assert "files were modified by this hook" in fix.stdout
    assert (repo / "model.py").read_text() == FIXED

    again = pre_commit(env, repo, "try-repo", str(hook_repo), "initlint", "--all-files")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Passed" in again.stdout


def _git(env: dict[str, str], cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def test_hooks_honour_excludes_for_named_files(env: dict[str, str], hook_repo: Path, tmp_path: Path) -> None:
    """pre-commit names files one by one: `--force-exclude` in the hooks keeps vendored code
    (extend-exclude) out of both the check and the fix, through the real `pre-commit run`."""
    repo = tmp_path / "user-repo"
    (repo / "third_party").mkdir(parents=True)
    _git(env, repo, "init", "-q", ".")
    (repo / "pyproject.toml").write_text('[tool.initlint]\nextend-exclude = ["third_party"]\n')
    (repo / "third_party" / "x.py").write_text(BAD)
    (repo / "model.py").write_text(BAD)
    rev = _git(env, hook_repo, "rev-parse", "HEAD").strip()
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hook_repo.as_posix()}\n    rev: {rev}\n    hooks:\n      - id: initlint\n      - id: initlint-fix\n"
    )
    _git(env, repo, "add", ".")
    _git(env, repo, "commit", "-q", "-m", "init")

    vendored = pre_commit(env, repo, "run", "initlint", "--files", "third_party/x.py")
    assert vendored.returncode == 0, vendored.stdout + vendored.stderr
    assert "IL101" not in vendored.stdout

    fix = pre_commit(env, repo, "run", "initlint-fix", "--files", "third_party/x.py", "model.py")
    assert fix.returncode == 1, fix.stdout + fix.stderr  # model.py was modified
    assert (repo / "model.py").read_text() == FIXED
    assert (repo / "third_party" / "x.py").read_text() == BAD  # vendored code is never rewritten

    own = pre_commit(env, repo, "run", "initlint", "--files", "third_party/x.py", "model.py")
    assert own.returncode == 0, own.stdout + own.stderr


def test_hooks_check_and_fix_notebooks(env: dict[str, str], hook_repo: Path, tmp_path: Path) -> None:
    """The hooks take Jupyter notebooks too (`types_or: [python, jupyter]`)."""
    import json

    def notebook(source: str) -> str:
        cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}
        return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"

    repo = tmp_path / "user-repo"
    repo.mkdir()
    _git(env, repo, "init", "-q", ".")
    (repo / "study.ipynb").write_text(notebook(BAD))
    _git(env, repo, "add", ".")
    _git(env, repo, "commit", "-q", "-m", "init")

    check = pre_commit(env, repo, "try-repo", str(hook_repo), "initlint", "--all-files")
    assert check.returncode == 1, check.stdout + check.stderr
    assert "study.ipynb:cell 1:4:9: IL101" in check.stdout
    fix = pre_commit(env, repo, "try-repo", str(hook_repo), "initlint-fix", "--all-files")
    assert fix.returncode == 1, fix.stdout + fix.stderr  # the notebook was modified
    assert (repo / "study.ipynb").read_text() == notebook(FIXED)
