from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import FixSpec, Invalid, Report, Rule, src
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
        src("""
            import torch
            w = torch.tensor([1.0, 2.0])
        """),
        src("""
            import torch
            import numpy as np
            w = torch.tensor(np.zeros(3))
        """),
        src("""
            import torch
            def f(x):
                return torch.tensor(x)
        """),
        src("""
            import torch
            x = torch.zeros(3)
            x = [1, 2]
            y = torch.tensor(x)
        """),
        src("""
            import mylib as torch
            y = torch.tensor(torch.zeros(3))
        """),
        src("""
            import torch
            y = torch.tensor(dataset.data)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch
                w = torch.tensor(torch.randn(3))
            """),
            src("""
                import torch
                w = torch.randn(3).detach().clone()
            """),
        ),
        Invalid(
            src("""
                import torch
                def f(m):
                    w = torch.tensor(m.weight.data, dtype=torch.float16)
            """),
            src("""
                import torch
                def f(m):
                    w = m.weight.data.detach().clone().to(dtype=torch.float16)
            """),
        ),
        Invalid(
            src("""
                import torch
                x = torch.zeros(3)
                y = torch.tensor(x, requires_grad=True)
            """),
            src("""
                import torch
                x = torch.zeros(3)
                y = x.detach().clone().requires_grad_()
            """),
        ),
        Invalid(
            src("""
                from torch import tensor, nn
                p = nn.Parameter(tensor([1.0]))
                q = tensor(p, device='cuda', requires_grad=False)
            """),
            src("""
                from torch import tensor, nn
                p = nn.Parameter(tensor([1.0]))
                q = p.detach().clone().to(device='cuda')
            """),
        ),
        Invalid(
            src("""
                import torch
                x = torch.tensor(torch.ones(2), pin_memory=True)
            """),
            None,
        ),
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
