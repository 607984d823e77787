"""The semantic model: imports, module classes and layers, forward dataflow, init sites."""

from __future__ import annotations

import libcst as cst
import pytest

from initlint.semantic import SemanticModel
from initlint.source import SourceFile


def build(code: str, aliases: dict[str, str] | None = None) -> SemanticModel:
    return SemanticModel(SourceFile("m.py", code, "utf-8"), cst.parse_module(code), aliases)


def expr(model: SemanticModel, text: str) -> cst.BaseExpression:
    for node in (*model.nodes(cst.Attribute), *model.nodes(cst.Name)):
        if model.code(node) == text:
            return node
    raise AssertionError(f"no expression {text!r}")


@pytest.mark.parametrize(
    ("imports", "reference"),
    [
        ("import torch", "torch.nn.init.normal_"),
        ("import torch.nn as nn", "nn.init.normal_"),
        ("from torch import nn", "nn.init.normal_"),
        ("from torch.nn import init", "init.normal_"),
        ("import torch.nn.init as I", "I.normal_"),
        ("from torch.nn.init import normal_ as n", "n"),
        ("import torch.nn", "torch.nn.init.normal_"),
    ],
)
def test_import_styles_resolve(imports, reference):
    model = build(f"{imports}\n{reference}(w)\n")
    call = model.nodes(cst.Call)[0]
    assert model.init_function(call.func) == "normal_"


@pytest.mark.parametrize(
    "code",
    [
        "import mylib.init as init\ninit.normal_(w)\n",
        "from torch.nn import init\ninit = make()\ninit.normal_(w)\n",
        "from torch.nn import init\ndef f(init):\n    init.normal_(w)\n",
        "from torch.nn import init\nfrom mylib import init\ninit.normal_(w)\n",
        "normal_(w)\n",
    ],
)
def test_other_or_rebound_names_do_not_resolve(code):
    model = build(code)
    call = next(c for c in model.nodes(cst.Call) if "normal_" in model.code(c.func))
    assert model.init_function(call.func) is None


def test_init_aliases():
    model = build(
        "from mylib.layers import trunc_normal_\ntrunc_normal_(w, std=.02)\n",
        {"mylib.layers.trunc_normal_": "trunc_normal_"},
    )
    assert [s.function for s in model.init_sites] == ["trunc_normal_"]


NET = """
import torch
import torch.nn as nn
import torch.nn.functional as F

WIDTH = 64

class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)) + x)

class Net(nn.Module):
    def __init__(self, depth=3):
        super().__init__()
        layers = []
        for _ in range(depth):
            layers += [nn.Linear(WIDTH, WIDTH), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.fc1 = nn.Linear(10, WIDTH)
        self.fc2 = nn.Linear(WIDTH, WIDTH)
        self.drop = nn.Dropout(0.1)
        self.head = nn.Linear(WIDTH, 2, bias=False)
        self.act = nn.LeakyReLU(0.2)
        self.blocks = nn.ModuleList([Block() for _ in range(2)])
        self.scale = nn.Parameter(torch.empty(WIDTH))

    def forward(self, x):
        x = self.fc1(x)
        x = torch.tanh(x)
        x = self.act(self.drop(self.fc2(x)))
        x = self.body(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x)
"""


def layers_by_path(model: SemanticModel, cls: str) -> dict[str, object]:
    return {layer.path: layer for layer in model.module_classes[cls].all_layers()}


def test_module_classes_and_layers():
    model = build(NET)
    assert set(model.module_classes) == {"Block", "Net"}
    layers = layers_by_path(model, "Net")
    assert layers["fc1"].fan_in == 10 and layers["fc1"].fan_out == 64
    assert layers["head"].bias_disabled
    assert layers["body.*"].type_name in ("Linear", "ReLU")
    body = layers["body"]
    assert [i.type_name for i in body.items] == ["Linear", "ReLU"] and body.items[0].repeat == 3
    assert layers["blocks.*"].custom is model.module_classes["Block"]
    assert "conv" in layers  # the Block's layers are reached through the ModuleList
    assert layers["conv"].fan_in == 8 * 9
    assert set(model.module_classes["Net"].parameters) == {"scale"}


def test_forward_followers():
    model = build(NET)
    layers = layers_by_path(model, "Net")
    flow = model.dataflow
    assert flow.follower(layers["fc1"]).activation == "tanh"
    follower = flow.follower(layers["fc2"])
    assert follower.kind == "activation" and follower.activation == "leaky_relu" and follower.activation_param == 0.2
    assert flow.follower(layers["body"].items[0]).activation == "relu"
    assert flow.follower(layers["head"]).kind == "output"
    assert flow.follower(layers["conv"]).kind == "norm"
    edges = {(e.source.path, e.target.path, e.activation) for e in flow.edges}
    assert ("fc1", "fc2", "tanh") in edges and ("body.*", "body.*", "relu") in edges


