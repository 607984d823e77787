"""Focused tests of IL305-IL309 (init arguments): a single uniform_ bound, a fan from the wrong
axis, calculate_gain of a class name or default string, a std used as a gain, and a norm's eps
given a momentum. Import styles, the evidence each message names, the cases each rule must leave
alone, the unsafe fixes, and the prefilter."""

from __future__ import annotations

import pytest

from initlint.testing import fix, lint

CODES = ("IL305", "IL306", "IL307", "IL308", "IL309")


def found(code: str, rule: str) -> list[str]:
    return [f.code for f in lint(code, {rule})]


def messages(code: str, rule: str) -> list[str]:
    return [f.message for f in lint(code, {rule})]


def module(body: str, layers: str = "self.fc = nn.Linear(8, 8)", header: str = "import torch.nn as nn\n") -> str:
    return f"{header}class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n        {layers}\n{body}"


# -- IL305 uniform-single-bound -------------------------------------------------------------------

UNIFORM_STYLES = {
    "nn": "import math\nimport torch.nn as nn\nnn.init.uniform_(w, {bound})\n",
    "init": "import math\nfrom torch.nn import init\ninit.uniform_(w, {bound})\n",
    "torch": "import math\nimport torch\ntorch.nn.init.uniform_(w, {bound})\n",
    "name": "import math\nfrom torch.nn.init import uniform_\nuniform_(w, {bound})\n",
    "deprecated": "import math\nimport torch.nn as nn\nnn.init.uniform(w, {bound})\n",
    "keyword": "import math\nimport torch.nn as nn\nnn.init.uniform_(w, a={bound})\n",
}


@pytest.mark.parametrize("style", sorted(UNIFORM_STYLES))
@pytest.mark.parametrize(
    "bound",
    ["1 / math.sqrt(n)", "math.sqrt(1.0 / n)", "math.sqrt(6 / (n + m))", "n ** -0.5", "gain * math.sqrt(3.0 / n)"],
)
def test_il305_symmetric_bound_expressions_in_every_import_style(style, bound):
    assert found(UNIFORM_STYLES[style].format(bound=bound), "IL305") == ["IL305"]


@pytest.mark.parametrize(
    "code",
    [
        # a name assigned once to c / sqrt(F)
        "import math\nimport torch\ndef reset(self):\n    stdv = 1. / math.sqrt(self.weight.size(1))\n"
        "    self.weight.data.uniform_(stdv)\n",
        # negated: [-stdv, 1)
        "import math\nimport torch\ndef reset(self):\n    stdv = 1. / math.sqrt(self.weight.size(1))\n"
        "    self.weight.data.uniform_(-stdv)\n",
        # a name that only ever means a symmetric magnitude
        "import torch.nn as nn\ndef reset(m, bound):\n    nn.init.uniform_(m.weight, bound)\n",
        # a fresh tensor filled for a Parameter
        "import math\nimport torch\nimport torch.nn as nn\np = nn.Parameter(torch.empty(n, m).uniform_(1 / math.sqrt(n)))\n",
    ],
)
def test_il305_fires(code):
    assert found(code, "IL305") == ["IL305"]


def test_il305_literal_below_one_needs_a_proven_weight_matrix():
    on_linear = module("        self.fc.weight.data.uniform_(0.1)\n")
    assert found(on_linear, "IL305") == ["IL305"]
    conv = module("        nn.init.uniform_(self.conv.weight, -0.05)\n", "self.conv = nn.Conv2d(3, 8, 3)")
    assert found(conv, "IL305") == ["IL305"]
    # a 1-D scale drawn from [0.5, 1) may be meant; a module of unknown type may be a norm
    assert (
        found(module("        nn.init.uniform_(self.bn.weight, 0.5)\n", "self.bn = nn.BatchNorm1d(8)"), "IL305") == []
    )
    assert found("import torch.nn as nn\ndef init(m):\n    nn.init.uniform_(m.weight, 0.1)\n", "IL305") == []


