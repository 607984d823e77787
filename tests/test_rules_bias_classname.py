"""Focused tests of IL408 (class-name dispatch reaching a class it breaks on) and IL409 (a bias
guard written as a tensor truth test), beyond their class examples."""

from __future__ import annotations

import libcst as cst
import pytest

from initlint.testing import fix, lint

HEAD = "import torch\nimport torch.nn as nn\n"


def codes(code: str, rule: str) -> list[str]:
    return [f.code for f in lint(code, {rule})]


# -- IL409 bias-truth-test -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "guard",
    [
        "if m.bias:",
        "if hasattr(m, 'bias') and m.bias:",
        "if m.bias and m.bias.requires_grad:",
        "if getattr(m, 'bias', None):",
        "if (m.bias):",
        "while m.bias:",
    ],
)
def test_il409_truth_tests_of_an_initialized_bias(guard):
    code = HEAD + f"def init(m):\n    {guard}\n        nn.init.zeros_(m.bias)\n"
    findings = lint(code, {"IL409"})
    assert [f.code for f in findings] == ["IL409"]
    assert "line 5 initializes `m.bias`" in findings[0].message
    assert findings[0].related[0].line == 5


@pytest.mark.parametrize(
    "guard",
    [
        "if m.bias is not None:",
        "if hasattr(m, 'bias') and m.bias is not None:",
        "if getattr(m, 'bias', None) is not None:",
        "if m.bias is not None and m.bias.requires_grad:",
        "if m.use_bias:",
    ],
)
def test_il409_presence_tests_are_silent(guard):
    assert codes(HEAD + f"def init(m):\n    {guard}\n        nn.init.zeros_(m.bias)\n", "IL409") == []


def test_il409_bias_flag_is_not_a_tensor():
    # `self.bias` is a bool flag here (and then a Parameter): not provably a tensor
    code = HEAD + (
        "class A(nn.Module):\n    def __init__(self, n, bias):\n        super().__init__()\n"
        "        self.bias = bias\n        if bias:\n            self.b = nn.Parameter(torch.zeros(n))\n"
        "    def forward(self, x):\n        if self.bias:\n            x = x + self.b\n        return x\n"
    )
    assert codes(code, "IL409") == []


@pytest.mark.parametrize(
    "build, fires",
    [
        ("nn.Parameter(torch.zeros(n))", True),
        ("nn.Parameter(torch.Tensor(n)) if bias else None", True),
        ("nn.Parameter(torch.zeros((1, n)))", True),
        ("nn.Parameter(torch.zeros(1))", False),
        ("nn.Parameter(torch.tensor(0.0))", False),  # a scalar: its truth is its value
        ("bias", False),
    ],
)
def test_il409_self_bias_parameter(build, fires):
    code = HEAD + (
        "class A(nn.Module):\n    def __init__(self, n, bias=True):\n        super().__init__()\n"
        f"        self.bias = {build}\n    def forward(self, x):\n"
        "        return x + self.bias if self.bias else x\n"
    )
    assert codes(code, "IL409") == (["IL409"] if fires else [])


def test_il409_one_element_layer_is_silent():
    code = HEAD + (
        "class Head(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.out = nn.Linear(8, {OUT})\n        if self.out.bias:\n            nn.init.zeros_(self.out.bias)\n"
    )
    assert codes(code.replace("{OUT}", "1"), "IL409") == []
    assert codes(code.replace("{OUT}", "2"), "IL409") == ["IL409"]


