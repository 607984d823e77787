"""The Python API: initlint.lint and initlint.fix, on text in memory."""

from __future__ import annotations

import doctest
import os
import subprocess
import sys
from pathlib import Path

import pytest

import initlint
import initlint.api
from initlint.config import ConfigError

BAD = "import torch.nn as nn\n\nlayer = nn.Linear(4, 4)\nnn.init.xavier_uniform(layer.weight)\n"
LEGACY = "import torch\n\nw = torch.Tensor(3, 3)\n"  # IL103: off by default


def test_lint_returns_the_findings_of_the_cli() -> None:
    findings = initlint.lint(BAD, "m.py")
    assert [(f.code, f.path, f.line, f.column) for f in findings] == [("IL101", "m.py", 4, 9)]
    assert findings[0].fix is not None and findings[0].fix.applicability == "safe"


def test_lint_reads_bytes_as_python_does() -> None:
    latin = ("# -*- coding: latin-1 -*-\n# caf\xe9\n" + BAD).encode("latin-1")
    assert [f.line for f in initlint.lint(latin, "m.py")] == [6]


def test_bad_input_is_a_finding_never_an_exception() -> None:
    assert [f.code for f in initlint.lint("def (:\n", "m.py")] == ["IL900"]
    assert [f.code for f in initlint.lint(b"\x00\x01binary", "m.py")] == ["IL901"]
    assert initlint.lint("", "m.py") == []


def test_selection_like_the_command_line() -> None:
    assert initlint.lint(LEGACY) == []
    assert [f.code for f in initlint.lint(LEGACY, extend_select="legacy")] == ["IL103"]
    assert [f.code for f in initlint.lint(LEGACY, select=["IL103"])] == ["IL103"]
    assert initlint.lint(BAD, ignore="IL1") == []
    assert initlint.lint(BAD, select="IL2") == []
    with pytest.raises(ConfigError):
        initlint.lint(BAD, select="NOPE")


def test_init_aliases() -> None:
    text = "import torch.nn as nn\nfrom mylib.layers import tn\n\nlayer = nn.Linear(4, 4)\ntn(layer.weight, std=0.02)\n"
    assert initlint.lint(text, extend_select="IL303") == []
    found = initlint.lint(text, extend_select="IL303", init_aliases={"mylib.layers.tn": "trunc_normal_"})
    assert [f.code for f in found] == ["IL303"]


def test_config_is_read_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.initlint]\nignore = ["IL101"]\n')
    path = str(tmp_path / "m.py")
    assert [f.code for f in initlint.lint(BAD, path)] == ["IL101"]
    assert initlint.lint(BAD, path, find_config=True) == []
    assert initlint.lint(BAD, path, config=tmp_path / "pyproject.toml") == []


def test_per_file_ignores_apply_to_the_path(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.initlint.per-file-ignores]\n"tests/*" = ["IL101"]\n')
    assert initlint.lint(BAD, str(tmp_path / "tests" / "m.py"), find_config=True) == []
    assert len(initlint.lint(BAD, str(tmp_path / "src" / "m.py"), find_config=True)) == 1


def test_fix_applies_fixes_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = initlint.fix(BAD, "m.py")
    assert result.source == BAD.replace("xavier_uniform(", "xavier_uniform_(")
    assert (result.applied, result.findings, result.problems) == (1, [], [])
    assert list(tmp_path.iterdir()) == []  # nothing written: no file, no cache


def test_fix_leaves_unfixable_input_as_it_was() -> None:
    result = initlint.fix("def (:\n", "m.py")
    assert result.source == "def (:\n" and result.applied == 0
    assert [f.code for f in result.findings] == ["IL900"]


def test_unsafe_fixes_only_when_asked() -> None:
    text = "import torch.nn.functional as F\nimport torch.nn as nn\n\n\nclass M(nn.Module):\n    def forward(self, x):\n        return F.dropout(x)\n"
    assert initlint.fix(text).applied == 0
    fixed = initlint.fix(text, unsafe_fixes=True)
    assert fixed.applied == 1 and "training=self.training" in fixed.source


def test_import_is_light() -> None:
    code = "import sys, initlint; initlint.lint; print(sorted(m for m in ('libcst', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert out.stdout.strip() == "[]"


def test_rules_and_cli_import_without_libcst() -> None:
    """Every rule module is imported to build the registry, on every run: none may touch libcst at
    import (a module-level `cst.X` did, and every run paid ~0.1 s before parsing anything)."""
    code = (
        "import sys, initlint.cli, initlint.rules, initlint.engine, initlint.project.index; "
        "print(sorted(m for m in ('libcst', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ)
    assert out.stdout.strip() == "[]"


def test_docstring_example_runs() -> None:
    failures, tried = doctest.testmod(initlint.api, verbose=False)
    assert tried > 0 and failures == 0