@pytest.mark.parametrize(
    "code",
    [
        "import math\nimport torch.nn as nn\nnn.init.uniform_(w, -1 / math.sqrt(n), 1 / math.sqrt(n))\n",
        "import torch.nn as nn\nnn.init.uniform_(w, b=bound)\n",
        "import torch.nn as nn\nnn.init.uniform_(w)\n",
        "import torch.nn as nn\nnn.init.uniform_(w, low)\n",
        "import torch.nn as nn\nnn.init.uniform_(w, lower_bound)\n",
        "import torch.nn as nn\nnn.init.uniform_(w, 0)\n",
        "import math\nimport numpy as np\nx = np.random.uniform(1 / math.sqrt(n))\n",
        "import math\nimport random\nx = random.uniform(1 / math.sqrt(n), 1)\n",
        # a noise tensor is not a parameter
        "import math\nimport torch\nnoise = torch.empty(n).uniform_(1 / math.sqrt(n))\n",
    ],
)
def test_il305_silent(code):
    assert found(code, "IL305") == []


def test_il305_leaves_a_bound_of_one_or_more_to_il302():
    code = "import torch.nn as nn\nnn.init.uniform_(w, 1.5)\n"
    assert [f.code for f in lint(code, {"IL302", "IL305"})] == ["IL302"]


def test_il305_message_names_the_evidence_and_the_range():
    code = (
        "import math\nimport torch\ndef reset(self):\n    stdv = 1. / math.sqrt(self.weight.size(1))\n"
        "    self.weight.data.uniform_(stdv)\n"
    )
    (message,) = messages(code, "IL305")
    assert "1. / math.sqrt(self.weight.size(1))` at line 4" in message
    assert "[stdv, 1)" in message and "uniform_(w, -stdv, stdv)" in message
    literal = module("        self.fc.weight.data.uniform_(0.1)\n")
    (message,) = messages(literal, "IL305")
    assert "[0.1, 1)" in message and "mean 0.55" in message


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("nn.init.uniform_(w, 1 / math.sqrt(n))", "nn.init.uniform_(w, -1 / math.sqrt(n), 1 / math.sqrt(n))"),
        ("nn.init.uniform_(w, -stdv)", "nn.init.uniform_(w, -stdv, stdv)"),
        ("nn.init.uniform_(w, a=stdv)", "nn.init.uniform_(w, a=-stdv, b=stdv)"),
        ("w.data.uniform_(std)", "w.data.uniform_(-std, std)"),
        (
            "nn.init.uniform_(w, math.sqrt(6 / (n + m)))",
            "nn.init.uniform_(w, -math.sqrt(6 / (n + m)), math.sqrt(6 / (n + m)))",
        ),
    ],
)
def test_il305_unsafe_fix(before, after):
    header = "import math\nimport torch.nn as nn\n"
    assert fix(header + before + "\n", {"IL305"}, unsafe=True) == header + after + "\n"
    assert fix(header + before + "\n", {"IL305"}, unsafe=False) == header + before + "\n"


def test_il305_no_fix_when_the_bound_cannot_be_written_twice():
    code = "import math\nimport torch.nn as nn\nnn.init.uniform_(w, 1 / math.sqrt(draw_fan()))\n"
    (finding,) = lint(code, {"IL305"})
    assert finding.fix is None


# -- IL306 fan-from-wrong-axis ---------------------------------------------------------------------

GCN = (
    "import math\nimport torch\nimport torch.nn as nn\n"
    "class GraphConvolution(nn.Module):\n"
    "    def __init__(self, in_features, out_features):\n"
    "        super().__init__()\n"
    "        self.in_features = in_features\n"
    "        self.out_features = out_features\n"
    "        self.weight = nn.Parameter({made})\n"
    "        self.reset_parameters()\n"
    "    def reset_parameters(self):\n"
    "        stdv = 1. / math.sqrt({fan})\n"
    "        self.weight.data.uniform_(-stdv, stdv)\n"
    "    def forward(self, x, adj):\n"
    "        support = {use}\n"
    "        return torch.spmm(adj, support)\n"
)


def gcn(
    use: str = "torch.mm(x, self.weight)",
    fan: str = "self.weight.size(1)",
    made: str = "torch.FloatTensor(in_features, out_features)",
) -> str:
    return GCN.format(use=use, fan=fan, made=made)


