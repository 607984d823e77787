"""Focused tests of IL301-IL304 (init shapes and arguments, norm weights) and IL501-IL502
(dropout): import styles, loops, `self.modules()` with isinstance, `apply`, locally made tensors,
guards that keep the rules silent, the IL501 prefilter and fix."""

from __future__ import annotations

import pytest

from initlint.rules import BY_CODE
from initlint.testing import fix, lint

HEADERS = {
    "nn": ("import torch\nimport torch.nn as nn\n", "nn.init."),
    "init": ("import torch\nimport torch.nn as nn\nfrom torch.nn import init\n", "init."),
    "I": ("import torch\nimport torch.nn as nn\nimport torch.nn.init as I\n", "I."),
    "torch": ("import torch\nimport torch.nn as nn\n", "torch.nn.init."),
}


def codes(code: str, rule: str) -> list[str]:
    return [f.code for f in lint(code, {rule})]


def module(body: str, layers: str = "self.fc = nn.Linear(4, 4)", header: str = "import torch.nn as nn\n") -> str:
    return f"{header}class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n        {layers}\n{body}"


# -- IL301 init-shape-mismatch -------------------------------------------------------------------


@pytest.mark.parametrize("style", sorted(HEADERS))
@pytest.mark.parametrize("function", ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "orthogonal_"])
def test_il301_fan_based_init_on_bias_fires_in_every_import_style(style, function):
    header, prefix = HEADERS[style]
    code = module(f"        {prefix}{function}(self.fc.bias)\n", header=header)
    assert codes(code, "IL301") == ["IL301"]


def test_il301_from_import_by_name():
    code = module(
        "        xavier_uniform_(self.norm.weight)\n",
        "self.norm = nn.LayerNorm(4)",
        "import torch.nn as nn\nfrom torch.nn.init import xavier_uniform_\n",
    )
    assert codes(code, "IL301") == ["IL301"]


@pytest.mark.parametrize(
    "code",
    [
        # self.modules() + isinstance
        module(
            "        for m in self.modules():\n            if isinstance(m, nn.BatchNorm2d):\n"
            "                nn.init.kaiming_normal_(m.weight)\n",
            "self.bn = nn.BatchNorm2d(4)",
        ),
        # apply with a module-level function
        "import torch.nn as nn\ndef init(m):\n    if isinstance(m, nn.Linear):\n        nn.init.orthogonal_(m.bias)\n"
        "class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 4)\n        self.apply(init)\n",
        # apply with a method
        module(
            "        self.apply(self._init)\n    def _init(self, m):\n        if isinstance(m, nn.Conv2d):\n"
            "            nn.init.sparse_(m.weight, 0.1)\n",
            "self.conv = nn.Conv2d(3, 3, 3)",
        ),
        # a loop over listed layers
        module(
            "        for layer in [self.n1, self.n2]:\n            nn.init.xavier_uniform_(layer.weight)\n",
            "self.n1 = nn.LayerNorm(4)\n        self.n2 = nn.LayerNorm(4)",
        ),
        # dirac_ on a Linear weight, eye_ on a Conv1d weight
        module("        nn.init.dirac_(self.fc.weight)\n"),
        module("        nn.init.eye_(self.c.weight)\n", "self.c = nn.Conv1d(3, 3, 3)"),
        # tensors made locally
        "import torch\nimport torch.nn as nn\nw = torch.empty(2, 3, 4)\nnn.init.eye_(w)\n",
        "import torch\nimport torch.nn as nn\nw = nn.Parameter(torch.zeros((8,)))\nnn.init.xavier_normal_(w)\n",
        "import torch\nimport torch.nn as nn\nnn.init.orthogonal_(torch.empty(5))\n",
        "import torch\nfrom torch.nn import init\ndef f(d):\n    w = torch.randn(d).cuda()\n    init.kaiming_uniform_(w)\n",
        module(
            "    def reset(self):\n        nn.init.xavier_uniform_(self.gamma.data)\n",
            "self.gamma = nn.Parameter(torch.ones(dim))",
            "import torch\nimport torch.nn as nn\n",
        ),
    ],
)
def test_il301_fires(code):
    assert codes(code, "IL301") == ["IL301"]


