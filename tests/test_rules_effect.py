"""Whether init code takes effect (issue 10, items 2 and 3): IL411 init-ignores-module-argument,
IL412 init-result-discarded, and IL404's reads (metadata and reading calls are not fills)."""

from __future__ import annotations

import pytest

from initlint.rules import BY_CODE
from initlint.testing import fix, lint

HEAD = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"


def codes(code: str, *rules: str) -> list[str]:
    return [f.code for f in lint(code, set(rules))]


def findings(code: str, rule: str):
    return lint(code, {rule})


# -- IL404: reads are not fills -------------------------------------------------------------------


def proj(forward: str, extra: str = "", base: str = "nn.Module") -> str:
    return HEAD + (
        f"class Proj({base}):\n    def __init__(self, n):\n        super().__init__()\n"
        "        self.weight = nn.Parameter(torch.empty(n, n))\n" + extra + "    def forward(self, x):\n"
        f"        {forward}\n"
    )


@pytest.mark.parametrize(
    "forward",
    [
        "return F.linear(x, self.weight)",
        "return torch.matmul(x, self.weight) + 1",
        "return x.matmul(self.weight)",
        "return x * len(self.weight)",
        "return x.view(-1, self.weight.data.size(0)) @ self.weight",
        "return torch.einsum('bi,ij->bj', x, self.weight)",
    ],
)
def test_il404_reading_uses_are_not_fills(forward):
    # Before: passing the parameter to any call (F.linear in forward) or going through `.data`
    # counted as a possible fill, and IL404 stayed silent on a parameter nothing fills.
    assert codes(proj(forward), "IL404") == ["IL404"]


@pytest.mark.parametrize(
    "forward",
    [
        "return my_kernel(x, self.weight)",  # an unknown function may fill it
        "return F.relu(self.weight, inplace=True) @ x",  # in place
        "return torch.matmul(x, self.weight, out=x)",
        "nn.init.normal_(self.weight); return x @ self.weight",
        "self.weight.data.normal_(); return x @ self.weight",
        "self.weight.data[0] = 1.0; return x @ self.weight",
        "w = self.weight.data; return x @ w",
    ],
)
def test_il404_fills_and_unknown_calls_still_count(forward):
    assert codes(proj(forward), "IL404") == []


def test_il404_and_il412_on_the_rgat_shape():
    # torch_geometric RGATConv: `torch.full(self.l2.size(), 1/out)` in reset_parameters
    # drops its result, so the torch.empty parameter is never filled.
    code = proj(
        "return torch.matmul(x, self.weight)",
        "        self.reset_parameters()\n    def reset_parameters(self):\n"
        "        torch.full(self.weight.size(), 1 / self.weight.size(0))\n",
    )
    found = {f.code: f for f in lint(code, {"IL404", "IL412"})}
    assert set(found) == {"IL404", "IL412"}
    assert found["IL412"].line == 10
    assert "built from `torch.empty(...)` (line 7)" in found["IL412"].message
    assert [r.line for r in found["IL412"].related] == [7]


def test_il412_on_a_class_with_a_base_from_another_file():
    code = (
        "import torch\nfrom torch.nn import Parameter\nfrom torch_geometric.nn.conv import MessagePassing\n"
        "class RGAT(MessagePassing):\n    def __init__(self, out):\n        super().__init__()\n"
        "        self.l2 = Parameter(torch.empty(out, out))\n        self.reset_parameters()\n"
        "    def reset_parameters(self):\n        super().reset_parameters()\n"
        "        torch.full(self.l2.size(), 1 / self.l2.size(0))\n"
    )
    (finding,) = findings(code, "IL412")
    assert finding.line == 11 and "`self.l2`" in finding.message
    fixed = fix(code, {"IL412"}, unsafe=True)
    assert "        torch.nn.init.constant_(self.l2, 1 / self.l2.size(0))\n" in fixed
    assert fix(code, {"IL412"}) == code  # unsafe: not applied without --unsafe-fixes


# -- IL411 init-ignores-module-argument ----------------------------------------------------------

NET = HEAD + (
    "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        self.fc = nn.Linear(4, 4)\n        self.scale = nn.Parameter(torch.ones(4))\n"
    "        {USE}\n"
    "    {DECORATOR}def _init(self, m):\n        {BODY}\n"
)