@pytest.mark.parametrize(
    "use",
    [
        "torch.mm(x, self.weight)",
        "torch.matmul(x, self.weight)",
        "torch.spmm(x, self.weight)",
        "x @ self.weight",
        "x.matmul(self.weight)",
        "x.mm(self.weight)",
        "torch.mm(x.float(), self.weight.float().cpu())",
    ],
)
def test_il306_every_matmul_spelling(use):
    assert found(gcn(use=use), "IL306") == ["IL306"]


@pytest.mark.parametrize(
    "fan",
    [
        "self.weight.size(1)",
        "self.weight.size(-1)",
        "self.weight.shape[1]",
        "self.weight.data.size(1)",
        "self.out_features",
    ],
)
def test_il306_every_spelling_of_axis_one(fan):
    assert found(gcn(fan=fan), "IL306") == ["IL306"]


@pytest.mark.parametrize(
    "made",
    [
        "torch.empty(in_features, out_features)",
        "torch.randn(in_features, out_features)",
        "torch.Tensor(in_features, out_features)",
    ],
)
def test_il306_every_factory(made):
    assert found(gcn(made=made), "IL306") == ["IL306"]


@pytest.mark.parametrize(
    "code",
    [
        gcn(fan="self.weight.size(0)"),
        gcn(fan="self.in_features"),
        # the layouts where axis 1 is the fan_in
        gcn(use="torch.nn.functional.linear(x, self.weight)"),
        gcn(use="self.weight @ x"),
        gcn(use="torch.mm(self.weight, x)"),
        gcn(use="x @ self.weight.t()"),
        # a use the rule does not read: it stays silent
        gcn(use="torch.einsum('ij,jk->ik', x, self.weight)"),
        gcn(use="helper(x, self.weight)"),
        # both uses: no single layout
        gcn(use="x @ self.weight + (self.weight @ x)"),
        # square
        gcn(made="torch.FloatTensor(in_features, in_features)"),
        gcn(made="torch.empty(16, 16)"),
        # a 3-D weight
        gcn(made="torch.empty(heads, in_features, out_features)"),
        # nn.Linear's own weight is (out, in)
        "import math\nimport torch.nn as nn\nclass L(nn.Linear):\n    def reset_parameters(self):\n"
        "        stdv = 1. / math.sqrt(self.weight.size(1))\n        self.weight.data.normal_(0, stdv)\n",
    ],
)
def test_il306_silent(code):
    assert found(code, "IL306") == []


def test_il306_message_names_shape_and_use_lines():
    (finding,) = lint(gcn(), {"IL306"})
    assert "(in_features, out_features) (line 9)" in finding.message
    assert "torch.mm(x, self.weight)` (line 15)" in finding.message
    assert {r.line for r in finding.related} == {9, 13, 15}


def test_il306_normal_std_from_the_output_width():
    code = (
        "import torch\nimport torch.nn as nn\nclass P(nn.Module):\n    def __init__(self, d_in, d_out):\n"
        "        super().__init__()\n        self.W = nn.Parameter(torch.empty(d_in, d_out))\n"
        "        nn.init.normal_(self.W, std=d_out ** -0.5)\n    def forward(self, x):\n        return x @ self.W\n"
    )
    assert found(code, "IL306") == ["IL306"]
    assert found(code.replace("std=d_out", "std=d_in"), "IL306") == []
    assert found(code.replace("std=d_out ** -0.5", "mean=1.0, std=d_out ** -0.5"), "IL306") == []


def test_il306_unsafe_fix_reads_axis_zero():
    assert fix(gcn(), {"IL306"}, unsafe=True) == gcn(fan="self.weight.size(0)")
    assert fix(gcn(fan="self.weight.shape[-1]"), {"IL306"}, unsafe=True) == gcn(fan="self.weight.shape[0]")
    assert fix(gcn(), {"IL306"}, unsafe=False) == gcn()
    (finding,) = lint(gcn(fan="self.out_features"), {"IL306"})
    assert finding.fix is None


# -- IL307 dynamic-calculate-gain ------------------------------------------------------------------


