"""Focused tests of the legacy-API rules IL102-IL107, beyond their class examples: import styles,
names that resolve elsewhere, rebinding, source layout kept by fixes, imports added by fixes."""

from __future__ import annotations

import pytest

from initlint.testing import fix, lint


def codes(code: str, rule: str) -> list[str]:
    return [f.code for f in lint(code, {rule})]


# -- IL102 tensor-from-tensor ------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "import torch\ny = torch.tensor(torch.zeros(2).float())\n",
        "import torch\ny = torch.tensor(torch.nn.Parameter(torch.ones(2)))\n",
        "import torch\nimport torch.nn as nn\ny = torch.tensor(nn.Parameter(torch.ones(2)))\n",
        "from torch import tensor, randn\ny = tensor(randn(3))\n",
        "import torch\ndef f(m):\n    return torch.tensor(m.weight.data)\n",
        "import torch\ndef f(m):\n    return torch.tensor(m.bias.grad)\n",
        "import torch\ndef f():\n    x = torch.arange(3)\n    return torch.tensor(x[0])\n",
        "import torch\ny = torch.tensor(torch.cat([a, b]).to('cuda'))\n",
    ],
)
def test_il102_fires(code):
    assert codes(code, "IL102") == ["IL102"]


@pytest.mark.parametrize(
    "code",
    [
        "import torch\ny = torch.tensor(x)\n",
        "import torch\ny = torch.tensor([torch.zeros(2)])\n",
        "import torch\ny = torch.tensor(3.0)\n",
        "import torch\nimport numpy as np\nx = np.ones(3)\ny = torch.tensor(x)\n",
        "import torch\ndef f(m):\n    return torch.tensor(m.weight)\n",  # may be a list of class weights
        "import torch\ny = torch.tensor(ds.data)\n",  # torchvision datasets keep numpy arrays there
        "import torch\nx = torch.zeros(3)\ndef f():\n    return torch.tensor(x)\n",  # another scope
        "import torch\ndef f():\n    x = torch.zeros(3)\n    for x in rows:\n        pass\n"
        "    return torch.tensor(x)\n",
        "import torch\ndef f():\n    y = torch.tensor(x)\n    x = torch.zeros(3)\n",  # read before assigned
        "import torch\ndef f():\n    global x\n    x = torch.zeros(3)\n    return torch.tensor(x)\n",
        "import torch\ntorch = other\ny = torch.tensor(torch.zeros(3))\n",
        "import mylib as torch\ny = torch.tensor(torch.zeros(3))\n",
    ],
)
def test_il102_silent(code):
    assert codes(code, "IL102") == []


def test_il102_fix_parenthesizes_and_keeps_crlf():
    code = "import torch\r\nx = torch.zeros(2)\r\ny = torch.tensor(x + 1 if x else x, device=d)\r\n"
    assert codes(code, "IL102") == []  # an IfExp is not a known tensor
    code = "import torch\r\nx = torch.zeros(2)\r\nif x:\r\n\ty = torch.tensor(-x[0], requires_grad=g)\r\n"
    assert codes(code, "IL102") == []  # a unary operation is not traced
    code = "import torch\r\nx = torch.zeros(2)\r\nif x:\r\n\ty = torch.tensor(x, requires_grad=g)\r\n"
    assert fix(code, {"IL102"}) == (
        "import torch\r\nx = torch.zeros(2)\r\nif x:\r\n\ty = x.detach().clone().requires_grad_(g)\r\n"
    )


def test_il102_message_names_the_replacement():
    (finding,) = lint("import torch\nw = torch.tensor(torch.ones(2))\n", {"IL102"})
    assert "torch.ones(2).detach().clone()" in finding.message and "UserWarning" in finding.message


