"""Focused tests of the structure rules IL401-IL407: import styles, loops, `self.modules()` with
isinstance, `apply` with module-level functions / methods / lambdas, Sequential built in a
loop, norms in between; the IL401 fix keeps layout and line endings."""

from __future__ import annotations

import libcst as cst
import pytest

from initlint.testing import fix, lint


def codes(code: str, rule: str) -> list[str]:
    return [f.code for f in lint(code, {rule})]


def severities(code: str, rule: str) -> list[str]:
    return [f.severity for f in lint(code, {rule})]


HEAD = "import torch\nimport torch.nn as nn\n"

# -- IL401 optional-bias-unguarded ---------------------------------------------------------------

KNOWN_CLASS = HEAD + (
    "class Net(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        layers = []\n"
    "        for _ in range(3):\n"
    "            layers += [nn.Linear(8, 8{BIAS}), nn.ReLU()]\n"
    "        self.body = nn.Sequential(*layers)\n"
    "        self.norm = nn.LayerNorm(8)\n"
    "        self.apply(self._init)\n"
    "    def _init(self, m):\n"
    "        if isinstance(m, nn.Linear):\n"
    "            nn.init.zeros_(m.bias)\n"
)


def test_il401_known_layers_with_bias_are_silent():
    assert codes(KNOWN_CLASS.replace("{BIAS}", ""), "IL401") == []


def test_il401_sequential_in_loop_without_bias_is_an_error():
    assert severities(KNOWN_CLASS.replace("{BIAS}", ", bias=False"), "IL401") == ["error"]


def test_il401_bias_from_an_argument_is_not_proven():
    # a parameter default of False proves nothing: the callers may pass True
    for signature in ("use_bias", "use_bias=False"):
        code = KNOWN_CLASS.replace("{BIAS}", ", bias=use_bias").replace(
            "def __init__(self)", f"def __init__(self, {signature})"
        )
        assert codes(code, "IL401") == []


def test_il401_private_or_guarding_module_function_is_silent():
    body = "    if isinstance(m, nn.Linear):\n        nn.init.zeros_(m.bias)\n"
    assert codes(HEAD + "def _init(m):\n" + body, "IL401") == []
    guarded = "    if isinstance(m, nn.Conv2d) and m.bias is not None:\n        nn.init.zeros_(m.bias)\n"
    code = HEAD + "def init(m, name=''):\n" + guarded + body.replace("    if", "    elif", 1)
    assert codes(code, "IL401") == []


@pytest.mark.parametrize(
    "imports, init",
    [
        ("import torch.nn as nn", "nn.init.zeros_(m.bias)"),
        ("from torch import nn", "nn.init.constant_(m.bias, 0)"),
        ("import torch.nn as nn\nfrom torch.nn import init", "init.zeros_(m.bias)"),
        ("import torch.nn as nn", "m.bias.data.zero_()"),
        ("import torch.nn as nn", "m.bias.data.fill_(0.1)"),
    ],
)
def test_il401_module_level_function_speaks_only_on_a_layer_without_bias(imports, init):
    # Issue 9: "may reach layers built elsewhere" was wrong 8 of 8 times; only a layer this file
    # builds without a bias proves the crash.
    code = f"{imports}\ndef init_weights(m):\n    if isinstance(m, (nn.Conv2d, nn.Linear)):\n        {init}\n"
    assert codes(code, "IL401") == []
    assert codes(code + "conv = nn.Conv2d(3, 8, 3)\nfc = nn.Linear(8, 2, bias=True)\n", "IL401") == []
    findings = lint(code + "fc = nn.Linear(8, 2, bias=False)\n", {"IL401"})
    line = code.count("\n") + 1
    assert [f.severity for f in findings] == ["error"]
    assert f"this file builds a Linear without a bias (line {line})" in findings[0].message
    assert findings[0].related and findings[0].related[0].line == line


def test_il401_known_receivers_ignore_other_layers_of_the_file():
    # The private function is applied to Net only; the bias-less conv lives in a class it never
    # reaches. (A public one may be applied to that class by other files: it fires.)
    code = HEAD + (
        "def _init(m):\n    if isinstance(m, nn.Conv2d):\n        nn.init.zeros_(m.bias)\n"
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 8, 3)\n        self.apply(_init)\n"
        "class Other(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 8, 3, bias=False)\n"
    )
    assert codes(code, "IL401") == []
    assert codes(code.replace("_init", "init"), "IL401") == ["IL401"]
    own = code.replace("nn.Conv2d(3, 8, 3)\n        self.apply", "nn.Conv2d(3, 8, 3, bias=False)\n        self.apply")
    assert codes(own, "IL401") == ["IL401"]


