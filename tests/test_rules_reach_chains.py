"""Issue 10, items 7 and 8: the existing rules see init code where real code puts it.

Each shape has a firing case and a non-firing twin (the same model with the matching init, or
with a norm between the layers): the reach is new, the verdict is the rule's own."""

from __future__ import annotations

import pytest

from initlint.testing import lint

IMPORTS = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"


def codes(code: str, select: list[str]) -> list[tuple[str, int]]:
    return [(f.code, f.line) for f in lint(code, select)]


def il201(code: str) -> list[int]:
    return [line for rule, line in codes(code, ["IL201"]) if rule == "IL201"]


def il203(code: str) -> list[int]:
    return [line for rule, line in codes(code, ["IL203"]) if rule == "IL203"]


MLP3 = (
    "class MLP(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.fc1 = nn.Linear(8, 8)\n"
    "        self.fc2 = nn.Linear(8, 8)\n"
    "        self.fc3 = nn.Linear(8, 2)\n"
    "{init}"
    "    def forward(self, x):\n"
    "        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))\n"
)
XAVIER = "nn.init.xavier_uniform_({w})"
KAIMING = "nn.init.kaiming_uniform_({w}, nonlinearity='relu')"


# -- item 7: where the init runs ----------------------------------------------------------------
def helper_self(init: str) -> str:
    return (
        IMPORTS + "def init_weights(module):\n"
        "    for m in module.modules():\n"
        "        if isinstance(m, nn.Linear):\n"
        f"            {init.format(w='m.weight')}\n" + MLP3.format(init="        init_weights(self)\n")
    )


def test_helper_called_with_self() -> None:
    assert il201(helper_self(XAVIER)) == [7]
    assert il201(helper_self(KAIMING)) == []


def script_apply(init: str, between: str = "") -> str:
    model = MLP3.replace("F.relu(self.fc2(", f"F.relu({between}self.fc2(") if between else MLP3
    return (
        IMPORTS + "def weight_init(m):\n"
        "    if isinstance(m, nn.Linear):\n"
        f"        {init.format(w='m.weight')}\n" + model.format(init="") + "if __name__ == '__main__':\n"
        "    device = 'cuda' if torch.cuda.is_available() else 'cpu'\n"
        "    net = MLP().to(device)\n"
        "    net.apply(weight_init)\n"
    )


def test_script_applies_to_a_module_level_instance() -> None:
    assert il201(script_apply(XAVIER)) == [6]
    assert il201(script_apply(KAIMING)) == []


def layer_helper(init: str) -> str:
    return (
        IMPORTS + "def init_layer(layer, bias=0.0):\n"
        f"    {init.format(w='layer.weight')}\n"
        "    nn.init.constant_(layer.bias, bias)\n"
        + MLP3.format(init="        init_layer(self.fc1)\n        init_layer(self.fc2)\n")
    )


def test_helper_called_with_each_layer() -> None:
    assert il201(layer_helper(XAVIER)) == [5]
    assert il201(layer_helper(KAIMING)) == []


def pix2pix(init: str) -> str:
    """The CycleGAN/pix2pix shape: `init_weights(net)` applies a closure to a network whose
    class is picked by name."""
    return (
        IMPORTS + "def init_weights(net, gain=0.02):\n"
        "    def init_func(m):\n"
        "        classname = m.__class__.__name__\n"
        "        if classname.find('Linear') != -1:\n"
        f"            {init.format(w='m.weight.data')}\n"
        "    net.apply(init_func)\n"
        "def define_net(name):\n"
        "    if name == 'mlp':\n"
        "        net = MLP()\n"
        "    elif name == 'mlp_cpu':\n"
        "        net = MLP().cpu()\n"
        "    else:\n"
        "        raise NotImplementedError(name)\n"
        "    init_weights(net)\n"
        "    return net\n" + MLP3.format(init="")
    )


def test_helper_applies_to_its_module_parameter() -> None:
    assert il201(pix2pix(XAVIER)) == [8]
    assert il201(pix2pix(KAIMING)) == []