def net(use: str = "self.apply(self._init)", body: str = "", decorator: str = "") -> str:
    body = body or "if isinstance(self, nn.Linear):\n            nn.init.zeros_(self.bias)"
    return NET.replace("{USE}", use).replace("{BODY}", body).replace("{DECORATOR}", decorator)


def test_il411_apply_of_a_method_that_dispatches_on_self():
    (finding,) = findings(net(), "IL411")
    assert finding.line == 10  # the ignored parameter, in the def line
    assert "`self.apply(self._init)` (line 9)" in finding.message
    assert "never reads `m`" in finding.message and "dispatches on `self`" in finding.message
    assert [r.line for r in finding.related] == [9, 11]
    assert finding.fix is None


@pytest.mark.parametrize(
    "use",
    [
        "self.apply(self._init)",
        "self.apply(functools.partial(self._init))",
        "for m in self.modules(): self._init(m)",
        "for name, m in self.named_modules(): self._init(m)",
        "for child in self.children(): self._init(child)",
    ],
)
def test_il411_every_per_module_use(use):
    code = "import functools\n" + net(use=use, body="nn.init.normal_(self.scale, std=0.02)")
    assert codes(code, "IL411") == ["IL411"]


@pytest.mark.parametrize(
    "body",
    [
        "if isinstance(m, nn.Linear):\n            nn.init.zeros_(m.bias)",
        "nn.init.normal_(m.weight) if hasattr(m, 'weight') else None",
        "def inner():\n            return m\n        nn.init.normal_(self.scale)",  # read in a closure
        "print(locals())\n        nn.init.normal_(self.scale)",  # may reach it
        "for layer in self.modules():\n            if isinstance(layer, nn.Linear):\n"
        "                nn.init.zeros_(layer.bias)",  # walks every module itself
        "self.count += 1",  # no init: nothing shows it meant to initialize
    ],
)
def test_il411_silent_when_the_module_is_read_or_nothing_is_proven(body):
    assert codes(net(body=body), "IL411") == []


def test_il411_parameter_binding():
    # staticmethod: the module is its first parameter, and it reads it
    static = net(body="pass").replace("def _init(self, m):\n        pass", "def _init(m):\n        pass")
    assert codes(static.replace("    def _init(m)", "    @staticmethod\n    def _init(m)"), "IL411") == []
    # partial binds the first free parameter: `m` gets the module and is read
    bound = HEAD + (
        "import functools\ndef init(m, std):\n    nn.init.normal_(m.weight, std=std)\n"
        "model.apply(functools.partial(init, std=0.02))\n"
    )
    assert codes(bound, "IL411") == []
    # ... and when partial binds `m`, the module lands in `std`, which is never read
    swapped = HEAD + (
        "import functools\ndef init(m, std):\n    nn.init.normal_(m.weight, std=0.02)\n"
        "model.apply(functools.partial(init, net.fc))\n"
    )
    assert codes(swapped, "IL411") == ["IL411"]


def test_il411_lambda_and_underscore():
    lam = net(use="self.apply(lambda m: nn.init.ones_(self.scale))", body="pass")
    assert codes(lam, "IL411") == ["IL411"]
    assert codes(lam.replace("lambda m:", "lambda _:"), "IL411") == []


def test_il411_global_model_in_a_module_function():
    code = HEAD + (
        "model = nn.Sequential(nn.Linear(4, 4))\ndef init_weights(layer):\n"
        "    if isinstance(model, nn.Linear):\n        nn.init.xavier_uniform_(model.weight)\n"
        "model.apply(init_weights)\n"
    )
    (finding,) = findings(code, "IL411")
    assert "dispatches on `model`" in finding.message and "`model.apply(init_weights)` (line 8)" in finding.message


def test_il411_class_with_a_base_from_another_file():
    code = HEAD + (
        "from mylib import Backbone\nclass Net(Backbone):\n    def __init__(self):\n        super().__init__()\n"
        "        self.apply(self._init)\n    def _init(self, module):\n        nn.init.zeros_(self.head.bias)\n"
    )
    assert codes(code, "IL411") == ["IL411"]


