from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import FixSpec, Invalid, Report, Rule
from initlint.semantic import SemanticModel
from initlint.semantic.tensors import known_tensor, receiver_code

_TO_KEYWORDS = ("dtype", "device")


class TensorFromTensor(Rule):
    code = "IL102"
    name = "tensor-from-tensor"
    summary = "`torch.tensor(t)` on a tensor copies it with a UserWarning; use `t.detach().clone()`"
    severity = "warning"
    fix_applicability = "safe"
    literals = ("tensor",)
    triggers = (r"\btensor\s*\(\s*[A-Za-z_(]",)

    VALID = (
        "import torch\nw = torch.tensor([1.0, 2.0])\n",
        "import torch\nimport numpy as np\nw = torch.tensor(np.zeros(3))\n",
        "import torch\ndef f(x):\n    return torch.tensor(x)\n",
        "import torch\nx = torch.zeros(3)\nx = [1, 2]\ny = torch.tensor(x)\n",
        "import mylib as torch\ny = torch.tensor(torch.zeros(3))\n",
        "import torch\ny = torch.tensor(dataset.data)\n",
    )
    INVALID = (
        Invalid(
            "import torch\nw = torch.tensor(torch.randn(3))\n",
            "import torch\nw = torch.randn(3).detach().clone()\n",
        ),
        Invalid(
            "import torch\ndef f(m):\n    w = torch.tensor(m.weight.data, dtype=torch.float16)\n",
            "import torch\ndef f(m):\n    w = m.weight.data.detach().clone().to(dtype=torch.float16)\n",
        ),
        Invalid(
            "import torch\nx = torch.zeros(3)\ny = torch.tensor(x, requires_grad=True)\n",
            "import torch\nx = torch.zeros(3)\ny = x.detach().clone().requires_grad_()\n",
        ),
        Invalid(
            "from torch import tensor, nn\np = nn.Parameter(tensor([1.0]))\n"
            "q = tensor(p, device='cuda', requires_grad=False)\n",
            "from torch import tensor, nn\np = nn.Parameter(tensor([1.0]))\nq = p.detach().clone().to(device='cuda')\n",
        ),
        Invalid("import torch\nx = torch.tensor(torch.ones(2), pin_memory=True)\n", None),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for call in model.nodes(cst.Call):
            if not call.args or model.qualified_name(call.func) != "torch.tensor":
                continue
            data = call.args[0]
            if data.keyword is not None or data.star or not known_tensor(model, data.value):
                continue
            replacement = _replacement(model, call)
            suggestion = replacement or f"{receiver_code(model, data.value)}.detach().clone()"
            fix = None
            # The rewrite keeps only the arguments' code: no fix where it would drop a comment.
            if replacement is not None and model.keeps_comments(call, replacement):
                fix = FixSpec("safe", "Use `.detach().clone()`", [model.replace(call, replacement)])
            yield Report(
                call,
                f"`torch.tensor()` on a tensor copies it with a UserWarning; use `{_short(suggestion)}`",
                fix,
            )


def _short(code: str) -> str:
    return code if len(code) <= 80 and "\n" not in code else "t.detach().clone()"


def _replacement(model: SemanticModel, call: cst.Call) -> str | None:
    text = receiver_code(model, call.args[0].value) + ".detach().clone()"
    to_args: list[str] = []
    requires_grad: cst.BaseExpression | None = None
    for arg in call.args[1:]:
        if arg.keyword is None or arg.star:
            return None
        keyword = arg.keyword.value
        if keyword in _TO_KEYWORDS:
            to_args.append(f"{keyword}={model.code(arg.value)}")
        elif keyword == "requires_grad":
            requires_grad = arg.value
        else:
            return None
    if to_args:
        text += f".to({', '.join(to_args)})"
    if requires_grad is not None:
        if isinstance(requires_grad, cst.Name) and requires_grad.value == "True":
            text += ".requires_grad_()"
        elif not (isinstance(requires_grad, cst.Name) and requires_grad.value == "False"):
            text += f".requires_grad_({model.code(requires_grad)})"
    return text
