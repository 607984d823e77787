from __future__ import annotations

import re
from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import FixSpec, Invalid, Report, Rule, src
from initlint.rules.triggers import has_init
from initlint.semantic import SemanticModel
from initlint.semantic.inits import InitSite
from initlint.semantic.scales import SQRT_FUNCTIONS, bound_value, radicand, resolved_value
from initlint.semantic.schemes import TENSOR_METHODS, bind_arguments
from initlint.semantic.tensor_shapes import tensor_rank
from initlint.semantic.tensors import PARAMETER_CLASSES
from initlint.semantic.values import evaluate

# Names that only ever denote the magnitude of a symmetric range (never a lower end).
_BOUND_NAMES = frozenset(
    {"bound", "stdv", "std", "stddev", "limit", "init_range", "initrange", "irange", "init_bound", "weight_bound",
     "w_bound", "init_std", "init_stdv"}
)  # fmt: skip
_PURE_CALLS = frozenset({"float", "int", "len"})
_PURE_METHODS = frozenset({"size", "dim", "numel"})


def _identifier(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _line(model: SemanticModel, node: cst.CSTNode) -> int:
    return model.range_of(node).start.line


_UNIFORM_METHOD = re.compile(r"\.\s*uniform_\s*\(")


class UniformSingleBound(Rule):
    code = "IL305"
    name = "uniform-single-bound"
    summary = "`uniform_(w, bound)` with one symmetric-looking bound: b stays 1.0, so the values lie in [bound, 1)"
    severity = "error"
    fix_applicability = "unsafe"
    literals = ("uniform",)
    triggers = (r"uniform_?\s*(?:\(|as\b)",)  # a call, or an import under another name
    uses_init_aliases = True

    @classmethod
    def may_match(cls, text: str, memo: dict[object, bool] | None = None) -> bool:
        """An init site needs an nn.init reference (or an in-place init) in the text; without one
        only `nn.Parameter(t.uniform_(b))` can fire (`random.uniform(a, b)` never does)."""
        if not super().may_match(text, memo):
            return False
        return has_init(text, memo) or ("Parameter" in text and _UNIFORM_METHOD.search(text) is not None)

    VALID = (
        src("""
            import math
            import torch.nn as nn
            nn.init.uniform_(w, -1 / math.sqrt(n), 1 / math.sqrt(n))
        """),
        src("""
            import torch.nn as nn
            nn.init.uniform_(w, a=-bound, b=bound)
        """),
        src("""
            import torch.nn as nn
            nn.init.uniform_(w)
        """),
        # a lower end that is not a symmetric magnitude
        src("""
            import torch.nn as nn
            nn.init.uniform_(self.temperature, low)
        """),
        # a literal below 1 on a tensor not proven to be a layer weight (a positive scale is plausible)
        src("""
            import torch.nn as nn
            nn.init.uniform_(self.alpha, 0.5)
        """),
        # uniform_(w, -1) is [-1, 1): symmetric
        src("""
            import torch.nn as nn
            layer = nn.Linear(4, 4)
            nn.init.uniform_(layer.weight, -1)
        """),
        # not torch: numpy's uniform(low, high) has its own defaults
        src("""
            import numpy as np
            import math
            x = np.random.uniform(1 / math.sqrt(n))
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import math
                import torch.nn as nn
                nn.init.uniform_(w, 1 / math.sqrt(n))
            """),
            src("""
                import math
                import torch.nn as nn
                nn.init.uniform_(w, -1 / math.sqrt(n), 1 / math.sqrt(n))
            """),
            unsafe=True,
        ),
        Invalid(
            src("""
                import math
                import torch.nn as nn
                class M(nn.Module):
                    def __init__(self, d):
                        super().__init__()
                        self.w = nn.Parameter(torch.empty(d, d))
                    def reset_parameters(self):
                        stdv = 1.0 / math.sqrt(self.w.size(1))
                        self.w.data.uniform_(stdv)
            """),
            src("""
                import math
                import torch.nn as nn
                class M(nn.Module):
                    def __init__(self, d):
                        super().__init__()
                        self.w = nn.Parameter(torch.empty(d, d))
                    def reset_parameters(self):
                        stdv = 1.0 / math.sqrt(self.w.size(1))
                        self.w.data.uniform_(-stdv, stdv)
            """),
            unsafe=True,
        ),
        Invalid(
            src("""
                import torch.nn as nn
                from torch.nn import init
                def reset(m, bound):
                    init.uniform_(m.weight, a=bound)
            """),
            src("""
                import torch.nn as nn
                from torch.nn import init
                def reset(m, bound):
                    init.uniform_(m.weight, a=-bound, b=bound)
            """),
            unsafe=True,
        ),
        Invalid(
            src("""
                import torch.nn as nn
                class M(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(8, 8)
                        self.fc.weight.data.uniform_(0.1)
            """),
            src("""
                import torch.nn as nn
                class M(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(8, 8)
                        self.fc.weight.data.uniform_(-0.1, 0.1)
            """),
            unsafe=True,
        ),
        Invalid(
            src("""
                import math
                import torch
                import torch.nn as nn
                w = nn.Parameter(torch.empty(n, m).uniform_(-math.sqrt(6.0 / (n + m))))
            """),
            src("""
                import math
                import torch
                import torch.nn as nn
                w = nn.Parameter(torch.empty(n, m).uniform_(-math.sqrt(6.0 / (n + m)), math.sqrt(6.0 / (n + m))))
            """),
            unsafe=True,
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        seen: set[int] = set()
        for site in model.init_sites:
            seen.add(id(site.call))
            if site.function != "uniform_" or "b" in site.arguments or "a" not in site.arguments:
                continue
            report = self._judge(model, site.arguments["a"], site, None)
            if report is not None:
                yield report
        # `nn.Parameter(torch.empty(n, m).uniform_(x))`: the init of a parameter made in place.
        for call in model.nodes(cst.Call):
            if id(call) in seen or not _fills_a_parameter(model, call):
                continue
            arguments = bind_arguments(call, TENSOR_METHODS["uniform_"][1], tensor_first=False)
            if arguments is None or "b" in arguments or "a" not in arguments:
                continue
            report = self._judge(model, arguments["a"], None, call.func.value)  # type: ignore[attr-defined]
            if report is not None:
                yield report

    def _judge(
        self,
        model: SemanticModel,
        bound: cst.BaseExpression,
        site: InitSite | None,
        receiver: cst.BaseExpression | None,
    ) -> Report | None:
        negated = isinstance(bound, cst.UnaryOperation) and isinstance(bound.operator, cst.Minus)
        magnitude = bound.expression if negated else bound  # type: ignore[attr-defined]
        literal = _number(evaluate(model, bound))
        if literal is not None and literal >= 1:
            return None  # a >= b: IL302 reports the empty range
        evidence = _symmetric_evidence(model, magnitude)
        if evidence is None:
            if literal is None or not -1 < literal < 1 or literal == 0 or not _layer_weight(model, site, receiver):
                return None
            evidence = "a literal on a layer's weight matrix, where a one-sided range is never meant"
        value = _number(resolved_value(model, bound))
        if value is not None and value >= 1:
            outcome = f"a={value:g} >= b=1.0: the range is empty and torch raises"
        elif value is not None:
            outcome = f"the values lie in [{value:g}, 1): {_consequence(value)}"
        elif negated:
            outcome = f"the values lie in [{_short(model.code(bound))}, 1): lopsided, with a mean near 0.5 instead of 0"
        else:
            outcome = (
                f"the values lie in [{_short(model.code(bound))}, 1): all positive with a mean near 0.5 "
                "(and torch raises if the bound reaches 1)"
            )
        text = model.code(bound)
        return Report(
            bound,
            f"`uniform_` given one bound `{_short(text)}` ({evidence}): it is the lower end `a`, and the upper "
            f"end `b` keeps its default 1.0, so {outcome}; a symmetric range needs both ends: "
            f"`uniform_(w, -{_short(model.code(magnitude))}, {_short(model.code(magnitude))})`",
            fix=_fix(model, bound, magnitude, negated),
        )


def _consequence(value: float) -> str:
    if value >= 0:
        return f"all positive, with mean {(value + 1) / 2:g} instead of 0"
    return f"mean {(value + 1) / 2:g} instead of 0, far from symmetric"


def _short(code: str) -> str:
    return code if len(code) <= 60 and "\n" not in code else code[:57] + "..."


def _symmetric_evidence(model: SemanticModel, node: cst.BaseExpression) -> str | None:
    """Why ``node`` is the magnitude of a symmetric range: computed as c/sqrt(F), bound to such an
    expression, or named like one."""
    if radicand(model, node) is not None:
        return "computed as c / sqrt(fan) like a symmetric bound"
    bound = bound_value(model, node) if isinstance(node, (cst.Name, cst.Attribute)) else None
    if bound is not None and radicand(model, bound) is not None:
        return f"set to `{_short(model.code(bound))}` at line {_line(model, bound)}, a symmetric bound"
    name = _identifier(node)
    if name is not None and name.lower() in _BOUND_NAMES:
        return f"`{name}` names the magnitude of a symmetric range"
    return None


def _layer_weight(model: SemanticModel, site: InitSite | None, receiver: cst.BaseExpression | None) -> bool:
    """The filled tensor is provably a weight matrix or kernel (rank 2 or more)."""
    if site is not None:
        if site.param == "weight":
            ranks = site.param_ranks()
            if ranks and all(rank is not None and rank >= 2 for rank in ranks):
                return True
        target = site.target
    else:
        target = receiver
    rank = tensor_rank(model, target) if target is not None else None
    return rank is not None and rank >= 2


def _fills_a_parameter(model: SemanticModel, call: cst.Call) -> bool:
    """``<tensor>.uniform_(...)`` whose result is the data of ``nn.Parameter(...)``."""
    if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "uniform_"):
        return False
    parent = model.parent.get(call)
    if not isinstance(parent, cst.Arg) or (parent.keyword is not None and parent.keyword.value != "data"):
        return False
    holder = model.parent.get(parent)
    return isinstance(holder, cst.Call) and model.qualified_name(holder.func) in PARAMETER_CLASSES


def _pure(model: SemanticModel, node: cst.CSTNode) -> bool:
    """Evaluating ``node`` twice gives the same value and does nothing else: names, numbers,
    arithmetic and a few known pure calls (sqrt, float, ``.size()``)."""
    if isinstance(node, cst.Call):
        func = node.func
        known = (
            model.qualified_name(func) in SQRT_FUNCTIONS
            or (isinstance(func, cst.Name) and func.value in _PURE_CALLS and model.imports.is_free(func.value))
            or (isinstance(func, cst.Attribute) and func.attr.value in _PURE_METHODS)
        )
        if not known:
            return False
    elif not isinstance(
        node,
        (cst.Name, cst.Attribute, cst.Integer, cst.Float, cst.BinaryOperation, cst.UnaryOperation, cst.Arg,
         cst.Subscript, cst.SubscriptElement, cst.Index, cst.LeftParen, cst.RightParen, cst.BaseBinaryOp,
         cst.BaseUnaryOp, cst.BaseParenthesizableWhitespace, cst.Comma, cst.Dot),
    ):  # fmt: skip
        return False
    return all(_pure(model, child) for child in node.children)


def _negated(model: SemanticModel, node: cst.BaseExpression) -> str:
    code = model.code(node)
    # (named here, not at import: libcst is imported on first use; see initlint._lazy)
    if isinstance(node, (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float)) or node.lpar:
        return f"-{code}"
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Multiply, cst.Divide, cst.Power)):
        return f"-{code}"
    return f"-({code})"


def _fix(
    model: SemanticModel, bound: cst.BaseExpression, magnitude: cst.BaseExpression, negated: bool
) -> FixSpec | None:
    if not _pure(model, bound) or "#" in model.code(bound) or re.search(r"\n", model.code(bound)):
        return None
    low = model.code(bound) if negated else _negated(model, magnitude)
    high = model.code(magnitude)
    arg = model.parent.get(bound)
    if not isinstance(arg, cst.Arg):
        return None
    # `a=x` becomes `a=-x, b=x`; a positional `x` becomes `-x, x`.
    edit = model.replace(bound, f"{low}, {high}" if arg.keyword is None else f"{low}, b={high}")
    return FixSpec("unsafe", f"Use the symmetric range `{low}, {high}`", [edit])
