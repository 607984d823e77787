"""IL410 init-after-weight-norm: an init of `.weight` after a reparametrization wrapped the
layer is discarded. Firing cases and their twins (the same code with the order proven safe),
the wrappers that do and do not discard, the constructor call chain (methods, `.apply`,
nested and module-level functions, factories, constructed classes), and the semantic facts
the rule reads."""

from __future__ import annotations

import libcst as cst
import pytest

from initlint.semantic.construction import trace_constructor
from initlint.semantic.model import SemanticModel
from initlint.source import SourceFile
from initlint.testing import lint

HEAD = "import torch\nimport torch.nn as nn\nfrom torch.nn.utils import weight_norm\n"


def il410(code: str) -> list:
    return lint(code, {"IL410"})


def lines(code: str) -> list[int]:
    return [f.line for f in il410(code)]


def model_of(code: str) -> SemanticModel:
    return SemanticModel(SourceFile("snippet.py", code, "utf-8"), cst.parse_module(code))


# -- the simplest case and its twins -------------------------------------------------------------

DIRECT = HEAD + (
    "class Net(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.conv = weight_norm(nn.Conv1d(4, 4, 3))\n"
    "        nn.init.normal_(self.conv.weight, 0.0, 0.01)\n"
)


def test_init_after_weight_norm_fires_on_the_init_with_the_wrap_related():
    [finding] = il410(DIRECT)
    assert finding.line == 8 and finding.severity == "error"
    assert "`self.conv` (Conv1d)" in finding.message
    assert "recomputed from `weight_g` and `weight_v`" in finding.message
    assert [r.line for r in finding.related] == [7]


def test_init_before_weight_norm_is_silent():
    code = HEAD + (
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        conv = nn.Conv1d(4, 4, 3)\n"
        "        nn.init.normal_(conv.weight, 0.0, 0.01)\n"
        "        self.conv = weight_norm(conv)\n"
    )
    assert il410(code) == []


def test_init_through_a_local_after_wrapping_it_fires():
    code = HEAD + (
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        conv = nn.Conv1d(4, 4, 3)\n"
        "        weight_norm(conv)\n"
        "        nn.init.normal_(conv.weight, 0.0, 0.01)\n"
        "        self.conv = conv\n"
    )
    assert lines(code) == [9]


@pytest.mark.parametrize(
    "wrap",
    [
        "self.conv = weight_norm(self.conv)",
        "weight_norm(self.conv)",
        "self.conv = torch.nn.utils.parametrizations.weight_norm(self.conv)",
        "self.conv = torch.nn.utils.parametrizations.spectral_norm(self.conv)",
        "self.conv = torch.nn.utils.parametrizations.orthogonal(self.conv)",
        "weight_norm(self.conv, name='weight', dim=2)",
    ],
)
def test_every_discarding_wrapper_fires(wrap):
    code = HEAD + (
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(4, 4, 3)\n"
        f"        {wrap}\n"
        "        nn.init.kaiming_normal_(self.conv.weight)\n"
    )
    assert lines(code) == [9]


def test_register_parametrization_fires_for_the_tensor_it_names():
    code = HEAD + (
        "from torch.nn.utils import parametrize\n"
        "class Sym(nn.Module):\n"
        "    def forward(self, x):\n"
        "        return x.triu() + x.triu(1).T\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(4, 4)\n"
        "        parametrize.register_parametrization(self.fc, 'weight', Sym())\n"
        "        nn.init.eye_(self.fc.weight)\n"
        "        nn.init.zeros_(self.fc.bias)\n"
    )
    assert lines(code) == [13]


def test_legacy_spectral_norm_keeps_the_init():
    # .weight is weight_orig.data (same storage) until the first forward
    code = DIRECT.replace("from torch.nn.utils import weight_norm", "from torch.nn.utils import spectral_norm")
    code = code.replace("weight_norm(", "spectral_norm(")
    assert il410(code) == []


@pytest.mark.parametrize(
    "init",
    [
        "nn.init.normal_(self.conv.weight_v, 0.0, 0.01)",  # the parameter itself
        "self.conv.weight_g.data.fill_(1)",
        "nn.init.zeros_(self.conv.bias)",  # the bias is not reparametrized
    ],
)
def test_init_of_the_underlying_parameters_is_silent(init):
    assert il410(DIRECT.replace("nn.init.normal_(self.conv.weight, 0.0, 0.01)", init)) == []


def test_weight_norm_of_another_tensor_name_is_silent_for_weight():
    assert il410(DIRECT.replace("nn.Conv1d(4, 4, 3))", "nn.Conv1d(4, 4, 3), name='bias')")) == []