@pytest.mark.parametrize(
    "code",
    [
        module("        nn.init.xavier_uniform_(self.fc.weight)\n        nn.init.eye_(self.fc.weight)\n"),
        module("        nn.init.dirac_(self.c.weight)\n", "self.c = nn.Conv3d(3, 3, 3)"),
        # every submodule, unnarrowed: the file may not show them all
        module("        for m in self.modules():\n            nn.init.xavier_uniform_(m.weight)\n"),
        # a rank guard
        "import torch.nn as nn\ndef init(m):\n    if isinstance(m, nn.LayerNorm) and m.weight.dim() > 1:\n"
        "        nn.init.xavier_uniform_(m.weight)\n",
        "import torch.nn as nn\ndef init(model):\n    for p in model.parameters():\n        if p.ndim >= 2:\n"
        "            nn.init.xavier_uniform_(p)\n",
        # mixed ranks: Linear weight 2-D, LayerNorm weight 1-D
        "import torch.nn as nn\ndef init(m):\n    if isinstance(m, (nn.Linear, nn.LayerNorm)):\n"
        "        nn.init.xavier_uniform_(m.weight)\n",
        # unknown classes and shapes
        "import torch.nn as nn\ndef init(m):\n    if isinstance(m, MyNorm):\n        nn.init.xavier_uniform_(m.weight)\n",
        "import torch\nimport torch.nn as nn\ndef f(shape):\n    w = torch.empty(shape)\n    nn.init.xavier_uniform_(w)\n",
        "import torch\nimport torch.nn as nn\ndef f(sizes):\n    w = torch.empty(*sizes)\n    nn.init.xavier_uniform_(w)\n",
        "import torch\nimport torch.nn as nn\nw = torch.empty(3)\nw = w.view(1, 3)\nnn.init.xavier_uniform_(w)\n",
        # assigned twice: either shape
        module(
            "        nn.init.xavier_uniform_(self.w)\n",
            "self.w = nn.Parameter(torch.zeros(4))\n        if big:\n            self.w = nn.Parameter(torch.zeros(4, 4))",
            "import torch\nimport torch.nn as nn\n",
        ),
        # a classname-string dispatch (other files' classes may match)
        "import torch.nn as nn\ndef init(m):\n    if m.__class__.__name__.find('Norm') != -1:\n"
        "        nn.init.xavier_uniform_(m.weight)\n",
        "import mylib.init as init\nimport torch\nw = torch.empty(3)\ninit.xavier_uniform_(w)\n",
    ],
)
def test_il301_silent(code):
    assert codes(code, "IL301") == []


def test_il301_message_names_the_layer_and_the_rank():
    (finding,) = lint(module("        nn.init.xavier_uniform_(self.fc.bias)\n"), {"IL301"})
    assert "`self.fc.bias` (1-D, a Linear bias)" in finding.message
    assert "ValueError" in finding.message and "zeros_" in finding.message


# -- IL302 invalid-init-argument -----------------------------------------------------------------


@pytest.mark.parametrize("style", sorted(HEADERS))
@pytest.mark.parametrize(
    "call",
    [
        "uniform_(w, 1.0, -1.0)",
        "uniform_(w, a=0.5, b=0.5)",
        "uniform_(w, 2)",  # b defaults to 1
        "normal_(w, std=-0.1)",
        "normal_(w, 0, 0)",
        "trunc_normal_(w, std=0.02, a=0.1, b=-0.1)",
        "trunc_normal_(w, mean=0.5, std=0.02, a=-0.04, b=0.04)",
        "sparse_(w, 1.5)",
        "sparse_(w, -0.1)",
        "sparse_(w, 0.1, std=0)",
        "kaiming_normal_(w, mode='fan_avg')",
        "kaiming_uniform_(w, a=0, mode='fan_in', nonlinearity='swish')",
        "kaiming_normal_(w, 0, 'fan_out', 'mish')",
        "calculate_gain('gelu')",
        "calculate_gain(nonlinearity='elu')",
        "calculate_gain('softplus')",
    ],
)
def test_il302_fires(style, call):
    header, prefix = HEADERS[style]
    assert codes(f"{header}{prefix}{call}\n", "IL302") == ["IL302"]