def test_il409_fix_only_where_the_value_is_a_condition():
    code = HEAD + "def init(m):\n    if not m.bias:\n        return\n    nn.init.zeros_(m.bias)\n"
    fixed = fix(code, {"IL409"}, unsafe=True)
    assert fixed == code.replace("not m.bias", "m.bias is None")
    assert fix(code, {"IL409"}) == code  # unsafe: not applied without --unsafe-fixes
    cst.parse_module(fixed)
    # `b = m.bias or 0`: the truth test raises too, but rewriting it would change b's value
    value = HEAD + "def init(m):\n    b = m.bias or 0\n    nn.init.zeros_(m.bias)\n"
    (finding,) = lint(value, {"IL409"})
    assert finding.fix is None
    # `a and m.bias` used as a condition: the right operand's truth is tested by the `if`
    chained = HEAD + "def init(m):\n    if isinstance(m, nn.Linear) and m.bias:\n        pass\n"
    assert fix(chained, {"IL409"}, unsafe=True) == chained.replace("and m.bias:", "and m.bias is not None:")


# -- IL408 classname-dispatch-mismatch -------------------------------------------------------------

BLOCK = HEAD + (
    "class ConvBlock(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "{BODY}"
    "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        self.stem = nn.Sequential(ConvBlock(), nn.ReLU())\n        self.head = nn.Linear(8, 2)\n"
    "        self.apply(self._init)\n"
    "    def _init(self, m):\n{INIT}"
)
CONTAINER = "        self.conv = nn.Conv2d(3, 8, 3)\n        self.bn = nn.BatchNorm2d(8)\n"


def block(init: str, body: str = CONTAINER) -> str:
    return BLOCK.replace("{BODY}", body).replace("{INIT}", init)


@pytest.mark.parametrize(
    "init",
    [
        "        if m.__class__.__name__.find('Conv') != -1:\n            nn.init.zeros_(m.weight)\n",
        "        if m.__class__.__name__.find('Conv') >= 0:\n            nn.init.zeros_(m.weight)\n",
        "        name = type(m).__name__\n        if 'conv' in name.lower():\n            m.weight.data.normal_(0, 0.02)\n",
        "        if type(m).__name__.startswith(('Conv', 'Linear')):\n            nn.init.zeros_(m.weight)\n",
        "        if type(m).__name__.endswith('Block'):\n            nn.init.zeros_(m.weight)\n",
        "        if self.zero and 'Conv' in type(m).__name__:\n            nn.init.zeros_(m.weight)\n",
        "        name = m.__class__.__name__\n        if name.find('BatchNorm') != -1:\n            pass\n"
        "        elif name.find('Conv') != -1:\n            nn.init.zeros_(m.weight)\n",
        "        name = m.__class__.__name__\n        if name.find('Conv') == -1:\n            return\n"
        "        nn.init.zeros_(m.weight)\n",
        "        if isinstance(m, nn.Module) and 'Conv' in type(m).__name__:\n            nn.init.zeros_(m.weight)\n",
    ],
)
def test_il408_fires_on_a_reached_container(init):
    findings = lint(block(init), {"IL408"})
    assert [f.code for f in findings] == ["IL408"]
    message = findings[0].message
    assert "`ConvBlock` (defined at line 3)" in message and "no `.weight`" in message
    assert "inside `Net` (line 13)" in message


@pytest.mark.parametrize(
    "init",
    [
        # guards and tests that exclude the container
        "        if 'Conv' in type(m).__name__ and hasattr(m, 'weight'):\n            nn.init.zeros_(m.weight)\n",
        "        if 'Conv' in type(m).__name__:\n            if getattr(m, 'weight', None) is not None:\n"
        "                nn.init.zeros_(m.weight)\n",
        "        if 'Conv' in type(m).__name__ and isinstance(m, nn.Conv2d):\n            nn.init.zeros_(m.weight)\n",
        "        if type(m).__name__ in ('Conv2d', 'Linear'):\n            nn.init.zeros_(m.weight)\n",
        "        if type(m).__name__ == 'Conv2d':\n            nn.init.zeros_(m.weight)\n",
        "        if 'Conv' in type(m).__name__ and 'Block' not in type(m).__name__:\n            nn.init.zeros_(m.weight)\n",
        "        if 'Conv' in type(m).__name__:\n            try:\n                nn.init.zeros_(m.weight)\n"
        "            except AttributeError:\n                pass\n",
        # a test on the module we cannot read: not proven
        "        if 'Conv' in type(m).__name__ and m.training:\n            nn.init.zeros_(m.weight)\n",
        "        if 'Linear' in type(m).__name__:\n            nn.init.zeros_(m.weight)\n",
        "        if isinstance(m, nn.Conv2d):\n            nn.init.zeros_(m.weight)\n",
    ],
)
def test_il408_silent_when_the_container_is_excluded(init):
    assert codes(block(init), "IL408") == []