# -- IL103 legacy-tensor-constructor -----------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "fixed"),
    [
        ("import torch\nw = torch.DoubleTensor(2, n)\n", "import torch\nw = torch.empty(2, n, dtype=torch.float64)\n"),
        ("import torch\nw = torch.ByteTensor(4)\n", "import torch\nw = torch.empty(4, dtype=torch.uint8)\n"),
        (
            "import torch\nw = torch.cuda.FloatTensor(4)\n",
            'import torch\nw = torch.empty(4, dtype=torch.float32, device="cuda")\n',
        ),
        ("import torch as th\nw = th.Tensor(2, 2)\n", "import torch as th\nw = th.empty(2, 2)\n"),
        (
            "from torch import HalfTensor\nw = HalfTensor(2, 2)\n",
            "from torch import HalfTensor\nimport torch\nw = torch.empty(2, 2, dtype=torch.float16)\n",
        ),
        (
            "import torch\r\nw = torch.Tensor(\r\n\t3,\r\n\t4,\r\n)\r\n",
            "import torch\r\nw = torch.empty(\r\n\t3,\r\n\t4,\r\n)\r\n",
        ),
    ],
)
def test_il103_fixes(code, fixed):
    assert codes(code, "IL103") == ["IL103"]
    assert fix(code, {"IL103"}) == fixed


@pytest.mark.parametrize(
    "code",
    [
        "import torch\nw = torch.Tensor(n)\n",
        "import torch\nw = torch.FloatTensor([1, 2])\n",
        "import torch\nw = torch.LongTensor(np.array([1]))\n",
        "import torch\ndef f(x: torch.Tensor) -> torch.Tensor:\n    return x\n",
        "from mylib import FloatTensor\nimport torch\nw = FloatTensor(3, 3)\n",
        "import torch\nTensor = make\nw = Tensor(3, 3)\n",
        "import torch\nw = torch.cuda.Tensor(3, 3)\n",
    ],
)
def test_il103_silent(code):
    assert codes(code, "IL103") == []


# -- IL104 data-attribute-init -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "fixed"),
    [
        ("import torch\nm.weight.data.normal_()\n", "import torch\ntorch.nn.init.normal_(m.weight)\n"),
        (
            "import torch.nn as nn\nm.weight.data.uniform_(-b, b)\n",
            "import torch.nn as nn\nnn.init.uniform_(m.weight, -b, b)\n",
        ),
        (
            "from torch import nn\nm.weight.data.uniform_(0, to=b)\n",
            "from torch import nn\nnn.init.uniform_(m.weight, 0, b=b)\n",
        ),
        (
            "from torch.nn import init\nm.bias.data.fill_(0.1)\n",
            "from torch.nn import init\ninit.constant_(m.bias, 0.1)\n",
        ),
        ("import torch.nn.init as I\nm.bias.data.zero_()\n", "import torch.nn.init as I\nI.zeros_(m.bias)\n"),
        (
            "from torch.nn.init import normal_ as n\nn(m.weight.data, std=0.02)\n",
            "from torch.nn.init import normal_ as n\nn(m.weight, std=0.02)\n",
        ),
        (
            "import torch.nn as nn\nnn.init.normal_(m.weight.data, 0, 1)\n",
            "import torch.nn as nn\nnn.init.normal_(m.weight, 0, 1)\n",
        ),
        (
            "import torch\ntorch.nn.init.kaiming_normal_(tensor=m.weight.data)\n",
            "import torch\ntorch.nn.init.kaiming_normal_(tensor=m.weight)\n",
        ),
        (
            "import torch\r\nfor m in mods:\r\n\tm.weight.data.normal_(0, 0.02)\r\n",
            "import torch\r\nfor m in mods:\r\n\ttorch.nn.init.normal_(m.weight, 0, 0.02)\r\n",
        ),
    ],
)
def test_il104_fixes(code, fixed):
    assert codes(code, "IL104") == ["IL104"]
    assert fix(code, {"IL104"}) == fixed