@pytest.mark.parametrize(
    "code",
    [
        "import torch.nn as nn\nnn.init.uniform_(w)\n",
        "import torch.nn as nn\nnn.init.uniform_(w, -bound, bound)\n",
        "import torch.nn as nn\nnn.init.normal_(w, std=std)\n",
        "import torch.nn as nn\nnn.init.trunc_normal_(w, std=0.02)\n",
        "import torch.nn as nn\nnn.init.sparse_(w, 0.9, std=0.02)\n",
        "import torch.nn as nn\nnn.init.kaiming_normal_(w, mode='fan_out', nonlinearity='leaky_relu')\n",
        "import torch.nn as nn\nnn.init.kaiming_normal_(w, nonlinearity='conv_transpose2d')\n",
        "import torch.nn as nn\ng = nn.init.calculate_gain(act)\n",
        "import torch.nn as nn\ng = nn.init.calculate_gain('tanh')\n",
        "import torch.nn as nn\nargs = ('gelu',)\ng = nn.init.calculate_gain(*args)\n",
        "import numpy as np\nx = np.random.normal(0, 0)\n",
        "import torch\nx = torch.empty(3).uniform_(1, 0)\n",  # a local tensor, not an nn.init call
        "import torch.nn as nn\ndef init(m, std=0.0):\n    nn.init.normal_(m.weight, std=std)\n",  # default overridable
    ],
)
def test_il302_silent(code):
    assert codes(code, "IL302") == []


def test_il302_module_constant_is_evaluated():
    code = "import torch.nn as nn\nSTD = 0.0\nnn.init.normal_(w, 0, STD)\n"
    assert codes(code, "IL302") == ["IL302"]


# -- IL303 trunc-normal-absolute-bounds ------------------------------------------------------------


def test_il303_is_off_by_default():
    code = "import torch.nn as nn\nnn.init.trunc_normal_(w, std=0.02)\n"
    assert not BY_CODE["IL303"].default_enabled
    assert [f.code for f in lint(code)] == []
    assert codes(code, "IL303") == ["IL303"]


@pytest.mark.parametrize(
    "code",
    [
        "import torch.nn as nn\nnn.init.trunc_normal_(w, std=0.02, a=-2.0)\n",
        "import torch.nn as nn\nnn.init.trunc_normal_(w, 0.0, 0.02, -0.04, 0.04)\n",
        "import torch.nn as nn\nnn.init.trunc_normal_(w, std=0.6)\n",
        "import torch.nn as nn\nnn.init.trunc_normal_(w, std=0)\n",  # IL302's case
    ],
)
def test_il303_silent(code):
    assert codes(code, "IL303") == []


def test_il303_in_an_apply_callback_and_suggests_bounds():
    code = (
        "import torch.nn as nn\ndef init(m):\n    if isinstance(m, nn.Linear):\n"
        "        nn.init.trunc_normal_(m.weight, std=.02)\n"
    )
    (finding,) = lint(code, {"IL303"})
    assert "a=-0.04, b=0.04" in finding.message


# -- IL304 norm-weight-zero-mean -------------------------------------------------------------------

NORMS = ["BatchNorm1d", "BatchNorm2d", "SyncBatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm2d", "RMSNorm"]


@pytest.mark.parametrize("norm", NORMS)
def test_il304_fires_for_every_norm(norm):
    code = (
        "import torch.nn as nn\ndef init(m):\n"
        f"    if isinstance(m, nn.{norm}):\n        nn.init.normal_(m.weight, std=0.02)\n"
    )
    assert codes(code, "IL304") == ["IL304"]


@pytest.mark.parametrize(
    "code",
    [
        module(
            "        for m in self.modules():\n            if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):\n"
            "                m.weight.data.normal_(0, 0.01)\n",
            "self.bn = nn.BatchNorm2d(4)",
        ),
        module(
            "        self.apply(self._init)\n    def _init(self, m):\n        if isinstance(m, nn.LayerNorm):\n"
            "            nn.init.trunc_normal_(m.weight, std=0.02)\n",
            "self.norm = nn.LayerNorm(4)",
        ),
        module(
            "        init.uniform_(self.norm.weight, -s, s)\n",
            "self.norm = nn.LayerNorm(4)",
            "import torch.nn as nn\nfrom torch.nn import init\n",
        ),
        "import torch.nn as nn\nimport torch.nn.init as I\ndef init(m):\n    if type(m) == nn.BatchNorm1d:\n"
        "        I.normal_(m.weight)\n",
        "import torch.nn as nn\nfrom torch.nn.init import normal_\ndef init(m):\n"
        "    if isinstance(m, nn.LayerNorm):\n        normal_(m.weight, mean=0.0, std=0.02)\n",
    ],
)
def test_il304_fires(code):
    assert codes(code, "IL304") == ["IL304"]


