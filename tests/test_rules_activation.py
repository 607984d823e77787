"""IL201 init-activation-mismatch, IL202 selu-requires-lecun, IL203 variance-not-preserved."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from initlint.testing import fix, lint


def codes(code: str, select: set[str]) -> list[tuple[str, int]]:
    return [(f.code, f.line) for f in lint(textwrap.dedent(code), select)]


MLP = """
{imports}

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.fc2 = nn.Linear(64, 64)
        self.fc3 = nn.Linear(64, 10)
        {init}

    def forward(self, x):
        x = {act1}
        x = {act2}
        return self.fc3(x)
"""


def mlp(init: str, imports: str = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F",
        act1: str = "F.relu(self.fc1(x))", act2: str = "F.relu(self.fc2(x))") -> str:  # fmt: skip
    return MLP.format(imports=imports, init=init, act1=act1, act2=act2)


XAVIER_LOOP = "for l in (self.fc1, self.fc2):\n            {fn}(l.weight)"


@pytest.mark.parametrize(
    ("imports", "fn"),
    [
        ("import torch\nimport torch.nn as nn\nimport torch.nn.functional as F", "nn.init.xavier_normal_"),
        ("import torch\nfrom torch import nn\nfrom torch.nn import functional as F", "torch.nn.init.xavier_normal_"),
        (
            "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\nfrom torch.nn import init",
            "init.xavier_normal_",
        ),
        (
            "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\nimport torch.nn.init as I",
            "I.xavier_uniform_",
        ),
        (
            "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\nfrom torch.nn.init import xavier_uniform_",
            "xavier_uniform_",
        ),
        (
            "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\nfrom torch.nn.init import orthogonal_",
            "orthogonal_",
        ),
    ],
)
def test_il201_fires_in_every_import_style(imports, fn):
    found = lint(mlp(XAVIER_LOOP.format(fn=fn), imports=imports), {"IL201"})
    assert [f.code for f in found] == ["IL201"]
    assert "fc1, fc2" in found[0].message and "relu" in found[0].message


@pytest.mark.parametrize(
    ("act1", "act2"),
    [
        ("torch.relu(self.fc1(x))", "torch.relu(self.fc2(x))"),
        ("self.fc1(x).relu()", "self.fc2(x).relu()"),
        ("F.leaky_relu(self.fc1(x), 0.2)", "F.leaky_relu(self.fc2(x), 0.2)"),
        ("F.gelu(self.fc1(x))", "F.silu(self.fc2(x))"),
        ("F.relu_(self.fc1(x))", "F.elu(self.fc2(x))"),
    ],
)
def test_il201_activation_forms(act1, act2):
    assert codes(mlp(XAVIER_LOOP.format(fn="nn.init.xavier_normal_"), act1=act1, act2=act2), {"IL201"}) != []


def test_il201_norm_between_is_silent():
    code = mlp(
        XAVIER_LOOP.format(fn="nn.init.xavier_normal_"),
        act1="F.relu(F.layer_norm(self.fc1(x), (64,)))",
        act2="F.relu(F.layer_norm(self.fc2(x), (64,)))",
    )
    assert codes(code, {"IL201"}) == []


def test_il201_residual_is_silent():
    code = mlp(XAVIER_LOOP.format(fn="nn.init.xavier_normal_"), act1="x + self.fc1(x)", act2="F.relu(self.fc2(x))")
    assert codes(code, {"IL201"}) == []


def test_il201_single_layer_implied_gain_is_silent_but_named_gain_fires():
    single = "nn.init.xavier_normal_(self.fc1.weight)"
    assert codes(mlp(single), {"IL201"}) == []
    named = "nn.init.xavier_normal_(self.fc1.weight, gain=nn.init.calculate_gain('tanh'))"
    assert [c for c, _ in codes(mlp(named), {"IL201"})] == ["IL201"]


def test_il201_kaiming_before_tanh():
    init = "for l in (self.fc1, self.fc2):\n            nn.init.kaiming_normal_(l.weight)"
    code = mlp(init, act1="torch.tanh(self.fc1(x))", act2="torch.tanh(self.fc2(x))")
    found = lint(code, {"IL201"})
    assert len(found) == 1 and "tanh" in found[0].message
    fixed = fix(code, {"IL201"}, unsafe=True)
    assert 'nonlinearity="tanh"' in fixed and lint(fixed, {"IL201"}) == []


def test_il201_matching_schemes_are_silent():
    ok = [
        "for l in (self.fc1, self.fc2):\n            nn.init.kaiming_normal_(l.weight, nonlinearity='relu')",
        "for l in (self.fc1, self.fc2):\n            nn.init.kaiming_uniform_(l.weight, a=0.2, nonlinearity='leaky_relu')",
        "for l in (self.fc1, self.fc2):\n            nn.init.orthogonal_(l.weight, gain=2 ** 0.5)",
        "for l in (self.fc1, self.fc2):\n            nn.init.normal_(l.weight, std=0.02)",
    ]
    for init in ok:
        assert codes(mlp(init), {"IL201"}) == [], init


def test_il201_apply_with_module_level_function_and_sequential_loop():
    code = """
    import torch.nn as nn

    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)

    class Deep(nn.Module):
        def __init__(self, depth=8):
            super().__init__()
            layers = []
            for _ in range(depth):
                layers.append(nn.Linear(128, 128))
                layers.append(nn.ReLU(inplace=True))
            self.body = nn.Sequential(*layers)

        def forward(self, x):
            return self.body(x)

    model = Deep()
    model.apply(init_weights)
    """
    found = lint(textwrap.dedent(code), {"IL201"})
    assert len(found) == 1 and found[0].line == 6
    assert found[0].related and any("ReLU" in r.message or "relu" in r.message for r in found[0].related)


def test_il201_unknown_receiver_is_silent():
    code = """
    import torch.nn as nn

    def init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
    """
    assert codes(code, {"IL201"}) == []


def test_il201_fix_is_unsafe_and_relints_clean():
    code = mlp(XAVIER_LOOP.format(fn="nn.init.xavier_uniform_"))
    assert fix(code, {"IL201"}) == code  # not without --unsafe-fixes
    fixed = fix(code, {"IL201"}, unsafe=True)
    cst.parse_module(fixed)
    assert 'nn.init.kaiming_uniform_(l.weight, nonlinearity="relu")' in fixed
    assert lint(fixed, {"IL201"}) == []


SNN = """
import torch.nn as nn

class SNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(32, 32), nn.SELU(), nn.AlphaDropout(0.1), nn.Linear(32, 32), nn.SELU(),
                                 nn.Linear(32, 1))
        for m in self.modules():
            if isinstance(m, nn.Linear):
                {init}

    def forward(self, x):
        return self.net(x)
"""


@pytest.mark.parametrize(
    ("init", "fires"),
    [
        ("nn.init.kaiming_normal_(m.weight, nonlinearity='linear')", False),
        ("nn.init.kaiming_normal_(m.weight, nonlinearity='selu')", True),
        ("nn.init.kaiming_normal_(m.weight, nonlinearity='relu')", True),
        ("nn.init.xavier_normal_(m.weight)", False),  # square layers: 2/(n+n) = 1/n
        ("nn.init.xavier_normal_(m.weight, gain=2.0)", True),
        ("nn.init.normal_(m.weight, std=0.5)", True),
    ],
)
def test_il202(init, fires):
    found = lint(SNN.format(init=init), {"IL202"})
    assert bool(found) is fires
    if fires:
        # The loop also reaches the output layer, which feeds no SELU: no blanket fix.
        assert found[0].fix is None


def test_il203_messages_give_per_layer_and_total_gain():
    code = """
    import torch.nn as nn

    class MLP(nn.Module):
        def __init__(self, width=256, depth=20):
            super().__init__()
            layers = []
            for _ in range(depth):
                layers += [nn.Linear(width, width), nn.ReLU()]
            self.body = nn.Sequential(*layers)
            self.head = nn.Linear(width, 10)
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, std=0.01)

        def forward(self, x):
            return self.head(self.body(x))
    """
    (finding,) = lint(textwrap.dedent(code), {"IL203"})
    assert "20 hidden layers" in finding.message and "vanishes" in finding.message
    assert "x0.113" in finding.message  # sqrt(256 * 1e-4 / 2)


def test_il203_explodes_and_constants_from_module_level():
    code = """
    import torch.nn as nn
    import torch.nn.functional as F

    WIDTH = 1024

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(WIDTH, WIDTH)
            self.b = nn.Linear(WIDTH, WIDTH)
            self.c = nn.Linear(WIDTH, 1)
            for layer in (self.a, self.b):
                nn.init.normal_(layer.weight, 0, 1)

        def forward(self, x):
            return self.c(F.relu(self.b(F.relu(self.a(x)))))
    """
    (finding,) = lint(textwrap.dedent(code), {"IL203"})
    assert "explodes" in finding.message


def test_il203_silent_on_tanh_explosion_and_mixed_inits():
    code = """
    import torch
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(1024, 1024)
            self.b = nn.Linear(1024, 1024)
            self.c = nn.Linear(1024, 1)
            nn.init.normal_(self.a.weight, 0, 1)
            nn.init.normal_(self.b.weight, 0, 1)

        def forward(self, x):
            return self.c(torch.tanh(self.b(torch.tanh(self.a(x)))))
    """
    assert lint(textwrap.dedent(code), {"IL203"}) == []
