from __future__ import annotations

import re
from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import FixSpec, Invalid, Report, Rule, src
from initlint.rules.triggers import word_matches
from initlint.semantic import SemanticModel
from initlint.semantic.tensors import (
    LEGACY_CONSTRUCTORS,
    PARAMETER_CLASSES,
    TENSOR_FUNCTIONS,
    TENSOR_METHODS,
    known_tensor,
    receiver_code,
)

_TO_KEYWORDS = ("dtype", "device")

# What the prefilter reads of a `tensor(` call's first argument: a dotted name and the character
# after it (spaces skipped). What known_tensor can prove a tensor decides which may fire.
_CALL = re.compile(r"tensor\s*\(\s*")
_ARGUMENT = re.compile(r"([A-Za-z_]\w*(?:\s*\.\s*[A-Za-z_]\w*)*)[ \t]*(.?)", re.DOTALL)
_ENDS = frozenset(",)]}[#;\\\r\n")  # what may follow a whole expression (or index it: `x[0]`)
_TENSOR_ATTRIBUTES = frozenset({"data", "grad", "T", "weight", "bias"})
_FACTORIES = TENSOR_FUNCTIONS | LEGACY_CONSTRUCTORS | {c.rsplit(".", 1)[1] for c in PARAMETER_CLASSES}
_SPACES = re.compile(r"\s*")
_RENAMED = re.compile(r"as\s+(\w+)")  # `... import randn as draw` (and any other `as x`)
_OPENING = re.compile(r"(?:\(\s*)*")


class TensorFromTensor(Rule):
    code = "IL102"
    name = "tensor-from-tensor"
    summary = "`torch.tensor(t)` on a tensor copies it with a UserWarning; use `t.detach().clone()`"
    severity = "warning"
    fix_applicability = "safe"
    literals = ("tensor",)

    @classmethod
    def may_match(cls, text: str, memo: dict[object, bool] | None = None) -> bool:
        """Some ``tensor(`` call's first argument may be a known tensor (most are a list, a
        parameter or a config value): a tensor call, ``x.weight``/``.data``/``.T``, or a name
        this file assigns (known_tensor reads only plain assignments)."""
        if not super().may_match(text, memo):
            return False
        reading = _TensorReading(text)
        try:
            return any(reading.may_be_tensor(call.end()) for call in word_matches(text, cls.literals, _CALL))
        except _Unsure:
            return True

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
        # a name bound to a name bound to a tensor method's result, read through parentheses
        Invalid(
            src("""
                import torch
                base = torch.zeros(3)
                half = base.half()
                y = torch.tensor((half))
            """),
            src("""
                import torch
                base = torch.zeros(3)
                half = base.half()
                y = (half).detach().clone()
            """),
        ),
        # a factory imported under another name; a name bound twice, both times to a tensor
        Invalid(
            src("""
                from torch import randn as draw
                import torch
                w = torch.tensor(draw(3))
            """),
            src("""
                from torch import randn as draw
                import torch
                w = draw(3).detach().clone()
            """),
        ),
        Invalid(
            src("""
                import torch
                a = torch.ones(2)
                a = a.float()
                b = torch.tensor(a)
            """),
            src("""
                import torch
                a = torch.ones(2)
                a = a.float()
                b = a.detach().clone()
            """),
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


class _Unsure(Exception):
    """Too much to follow: the prefilter says "maybe"."""


_MAX_NAMES = 200  # names followed (a scan of the text each)


class _TensorReading:
    """What known_tensor could prove of an expression, read off a file's text (a necessary
    condition: the prefilter's "no" must never hide a finding); past a bound, "maybe"."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.judged: dict[int, bool] = {}
        self.assigned: dict[str, list[int]] = {}
        self.renamed: frozenset[str] | None = None

    def may_be_tensor(self, start: int) -> bool:
        """The expression at ``start``, from its first dotted name and the character after it."""
        text = self.text
        start = _OPENING.match(text, start).end()  # type: ignore[union-attr]  # what parentheses hold
        argument = _ARGUMENT.match(text, start)
        if argument is None:
            return False  # a literal, a list, a unary operator
        names = [name.strip() for name in argument.group(1).split(".")]
        after = argument.group(2)
        if after and after in "\r\n" and text.startswith("(", _SPACES.match(text, argument.end()).end()):  # type: ignore[union-attr]
            after = "("  # a call split after its name (inside brackets), or the next line's: may be one
        if after == "(":
            return self._call(names, start)
        if after and after not in _ENDS:
            return after == "."  # an operator, `if`, `for`: an expression known_tensor never proves
        if len(names) > 1:
            return names[-1] in _TENSOR_ATTRIBUTES
        return self._name(names[0], start)

    def _call(self, names: list[str], start: int) -> bool:
        """``a.b.f(``: a torch factory or nn.Parameter, or a tensor method on what may be a tensor."""
        function = names[-1]
        if function in _FACTORIES:
            return True
        if len(names) == 1:  # a plain name: a factory only when imported under another name
            if self.renamed is None:
                self.renamed = frozenset(_RENAMED.findall(self.text))  # once per file: any `as x`
            return function in self.renamed
        if function not in TENSOR_METHODS:
            return False
        receiver = names[:-1]
        if len(receiver) > 1:
            return receiver[-1] in _TENSOR_ATTRIBUTES
        return self._name(receiver[0], start)

    def _name(self, name: str, read: int) -> bool:
        """Some assignment of ``name`` (other than the one whose value holds the read at
        ``read``) has a value that may be a tensor: known_tensor follows plain assignments only.
        A depth-first search for a value that may be a tensor: each value is judged once, and
        one met again while it is judged counts as "no" (the search goes on from it already), so
        a "no" is remembered soundly across the file's calls (nothing reachable may be one)."""
        text = self.text
        for value in self._assigned_values(name):
            if value <= read and "\n" not in text[value:read] and ";" not in text[value:read]:
                continue  # `x = torch.tensor(x)`: this binding does not precede its own value
            if value not in self.judged:
                self.judged[value] = False
                self.judged[value] = self.may_be_tensor(value)
            if self.judged[value]:
                return True
        return False

    def _assigned_values(self, name: str) -> list[int]:
        """Where the value of each ``name = ...`` or ``name: T = ...`` of the text starts."""
        found = self.assigned.get(name)
        if found is None:
            if len(self.assigned) >= _MAX_NAMES:
                raise _Unsure  # a scan of the text per name: bounded, then "maybe"
            text = self.text
            found = self.assigned[name] = []
            for match in re.finditer(rf"{re.escape(name)}\s*(?::[^\n=]*)?=(?!=)\s*", text):
                before = text[match.start() - 1] if match.start() else " "
                if not (before.isalnum() or before in "_."):
                    found.append(match.end())
        return found