def zip_mlp(init: str) -> str:
    return (
        IMPORTS + "class MLP(nn.Module):\n"
        "    def __init__(self, sizes=(64, 64, 64, 64, 10)):\n"
        "        super().__init__()\n"
        "        layers = []\n"
        "        for a, b in zip(sizes[:-1], sizes[1:]):\n"
        "            layers += [nn.Linear(a, b), nn.ReLU()]\n"
        "        self.net = nn.Sequential(*layers[:-1])\n"
        "        for m in self.modules():\n"
        "            if isinstance(m, nn.Linear):\n"
        f"                {init.format(w='m.weight')}\n"
        "    def forward(self, x):\n"
        "        return self.net(x)\n"
    )


def test_mlp_built_from_zipped_sizes() -> None:
    assert il201(zip_mlp(XAVIER)) == [13]
    assert il201(zip_mlp(KAIMING)) == []


def module_list_mlp(std: str) -> str:
    return (
        IMPORTS + "class MLP(nn.Module):\n"
        "    def __init__(self, sizes=[784, 256, 256, 256, 10]):\n"
        "        super().__init__()\n"
        "        self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])\n"
        "        for layer in self.layers:\n"
        f"            nn.init.normal_(layer.weight, std={std})\n"
        "    def forward(self, x):\n"
        "        for layer in self.layers[:-1]:\n"
        "            x = F.relu(layer(x))\n"
        "        return self.layers[-1](x)\n"
    )


def test_module_list_comprehension_of_zipped_sizes_has_per_layer_fans() -> None:
    message = lint(module_list_mlp("0.01"), ["IL203"])
    assert [f.line for f in message] == [9]
    assert "layers.0 x0.198, layers.1 x0.113, layers.2 x0.113" in message[0].message
    assert il203(module_list_mlp("0.07")) == []  # about sqrt(2 / 256): the scale is kept


def indexed_sizes(between: str) -> str:
    return (
        IMPORTS + "class MLP(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        sizes = [512] * 4 + [10]\n"
        "        layers = []\n"
        "        for i in range(len(sizes) - 1):\n"
        "            layers.append(nn.Linear(sizes[i], sizes[i + 1]))\n"
        "            if i < len(sizes) - 2:\n"
        f"                layers += [{between}nn.ReLU()]\n"
        "        self.net = nn.Sequential(*layers)\n"
        "        for m in self.modules():\n"
        "            if isinstance(m, nn.Linear):\n"
        "                nn.init.normal_(m.weight, 0, 0.01)\n"
        "    def forward(self, x):\n"
        "        return self.net(x)\n"
    )


def test_loop_over_indexed_sizes_is_unrolled() -> None:
    assert il203(indexed_sizes("")) == [16]
    assert il203(indexed_sizes("nn.BatchNorm1d(sizes[i + 1]), ")) == []


def ordered_dict(between: str) -> str:
    return (
        IMPORTS + "from collections import OrderedDict\n"
        "class MLP(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.net = nn.Sequential(OrderedDict([\n"
        f"            ('fc1', nn.Linear(8, 8)),{between} ('relu1', nn.ReLU()),\n"
        f"            ('fc2', nn.Linear(8, 8)),{between} ('relu2', nn.ReLU()),\n"
        "            ('fc3', nn.Linear(8, 2)),\n"
        "        ]))\n"
        "        for m in self.modules():\n"
        "            if isinstance(m, nn.Linear):\n"
        "                nn.init.xavier_uniform_(m.weight)\n"
        "    def forward(self, x):\n"
        "        return self.net(x)\n"
    )


def test_sequential_of_an_ordered_dict() -> None:
    findings = lint(ordered_dict(""), ["IL201"])
    assert [f.line for f in findings] == [15]
    assert "net.fc1, net.fc2" in findings[0].message
    assert il201(ordered_dict(" ('bn', nn.BatchNorm1d(8)),")) == []


def ordered_dict_items(init: str) -> str:
    return (
        IMPORTS + "import collections\n"
        "class MLP(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        layers = collections.OrderedDict()\n"
        "        layers['fc1'] = nn.Linear(8, 8)\n"
        "        layers['act1'] = nn.Tanh()\n"
        "        layers['fc2'] = nn.Linear(8, 8)\n"
        "        layers['act2'] = nn.Tanh()\n"
        "        layers['out'] = nn.Linear(8, 2)\n"
        "        self.net = nn.Sequential(layers)\n"
        f"        {init.format(w='self.net.fc1.weight')}\n"
        f"        {init.format(w='self.net.fc2.weight')}\n"
        "    def forward(self, x):\n"
        "        return self.net(x)\n"
    )