def test_removed_weight_norm_before_the_init_is_silent():
    code = DIRECT.replace(
        "        nn.init.normal_", "        torch.nn.utils.remove_weight_norm(self.conv)\n        nn.init.normal_"
    )
    assert il410(code) == []


def test_exclusive_branches_are_silent_and_a_flag_is_named():
    code = HEAD + (
        "class Net(nn.Module):\n"
        "    def __init__(self, use_wn=True):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv1d(4, 4, 3)\n"
        "        if use_wn:\n"
        "            weight_norm(self.conv)\n"
        "        else:\n"
        "            nn.init.normal_(self.conv.weight)\n"
    )
    assert il410(code) == []
    flagged = code.replace("        else:\n            nn.init", "        nn.init")
    [finding] = il410(flagged)
    assert finding.line == 10 and "when `use_wn`" in finding.message


def test_a_rebound_wrapper_name_is_not_weight_norm():
    code = DIRECT.replace("from torch.nn.utils import weight_norm\n", "").replace(
        "class Net", "def weight_norm(m):\n    return m\nclass Net"
    )
    assert il410(code) == []


# -- the constructor call chain --------------------------------------------------------------------

HIFIGAN = HEAD + (
    "class Generator(nn.Module):\n"
    "    def __init__(self, use_weight_norm=True):\n"
    "        super().__init__()\n"
    "        self.input_conv = nn.Conv1d(80, 512, 7)\n"
    "        self.upsamples = nn.ModuleList()\n"
    "        for i in range(4):\n"
    "            self.upsamples += [nn.Sequential(nn.LeakyReLU(0.1), nn.ConvTranspose1d(512, 512, 16, 8))]\n"
    "        if use_weight_norm:\n"
    "            self.apply_weight_norm()\n"
    "        self.reset_parameters()\n"
    "    def reset_parameters(self):\n"
    "        def _reset_parameters(m):\n"
    "            if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)):\n"
    "                m.weight.data.normal_(0.0, 0.01)\n"
    "        self.apply(_reset_parameters)\n"
    "    def apply_weight_norm(self):\n"
    "        def _apply_weight_norm(m):\n"
    "            if isinstance(m, nn.Conv1d) or isinstance(m, nn.ConvTranspose1d):\n"
    "                torch.nn.utils.weight_norm(m)\n"
    "        self.apply(_apply_weight_norm)\n"
)


def test_hifigan_apply_weight_norm_then_reset_parameters():
    [finding] = il410(HIFIGAN)
    assert finding.line == 13  # `self.reset_parameters()` in __init__
    assert "`self.input_conv` (Conv1d) and a ConvTranspose1d in `self.upsamples`" in finding.message
    assert "when `use_weight_norm`" in finding.message
    assert "lost either way" in finding.message  # the init goes through .data
    # the init, the wrap, and the call of __init__ that runs the wrap
    assert [r.line for r in finding.related] == [17, 22, 12]


def test_hifigan_twin_reset_before_weight_norm_is_silent():
    code = HIFIGAN.replace(
        "        if use_weight_norm:\n            self.apply_weight_norm()\n        self.reset_parameters()\n",
        "        self.reset_parameters()\n        if use_weight_norm:\n            self.apply_weight_norm()\n",
    )
    assert il410(code) == []


def test_hifigan_twin_disjoint_dispatch_is_silent():
    code = HIFIGAN.replace("isinstance(m, (nn.Conv1d, nn.ConvTranspose1d))", "isinstance(m, nn.Linear)")
    code = code.replace(
        "        self.input_conv = nn.Conv1d(80, 512, 7)\n", "        self.input_conv = nn.Linear(80, 512)\n"
    )
    assert il410(code) == []


def test_an_early_return_dispatch_is_not_guessed():
    code = HIFIGAN.replace(
        "            if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)):\n                m.weight.data.normal_(0.0, 0.01)\n",
        "            if not isinstance(m, nn.Linear):\n                return\n            m.weight.data.normal_(0.0, 0.01)\n",
    )
    assert il410(code) == []