def act_module(act: str, expression: str = "type(self.act).__name__.lower()") -> str:
    return module(
        f"        nn.init.xavier_uniform_(self.fc.weight, gain=nn.init.calculate_gain({expression}))\n",
        f"self.fc = nn.Linear(8, 8)\n        self.act = {act}",
    )


@pytest.mark.parametrize(
    ("act", "fires"),
    [
        ("nn.ReLU()", False),
        ("nn.Tanh()", False),
        ("nn.Sigmoid()", False),
        ("nn.SELU()", False),
        ("nn.LeakyReLU(0.2)", True),
        ("nn.GELU()", True),
        ("nn.SiLU()", True),
        ("nn.ELU()", True),
    ],
)
def test_il307_lower_cased_class_names(act, fires):
    assert found(act_module(act), "IL307") == (["IL307"] if fires else [])
    assert found(act_module(act, "self.act.__class__.__name__.lower()"), "IL307") == (["IL307"] if fires else [])


def test_il307_class_name_without_lowering_never_matches():
    assert found(act_module("nn.ReLU()", "type(self.act).__name__"), "IL307") == ["IL307"]
    unknown = "import torch.nn as nn\ndef init(m):\n    name = m.__class__.__name__\n    return nn.init.calculate_gain(name)\n"
    (message,) = messages(unknown, "IL307")
    assert "keep their capitals" in message


def test_il307_any_branch_that_builds_an_unsupported_class():
    code = module(
        "        name = type(self.act).__name__.lower()\n"
        "        nn.init.xavier_uniform_(self.fc.weight, gain=nn.init.calculate_gain(name))\n",
        "self.fc = nn.Linear(8, 8)\n        if relu:\n            self.act = nn.ReLU()\n"
        "        else:\n            self.act = nn.GELU()",
    )
    (message,) = messages(code, "IL307")
    assert "'gelu' for GELU (line 9)" in message


def test_il307_class_defaults_and_kaiming_nonlinearity():
    code = (
        "import torch.nn as nn\nclass B(nn.Module):\n    def __init__(self, d, act_layer=nn.LeakyReLU):\n"
        "        super().__init__()\n        self.fc = nn.Linear(d, d)\n        self.act = act_layer()\n"
        "        nn.init.kaiming_normal_(self.fc.weight, nonlinearity=type(self.act).__name__.lower())\n"
    )
    (message,) = messages(code, "IL307")
    assert message.startswith("kaiming_normal_(nonlinearity=...)") and "'leakyrelu'" in message
    assert found(code.replace("act_layer=nn.LeakyReLU", "act_layer=nn.ReLU"), "IL307") == []
    cls = "import torch.nn as nn\ndef gain(act=nn.GELU):\n    return nn.init.calculate_gain(act.__name__.lower())\n"
    assert found(cls, "IL307") == ["IL307"]


@pytest.mark.parametrize(
    ("default", "fires"),
    [("'gelu'", True), ("'swish'", True), ("'relu'", False), ("'leaky_relu'", False), ("None", False)],
)
def test_il307_default_strings(default, fires):
    direct = f"import torch.nn as nn\ndef init(w, activation={default}):\n    nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain(activation))\n"
    through_self = (
        f"import torch.nn as nn\nclass L(nn.Module):\n    def __init__(self, activation={default}):\n"
        "        super().__init__()\n        self.activation = activation\n"
        "    def reset(self, w):\n        nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain(self.activation))\n"
    )
    assert found(direct, "IL307") == (["IL307"] if fires else [])
    assert found(through_self, "IL307") == (["IL307"] if fires else [])