@pytest.mark.parametrize(
    "norm, fires",
    [
        ("nn.InstanceNorm2d(8)", True),  # affine defaults to False
        ("nn.InstanceNorm2d(8, 1e-5, 0.1)", True),
        ("nn.InstanceNorm2d(8, affine=True)", False),
        ("nn.InstanceNorm2d(8, 1e-5, 0.1, True)", False),
        ("nn.InstanceNorm2d(*args)", False),
        ("nn.BatchNorm2d(8)", False),
        ("nn.BatchNorm2d(8, affine=False)", True),
        ("nn.LayerNorm(8, elementwise_affine=False)", True),
    ],
)
def test_il401_norm_built_without_affine(norm, fires):
    code = HEAD + (
        "class Net(nn.Module):\n    def __init__(self, *args):\n        super().__init__()\n"
        f"        self.norm = {norm}\n        for m in self.modules():\n"
        "            if isinstance(m, (nn.InstanceNorm2d, nn.BatchNorm2d, nn.LayerNorm)):\n"
        "                nn.init.zeros_(m.bias)\n"
    )
    assert codes(code, "IL401") == (["IL401"] if fires else [])


@pytest.mark.parametrize(
    "guard",
    [
        "if m.bias is not None:",
        "if hasattr(m, 'bias') and m.bias is not None:",
        "if getattr(m, 'bias', None) is not None:",
        "if m.bias:",
        "if isinstance(m, nn.Linear) and m.bias is not None:",
    ],
)
def test_il401_guards(guard):
    code = (
        HEAD
        + f"def init_weights(m):\n    if isinstance(m, nn.Linear):\n        {guard}\n            nn.init.zeros_(m.bias)\n"
    )
    assert codes(code, "IL401") == []


def test_il401_norm_only_when_file_disables_its_affine():
    init = "def init(m):\n    if isinstance(m, nn.LayerNorm):\n        nn.init.zeros_(m.bias)\n"
    assert codes(HEAD + init, "IL401") == []
    assert severities(HEAD + "ln = nn.LayerNorm(8, elementwise_affine=False)\n" + init, "IL401") == ["error"]


