"""The fast INIT test must agree with the INIT_TRIGGER regex it stands for."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from initlint.rules import ALL_RULES
from initlint.rules.triggers import INIT_TRIGGER, has_init_reference

ROOT = Path(__file__).resolve().parent.parent
_REGEX = re.compile(INIT_TRIGGER)


def _texts() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples").glob("*.py"))]
    texts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "initlint").rglob("*.py"))]
    for rule in ALL_RULES:
        texts += list(rule.VALID) + [example.code for example in rule.INVALID]
    return texts


@pytest.mark.parametrize(
    "text",
    [
        "import torch.nn as nn\nnn.init.normal_(w)\n",
        "nn . init . normal_(w)\n",
        "from torch.nn import init\n",
        "from torch.nn import (\n    Linear,\n    init,\n)\n",
        "from torch.nn.init import trunc_normal_\n",
        "import torch.nn.init as I\n",
        "m.weight.data.normal_(0, 0.02)\n",
        "m.bias.zero_()\n",
        "self.scale.fill_(1.0)\n",
        "m.weight_ih_l0.uniform_(-0.1, 0.1)\n",
        "def __init__(self):\n    super().__init__()\n",
        "x.masked_fill_(mask, 0)\n",
        "noise.normal_()\n",
        "self.post_init()\n",
    ],
)
def test_fast_init_test_agrees_with_the_regex(text):
    assert has_init_reference(text) == bool(_REGEX.search(text))


def test_agrees_on_every_known_text():
    texts = _texts()
    assert len(texts) > 100
    for text in texts:
        assert has_init_reference(text) == bool(_REGEX.search(text))