@pytest.mark.parametrize(
    "code",
    [
        # guarded by a test of the same value, or a try
        "import torch.nn as nn\ndef init(w, activation='gelu'):\n    if activation in ('relu', 'tanh'):\n"
        "        return nn.init.calculate_gain(activation)\n",
        "import torch.nn as nn\ndef init(w, act='gelu'):\n    try:\n        return nn.init.calculate_gain(act)\n"
        "    except ValueError:\n        return 1.0\n",
        # the name is rebound: the default is not what arrives
        "import torch.nn as nn\ndef init(w, act='gelu'):\n    act = MAP[act]\n    return nn.init.calculate_gain(act)\n",
        # a function's name is not a class name
        "import torch.nn.functional as F\nimport torch.nn as nn\ndef g(act=F.relu):\n    return nn.init.calculate_gain(act.__name__)\n",
        # an unknown class, lower-cased: it may well be ReLU
        "import torch.nn as nn\ndef g(act):\n    return nn.init.calculate_gain(type(act).__name__.lower())\n",
        # not torch's calculate_gain
        "from mylib import calculate_gain\ndef g(act):\n    return calculate_gain(type(act).__name__)\n",
    ],
)
def test_il307_silent(code):
    assert found(code, "IL307") == []


def test_il307_leaves_literals_to_il302():
    code = "import torch.nn as nn\ng = nn.init.calculate_gain('gelu')\n"
    assert [f.code for f in lint(code, {"IL302", "IL307"})] == ["IL302"]


# -- IL308 std-as-gain -----------------------------------------------------------------------------

CYCLEGAN = (
    "from torch.nn import init\ndef init_weights(net, init_type='normal', init_gain=0.02):\n"
    "    def init_func(m):\n        if init_type == 'normal':\n            init.normal_(m.weight.data, 0.0, init_gain)\n"
    "        elif init_type == 'xavier':\n            init.xavier_normal_(m.weight.data, gain=init_gain)\n"
    "        elif init_type == 'orthogonal':\n            init.orthogonal_(m.weight.data, gain=init_gain)\n"
    "    net.apply(init_func)\n"
)


def test_il308_one_value_as_std_and_as_gain():
    findings = lint(CYCLEGAN, {"IL308"})
    assert [f.line for f in findings] == [7, 9]
    assert (
        "gain=init_gain = 0.02" in findings[0].message and "init_gain is also the std at line 5" in findings[0].message
    )
    # the default is a gain-sized number: nothing to report
    assert found(CYCLEGAN.replace("init_gain=0.02", "init_gain=1.0"), "IL308") == []


def test_il308_a_std_keyword_of_any_call_is_evidence():
    code = (
        "import torch.nn as nn\nfrom timm.layers import trunc_normal_\ndef init(m):\n    if isinstance(m, nn.Linear):\n"
        "        trunc_normal_(m.weight, std=0.02)\n    elif isinstance(m, nn.Conv2d):\n"
        "        nn.init.xavier_normal_(m.weight, gain=0.02)\n"
    )
    assert found(code, "IL308") == ["IL308"]
    assert found(code.replace("std=0.02", "std=0.01"), "IL308") == []


def mlp(init: str, middle: str = "nn.ReLU()") -> str:
    return (
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        f"        self.body = nn.Sequential(nn.Linear(8, 64), {middle}, nn.Linear(64, 64), {middle})\n"
        "        self.head = nn.Linear(64, 4)\n"
        f"{init}"
        "    def forward(self, x):\n        return self.head(self.body(x))\n"
    )


ALL_LINEAR = "        for m in self.modules():\n            if isinstance(m, nn.Linear):\n                nn.init.orthogonal_(m.weight, gain=0.01)\n"


def test_il308_hidden_layers_with_a_tiny_gain():
    (message,) = messages(mlp(ALL_LINEAR), "IL308")
    assert "`self.body.0`, a hidden layer whose output reaches `self.body.2`" in message
    # a norm between the layers rescales the signal whatever the weights' scale
    assert found(mlp(ALL_LINEAR, "nn.LayerNorm(64), nn.ReLU()"), "IL308") == []


@pytest.mark.parametrize(
    "code",
    [
        # the policy head alone: a deliberate small start
        mlp("        nn.init.orthogonal_(self.head.weight, gain=0.01)\n"),
        # an activation's gain, or a scale above 0.1
        mlp(ALL_LINEAR.replace("gain=0.01", "gain=nn.init.calculate_gain('relu')")),
        mlp(ALL_LINEAR.replace("gain=0.01", "gain=0.5")),
        # small, but no hidden layer and no std in sight
        "import torch.nn as nn\ndef init_head(m):\n    nn.init.orthogonal_(m.weight, gain=0.01)\n",
        # a std-named value known to be gain-sized
        "import torch.nn as nn\nSTD = 1.0\nnn.init.xavier_normal_(w, gain=STD)\n",
        # gain 0 is another matter (all zeros)
        mlp(ALL_LINEAR.replace("gain=0.01", "gain=0")),
    ],
)
def test_il308_silent(code):
    assert found(code, "IL308") == []