def test_layers_registered_after_the_wrap_are_not_wrapped():
    code = HEAD + (
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.a = nn.Conv1d(4, 4, 3)\n"
        "        self.apply(self._wn)\n"
        "        self.b = nn.Conv2d(4, 4, 3)\n"
        "        self.apply(self._init)\n"
        "    def _wn(self, m):\n"
        "        if isinstance(m, (nn.Conv1d, nn.Conv2d)):\n"
        "            weight_norm(m)\n"
        "    def _init(self, m):\n"
        "        if isinstance(m, nn.Conv2d):\n"
        "            nn.init.kaiming_normal_(m.weight)\n"
    )
    assert il410(code) == []  # only self.b is a Conv2d, and it was built after the wrap
    [finding] = il410(
        code.replace(
            "if isinstance(m, nn.Conv2d):\n            nn.init", "if isinstance(m, nn.Conv1d):\n            nn.init"
        )
    )
    assert finding.line == 10 and "`self.a` (Conv1d)" in finding.message


def test_layers_from_other_files_wrapped_and_initialized_by_the_same_dispatch():
    # the discriminators come from another file: no layer is known, but the wrap visits every
    # Conv1d/ConvTranspose1d of self and the init only those, right after it
    code = (
        HEAD
        + (
            "from mylib import BaseDiscriminator\n"
            "class Discriminator(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.discriminators = nn.ModuleList([BaseDiscriminator() for _ in range(3)])\n"
            "        self.apply_weight_norm()\n"
            "        self.reset_parameters()\n"
        )
        + HIFIGAN.split("        self.reset_parameters()\n", 1)[1]
    )
    [finding] = il410(code)
    assert finding.line == 10 and "every Conv1d or ConvTranspose1d it reaches" in finding.message


def test_layers_from_other_files_need_the_same_scope_and_no_registration_between():
    base = (
        HEAD
        + (
            "from mylib import BaseDiscriminator\n"
            "class Discriminator(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            "        self.discriminators = nn.ModuleList([BaseDiscriminator() for _ in range(3)])\n"
            "        self.apply_weight_norm()\n"
            "        self.reset_parameters()\n"
        )
        + HIFIGAN.split("        self.reset_parameters()\n", 1)[1]
    )
    between = base.replace(
        "        self.apply_weight_norm()\n",
        "        self.apply_weight_norm()\n        self.extra = BaseDiscriminator()\n",
    )
    assert il410(between) == []
    wider = base.replace("isinstance(m, (nn.Conv1d, nn.ConvTranspose1d))", "isinstance(m, (nn.Conv1d, nn.Conv2d))")
    assert il410(wider) == []  # the init also acts on Conv2d, which the wrap leaves alone
    by_name = base.replace(
        "if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)):", "if m.__class__.__name__.find('Conv') != -1:"
    )
    assert il410(by_name) == []  # a class-name test may match classes the isinstance wrap does not


HIFICODEC = HEAD + (
    "from torch.nn import Conv1d, ConvTranspose1d\n"
    "def init_weights(m, mean=0.0, std=0.01):\n"
    "    classname = m.__class__.__name__\n"
    "    if classname.find('Conv') != -1:\n"
    "        m.weight.data.normal_(mean, std)\n"
    "class Generator(nn.Module):\n"
    "    def __init__(self, rates):\n"
    "        super().__init__()\n"
    "        self.conv_pre = weight_norm(Conv1d(80, 512, 7, 1, padding=3))\n"
    "        self.ups = nn.ModuleList()\n"
    "        for i, u in enumerate(rates):\n"
    "            self.ups.append(weight_norm(ConvTranspose1d(512, 256, 2 * u, u)))\n"
    "        self.conv_post = Conv1d(256, 1, 7, 1, padding=3)\n"
    "        self.ups.apply(init_weights)\n"
    "        self.conv_post.apply(init_weights)\n"
)


def test_hificodec_modulelist_of_wrapped_convs_then_apply():
    [finding] = il410(HIFICODEC)  # conv_post is not wrapped: its init stays
    assert finding.line == 17 and "a ConvTranspose1d in `self.ups`" in finding.message
    assert [r.line for r in finding.related] == [8, 15]


def test_hificodec_twin_init_before_append_is_silent():
    code = HIFICODEC.replace(
        "            self.ups.append(weight_norm(ConvTranspose1d(512, 256, 2 * u, u)))\n",
        "            up = ConvTranspose1d(512, 256, 2 * u, u)\n            init_weights(up)\n"
        "            self.ups.append(weight_norm(up))\n",
    ).replace("        self.ups.apply(init_weights)\n", "")
    assert il410(code) == []


DAC = HEAD + (
    "def WNConv1d(*args, **kwargs):\n"
    "    return weight_norm(nn.Conv1d(*args, **kwargs))\n"
    "def init_weights(m):\n"
    "    if isinstance(m, nn.Conv1d):\n"
    "        nn.init.trunc_normal_(m.weight, std=0.02)\n"
    "        nn.init.constant_(m.bias, 0)\n"
    "class Encoder(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.block = nn.Sequential(WNConv1d(1, 64, 7, padding=3), nn.ELU(), WNConv1d(64, 64, 3, padding=1))\n"
    "        self.apply(init_weights)\n"
)