def test_il401_lambda_applied_to_a_known_class():
    code = HEAD + (
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(2, 2{BIAS})\n        self.apply(lambda m: nn.init.zeros_(m.bias) "
        "if isinstance(m, nn.Linear) else None)\n"
    )
    assert codes(code.replace("{BIAS}", ""), "IL401") == []
    assert severities(code.replace("{BIAS}", ", bias=False"), "IL401") == ["error"]


def test_il401_unknown_submodule_in_a_class_is_silent():
    code = HEAD + (
        "from mylib import Block\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.block = Block()\n        self.fc = nn.Linear(2, 2)\n        for m in self.modules():\n"
        "            if isinstance(m, nn.Linear):\n                nn.init.zeros_(m.bias)\n"
    )
    assert codes(code, "IL401") == []
    code = code.replace("self.fc = nn.Linear(2, 2)", "self.fc = nn.Linear(2, 2, bias=False)")
    assert severities(code, "IL401") == ["error"]


UNKNOWN_HELPER = HEAD + (
    "class Net(nn.Module):\n    def __init__(self, helper):\n        super().__init__()\n"
    "        self.conv1 = nn.Conv2d(1, 64, 3, bias=False)\n        self.bn1 = nn.BatchNorm2d(64)\n"
    "        self.fc5 = nn.Linear(4, 4)\n        self.layer = helper()\n        for m in self.modules():\n"
)


@pytest.mark.parametrize(
    "branch, fires",
    [
        # gfpgan arcface_arch.py: the BatchNorm branch of an elif chain never sees the bias-less conv
        (
            "            if isinstance(m, nn.Conv2d):\n                nn.init.xavier_normal_(m.weight)\n"
            "            elif isinstance(m, nn.BatchNorm2d) or isinstance(m, nn.BatchNorm1d):\n"
            "                nn.init.constant_(m.bias, 0)\n",
            False,
        ),
        (
            "            if isinstance(m, nn.Conv2d):\n                pass\n            else:\n"
            "                nn.init.constant_(m.bias, 0)\n",
            False,
        ),
        (
            "            if m.__class__ in (nn.BatchNorm2d, nn.Linear):\n                nn.init.constant_(m.bias, 0)\n",
            False,
        ),
        (
            "            if not isinstance(m, nn.Linear):\n                continue\n            nn.init.constant_(m.bias, 0)\n",
            False,
        ),
        (
            "            if isinstance(m, nn.Linear) or isinstance(m, nn.Conv2d):\n"
            "                nn.init.constant_(m.bias, 0)\n",
            True,
        ),
        ("            nn.init.constant_(m.bias, 0)\n", True),
    ],
)
def test_il401_reached_layers_follow_the_conditions(branch, fires):
    assert codes(UNKNOWN_HELPER + branch, "IL401") == (["IL401"] if fires else [])


def test_il401_fix_keeps_crlf_indentation_and_comment():
    code = (
        "import torch.nn as nn\r\nconv = nn.Conv2d(3, 8, 3, bias=False)\r\ndef init(m):\r\n"
        "\tif isinstance(m, nn.Conv2d):\r\n\t\tnn.init.zeros_(m.bias)  # zero\r\n"
    )
    fixed = fix(code, {"IL401"})
    assert fixed == (
        "import torch.nn as nn\r\nconv = nn.Conv2d(3, 8, 3, bias=False)\r\ndef init(m):\r\n"
        "\tif isinstance(m, nn.Conv2d):\r\n\t\tif m.bias is not None:\r\n\t\t\tnn.init.zeros_(m.bias)  # zero\r\n"
    )
    cst.parse_module(fixed)
    assert codes(fixed, "IL401") == []


def test_il401_no_fix_on_a_one_line_suite():
    code = (
        HEAD
        + "fc = nn.Linear(2, 2, bias=False)\ndef init(m):\n    if isinstance(m, nn.Linear): nn.init.zeros_(m.bias)\n"
    )
    findings = lint(code, {"IL401"})
    assert [f.code for f in findings] == ["IL401"] and findings[0].fix is None


# -- IL402 apply-called-with-call-result ---------------------------------------------------------


def test_il402_method_and_module_function():
    code = HEAD + "def init(m=None):\n    nn.init.zeros_(m.weight)\nnet = nn.Linear(2, 2)\nnet.apply(init())\n"
    assert codes(code, "IL402") == ["IL402"]
    assert fix(code, {"IL402"}).endswith("net.apply(init)\n")


def test_il402_factory_returning_lambda_is_silent():
    code = HEAD + "def make(s):\n    return lambda m: nn.init.normal_(m.weight, 0, s)\nnet.apply(make(1))\n"
    assert codes(code, "IL402") == []


def test_il402_generator_or_decorated_is_silent():
    code = HEAD + "import functools\n@functools.lru_cache\ndef init():\n    pass\nnet.apply(init())\n"
    assert codes(code, "IL402") == []


# -- IL403 init-in-forward -----------------------------------------------------------------------

FORWARD = HEAD + (
    "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        self.fc = nn.Linear(4, 4)\n        self.w = nn.Parameter(torch.ones(4))\n"
    "    def forward(self, x):\n        {STMT}\n        return self.fc(x) * self.w\n"
)


@pytest.mark.parametrize(
    "stmt",
    [
        "nn.init.normal_(self.fc.weight)",
        "self.fc.bias.data.zero_()",
        "torch.nn.init.ones_(self.w)",
        "self.w.data.fill_(1.0)",
        "self.apply(lambda m: nn.init.zeros_(m.bias) if isinstance(m, nn.Linear) else None)",
    ],
)
def test_il403_fires(stmt):
    assert codes(FORWARD.replace("{STMT}", stmt), "IL403") == ["IL403"]


@pytest.mark.parametrize(
    "stmt",
    [
        "noise = torch.randn_like(x)",
        "if self.training:\n            nn.init.normal_(self.fc.weight)",
        "y = nn.init.calculate_gain('relu')",
        "self.apply(print)",
    ],
)
def test_il403_silent(stmt):
    assert codes(FORWARD.replace("{STMT}", stmt), "IL403") == []


# -- IL404 uninitialized-parameter ---------------------------------------------------------------

PARAM = HEAD + (
    "class Scale(nn.Module):\n    def __init__(self, dim):\n        super().__init__()\n"
    "        self.gamma = nn.Parameter(torch.empty(dim))\n{EXTRA}"
    "    def forward(self, x):\n        return x * self.gamma\n"
)


def test_il404_fires_when_nothing_fills():
    assert codes(PARAM.replace("{EXTRA}", ""), "IL404") == ["IL404"]


@pytest.mark.parametrize(
    "extra",
    [
        "        nn.init.trunc_normal_(self.gamma, std=0.02)\n",
        "        self.gamma.data.uniform_(-1, 1)\n",
        "        with torch.no_grad():\n            self.gamma.copy_(torch.ones(dim))\n",
        "        self.gamma[:] = 1\n",
        "        for p in self.parameters():\n            nn.init.normal_(p)\n",
        "    def reset(self):\n        init_fn(self.gamma)\n",
    ],
)
def test_il404_silent_when_filled(extra):
    assert codes(PARAM.replace("{EXTRA}", extra), "IL404") == []


TWIN_PARAM = (
    "    def __init__(self, dim):\n        super().__init__()\n"
    "        self.gamma = nn.Parameter(torch.empty(dim))\n{EXTRA}"
    "    def forward(self, x):\n        return x * self.gamma\n"
)


@pytest.mark.parametrize(
    "classes",
    [
        "class Scale(nn.Module):\n",
        "from mylib import Base\nclass Scale(Base):\n",
        "import mylib\nclass Scale(mylib.layers.Base):\n",
        "from mylib import Base\nclass Middle(Base):\n    pass\nclass Scale(Middle):\n",
        "from mylib import Mixin\nclass Scale(nn.Module, Mixin):\n",
    ],
)
def test_il404_twins_under_any_base_get_the_same_verdict(classes):
    # Issue 9: a class with a base from another file was never checked; that base ran before
    # the parameter existed and cannot have filled it.
    code = HEAD + classes + TWIN_PARAM
    assert codes(code.replace("{EXTRA}", ""), "IL404") == ["IL404"]
    # a method no class of this file defines runs after: it may fill (the same for every twin)
    assert codes(code.replace("{EXTRA}", "        self.post_init()\n"), "IL404") == []
    # calling a submodule or a method of the class is no such method
    extra = "        self.proj = nn.Linear(dim, dim)\n        self.proj(torch.ones(dim))\n        self.check()\n"
    method = "    def check(self):\n        return None\n"
    assert codes(code.replace("{EXTRA}", extra) + method, "IL404") == ["IL404"]


def test_il404_parameter_nothing_here_reads_is_silent():
    # diffusers LuminaNextDiT2DModel.pad_token: made from torch.empty, never used in the file
    code = HEAD + (
        "from mylib import ModelMixin\nclass Model(ModelMixin):\n    def __init__(self, dim):\n"
        "        super().__init__()\n        self.pad = nn.Parameter(torch.empty(dim))\n"
        "        self.proj = nn.Linear(dim, dim)\n    def forward(self, x):\n        return self.proj(x){USE}\n"
    )
    assert codes(code.replace("{USE}", ""), "IL404") == []
    assert codes(code.replace("{USE}", " + self.pad"), "IL404") == ["IL404"]


def test_il404_foreign_base_initialized_after_the_parameter_may_fill_it():
    code = HEAD + (
        "from mylib import Base\nclass Scale(Base):\n    def __init__(self, dim):\n"
        "        self.gamma = nn.Parameter(torch.empty(dim))\n        super().__init__()\n"
        "    def forward(self, x):\n        return x * self.gamma\n"
    )
    assert codes(code, "IL404") == []


# -- IL406 init-before-layers --------------------------------------------------------------------


def test_il406_apply_with_lambda_before_sequential():
    code = HEAD + (
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.apply(lambda m: nn.init.zeros_(m.weight) if isinstance(m, nn.Conv2d) else None)\n"
        "        self.body = nn.Sequential(nn.Conv2d(3, 3, 3), nn.BatchNorm2d(3))\n"
    )
    assert codes(code, "IL406") == ["IL406"]


def test_il406_reassigned_before_is_silent():
    code = HEAD + (
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.w = None\n        self.reset_parameters()\n        self.w = nn.Parameter(torch.empty(3))\n"
        "    def reset_parameters(self):\n        if self.w is not None:\n            nn.init.ones_(self.w)\n"
    )
    assert codes(code, "IL406") == []


INIT_FIRST = HEAD + (
    "def init(m):\n    if isinstance(m, nn.Linear):\n        nn.init.xavier_uniform_(m.weight)\n"
    "{CLASS}    def __init__(self, pretrained=False):\n        super().__init__()\n{BODY}"
)


@pytest.mark.parametrize(
    "classes",
    ["class Net(nn.Module):\n", "from mylib import Base\nclass Net(Base):\n"],
)
@pytest.mark.parametrize(
    "body",
    [
        "        self.apply(init)\n        self.fc = nn.Linear(4, 4)\n",
        "        if not pretrained:\n            self.apply(init)\n        self.fc = nn.Linear(4, 4)\n",
        "        with torch.no_grad():\n            self.apply(init)\n        self.fc = nn.Linear(4, 4)\n",
        "        try:\n            self.apply(init)\n        finally:\n            pass\n        self.fc = nn.Linear(4, 4)\n",
        "        if True:\n            self.apply(init)\n            self.fc = nn.Linear(4, 4)\n",
    ],
)
def test_il406_twins_under_any_shape_or_base_get_the_same_verdict(classes, body):
    # Issue 9: only top-level calls of classes deriving from nn.Module in this file were checked
    code = INIT_FIRST.replace("{CLASS}", classes).replace("{BODY}", body)
    assert codes(code + "    def forward(self, x):\n        return self.fc(x)\n", "IL406") == ["IL406"]


@pytest.mark.parametrize(
    "body",
    [
        # the layer is assigned in the other branch: it never exists when the init runs first
        "        if pretrained:\n            self.apply(init)\n        else:\n            self.fc = nn.Linear(4, 4)\n",
        "        try:\n            self.apply(init)\n        except RuntimeError:\n            self.fc = nn.Linear(4, 4)\n",
        # assigned before the call too
        "        self.fc = nn.Linear(4, 4)\n        if pretrained:\n            self.apply(init)\n"
        "            self.fc = nn.Linear(4, 4)\n",
        "        self.apply(init)\n        self.conv = nn.Conv2d(3, 3, 3)\n",
    ],
)
def test_il406_silent_when_the_layer_is_not_built_after(body):
    code = INIT_FIRST.replace("{CLASS}", "class Net(nn.Module):\n").replace("{BODY}", body)
    assert codes(code, "IL406") == []


def test_il406_bias_init_does_not_reach_a_layer_without_bias():
    # lightly DINOProjectionHead: `self.apply(self._init_weights)` whose only init call of this
    # file is `.bias` (guarded), then a head built with bias=False: nothing it does is lost
    code = HEAD + (
        "class Head(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.body = nn.Linear(4, 4)\n        self.apply(self._init_weights)\n"
        "        self.last = nn.Linear(4, 8, bias={BIAS})\n"
        "    def _init_weights(self, m):\n        if isinstance(m, nn.Linear):\n"
        "            helper(m.weight)\n            if m.bias is not None:\n                nn.init.constant_(m.bias, 0)\n"
    )
    assert codes(code.replace("{BIAS}", "False"), "IL406") == []
    assert codes(code.replace("{BIAS}", "True"), "IL406") == ["IL406"]


# -- IL407 constant-hidden-weight ----------------------------------------------------------------


def test_il407_through_norm_and_activation():
    code = HEAD + (
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.body = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))\n"
        "        nn.init.ones_(self.body[0].weight)\n    def forward(self, x):\n        return self.body(x)\n"
    )
    assert codes(code, "IL407") == ["IL407"]


def test_il407_frozen_filter_is_silent():
    code = HEAD + (
        "class Blur(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.blur = nn.Conv2d(3, 3, 3, bias=False)\n        self.conv = nn.Conv2d(3, 8, 3)\n"
        "        nn.init.constant_(self.blur.weight, 1 / 9)\n        self.blur.weight.requires_grad = False\n"
        "    def forward(self, x):\n        return self.conv(self.blur(x))\n"
    )
    assert codes(code, "IL407") == []