@pytest.mark.parametrize(
    "code",
    [
        "import torch\nw = m.weight.data.normal_()\n",
        "import torch\nm.weight.data[0].normal_()\n",
        "import torch\nm.weight.data.normal_().add_(1)\n",
        "import torch\np.grad.data.zero_()\n",
        "import torch\nm.weight.data.copy_(w)\n",
        "import mylib.init as init\ninit.normal_(m.weight.data)\n",
        "import torch.nn as nn\nnn.init.calculate_gain(m.weight.data)\n",
        "import torch.nn as nn\nnn.init._calculate_fan_in_and_fan_out(m.weight.data)\n",
        "import torch.nn as nn\nnn = mine\nnn.init.normal_(m.weight.data)\n",
    ],
)
def test_il104_silent(code):
    assert codes(code, "IL104") == []


def test_il104_unknown_keyword_has_no_fix():
    (finding,) = lint("import torch\nm.weight.data.normal_(0, 1, out=x)\n", {"IL104"})
    assert finding.fix is None


# -- IL105 variable-wrapper --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "fixed"),
    [
        ("import torch\nv = torch.autograd.Variable(t)\n", "import torch\nv = t.detach()\n"),
        (
            "import torch.autograd as ag\nv = ag.Variable(t.detach(), requires_grad=True)\n",
            "import torch.autograd as ag\nv = t.detach().requires_grad_()\n",
        ),
        (
            "from torch.autograd import Variable as V\nv = V(t, requires_grad=False, volatile=True)\n",
            "from torch.autograd import Variable as V\nv = t.detach()\n",
        ),
        (
            "from torch.autograd.variable import Variable\nv = Variable(x.detach().clone(), requires_grad=True)\n",
            "from torch.autograd.variable import Variable\nv = x.detach().clone().requires_grad_()\n",
        ),
        (
            "import torch\r\nif a:\r\n\tv = torch.autograd.Variable(torch.zeros(2))\r\n",
            "import torch\r\nif a:\r\n\tv = torch.zeros(2)\r\n",
        ),
    ],
)
def test_il105_fixes(code, fixed):
    assert codes(code, "IL105") == ["IL105"]
    assert fix(code, {"IL105"}) == fixed


@pytest.mark.parametrize(
    "code",
    [
        "import torch\nfrom mylib import Variable\nv = Variable(t)\n",
        "import torch\nimport tensorflow as tf\nv = tf.Variable(t)\n",
        "from torch.autograd import Variable\ndef f(Variable):\n    return Variable(t)\n",
        "import torch\nclass Variable:\n    pass\nv = Variable(t)\n",
    ],
)
def test_il105_silent(code):
    assert codes(code, "IL105") == []


# -- IL106 exact-type-dispatch -----------------------------------------------------------------

INIT_BODY = "        nn.init.zeros_(m.bias)\n"


@pytest.mark.parametrize(
    ("header", "test", "fixed"),
    [
        ("import torch.nn as nn\n", "type(m) is nn.Conv2d", "isinstance(m, nn.Conv2d)"),
        ("import torch.nn as nn\n", "nn.Linear == type(m)", "isinstance(m, nn.Linear)"),
        (
            "import torch.nn as nn\n",
            "m.__class__ in [nn.Linear, nn.Embedding]",
            "isinstance(m, (nn.Linear, nn.Embedding))",
        ),
        ("import torch.nn as nn\n", "type(m) not in (nn.Linear,)", "not isinstance(m, nn.Linear)"),
        ("import torch.nn as nn\n", "a and type(m) != nn.Linear", "a and not isinstance(m, nn.Linear)"),
        ("import torch.nn as nn\nfrom torch.nn import Linear\n", "type(m) == Linear", "isinstance(m, Linear)"),
        (
            "import torch.nn as nn\nimport torch.nn.modules.conv as C\n",
            "type(m) == C.Conv1d",
            "isinstance(m, C.Conv1d)",
        ),
    ],
)
def test_il106_fixes(header, test, fixed):
    code = f"{header}def init(m):\n    if {test}:\n{INIT_BODY}"
    assert codes(code, "IL106") == ["IL106"]
    assert fix(code, {"IL106"}, unsafe=True) == code.replace(test, fixed)
    assert fix(code, {"IL106"}) == code


