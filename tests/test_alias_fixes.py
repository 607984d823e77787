"""Unsafe fixes of a call through a configured init alias (`minit.xav(w)` for `mylib.init.xav`)
must name a function that exists: torch.nn.init's, through the file's torch import or a new one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from click.testing import CliRunner

from initlint.cli import main

CONFIG = '[tool.initlint]\ninit-aliases = {"mylib.init.xav" = "xavier_normal_", "mylib.init.kai" = "kaiming_normal_"}\n'

RELU_MLP = """{imports}
import torch.nn.functional as F
import mylib.init as minit


class MLP({base}):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = {lin}(8, 8), {lin}(8, 8), {lin}(8, 2)
        for fc in (self.fc1, self.fc2):
            minit.{fn}(fc.weight{args})

    def forward(self, x):
        return self.fc3(F.{act}(self.fc2(F.{act}(self.fc1(x)))))
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _fix(project: Path, text: str) -> str:
    (project / "m.py").write_text(text)
    result = CliRunner().invoke(main, ["check", "--no-cache", "--fix", "--unsafe-fixes", "m.py"])
    assert result.exit_code in (0, 1), result.output
    fixed = (project / "m.py").read_text()
    ast.parse(fixed)
    return fixed


def test_xavier_alias_before_relu_is_fixed_to_torch_nn_init(project: Path) -> None:
    text = RELU_MLP.format(
        imports="import torch.nn as nn", base="nn.Module", lin="nn.Linear", fn="xav", args="", act="relu"
    )
    fixed = _fix(project, text)
    assert 'nn.init.kaiming_normal_(fc.weight, nonlinearity="relu")' in fixed
    assert "minit.kaiming" not in fixed


def test_kaiming_alias_under_tanh_keeps_no_alias_prefix(project: Path) -> None:
    # Same function, other nonlinearity: `minit.kaiming_normal_` does not exist either.
    text = RELU_MLP.format(
        imports="import torch.nn as nn",
        base="nn.Module",
        lin="nn.Linear",
        fn="kai",
        args=", nonlinearity='relu'",
        act="tanh",
    )
    fixed = _fix(project, text)
    assert 'nn.init.kaiming_normal_(fc.weight, nonlinearity="tanh")' in fixed
    assert "minit.kaiming" not in fixed


def test_alias_fix_adds_import_torch_when_no_import_reaches_torch_nn_init(project: Path) -> None:
    text = RELU_MLP.format(
        imports="from torch.nn import Linear, Module", base="Module", lin="Linear", fn="xav", args="", act="relu"
    )
    fixed = _fix(project, text)
    assert 'torch.nn.init.kaiming_normal_(fc.weight, nonlinearity="relu")' in fixed
    assert "import torch\n" in fixed
    assert "minit.kaiming" not in fixed


def test_selu_alias_fix_names_torch_nn_init(project: Path) -> None:
    text = (
        "import torch.nn as nn\nimport mylib.init as minit\n"
        "class SNN(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.a, self.act, self.b = nn.Linear(8, 8), nn.SELU(), nn.Linear(8, 1)\n"
        "        minit.kai(self.a.weight, nonlinearity='selu')\n"
        "    def forward(self, x):\n"
        "        return self.b(self.act(self.a(x)))\n"
    )
    fixed = _fix(project, text)
    assert 'nn.init.kaiming_normal_(self.a.weight, nonlinearity="linear")' in fixed
    assert "minit.kaiming" not in fixed