def test_ordered_dict_filled_by_key_and_named_members() -> None:
    assert il201(ordered_dict_items(KAIMING)) == [15, 16]
    assert il201(ordered_dict_items("nn.init.xavier_uniform_({w}, gain=nn.init.calculate_gain('tanh'))")) == []


def static_init(init: str) -> str:
    return (
        IMPORTS + "class MLP(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.net = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))\n"
        "        self.apply(MLP._init)\n"
        "    @staticmethod\n"
        "    def _init(m):\n"
        "        if isinstance(m, nn.Linear):\n"
        f"            {init.format(w='m.weight')}\n"
        "    def forward(self, x):\n"
        "        return self.net(x)\n"
    )


def test_static_method_given_to_apply_through_the_class() -> None:
    assert il201(static_init(XAVIER)) == [12]
    assert il201(static_init(KAIMING)) == []


def submodule_apply(init: str) -> str:
    return (
        IMPORTS + "def init(m):\n"
        "    if isinstance(m, nn.Linear):\n"
        f"        {init.format(w='m.weight')}\n"
        "class MLP(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.body = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8))\n"
        "        self.head = nn.Linear(8, 2)\n"
        "        self.body.apply(init)\n"
        "    def forward(self, x):\n"
        "        return self.head(self.body(x))\n"
    )


def test_apply_on_a_submodule_reaches_its_layers_only() -> None:
    findings = lint(submodule_apply(XAVIER), ["IL201"])
    assert [f.line for f in findings] == [6]
    assert "body.0, body.2" in findings[0].message and "head" not in findings[0].message
    assert il201(submodule_apply(KAIMING)) == []


def shape_module(forward: str) -> str:
    return (
        IMPORTS + "class View(nn.Module):\n"
        "    def __init__(self, *shape):\n"
        "        super().__init__()\n"
        "        self.shape = shape\n"
        "        self.scale = 2.0\n"
        "    def forward(self, x):\n"
        f"        {forward}\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.net = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Dropout(0.1), View(8), nn.Identity(),\n"
        "                                 nn.Linear(8, 8), nn.ReLU(), nn.Unflatten(1, (8, 1)), nn.Flatten(),\n"
        "                                 nn.Linear(8, 2))\n"
        "        for m in self.modules():\n"
        "            if isinstance(m, nn.Linear):\n"
        "                nn.init.xavier_uniform_(m.weight)\n"
        "    def forward(self, x):\n"
        "        return self.net(x)\n"
    )


def test_shape_only_modules_are_transparent() -> None:
    findings = lint(shape_module("return x.view(x.size(0), *self.shape).contiguous()"), ["IL201"])
    assert [f.line for f in findings] == [19]
    assert "net.0, net.5" in findings[0].message
    # A module that computes something is not transparent: net.0 no longer feeds net.5 as is,
    # and one mismatched layer (net.5) does not compound by itself.
    assert il201(shape_module("return x * self.scale")) == []


def drawn(std_first: str, std_second: str) -> str:
    return (
        IMPORTS + "import numpy as np\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc1 = nn.Linear(1024, 1024)\n"
        "        self.fc2 = nn.Linear(1024, 1024)\n"
        "        self.fc3 = nn.Linear(1024, 2)\n"
        f"        self.fc1.weight.data = torch.randn(1024, 1024) * {std_first}\n"
        f"        self.fc2.weight.data.copy_(torch.from_numpy(np.random.normal(0, {std_second}, (1024, 1024))))\n"
        "    def forward(self, x):\n"
        "        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))\n"
    )


def test_random_draw_assigned_through_data_counts_as_its_scheme() -> None:
    findings = lint(drawn("0.001", "0.001"), ["IL203"])
    assert [f.line for f in findings] == [11]
    assert "fc1 x0.0226, fc2 x0.0226" in findings[0].message
    assert "torch.randn(1024, 1024) * 0.001" in findings[0].message
    assert il203(drawn("0.044", "(2 / 1024) ** 0.5")) == []