@pytest.mark.parametrize(
    "code",
    [
        f"import torch.nn as nn\ndef init(m):\n    if type(m) == MyLinear:\n{INIT_BODY}",
        f"import mylib.nn as nn\ndef init(m):\n    if type(m) == nn.Linear:\n{INIT_BODY}",
        f"import torch.nn as nn\ndef init(m):\n    if type(m) == nn.functional:\n{INIT_BODY}",
        f"import torch.nn as nn\ndef init(m):\n    if type(m) in mapping:\n{INIT_BODY}",
        f"import torch.nn as nn\ndef init(m):\n    if type(a, b, c) == nn.Linear:\n{INIT_BODY}",
        "import torch.nn as nn\ndef swap(m):\n    if type(m) is nn.Linear:\n"
        "        return Q(m.in_features, m.bias is not None)\n",
        "import torch.nn as nn\nif type(m) == nn.Linear:\n    nn.init.zeros_(m.bias)\n",  # not in a function
    ],
)
def test_il106_silent(code):
    assert codes(code, "IL106") == []


def test_il106_keeps_parentheses_around_negation_in_a_comparison():
    code = f"import torch.nn as nn\ndef init(m):\n    if x == (type(m) != nn.Linear):\n{INIT_BODY}"
    assert fix(code, {"IL106"}, unsafe=True) == code.replace("type(m) != nn.Linear", "not isinstance(m, nn.Linear)")


# -- IL107 classname-string-dispatch -----------------------------------------------------------

BODY = "        m.weight.data.normal_(0.0, 0.02)\n"


@pytest.mark.parametrize(
    "test",
    [
        "m.__class__.__name__.find('Conv') != -1",
        "m.__class__.__name__.find('Conv') >= 0",
        "m.__class__.__name__.find('Conv') > -1",
        "type(m).__name__.find('Linear') == -1",
        "'Conv2d' in type(m).__name__",
        "'Conv' not in m.__class__.__name__",
        "m.__class__.__name__.endswith('Linear')",
    ],
)
def test_il107_fires(test):
    code = f"import torch.nn as nn\ndef init(m):\n    if {test}:\n{BODY}"
    assert codes(code, "IL107") == ["IL107"]


def test_il107_through_a_local_and_message():
    code = (
        "from torch import nn\ndef init(m):\n    classname = m.__class__.__name__\n"
        f"    if classname.find('Conv') != -1:\n{BODY}"
    )
    (finding,) = lint(code, {"IL107"})
    assert "isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d))" in finding.message
    assert "ConvTranspose" in finding.message and finding.fix is None


@pytest.mark.parametrize(
    "code",
    [
        f"import torch.nn as nn\ndef init(m):\n    if 'BatchNorm' in m.__class__.__name__:\n{BODY}",
        f"import torch.nn as nn\ndef init(m):\n    if 'RMSNorm' in m.__class__.__name__:\n{BODY}",
        f"import torch.nn as nn\ndef init(m):\n    if 'Conv' in m.name:\n{BODY}",
        f"import torch.nn as nn\ndef init(m, classname):\n    if 'Conv' in classname:\n{BODY}",
        f"import torch.nn as nn\ndef init(m):\n    if m.__class__.__name__.find('Conv') == 0:\n{BODY}",
        f"import torch.nn as nn\ndef init(m):\n    if m.__class__.__name__ == 'Conv2d':\n{BODY}",
        "import torch.nn as nn\ndef show(m):\n    if 'Conv' in m.__class__.__name__:\n        print(m)\n",
        f"import torch.nn as nn\ndef init(m, type):\n    if 'Conv' in type(m).__name__:\n{BODY}",
        f"import torch.nn as nn\nname = m.__class__.__name__\ndef init(m):\n    if 'Conv' in name:\n{BODY}",
    ],
)
def test_il107_silent(code):
    assert codes(code, "IL107") == []