@pytest.mark.parametrize("name", ["std", "init_std", "stdv", "config.initializer_range", "self.init_range", "sigma"])
def test_il308_std_names(name):
    code = f"import torch.nn as nn\ndef init(self, m, config, std, init_std, stdv, sigma):\n    nn.init.xavier_uniform_(m.weight, gain={name})\n"
    assert found(code, "IL308") == ["IL308"]


# -- IL309 norm-eps-as-momentum --------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        "nn.BatchNorm1d(c, 0.8)",
        "nn.BatchNorm2d(c, 0.9)",
        "nn.BatchNorm3d(c, 0.99)",
        "nn.SyncBatchNorm(c, 0.1)",
        "nn.InstanceNorm2d(c, 0.1, affine=True)",
        "nn.LazyBatchNorm1d(0.8)",
        "nn.BatchNorm2d(c, 0.01)",
        "nn.BatchNorm2d(c, BN_MOMENTUM)",
        "nn.BatchNorm2d(c, bn_momentum)",
    ],
)
def test_il309_fires(call):
    code = f"import torch.nn as nn\nBN_MOMENTUM = 0.9\ndef f(c, bn_momentum):\n    return {call}\n"
    assert found(code, "IL309") == ["IL309"]


@pytest.mark.parametrize(
    "call",
    [
        "nn.BatchNorm2d(c, momentum=0.8)",
        "nn.BatchNorm2d(c, eps=0.8)",
        "nn.BatchNorm2d(c, 1e-3)",
        "nn.BatchNorm2d(c, 0.001)",
        "nn.BatchNorm2d(c, eps, momentum)",
        "nn.BatchNorm2d(c, 1.0)",
        "nn.LayerNorm(c, 0.1)",
        "nn.GroupNorm(8, c, 0.1)",
        "nn.BatchNorm2d(c)",
        "nn.BatchNorm2d(*args)",
    ],
)
def test_il309_silent(call):
    code = f"import torch.nn as nn\ndef f(c, eps, momentum, args):\n    return {call}\n"
    assert found(code, "IL309") == []


def test_il309_other_libraries_and_import_styles():
    assert found("from mylib import BatchNorm2d\nbn = BatchNorm2d(64, 0.8)\n", "IL309") == []
    assert found("from torch.nn import BatchNorm2d as BN\nbn = BN(64, 0.8)\n", "IL309") == ["IL309"]
    assert found("import torch\nbn = torch.nn.BatchNorm2d(64, 0.8)\n", "IL309") == ["IL309"]


def test_il309_message_names_eps_and_the_keras_convention():
    (message,) = messages("import torch.nn as nn\nbn = nn.BatchNorm2d(64, 0.8)\n", "IL309")
    assert "that position is eps, not momentum" in message
    assert "scaled by 1.1 instead of 3.2" in message and "Keras' momentum=0.8 is PyTorch's 0.2" in message
    (named,) = messages(
        "import torch.nn as nn\ndef f(c, bn_momentum):\n    return nn.BatchNorm2d(c, bn_momentum)\n", "IL309"
    )
    assert "`bn_momentum` names a momentum" in named


# -- shared ----------------------------------------------------------------------------------------

SNIPPETS = [
    UNIFORM_STYLES["nn"].format(bound="1 / math.sqrt(n)"),
    module("        self.fc.weight.data.uniform_(0.1)\n"),
    gcn(),
    gcn(fan="self.out_features"),
    act_module("nn.GELU()"),
    CYCLEGAN,
    mlp(ALL_LINEAR),
    "import torch.nn as nn\nbn = nn.BatchNorm2d(64, 0.8)\n",
]


@pytest.mark.parametrize("snippet", SNIPPETS)
def test_prefilter_never_hides_a_finding(snippet):
    for code in CODES:
        assert lint(snippet, {code}, prefilter=True) == lint(snippet, {code}, prefilter=False)