def test_drawn_site_is_a_normal_scheme_in_the_model() -> None:
    import libcst as cst

    from initlint.semantic import SemanticModel
    from initlint.semantic.drawn import drawn as draw_of
    from initlint.source import SourceFile

    code = IMPORTS + "import numpy as np\nw = (np.random.rand(3, 3) - 0.5) * 2 * 0.1\nv = 3 + torch.randn(2) / 4\n"
    model = SemanticModel(SourceFile("s.py", code, "utf-8"), cst.parse_module(code))
    uniform = draw_of(model, model.module.body[4].body[0].value).scheme()  # type: ignore[attr-defined]
    assert uniform.family == "uniform" and uniform.low == pytest.approx(-0.1) and uniform.high == pytest.approx(0.1)
    normal = draw_of(model, model.module.body[5].body[0].value).scheme()  # type: ignore[attr-defined]
    assert (normal.family, normal.mean, normal.std) == ("normal", 3.0, 0.25)


# -- item 8: the seeds' and the issue's own examples ---------------------------------------------
def test_tensor_of_a_name_bound_twice_to_tensor_chains() -> None:
    code = (
        "import torch\n"
        "a = torch.Tensor(3, 3).normal_(0, 1)\n"
        "a = torch.Tensor(3, 3).normal_(0, 1)\n"
        "b = torch.tensor(a, requires_grad=True)\n"
    )
    assert codes(code, ["IL102"]) == [("IL102", 4)]
    twin = (
        "import torch\na = torch.Tensor(3, 3).normal_(0, 1)\na = [1.0, 2.0]\nb = torch.tensor(a, requires_grad=True)\n"
    )
    assert codes(twin, ["IL102"]) == []


def test_tensor_of_a_name_rebound_to_its_own_conversion() -> None:
    code = "import torch\nx = torch.zeros(3)\nx = x.float()\ny = torch.tensor(x)\n"
    assert codes(code, ["IL102"]) == [("IL102", 4)]
    twin = "import torch\nx = x.float()\nx = torch.zeros(3)\ny = torch.tensor(x)\n"  # first binding reads an unknown x
    assert codes(twin, ["IL102"]) == [("IL102", 4)]  # still: every value x can hold at the read is a tensor
    twin = "import torch\nx = torch.zeros(3)\nx = x.tolist()\ny = torch.tensor(x)\n"
    assert codes(twin, ["IL102"]) == []
    twin = "import torch\nx = x\nx = torch.zeros(3)\ny = torch.tensor(x)\n"  # `x = x` converts nothing
    assert codes(twin, ["IL102"]) == []


def test_tensor_of_a_layer_weight() -> None:
    code = "import torch\nimport torch.nn as nn\nlayer = nn.Linear(3, 3)\nw = torch.tensor(layer.weight)\n"
    assert codes(code, ["IL102"]) == [("IL102", 4)]
    assert codes("import torch\nw = torch.tensor(cfg.weight)\n", ["IL102"]) == []  # a config value: unknown
    in_class = (
        "import torch\nimport torch.nn as nn\n"
        "class M(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(3, 3, bias=False)\n"
        "        self.w0 = torch.tensor(self.fc.weight)\n"
        "        self.b0 = torch.tensor(self.fc.bias)\n"  # None: torch.tensor(None) raises, not a copy
    )
    assert codes(in_class, ["IL102"]) == [("IL102", 7)]


def test_legacy_constructor_with_attribute_sizes() -> None:
    code = (
        "import torch\nimport torch.nn as nn\n"
        "class M(nn.Module):\n"
        "    def __init__(self, n, m):\n"
        "        super().__init__()\n"
        "        self.n, self.m = n, m\n"
        "        self.w = nn.Parameter(torch.Tensor(self.n, self.m))\n"
    )
    assert codes(code, ["IL103"]) == [("IL103", 7)]
    assert codes("import torch\nw = torch.Tensor(self.sizes)\n", ["IL103"]) == []  # one argument: data or a size


def test_data_passed_to_a_deprecated_alias() -> None:
    code = "from torch.nn import init\ndef f(m):\n    init.normal(m.weight.data)\n"
    assert codes(code, ["IL104"]) == [("IL104", 3)]
    assert codes("from torch.nn import init\ndef f(m):\n    init.normal(m.weight)\n", ["IL104"]) == []


def aliased(alias: str, init: str = "xavier_uniform_") -> str:
    return (
        IMPORTS + f"from torch.nn.init import {init}\n"
        f"xu = {alias}\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc1 = nn.Linear(8, 8)\n"
        "        self.fc2 = nn.Linear(8, 8)\n"
        "        self.fc3 = nn.Linear(8, 8)\n"
        "        self.fc4 = nn.Linear(8, 2)\n"
        "        xu(self.fc1.weight)\n"
        "        xu(self.fc2.weight)\n"
        "        xu(self.fc3.weight)\n"
        "    def forward(self, x):\n"
        "        return self.fc4(F.relu(self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))))\n"
    )