def test_factory_function_returning_a_wrapped_layer():
    [finding] = il410(DAC)
    assert finding.line == 14 and "a Conv1d in `self.block`" in finding.message
    assert "initializes `.weight`" in finding.message


def test_factory_twin_without_the_wrap_is_silent():
    assert (
        il410(DAC.replace("return weight_norm(nn.Conv1d(*args, **kwargs))", "return nn.Conv1d(*args, **kwargs)")) == []
    )


def test_a_constructed_class_of_the_file_wraps_in_its_own_init():
    code = HEAD + (
        "class Block(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = weight_norm(nn.Conv1d(4, 4, 3))\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.blocks = nn.ModuleList([Block() for _ in range(2)])\n"
        "        for m in self.modules():\n"
        "            if isinstance(m, nn.Conv1d):\n"
        "                nn.init.xavier_uniform_(m.weight)\n"
    )
    [finding] = il410(code)
    assert finding.line == 14 and "wraps the layer here" in finding.related[0].message
    assert [r.line for r in finding.related] == [7, 11]  # the wrap, and the constructor call that runs it


def test_a_method_not_called_from_init_is_not_followed():
    code = DIRECT.replace("        nn.init.normal_(self.conv.weight, 0.0, 0.01)\n", "") + (
        "    def reinit(self):\n        nn.init.normal_(self.conv.weight, 0.0, 0.01)\n"
    )
    assert il410(code) == []


def test_dino_head_weight_g_fill_is_silent():
    # lightly's DINO head: apply() before the weight-normed layer exists, then weight_g filled
    code = HEAD + (
        "class DINOHead(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.layers = nn.Sequential(nn.Linear(8, 8), nn.GELU())\n"
        "        self.apply(self._init_weights)\n"
        "        self.last_layer = nn.Linear(8, 16, bias=False)\n"
        "        self.last_layer = nn.utils.weight_norm(self.last_layer)\n"
        "        self.last_layer.weight_g.data.fill_(1)\n"
        "    def _init_weights(self, module):\n"
        "        if isinstance(module, nn.Linear):\n"
        "            nn.init.trunc_normal_(module.weight, std=0.02)\n"
    )
    assert il410(code) == []


def test_il104_on_the_same_line_and_il410_say_the_init_is_lost_regardless():
    code = DIRECT.replace("nn.init.normal_(self.conv.weight, 0.0, 0.01)", "self.conv.weight.data.normal_(0.0, 0.01)")
    found = lint(code, {"IL104", "IL410"})
    assert sorted(f.code for f in found) == ["IL104", "IL410"]
    [lost] = [f for f in found if f.code == "IL410"]
    assert "does not help: it is lost either way" in lost.message


# -- the semantic facts ------------------------------------------------------------------------------


def test_reparametrizations_know_which_wrappers_discard_a_later_write():
    model = model_of(
        HEAD + "a = weight_norm(x)\nb = torch.nn.utils.spectral_norm(x)\n"
        "c = torch.nn.utils.parametrizations.spectral_norm(x, name='w')\nd = weight_norm(x, name=n)\n"
    )
    facts = [(r.wrapper.name, r.discards, r.tensor) for r in model.reparametrizations.values()]
    assert facts == [("weight_norm", True, "weight"), ("spectral_norm", False, "weight"), ("spectral_norm", True, "w"),
                     ("weight_norm", True, None)]  # fmt: skip


def test_trace_follows_methods_and_applied_nested_functions_in_order():
    model = model_of(HIFIGAN)
    [cls] = [c for c in model.module_classes.values() if c.name == "Generator"]
    steps = trace_constructor(model, cls)
    codes = [model.code(s.call) for s in steps]
    wrap = codes.index("torch.nn.utils.weight_norm(m)")
    init = codes.index("m.weight.data.normal_(0.0, 0.01)")
    assert wrap < init
    assert model.code(steps[wrap].anchor) == "self.apply_weight_norm()"
    assert model.code(steps[init].applied_to) == "self"


def test_instances_follow_appends_and_wrappers():
    model = model_of(HIFICODEC)
    cls = model.module_classes["Generator"]
    instances = model.instances.of_class(cls)
    types = sorted((r.attribute, model.code(r.call.func)) for r in instances.registered())
    assert ("ups", "ConvTranspose1d") in types and ("conv_pre", "Conv1d") in types