def test_sequential_literal_order_and_residual_merge():
    model = build(
        "import torch.nn as nn\n"
        "class M(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.GELU())\n"
        "        self.proj = nn.Linear(8, 8)\n"
        "    def forward(self, x):\n"
        "        h = self.net(x)\n"
        "        return x + self.proj(h)\n"
    )
    layers = layers_by_path(model, "M")
    first, _, second, _ = layers["net"].items
    assert model.dataflow.follower(first).activation == "tanh"
    assert model.dataflow.follower(second).activation == "gelu"
    assert model.dataflow.follower(layers["proj"]) is None  # merged into a residual: not judged


def test_layer_used_twice_with_different_followers_is_unknown():
    model = build(
        "import torch.nn as nn, torch.nn.functional as F\n"
        "class M(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(4, 4)\n"
        "    def forward(self, x):\n"
        "        return F.relu(self.fc(x)) + self.fc(x).tanh()\n"
    )
    assert model.dataflow.follower(model.module_classes["M"].layers["fc"]) is None


INITS = """
import torch.nn as nn
from torch.nn import init

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 8, bias=False)
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        init.orthogonal_(self.fc1.weight, gain=init.calculate_gain("relu"))
        for layer in (self.fc1, self.fc2):
            layer.weight.data.normal_(0, 0.01)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                init.constant_(m.weight, 1)

    def _reset(self, m):
        if type(m) == nn.Linear and m.bias is not None:
            init.zeros_(m.bias)

def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        m.weight.data.uniform_(-0.1, 0.1)

net = Net()
net.apply(weights_init)
net.apply(lambda m: init.xavier_uniform_(m.weight) if isinstance(m, nn.Linear) else None)
"""


def sites_by_line(model: SemanticModel) -> list[tuple[str, str | None, list[str]]]:
    return [(s.function, s.param, sorted(layer.path for layer in s.layers)) for s in model.init_sites]


def test_init_sites_reach_layers():
    model = build(INITS)
    sites = sites_by_line(model)
    assert ("orthogonal_", "weight", ["fc1"]) in sites
    assert ("normal_", "weight", ["fc1", "fc2"]) in sites
    assert ("kaiming_normal_", "weight", ["conv"]) in sites
    assert ("constant_", "weight", ["bn"]) in sites
    assert ("uniform_", "weight", ["conv"]) in sites  # class-name dispatch through apply
    assert ("xavier_uniform_", "weight", ["fc1", "fc2"]) in sites  # a lambda given to apply


def test_init_schemes():
    model = build(INITS)
    by_function = {s.function: s.scheme for s in model.init_sites}
    assert by_function["orthogonal_"].gain == pytest.approx(2**0.5) and by_function["orthogonal_"].gain_name == "relu"
    kaiming = by_function["kaiming_normal_"]
    assert kaiming.mode == "fan_out" and kaiming.gain_name == "relu" and kaiming.gain == pytest.approx(2**0.5)
    assert by_function["normal_"].std == 0.01
    uniform = by_function["uniform_"]
    assert (uniform.low, uniform.high) == (-0.1, 0.1) and uniform.std == pytest.approx(0.2 / 12**0.5)


def test_bias_guard_and_type_dispatch():
    model = build(INITS)
    zeros = next(s for s in model.init_sites if s.function == "zeros_")
    assert zeros.dispatch.types == ("Linear",) and zeros.dispatch.bias_guarded
    assert zeros.param_ranks() == {1}


def test_tensor_methods_on_locals_are_not_init_sites():
    model = build("import torch\nnoise = torch.empty(3)\nnoise.normal_(0, 1)\n")
    assert model.init_sites == []


def test_indexing_into_containers():
    model = build(
        "import torch.nn as nn\n"
        "class M(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        layers = []\n"
        "        for _ in range(3):\n"
        "            layers += [nn.Linear(4, 4), nn.ReLU()]\n"
        "        self.loop = nn.Sequential(*layers)\n"
        "        self.flat = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))\n"
        "        nn.init.ones_(self.loop[4].weight)\n"
        "        nn.init.ones_(self.flat[1].weight)\n"
        "        nn.init.ones_(self.loop[i].weight)\n"
        "        nn.init.ones_(self.loop[6].weight)\n"
    )
    reached = [[layer.type_name for layer in site.layers] for site in model.init_sites]
    assert reached == [["Linear"], ["BatchNorm2d"], [], []]  # unknown index, out of range: unknown