def test_il411_reported_once_per_function():
    code = net(use="self.apply(self._init)\n        for m in self.modules(): self._init(m)")
    assert codes(code, "IL411") == ["IL411"]


# -- IL412 init-result-discarded -----------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "torch.full(self.gamma.size(), 0.5)",
        "torch.zeros(self.gamma.shape)",
        "torch.randn_like(self.gamma)",
        "torch.clamp(self.gamma, 0, 1)",
        "torch.sigmoid(self.fc.weight.data)",
        "self.gamma.clamp(0, 1)",
        "self.gamma.data.abs()",
        "self.gamma.data.add(1)",  # a proven tensor: `add` is a tensor's
        "self.gamma.data.cuda()",
        "self.fc.bias.log()",
        "self.gamma.detach()",
        "self.gamma.data * 2",
        "self.gamma.data * 2 + 1",
        "self.fc.bias - 1",
        "self.fc.weight.data.mul(0.1)",
        "self.fc.weight.to(torch.float64)",  # a torch.nn layer's weight is a tensor
        "nn.Parameter(torch.zeros(3))",
    ],
)
def test_il412_discarded(statement):
    code = HEAD + (
        "class Scale(nn.Module):\n    def __init__(self, n):\n        super().__init__()\n"
        "        self.fc = nn.Linear(n, n)\n        self.gamma = nn.Parameter(torch.ones(n))\n"
        f"        {statement}\n"
    )
    assert codes(code, "IL412") == ["IL412"]


@pytest.mark.parametrize(
    "statement",
    [
        "self.gamma = torch.full(self.gamma.size(), 0.5)",  # assigned
        "torch.full(self.gamma.size(), 0.5, out=self.gamma.data)",  # out=
        "self.gamma.clamp_(0, 1)",
        "(self.gamma.clamp(0, 1))",  # parenthesized: not this rule's shape
        "x = 1; self.gamma.clamp(0, 1)",  # not the first statement on its line
        "self.fc.cuda()",  # a module: in place
        "self.fc.float()",
        "self.flag.add(1)",  # not a parameter
        "self.gamma.add(1)",  # `add`, `log` and conversions need `.data` / `.weight` / `.bias` ...
        "self.gamma.cuda()",  # ... written on the line
        "torch.add(self.gamma, 1)",  # torch functions named like common methods: left out
        "torch.randn(3, device=self.gamma.device)",  # shaped after nothing of the parameter
        "torch.zeros(4)",
        "self.gamma.size()",
        "nn.init.constant_(self.gamma, 0.5)",
        "2 * self.gamma.data",  # the trigger's shape: the statement starts with the parameter
        "self.gamma * 2",  # ... written as `.weight`, `.bias` or `.data`
        "Parameter(torch.zeros(3))",  # ... and calls are dotted (`nn.Parameter`, `torch.full`)
    ],
)
def test_il412_silent(statement):
    code = (
        HEAD
        + "from torch.nn import Parameter\n"
        + (
            "class Scale(nn.Module):\n    def __init__(self, n):\n        super().__init__()\n"
            "        self.fc = nn.Linear(n, n)\n        self.gamma = nn.Parameter(torch.ones(n))\n"
            "        self.flag = set()\n"
            f"        {statement}\n"
        )
    )
    assert codes(code, "IL412") == []


def test_il412_strict_receivers():
    # `m.weight` of an unknown `m`: value methods speak, `add` and conversions need proof
    base = HEAD + "def init(m):\n    {}\n"
    assert codes(base.format("m.weight.clamp(-1, 1)"), "IL412") == ["IL412"]
    assert codes(base.format("m.weight.add(1)"), "IL412") == []
    assert codes(base.format("m.weight.cuda()"), "IL412") == []
    assert codes(base.format("m.weight.data.cuda()"), "IL412") == ["IL412"]
    # a class attribute assigned something besides a parameter is not proven a parameter
    mixed = HEAD + (
        "class A(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.w = nn.Parameter(torch.ones(2))\n    def reset(self):\n        self.w = 3\n"
        "        self.w.clamp(0, 1)\n"
    )
    assert codes(mixed, "IL412") == []


