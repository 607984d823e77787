from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import FixSpec, Invalid, Report, Rule, src
from initlint.semantic import SemanticModel
from initlint.semantic.tensors import is_detached, receiver_code

VARIABLE = frozenset({"torch.autograd.Variable", "torch.autograd.variable.Variable"})


class VariableWrapper(Rule):
    code = "IL105"
    name = "variable-wrapper"
    summary = "`torch.autograd.Variable` is a no-op wrapper since PyTorch 0.4; use the tensor itself"
    severity = "warning"
    tier = "legacy"  # off by default: `--extend-select legacy`
    default_enabled = False
    fix_applicability = "safe"
    literals = ("Variable",)
    triggers = (r"\bVariable\b",)

    VALID = (
        src("""
            import torch
            w = torch.randn(3, requires_grad=True)
        """),
        src("""
            from mylib import Variable
            w = Variable(t)
        """),
        src("""
            from torch.autograd import Variable
            Variable = None
            w = Variable(t)
        """),
        src("""
            import tensorflow as tf
            w = tf.Variable(t)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch
                from torch.autograd import Variable
                w = Variable(torch.randn(3))
            """),
            src("""
                import torch
                from torch.autograd import Variable
                w = torch.randn(3)
            """),
        ),
        Invalid(
            src("""
                import torch
                w = torch.autograd.Variable(torch.zeros(3), requires_grad=True)
            """),
            src("""
                import torch
                w = torch.zeros(3).requires_grad_()
            """),
        ),
        Invalid(
            src("""
                import torch
                w = torch.autograd.Variable(t, volatile=True)
            """),
            src("""
                import torch
                w = t.detach()
            """),
        ),
        Invalid(
            src("""
                from torch.autograd import Variable
                w = Variable(a + b, requires_grad=flag)
            """),
            src("""
                from torch.autograd import Variable
                w = (a + b).detach().requires_grad_(flag)
            """),
        ),
        Invalid(
            src("""
                from torch.autograd import Variable
                w = Variable(t, True)
            """),
            None,
        ),
        Invalid(
            src("""
                from torch.autograd import Variable
                w = Variable()
            """),
            None,
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for call in model.nodes(cst.Call):
            if model.qualified_name(call.func) not in VARIABLE:
                continue
            replacement = _replacement(model, call)
            # The rewrite keeps only the arguments' code: no fix where it would drop a comment.
            if replacement is not None and not model.keeps_comments(call, replacement):
                replacement = None
            yield Report(
                call,
                "`Variable` has been a deprecated no-op wrapper since PyTorch 0.4 (tensors carry autograd "
                "state); use the tensor itself, with `.requires_grad_()` if it needs gradients",
                FixSpec("safe", "Drop `Variable`", [model.replace(call, replacement)]) if replacement else None,
            )


def _replacement(model: SemanticModel, call: cst.Call) -> str | None:
    if not call.args:
        return None
    data, *rest = call.args
    if data.keyword is not None or data.star:
        return None
    requires_grad: cst.BaseExpression | None = None
    for arg in rest:
        if arg.keyword is None or arg.star:
            return None
        if arg.keyword.value == "requires_grad":
            requires_grad = arg.value
        elif arg.keyword.value != "volatile":
            return None
    text = receiver_code(model, data.value)
    # Variable(t) returns t.detach(): keep that, unless t has no autograd history to cut.
    if not is_detached(model, data.value):
        text += ".detach()"
    if requires_grad is not None:
        if isinstance(requires_grad, cst.Name) and requires_grad.value == "True":
            text += ".requires_grad_()"
        elif not (isinstance(requires_grad, cst.Name) and requires_grad.value == "False"):
            text += f".requires_grad_({model.code(requires_grad)})"
    return text
