"""IL413-IL416: inits that never reach their layers, reset gaps after ``to_empty``, init
functions nothing runs, and init conditions that can never hold. Plus the module-tree fact
(semantic/module_tree.py) the first two read."""

from __future__ import annotations

import libcst as cst
import pytest

from initlint.semantic import SemanticModel
from initlint.semantic.module_tree import is_instance, module_tree
from initlint.source import SourceFile
from initlint.testing import fix, lint

HEAD = "import torch\nimport torch.nn as nn\n"
NET = "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"


def codes(code: str, rule: str) -> list[int]:
    """Lines of the findings of ``rule`` (checked alone)."""
    return [f.line for f in lint(code, {rule})]


def message(code: str, rule: str) -> str:
    found = lint(code, {rule})
    assert len(found) == 1, found
    return found[0].message


def model_of(code: str) -> SemanticModel:
    return SemanticModel(SourceFile("m.py", code, "utf-8"), cst.parse_module(code))


# -- the module tree ----------------------------------------------------------------------------------


def test_module_tree_lists_nested_layers_and_direct_children():
    code = HEAD + (
        "class Block(nn.Module):\n    def __init__(self, c):\n        super().__init__()\n"
        "        self.conv = nn.Conv2d(c, c, 3)\n"
        + NET
        + "        layers = []\n        for _ in range(3):\n            layers.append(Block(8))\n"
        "        self.body = nn.Sequential(*layers)\n        self.head = nn.Linear(8, 2) if True else nn.Identity()\n"
        "        self.width = 8\n"
    )
    model = model_of(code)
    tree = module_tree(model, model.module_classes["Net"])
    assert tree is not None
    assert sorted((m.type_name, m.direct, m.attribute) for m in tree) == [
        ("Block", False, "body"), ("Conv2d", False, "body"), ("Identity", True, "head"), ("Linear", True, "head"),
        ("Sequential", True, "body"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "init",
    [
        "        self.backbone = backbone\n",  # a module passed in
        "        self.norm = norm_layer(8)\n",  # a factory
        "        self.blocks = nn.ModuleDict({'a': nn.Linear(2, 2)})\n",
        "        setattr(self, 'fc', nn.Linear(2, 2))\n",
        "        self.add_module('fc', nn.Linear(2, 2))\n",
        "        build(self)\n",
        "        self.attn = nn.MultiheadAttention(8, 2)\n",  # a torch layer initlint does not catalogue
        "        self.blocks = nn.ModuleList()\n        self.blocks.append(make())\n",
    ],
)
def test_module_tree_is_unknown_when_a_module_may_escape_the_file(init):
    code = (
        HEAD
        + "class Net(nn.Module):\n    def __init__(self, backbone, norm_layer):\n        super().__init__()\n"
        + init
    )
    model = model_of(code)
    assert module_tree(model, model.module_classes["Net"]) is None


def test_module_tree_accepts_values_that_are_not_modules():
    code = HEAD + (
        "class Net(nn.Module):\n    def __init__(self, dim: int, depth=4, drop=0.1, cfg=None):\n"
        "        super().__init__()\n        self.dim, self.depth = dim, depth\n        self.scale = dim ** -0.5\n"
        "        self.hidden = cfg.hidden\n        self.proj = nn.Linear(cfg.hidden, dim)\n"
        "        self.names = ['a', 'b']\n        self.gamma = nn.Parameter(torch.ones(dim))\n"
        "        self.drop = drop\n        self.act = nn.GELU\n"
    )
    model = model_of(code)
    tree = module_tree(model, model.module_classes["Net"])
    assert tree is not None and [m.type_name for m in tree] == ["Linear"]


def test_is_instance_follows_torch_and_file_hierarchies():
    model = model_of(HEAD + "class MyConv(nn.Conv2d):\n    pass\nclass Block(nn.Module):\n    pass\n")
    assert is_instance(model, "ConvTranspose2d", "Conv2d") is False
    assert is_instance(model, "LazyLinear", "Linear") is True
    assert is_instance(model, "MyConv", "Conv2d") is True
    assert is_instance(model, "Block", "Conv2d") is False
    assert is_instance(model, "Conv2d", "Block") is False
    assert is_instance(model, "BatchNorm2d", "_BatchNorm") is None  # a private torch base we do not know


# -- IL413 init-misses-layers ------------------------------------------------------------------------

CHILDREN = (
    HEAD
    + NET
    + (
        "        self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3))\n"
        "        self.fc = nn.Linear(8, 2)\n        for m in self.children():\n"
        "            if isinstance(m, nn.Conv2d):\n                nn.init.kaiming_normal_(m.weight)\n"
    )
)


def test_il413_children_loop_names_the_nested_layers_and_their_container():
    text = message(CHILDREN, "IL413")
    assert "`self.children()`" in text and "Conv2d" in text
    assert "`self.features` (Sequential, line 6)" in text
    assert "`fc` (Linear)" in text


def test_il413_children_fix_iterates_modules_and_is_unsafe():
    fixed = fix(CHILDREN, {"IL413"}, unsafe=True)
    assert "for m in self.modules():" in fixed
    assert fix(CHILDREN, {"IL413"}) == CHILDREN
    assert codes(fixed, "IL413") == []


def test_il413_one_level_of_a_container():
    """`for m in self.layers` and `self.layers.children()` yield the members, not what they hold."""
    code = HEAD + (
        "class Block(nn.Module):\n    def __init__(self, c):\n        super().__init__()\n"
        "        self.conv = nn.Conv2d(c, c, 3)\n"
        + NET
        + "        self.layers = nn.ModuleList()\n        for _ in range(3):\n"
        "            self.layers.append(Block(8))\n        for m in self.layers:\n"
        "            if isinstance(m, nn.Conv2d):\n                nn.init.kaiming_normal_(m.weight)\n"
    )
    text = message(code, "IL413")
    assert "Iterating `self.layers` yields only the members of `self.layers` (Block)" in text
    assert "for m in self.layers.modules():" in fix(code, {"IL413"}, unsafe=True)
    assert len(codes(code.replace("in self.layers:", "in self.layers.children():"), "IL413")) == 1
    # the members are the convs themselves
    assert codes(code.replace("Block(8)", "nn.Conv2d(8, 8, 3)"), "IL413") == []


@pytest.mark.parametrize(
    "extra",
    [
        # a block of this file initializes its own conv
        "",
        # another loop over every module reaches them
        "        for m in self.modules():\n            if isinstance(m, nn.Conv2d):\n"
        "                nn.init.zeros_(m.bias)\n",
        # a generic parameter loop reaches everything
        "        for p in self.parameters():\n            nn.init.normal_(p)\n",
    ],
)
def test_il413_children_loop_silent_when_another_init_reaches_the_nested_layers(extra):
    if extra == "":
        code = HEAD + (
            "class Block(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.conv = nn.Conv2d(8, 8, 3)\n        nn.init.kaiming_normal_(self.conv.weight)\n"
            + NET
            + "        self.block = Block()\n        for m in self.children():\n"
            "            if isinstance(m, nn.Conv2d):\n                nn.init.kaiming_normal_(m.weight)\n"
        )
    else:
        code = CHILDREN + extra
    assert codes(code, "IL413") == []


@pytest.mark.parametrize(
    "body",
    [
        # the loop hands each child on: it may recurse
        "            if isinstance(m, nn.Conv2d):\n                nn.init.kaiming_normal_(m.weight)\n"
        "            else:\n                init_all(m)\n",
        "            if isinstance(m, nn.Conv2d):\n                nn.init.kaiming_normal_(m.weight)\n"
        "            for sub in m.modules():\n                pass\n",
        # no type dispatch
        "            if hasattr(m, 'weight'):\n                nn.init.kaiming_normal_(m.weight)\n",
    ],
)
def test_il413_children_loop_silent_when_it_may_reach_deeper(body):
    code = (
        HEAD
        + NET
        + (
            "        self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())\n        for m in self.children():\n"
            + body
        )
    )
    assert codes(code, "IL413") == []


def test_il413_children_loop_silent_when_a_direct_child_may_be_the_type():
    code = HEAD + (
        "class Net(nn.Module):\n    def __init__(self, stem):\n        super().__init__()\n        self.stem = stem\n"
        "        self.features = nn.Sequential(nn.Conv2d(3, 8, 3))\n        for m in self.children():\n"
        "            if isinstance(m, nn.Conv2d):\n                nn.init.kaiming_normal_(m.weight)\n"
    )
    assert codes(code, "IL413") == []


def test_il413_dispatch_matches_nothing_names_expected_and_built_types():
    code = HEAD + (
        "class Generator(nn.Module):\n    def __init__(self, nz=100):\n        super().__init__()\n"
        "        self.main = nn.Sequential(\n            nn.ConvTranspose2d(nz, 64, 4, 1, 0, bias=False),\n"
        "            nn.BatchNorm2d(64),\n            nn.ReLU(True),\n            nn.ConvTranspose2d(64, 3, 4, 2, 1),\n"
        "            nn.Tanh(),\n        )\n        self.apply(self._init)\n"
        "    def _init(self, m):\n        if isinstance(m, nn.Conv2d):\n            nn.init.normal_(m.weight, 0.0, 0.02)\n"
        "        elif isinstance(m, nn.Linear):\n            nn.init.normal_(m.weight, 0.0, 0.02)\n"
    )
    text = message(code, "IL413")
    assert "`Conv2d` / `Linear`" in text
    assert "its convolution layers are ConvTranspose2d (lines 7, 10)" in text
    assert "BatchNorm2d" not in text  # not of a kind the dispatch names


@pytest.mark.parametrize(
    "apply",
    [
        "        self.apply(weights_init)\n",
        "        self.apply(functools.partial(weights_init))\n",
        "        self._setup()\n    def _setup(self):\n        self.apply(weights_init)\n",
    ],
)
def test_il413_dispatch_matches_nothing_through_the_constructor(apply):
    code = (
        HEAD
        + "import functools\n"
        + (
            "def weights_init(m):\n    if isinstance(m, nn.Conv1d):\n        nn.init.xavier_uniform_(m.weight)\n"
            + NET
            + "        self.conv = nn.Conv2d(3, 8, 3)\n"
            + apply
        )
    )
    assert len(codes(code, "IL413")) == 1


def test_il413_dispatch_judged_on_what_the_constructor_builds():
    """What `forward` stores on self is no submodule at construction time; a model the file
    grows after construction is not judged."""
    init = "def init(m):\n    if isinstance(m, nn.Conv1d):\n        nn.init.zeros_(m.weight)\n"
    built = HEAD + init + NET + "        self.conv = nn.Conv2d(3, 3, 3)\n        self.apply(init)\n"
    built += "    def forward(self, x):\n        self.cache = x\n        return self.conv(x)\n"
    assert len(codes(built, "IL413")) == 1
    grown = HEAD + init + NET + "        self.conv = nn.Conv2d(3, 3, 3)\n    def grow(self, layer):\n"
    grown += "        self.extra = layer\nnet = Net()\nprint(net)\n"
    assert len(codes(grown + "net.apply(init)\n", "IL413")) == 1
    assert codes(grown + "net.grow(nn.Conv1d(3, 3, 3))\nnet.apply(init)\n", "IL413") == []
    assert codes(grown + "extend(net)\nnet.apply(init)\n", "IL413") == []


@pytest.mark.parametrize(
    "code",
    [
        # one branch matches
        HEAD + NET + "        self.fc = nn.Linear(4, 4)\n        self.apply(self._init)\n"
        "    def _init(self, m):\n        if isinstance(m, nn.Conv2d):\n            nn.init.zeros_(m.weight)\n"
        "        elif isinstance(m, nn.Linear):\n            nn.init.zeros_(m.bias)\n",
        # something runs for every module
        HEAD + NET + "        self.fc = nn.Linear(4, 4)\n        self.apply(self._init)\n"
        "    def _init(self, m):\n        if isinstance(m, nn.Conv2d):\n            nn.init.zeros_(m.weight)\n"
        "        init_rest(m)\n",
        # a subclass of the dispatched type, from this file
        HEAD + "class MyConv(nn.Conv2d):\n    pass\n" + NET + "        self.conv = MyConv(3, 8, 3)\n"
        "        self.apply(self._init)\n    def _init(self, m):\n        if isinstance(m, nn.Conv2d):\n"
        "            nn.init.zeros_(m.weight)\n",
        # applied in a method the constructor does not run: a subclass may build the layers
        HEAD + NET + "        self.fc = nn.Linear(4, 4)\n    def init_weights(self):\n"
        "        for m in self.modules():\n            if isinstance(m, nn.Conv2d):\n"
        "                nn.init.zeros_(m.weight)\n",
        # the model grows after construction
        HEAD
        + "def init(m):\n    if isinstance(m, nn.Conv2d):\n        nn.init.zeros_(m.weight)\n"
        + NET
        + "        self.fc = nn.Linear(4, 4)\nnet = Net()\nnet.conv = nn.Conv2d(3, 3, 3)\nnet.apply(init)\n",
        # a generic init applied to a model with no layer of the kinds it handles
        HEAD
        + NET
        + "        self.fc = nn.Linear(4, 4)\n        self.norm = nn.LayerNorm(4)\n        self.apply(self._init)\n"
        "    def _init(self, m):\n        if isinstance(m, nn.Embedding):\n            nn.init.normal_(m.weight)\n"
        "        elif isinstance(m, nn.BatchNorm2d):\n            nn.init.ones_(m.weight)\n",
        # a class with nothing to initialize (a base)
        HEAD + NET + "        self.drop = nn.Dropout(0.1)\n        self.apply(self._init)\n"
        "    def _init(self, m):\n        if isinstance(m, nn.Linear):\n            nn.init.zeros_(m.weight)\n",
    ],
)
def test_il413_dispatch_silent(code):
    assert codes(code, "IL413") == []


# -- IL414 to-empty-partial-reset --------------------------------------------------------------------

META = "with torch.device('meta'):\n    model = Net()\nmodel.to_empty(device='cpu')\nmodel.reset_parameters()\n"


def test_il414_names_every_tensor_left_empty():
    code = (
        HEAD
        + NET
        + (
            "        self.fc = nn.Linear(4, 4)\n        self.bn = nn.BatchNorm1d(4)\n"
            "        self.gamma = nn.Parameter(torch.ones(4))\n"
            "    def reset_parameters(self):\n        nn.init.xavier_uniform_(self.fc.weight)\n"
            "        nn.init.ones_(self.bn.weight)\n        nn.init.zeros_(self.bn.bias)\n" + META
        )
    )
    text = message(code, "IL414")
    assert "`self.gamma`" in text and "`self.fc.bias` (Linear)" in text
    assert "`self.bn.running_mean` (BatchNorm1d)" in text
    assert "`self.fc.weight`" not in text and "`self.bn.weight`" not in text
    assert "(line 15)" in text  # the to_empty


def test_il414_follows_child_classes_and_loops():
    block = (
        "class Block(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 4)\n        self.norm = nn.LayerNorm(4)\n"
        "    def reset_parameters(self):\n        self.fc.reset_parameters()\n"
    )
    partial = (
        HEAD
        + block
        + NET
        + (
            "        self.blocks = nn.ModuleList([Block() for _ in range(2)])\n"
            "    def reset_parameters(self):\n        for m in self.modules():\n"
            "            if isinstance(m, Block):\n                m.reset_parameters()\n" + META
        )
    )
    text = message(partial, "IL414")
    assert "`.weight` of a LayerNorm in `self.blocks`" in text
    complete = partial.replace(
        "        self.fc.reset_parameters()\n",
        "        self.fc.reset_parameters()\n        self.norm.reset_parameters()\n",
    )
    assert codes(complete, "IL414") == []


def test_il414_an_init_through_an_attribute_covers_each_module_it_may_hold():
    code = HEAD + (
        "class Net(nn.Module):\n    def __init__(self, rms=False):\n        super().__init__()\n"
        "        if rms:\n            self.norm = nn.RMSNorm(4)\n        else:\n            self.norm = nn.LayerNorm(4)\n"
        "    def reset_parameters(self):\n        nn.init.ones_(self.norm.weight)\n"
    )
    assert codes(code + META, "IL414") == [15]  # the LayerNorm's bias
    assert "`self.norm.bias` (LayerNorm)" in message(code + META, "IL414")
    covered = code + "        nn.init.zeros_(self.norm.bias)\n" + META
    assert codes(covered, "IL414") == []


@pytest.mark.parametrize(
    ("reset", "after"),
    [
        # every submodule that has a reset
        (
            "    def reset_parameters(self):\n        for m in self.modules():\n"
            "            if m is not self and hasattr(m, 'reset_parameters'):\n                m.reset_parameters()\n",
            "",
        ),
        # weights come from a checkpoint afterwards
        ("    def reset_parameters(self):\n        self.fc.reset_parameters()\n", "model.load_state_dict(sd)\n"),
        # the reset calls code this rule does not follow
        ("    def reset_parameters(self):\n        self.fc.reset_parameters()\n        init_rest(self)\n", ""),
        ("    def reset_parameters(self):\n        super().reset_parameters()\n", ""),
    ],
)
def test_il414_silent(reset, after):
    code = (
        HEAD + NET + "        self.fc = nn.Linear(4, 4)\n        self.norm = nn.LayerNorm(4)\n" + reset + META + after
    )
    assert codes(code, "IL414") == []


def test_il414_silent_without_meta_construction():
    code = (
        HEAD
        + NET
        + (
            "        self.fc = nn.Linear(4, 4)\n        self.norm = nn.LayerNorm(4)\n"
            "    def reset_parameters(self):\n        self.fc.reset_parameters()\n"
            "model = Net()\nmodel.to_empty(device='cpu')\nmodel.reset_parameters()\n"
        )
    )
    assert codes(code, "IL414") == []


# -- IL415 init-function-never-used ------------------------------------------------------------------

UNUSED = (
    HEAD
    + NET
    + (
        "        self.fc = nn.Linear(4, 4)\n    def _init_weights(self, m):\n        if isinstance(m, nn.Linear):\n"
        "            nn.init.zeros_(m.bias)\n"
    )
)


def test_il415_reports_the_def_and_its_init():
    found = lint(UNUSED, {"IL415"})
    assert [f.line for f in found] == [7]
    assert "`m.bias` (line 9)" in found[0].message and "`Net`" in found[0].message


@pytest.mark.parametrize(
    "use",
    [
        "net = Net()\nnet.apply(net._init_weights)\n",
        "x = '_init_weights'\n",
        "__all__ = ['Net', '_init_weights']\n",
        "class Sub(Net):\n    def _init_weights(self, m):\n        super()._init_weights(m)\n",
    ],
)
def test_il415_silent_when_named_anywhere(use):
    assert codes(UNUSED + use, "IL415") == []


@pytest.mark.parametrize(
    "code",
    [
        # a base from another file may run it
        HEAD + "from lib import Base\nclass Net(Base):\n    def _init_weights(self, m):\n"
        "        nn.init.zeros_(m.weight)\n",
        # a base of this file whose own base comes from elsewhere
        HEAD + "from lib import Base\nclass Mid(Base):\n    pass\nclass Net(Mid):\n"
        "    def _init_weights(self, m):\n        nn.init.zeros_(m.weight)\n",
        # a torch layer's __init__ runs its reset
        HEAD + "class MyLinear(nn.Linear):\n    def _reset(self):\n        nn.init.zeros_(self.weight)\n",
        # a mixin
        HEAD + "class InitMixin:\n    def _init_weights(self, m):\n        nn.init.zeros_(m.weight)\n",
        # registered by a decorator
        HEAD + "@register('normal')\ndef _normal(m):\n    nn.init.normal_(m.weight)\n",
        # public
        HEAD + "def init_weights(m):\n    nn.init.normal_(m.weight)\n",
        # not an init of the module it is given
        HEAD + "def _noise(t):\n    return t.normal_()\n",
    ],
)
def test_il415_silent(code):
    assert codes(code, "IL415") == []


# -- IL416 init-condition-never-true -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("m.weight.size(1) == (1,)", "always False"),
        ("m.weight.dim() == [4]", "always False"),
        ("m.weight.shape == 4", "always False"),
        ("type(m) in ('Linear', 'Conv2d')", "always False"),
        ("m.__class__ is 'Linear'", "always False"),
        ("type(m).__name__ == 'torch.nn.Linear'", "bare class name"),
        ("isinstance(m, (nn.Linear, 'Conv2d'))", "not a `nn.Linear`"),
    ],
)
def test_il416_conditions(condition, expected):
    code = HEAD + f"def init(m):\n    if {condition}:\n        nn.init.zeros_(m.weight)\n"
    assert expected in message(code, "IL416")