@pytest.mark.parametrize(
    "code",
    [
        # deliberate zero init, mean 1, constant, positive uniform
        "import torch.nn as nn\ndef init(m):\n    if isinstance(m, nn.BatchNorm2d):\n        nn.init.zeros_(m.weight)\n",
        "import torch.nn as nn\ndef init(m):\n    if isinstance(m, nn.BatchNorm2d):\n"
        "        nn.init.constant_(m.weight, 0)\n",
        "import torch.nn as nn\ndef init(m):\n    if isinstance(m, nn.BatchNorm2d):\n"
        "        m.weight.data.normal_(1.0, 0.02)\n",
        "import torch.nn as nn\ndef init(m):\n    if isinstance(m, nn.BatchNorm2d):\n        nn.init.uniform_(m.weight)\n",
        "import torch.nn as nn\ndef init(m):\n    if isinstance(m, nn.BatchNorm2d):\n"
        "        nn.init.uniform_(m.weight, 0.5, 1.5)\n",
        # not only norms, or not a norm
        "import torch.nn as nn\ndef init(m):\n    if isinstance(m, (nn.Linear, nn.LayerNorm)):\n"
        "        nn.init.normal_(m.weight, 0, 0.02)\n",
        "import torch.nn as nn\ndef init(m):\n    if isinstance(m, LayerNorm2d):\n        nn.init.normal_(m.weight, 0, 0.02)\n",
        module(
            "        for m in self.modules():\n            nn.init.normal_(m.weight, 0, 0.02)\n",
            "self.norm = nn.LayerNorm(4)",
        ),
        # the bias (beta) may be drawn around 0
        "import torch.nn as nn\ndef init(m):\n    if isinstance(m, nn.LayerNorm):\n        nn.init.normal_(m.bias, 0, 0.02)\n",
        # a mean that is not a literal
        "import torch.nn as nn\ndef init(m, mean=0.0):\n    if isinstance(m, nn.LayerNorm):\n"
        "        nn.init.normal_(m.weight, mean, 0.02)\n",
    ],
)
def test_il304_silent(code):
    assert codes(code, "IL304") == []


# -- IL501 functional-dropout-always-on ----------------------------------------------------------

CLASS = "class M(nn.Module):\n    def forward(self, x):\n        return {call}\n"


@pytest.mark.parametrize(
    ("header", "call"),
    [
        ("import torch.nn as nn\nimport torch.nn.functional as F\n", "F.dropout(x)"),
        ("import torch.nn as nn\nimport torch.nn.functional as F\n", "F.dropout1d(x, 0.1)"),
        ("import torch.nn as nn\nimport torch.nn.functional as F\n", "F.dropout3d(x, p=0.1, inplace=True)"),
        ("import torch\nimport torch.nn as nn\n", "torch.nn.functional.feature_alpha_dropout(x, 0.1)"),
        ("from torch import nn\n", "nn.functional.dropout(x, 0.1)"),
        ("import torch.nn as nn\nfrom torch.nn.functional import dropout\n", "dropout(x, 0.1)"),
        ("import torch.nn as nn\nfrom torch.nn import functional\n", "functional.dropout2d(x)"),
    ],
)
def test_il501_fires(header, call):
    code = header + CLASS.format(call=call)
    assert codes(code, "IL501") == ["IL501"]
    assert BY_CODE["IL501"].may_match(code)


@pytest.mark.parametrize(
    "code",
    [
        "import torch.nn as nn\nimport torch.nn.functional as F\n"
        + CLASS.format(call="F.dropout(x, p=0.1 if self.training else 0.0)"),
        "import torch.nn as nn\nimport torch.nn.functional as F\n"
        + CLASS.format(call="F.dropout(x, 0.1, self.training, False)"),
        "import torch.nn as nn\nimport torch.nn.functional as F\n" + CLASS.format(call="F.dropout(x, **kw)"),
        "import torch.nn as nn\nimport torch.nn.functional as F\n" + CLASS.format(call="F.dropout(x, *args)"),
        "import torch.nn as nn\nimport torch.nn.functional as F\n" + CLASS.format(call="F.relu(x)"),
        "import torch.nn as nn\nimport torch.nn.functional as F\n"
        "class M(nn.Module):\n    def forward(self, x):\n        return self.training and F.dropout(x)\n",
        # not an nn.Module
        "import torch.nn.functional as F\nclass Aug:\n    def __call__(self, x):\n        return F.dropout(x)\n",
        "import torch.nn as nn\nimport mylib.functional as F\n" + CLASS.format(call="F.dropout(x)"),
    ],
)
def test_il501_silent(code):
    assert codes(code, "IL501") == []