def test_each_snippet_fires_exactly_its_rule_among_the_defaults():
    """No double report: the other default rules say nothing new about these lines."""
    expected = ["IL305", "IL305", "IL306", "IL306", "IL307", "IL308", "IL308", "IL309"]
    for snippet, code in zip(SNIPPETS, expected, strict=True):
        assert code in {f.code for f in lint(snippet, set(CODES))}
        assert {f.code for f in lint(snippet, set(CODES))} == {code}


@pytest.mark.parametrize(
    "code",
    [
        "import torch.nn as nn\nbn = nn.BatchNorm2d(c, 0.8, **dd)\n",
        "import torch.nn as nn\nbn = nn.BatchNorm2d (\n    c,\n    0.8,\n)\n",
        "import torch.nn as nn\nbn = nn.BatchNorm2d(c,  # channels\n    0.8)\n",
        "import torch.nn as nn\nbn = nn.BatchNorm2d(int(c * 2), 0.9)\n",
        "import torch.nn as nn\nbn = nn.LazyInstanceNorm2d(0.8)\n",
        "import torch.nn as nn\nbn = nn.SyncBatchNorm(c, 0.1)\n",
        "from torch.nn import BatchNorm2d as BN\nbn = BN(64, 0.8)\n",
        "import torch\nbn = torch.nn.modules.batchnorm.BatchNorm2d(64, 0.8)\n",
        # no finding, and the prefilter may skip the parse
        "import torch.nn as nn\nbn = nn.BatchNorm2d(c, *dd)\n",
        "import torch.nn as nn\nbn = nn.BatchNorm2d(c, eps=0.001, **dd)\n",
    ],
)
def test_il309_prefilter_is_sound(code):
    assert lint(code, {"IL309"}, prefilter=True) == lint(code, {"IL309"}, prefilter=False)


def test_il309_prefilter_skips_calls_without_a_positional_eps():
    from initlint.rules import BY_CODE

    rule = BY_CODE["IL309"]
    assert not rule.may_match(
        "import torch.nn as nn\nbn = nn.BatchNorm2d(c, eps=1e-3, **dd)\nx = nn.BatchNorm1d(c, *a)\n"
    )
    assert rule.may_match("import torch.nn as nn\nbn = nn.BatchNorm2d(c, 0.8)\n")


def test_il307_positional_kaiming_nonlinearity():
    code = (
        "from torch.nn.init import kaiming_normal_\ndef init(w, act):\n"
        "    kaiming_normal_(w, 0, 'fan_in', type(act).__name__)\n"
    )
    assert found(code, "IL307") == ["IL307"]
    assert lint(code, {"IL307"}, prefilter=True) == lint(code, {"IL307"}, prefilter=False)


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        ("import math\nfrom torch.nn.init import uniform_ as u\nu(w, 1 / math.sqrt(n))\n", "IL305"),
        (
            gcn(use="mult(x, self.weight)").replace("import math\n", "import math\nfrom torch import mm as mult\n"),
            "IL306",
        ),
        (
            "import torch.nn as nn\nfrom torch.nn.init import xavier_normal_ as xn\ndef f(m, std):\n    xn(m.weight, gain=std)\n",
            "IL308",
        ),
    ],
)
def test_prefilter_follows_renamed_imports(code, rule):
    assert found(code, rule) == [rule]
    assert lint(code, {rule}, prefilter=True) == lint(code, {rule}, prefilter=False)


def test_il308_small_last_layer_of_a_residual_branch_is_deliberate():
    code = (
        "import torch.nn as nn\nclass Block(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc1 = nn.Linear(64, 64)\n        self.fc2 = nn.Linear(64, 64)\n        self.out = nn.Linear(64, 4)\n"
        "        nn.init.xavier_uniform_(self.fc2.weight, gain=0.01)\n"
        "    def forward(self, x):\n        x = x + self.fc2(self.fc1(x).relu())\n        return self.out(x)\n"
    )
    assert found(code, "IL308") == []
    assert found(code.replace("x = x + self.fc2", "x = self.fc2"), "IL308") == ["IL308"]