@pytest.mark.parametrize(
    "body",
    [
        "        self.weight = nn.Parameter(torch.ones(8))\n",
        "        self.register_parameter('weight', None)\n",
        "        setattr(self, name, nn.Parameter(torch.ones(8)))\n",
        "        self.register_buffer(name, torch.ones(8))\n",
        "        self.weight, self.scale = None, 1.0\n",
    ],
)
def test_il408_silent_when_the_class_may_have_the_attribute(body):
    init = "        if 'Conv' in type(m).__name__:\n            nn.init.zeros_(m.weight)\n"
    code = block(init, body).replace(
        "def __init__(self):\n        super().__init__()\n        se",
        "def __init__(self, name='w'):\n        super().__init__()\n        se",
        1,
    )
    assert codes(code, "IL408") == []


def test_il408_class_attribute_property_or_foreign_base():
    init = "        if 'Conv' in type(m).__name__:\n            nn.init.zeros_(m.weight)\n"
    for head in (
        "class ConvBlock(nn.Module):\n    weight = None\n    def __init__(self):\n        super().__init__()\n",
        "class ConvBlock(nn.Module):\n    @property\n    def weight(self):\n        return self.conv.weight\n"
        "    def __init__(self):\n        super().__init__()\n",
        "class ConvBlock(nn.Conv2d):\n    def __init__(self):\n        super().__init__(3, 8, 3)\n",
        "class ConvBlock(Base):\n    def __init__(self):\n        super().__init__()\n",
    ):
        code = block(init).replace(
            "class ConvBlock(nn.Module):\n    def __init__(self):\n        super().__init__()\n", head
        )
        assert codes("from mylib import Base\n" + code, "IL408") == [], head


def test_il408_reach_follows_the_models_the_function_is_applied_to():
    init = "def _init(m):\n    if 'Conv' in m.__class__.__name__:\n        nn.init.zeros_(m.weight)\n"
    classes = HEAD + (
        "class ConvBlock(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        + CONTAINER
        + "class Small(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 8, 3)\n"
        "class Big(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.blocks = nn.ModuleList([ConvBlock() for _ in range(2)])\n"
    )
    # a private function applied only to a fully known model without the container: silent
    assert codes(classes + init + "net = Small()\nnet.apply(_init)\n", "IL408") == []
    # applied to a model that holds it (in a ModuleList built from a comprehension): fires
    findings = lint(classes + init + "net = Big()\nnet.apply(_init)\n", {"IL408"})
    assert [f.code for f in findings] == ["IL408"] and "inside `Big`" in findings[0].message
    # a public helper: other files may apply it to any model, the container is defined here
    public = classes + init.replace("_init", "init_weights")
    findings = lint(public, {"IL408"})
    assert [f.code for f in findings] == ["IL408"]
    assert "this file does not show every model it is applied to" in findings[0].message
    # a loop over self.modules() of a class without the container: silent; with it: fires
    loop = (
        "        for m in self.modules():\n            if 'Conv' in type(m).__name__:\n"
        "                nn.init.zeros_(m.weight)\n"
    )
    assert (
        codes(
            classes.replace(
                "        self.conv = nn.Conv2d(3, 8, 3)\nclass Big",
                "        self.conv = nn.Conv2d(3, 8, 3)\n" + loop + "class Big",
            ),
            "IL408",
        )
        == []
    )
    assert codes(classes + loop, "IL408") == ["IL408"]