def test_il501_prefilter_skips_files_whose_calls_all_pass_training():
    rule = BY_CODE["IL501"]
    assert not rule.may_match("import torch\nF.dropout(x, p, training=self.training)\n")
    assert not rule.may_match("import torch\nF.dropout(\n    f(x), p=(a + b),\n    training=t,\n)\n")
    assert not rule.may_match("import torch\nx = nn.Dropout(0.1)\n")
    assert rule.may_match("import torch\nF.dropout(x, p)\nF.dropout(y, p, training=t)\n")
    assert rule.may_match("import torch\nF.dropout(x, p=cfg['p'])  # training\n")  # unsure: scan
    assert rule.may_match("from torch.nn.functional import dropout as drop\n")
    assert not rule.may_match("import torch\nF.dropout(x, p=self.training_p, training=t)\n")
    assert rule.may_match("import torch\nF.dropout(x, p=self.training_p)\n")


def test_il501_fix_keeps_a_trailing_comma_layout():
    code = (
        "import torch.nn as nn\nimport torch.nn.functional as F\nclass M(nn.Module):\n"
        "    def forward(self, x):\n        return F.dropout(\n            x,\n            p=0.1,\n        )\n"
    )
    fixed = fix(code, {"IL501"}, unsafe=True)
    assert "p=0.1, training=self.training,\n" in fixed
    assert codes(fixed, "IL501") == []


def test_il501_no_fix_in_a_nested_function():
    code = (
        "import torch.nn as nn\nimport torch.nn.functional as F\nclass M(nn.Module):\n"
        "    def forward(self, x):\n        def drop(y):\n            return F.dropout(y)\n        return drop(x)\n"
    )
    (finding,) = lint(code, {"IL501"})
    assert finding.fix is None


# Issue 9: identical code, identical verdict, whatever the class derives from. The espnet case:
# `torch.nn.functional.dropout` without `training=` in a model method was silent in a class
# deriving from AbsESPnetModel (another file) and flagged in a twin deriving from nn.Module.
TWIN_METHOD = (
    "    def forward(self, x):\n        return self._ctc(x)\n"
    "    def _ctc(self, x):\n        return torch.nn.functional.dropout(x, p=self.rate)\n"
)


@pytest.mark.parametrize(
    "classes",
    [
        "class Model(torch.nn.Module):\n",
        "from torch import nn\nclass Model(nn.Module):\n",
        "from espnet2.train.abs_espnet_model import AbsESPnetModel\nclass Model(AbsESPnetModel):\n",
        "import mylib\nclass Model(mylib.models.Base):\n",
        "from mylib import Base\nclass Middle(Base):\n    pass\nclass Model(Middle):\n",
        "from mylib import Base\nclass Model(Base, metaclass=Meta):\n",
        "from mylib import *\nclass Model(Base):\n",
    ],
)
def test_il501_twins_under_any_base_get_the_same_verdict(classes):
    code = "import torch\n" + classes + TWIN_METHOD
    assert codes(code, "IL501") == ["IL501"]


@pytest.mark.parametrize(
    "classes, body",
    [
        # a foreign base and module evidence other than forward
        ("from mylib import Base\nclass Model(Base):\n", "    def step(self, x):\n        if self.training: pass\n"),
        (
            "from mylib import Base\nclass Model(Base):\n",
            "    def __init__(self):\n        super().__init__()\n        self.register_buffer('b', torch.ones(1))\n",
        ),
        (
            "from mylib import Base\nclass Model(Base):\n",
            "    def __init__(self):\n        super().__init__()\n        self.proj = torch.nn.Linear(2, 2)\n",
        ),
    ],
)
def test_il501_foreign_base_with_module_evidence(classes, body):
    code = "import torch\n" + classes + body + "    def drop(self, x):\n        return torch.nn.functional.dropout(x)\n"
    assert codes(code, "IL501") == ["IL501"]


@pytest.mark.parametrize(
    "classes",
    [
        "class Model:\n",
        "class Model(object):\n",
        "import abc\nclass Model(abc.ABC):\n",
        "from typing import Generic, TypeVar\nT = TypeVar('T')\nclass Model(Generic[T]):\n",
        "class Model(torch.autograd.Function):\n",
    ],
)
def test_il501_classes_that_are_not_modules_stay_silent(classes):
    code = "import torch\n" + classes + TWIN_METHOD
    assert codes(code, "IL501") == []
    # and a foreign base without any module evidence (no forward, no layers): not proven
    plain = "import torch\nfrom mylib import Aug\nclass Drop(Aug):\n    def __call__(self, x):\n"
    assert codes(plain + "        return torch.nn.functional.dropout(x, 0.1)\n", "IL501") == []