def test_il416_says_what_the_constant_does_to_the_branch():
    unequal = HEAD + "def init(m):\n    if m.weight.shape[0] != torch.Size([1]):\n        nn.init.zeros_(m.weight)\n"
    assert "always true: the init runs for every module" in message(unequal, "IL416")
    alternative = HEAD + (
        "def init(m):\n    if isinstance(m, nn.Linear) or type(m) == 'Conv2d':\n        nn.init.zeros_(m.weight)\n"
    )
    assert "this alternative never holds" in message(alternative, "IL416")
    dead_else = HEAD + (
        "def init(m):\n    if type(m) != 'Linear':\n        pass\n    else:\n        nn.init.zeros_(m.weight)\n"
    )
    assert "`else` branch never runs" in message(dead_else, "IL416")


@pytest.mark.parametrize(
    "condition",
    [
        "cfg.shape[0] == (3, 3)",  # not a tensor: `shape` may mean anything
        "m.weight.shape[0:1] == torch.Size([1])",  # a slice is a Size
        "m.weight.shape[i] == (1,)",  # an unknown index could be a slice
        "type(m).__name__ == 'Linear'",
        "m.__class__ == nn.Linear",
        "len(m.weight) == 4",
    ],
)
def test_il416_silent(condition):
    code = HEAD + f"def init(m, i=0, cfg=None):\n    if {condition}:\n        nn.init.zeros_(m.weight)\n"
    assert codes(code, "IL416") == []