def test_every_mismatched_layer_through_an_alias_is_reported() -> None:
    assert il201(aliased("xavier_uniform_")) == [13, 14, 15]
    assert il201(aliased("kaiming_uniform_", "kaiming_uniform_")) == []  # kaiming (leaky_relu, a=0) before relu


def test_alias_rebound_elsewhere_is_not_resolved() -> None:
    code = aliased("xavier_uniform_") + "xu = print\n"
    assert il201(code) == []  # bound twice in the module: the name is not provably the init function
    shadowed = aliased("xavier_uniform_") + "def other(xu):\n    return xu(1)\n"
    assert il201(shadowed) == [13, 14, 15]  # a parameter of another function does not shadow it here


def test_last_layer_of_a_mismatched_run_is_reported() -> None:
    """Without the alias: the third of three mismatched layers in series compounds with the
    second, so it is reported like the first two."""
    code = aliased("xavier_uniform_").replace("xu(", "nn.init.xavier_uniform_(")
    assert il201(code) == [13, 14, 15]
    single = code.replace("        nn.init.xavier_uniform_(self.fc1.weight)\n", "").replace(
        "        nn.init.xavier_uniform_(self.fc2.weight)\n", ""
    )
    assert il201(single) == []  # one mismatched layer alone does not compound


def test_nested_containers_name_their_members_below_them() -> None:
    code = (
        IMPORTS + "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.net = nn.Sequential(nn.Sequential(nn.Linear(8, 8), nn.ReLU()),\n"
        "                                 nn.Sequential(nn.Linear(8, 8), nn.ReLU()), nn.Linear(8, 2))\n"
        "        for m in self.modules():\n"
        "            if isinstance(m, nn.Linear):\n"
        "                nn.init.xavier_uniform_(m.weight)\n"
        "    def forward(self, x):\n"
        "        return self.net(x)\n"
    )
    findings = lint(code, ["IL201"])
    assert len(findings) == 1 and "net.0.0, net.1.0" in findings[0].message


def local_container(mutation: str) -> str:
    """torchvision's SSD shape: a local ModuleList, initialized, then kept as `self.extra`."""
    return (
        IMPORTS + "def _xavier_init(conv):\n"
        "    for layer in conv.modules():\n"
        "        if isinstance(layer, nn.Conv2d):\n"
        "            nn.init.xavier_uniform_(layer.weight)\n"
        "class Head(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        extra = nn.ModuleList([\n"
        "            nn.Sequential(nn.Conv2d(8, 8, 1), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU()),\n"
        "            nn.Sequential(nn.Conv2d(8, 8, 1), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.ReLU()),\n"
        "        ])\n"
        "        _xavier_init(extra)\n"
        f"{mutation}"
        "        self.extra = extra\n"
        "    def forward(self, x):\n"
        "        for block in self.extra:\n"
        "            x = block(x)\n"
        "        return x\n"
    )


def test_local_container_kept_by_the_class() -> None:
    findings = lint(local_container(""), ["IL201"])
    assert [f.line for f in findings] == [7]
    assert "extra.0.0, extra.0.2, extra.1.0, extra.1.2" in findings[0].message
    # Members inserted later: the literal members no longer tell which block is which.
    assert il201(local_container("        extra.insert(0, nn.Sequential(nn.Conv2d(8, 8, 3)))\n")) == []


def open_sequential(member: str, later: str = "") -> str:
    return (
        IMPORTS + "from mylib import make_block\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        f"        self.net = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), {member}nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))\n"
        f"{later}"
        "        for m in self.modules():\n"
        "            if isinstance(m, nn.Linear):\n"
        "                nn.init.xavier_uniform_(m.weight)\n"
        "    def forward(self, x):\n"
        "        return self.net(x)\n"
    )


def test_container_with_members_we_do_not_see_is_not_run_in_order() -> None:
    assert il201(open_sequential("")) == [11]
    # An unknown member (which may hold a norm) sits between the two layers: no chain is proven.
    assert il201(open_sequential("make_block(), ")) == []
    # Members added later run after the ones we see, before the output: no proven order either.
    assert il201(open_sequential("", "        self.net.add_module('extra', make_block())\n")) == []