@pytest.mark.parametrize(
    ("call", "fires"),
    [
        ("F.dropout(x, 0.1, training=True)", True),
        ("F.dropout(x, 0.1, True)", True),
        ("F.dropout(x, 0.1, training=False)", False),
        ("F.dropout(x, 0.1, training=self.training and self.on)", False),
        ("F.dropout(x, 0.1, training=mc)", False),
    ],
)
def test_il501_literal_training_true(call, fires):
    code = "import torch.nn as nn\nimport torch.nn.functional as F\n" + CLASS.format(call=call)
    assert codes(code, "IL501") == (["IL501"] if fires else [])
    assert BY_CODE["IL501"].may_match(code) or not fires
    if fires:
        fixed = fix(code, {"IL501"}, unsafe=True)
        assert "0.1, training=self.training)" in fixed or "0.1, self.training)" in fixed
        assert codes(fixed, "IL501") == []
    guarded = code.replace("        return ", "        if self.training:\n            x = ") + "        return x\n"
    assert codes(guarded, "IL501") == []


# -- IL502 dropout-probability-out-of-range ------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "import torch.nn as nn\nd = nn.Dropout(1.5)\n",
        "import torch.nn as nn\nd = nn.Dropout(p=-0.5)\n",
        "import torch.nn as nn\nd = nn.Dropout(1)\n",
        "import torch.nn as nn\nd = nn.AlphaDropout(p=2)\n",
        "import torch\nd = torch.nn.Dropout3d(10, inplace=True)\n",
        "from torch.nn import FeatureAlphaDropout as FAD\nd = FAD(-1)\n",
        "import torch.nn.functional as F\ny = F.dropout(x, p=20)\n",
        "from torch.nn.functional import dropout2d\ny = dropout2d(x, 1.0)\n",
        "import torch.nn as nn\nclass M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.net = nn.Sequential(nn.Linear(4, 4), nn.Dropout(p=+50))\n",
    ],
)
def test_il502_fires(code):
    assert codes(code, "IL502") == ["IL502"]


@pytest.mark.parametrize(
    "code",
    [
        "import torch.nn as nn\nd = nn.Dropout()\n",
        "import torch.nn as nn\nd = nn.Dropout(0.0)\n",
        "import torch.nn as nn\nd = nn.Dropout(0.99)\n",
        "import torch.nn as nn\nd = nn.Dropout(p)\n",
        "import torch.nn as nn\nd = nn.Dropout(1 - keep)\n",
        "import torch.nn as nn\nd = nn.Dropout(inplace=True)\n",
        "import torch.nn.functional as F\ny = F.dropout(x, training=False)\n",
        "import torch.nn.functional as F\ny = F.dropout(x)\n",
        "import tensorflow as tf\nd = tf.keras.layers.Dropout(50)\n",
        "import torch.nn as nn\nDropout = make\nd = Dropout(50)\n",
    ],
)
def test_il502_silent(code):
    assert codes(code, "IL502") == []


def test_il502_message_for_one_says_everything_is_dropped():
    (finding,) = lint("import torch.nn as nn\nd = nn.Dropout(p=1.0)\n", {"IL502"})
    assert "every element is dropped" in finding.message


def test_il502_prefilter_is_selective_and_sound():
    rule = BY_CODE["IL502"]
    assert not rule.may_match("import torch.nn as nn\nd = nn.Dropout(0.1)\ne = nn.Dropout(config.p)\n")
    assert not rule.may_match("import torch.nn.functional as F\ny = F.dropout(x, 0.5, training=t)\n")
    assert not rule.may_match("import torch.nn as nn\nx = 1\n")
    assert rule.may_match("import torch.nn as nn\nd = nn.Dropout(0.1)\ne = nn.Dropout(1.0)\n")
    assert rule.may_match("import torch.nn as nn\nd = nn.Dropout(p=-0.1)\n")
    assert rule.may_match("import torch.nn as nn\nd = nn.Dropout(0x10)\n")
    assert rule.may_match("import torch.nn as nn\nd = nn.Dropout(5e-1 * 4)\n")
    assert rule.may_match("import torch.nn as nn\nd = nn.Dropout(cfg['p'])\n")  # unsure: scan
    assert rule.may_match("from torch.nn import Dropout as D\nd = D(2)\n")
    assert codes("from torch.nn import Dropout as D\nd = D(2)\n", "IL502") == ["IL502"]