def test_il412_parameter_loops_and_fixes():
    loop = HEAD + "for p in critic.parameters():\n    p.clamp(-0.01, 0.01)\n"
    (finding,) = findings(loop, "IL412")
    assert finding.fix is None  # in place on a leaf that requires grad raises outside no_grad
    assert "torch.no_grad()" in finding.message
    guarded = (
        HEAD + "with torch.no_grad():\n    for name, p in critic.named_parameters():\n        p.clamp(-0.01, 0.01)\n"
    )
    assert fix(guarded, {"IL412"}, unsafe=True).endswith("        p.clamp_(-0.01, 0.01)\n")
    decorated = HEAD + "@torch.no_grad()\ndef shrink(m):\n    m.weight * 0.5\n"
    assert fix(decorated, {"IL412"}, unsafe=True).endswith("    m.weight *= 0.5\n")
    assert codes(decorated.replace("@torch.no_grad()\n", ""), "IL412") == ["IL412"]
    assert not findings(decorated.replace("@torch.no_grad()\n", ""), "IL412")[0].fix
    # rebinding the loop variable breaks the proof
    rebound = HEAD + "for p in critic.parameters():\n    p = p.grad\n    p.clamp(-0.01, 0.01)\n"
    assert codes(rebound, "IL412") == []


def test_il412_creation_fixes_reuse_imports():
    code = "import torch\nfrom torch.nn import init\ndef reset(m):\n    torch.ones_like(m.weight)\n"
    assert fix(code, {"IL412"}, unsafe=True) == (
        "import torch\nfrom torch.nn import init\ndef reset(m):\n    init.ones_(m.weight)\n"
    )
    with_dtype = "import torch\ndef reset(m):\n    torch.zeros_like(m.weight, dtype=torch.float16)\n"
    (finding,) = findings(with_dtype, "IL412")
    assert finding.fix is None  # the keyword would be dropped


def test_il412_trigger_is_a_necessary_condition():
    rule = BY_CODE["IL412"]
    statements = [
        "torch.full(self.gamma.size(), 0.5)",
        "self.layers[0].weight.data.clamp(-1, 1)",
        "self.gamma.data * 2",
        "nn.Parameter(torch.zeros(3))",
        "self.gamma.data.abs()",
        "th.zeros_like(self.gamma)",
    ]
    for statement in statements:
        code = HEAD.replace("import torch\n", "import torch\nimport torch as th\n") + (
            "class Scale(nn.Module):\n    def __init__(self, n):\n        super().__init__()\n"
            "        self.layers = nn.ModuleList([nn.Linear(n, n)])\n"
            "        self.gamma = nn.Parameter(torch.ones(n))\n"
            f"        {statement}\n"
        )
        assert lint(code, {"IL412"}, prefilter=False), statement
        assert rule.may_match(code), statement
        assert lint(code, {"IL412"}) == lint(code, {"IL412"}, prefilter=False)


def test_il412_fast_trigger_agrees_with_its_regex():
    import re
    from pathlib import Path

    from initlint.rules.il412_init_result_discarded import _TRIGGER

    regex = re.compile(_TRIGGER.pattern)
    root = Path(__file__).resolve().parent.parent
    folders = ("initlint", "tests", "examples", "benchmarks")
    texts = [path.read_text(encoding="utf-8") for folder in folders for path in sorted((root / folder).rglob("*.py"))]
    for rule in BY_CODE.values():
        texts += [*rule.VALID, *(example.code for example in rule.INVALID)]
    lines = [
        "torch.full(w.size(), 1)",
        "  x . data . clamp ( 0 )",
        "a[i].weight.data * 2",
        "a = b.data * 2",
        "y.bias_ih_l0 ** 2",
        "x.weight -= 1",
        "torch.nn.Parameter(t)",
        "print(p.data.abs())",
    ]
    texts += [f"import torch\n{line}\n" for line in lines] + [f"{line}\n" for line in lines]
    agree = [(regex.search(text) is not None) == bool(_TRIGGER.search(text)) for text in texts]
    assert all(agree), [text[:200] for text, ok in zip(texts, agree, strict=True) if not ok]
    assert sum(bool(_TRIGGER.search(text)) for text in texts) >= 10
