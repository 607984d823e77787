from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import FixSpec, Invalid, Report, Rule, src
from initlint.rules.triggers import LineTrigger
from initlint.semantic import SemanticModel
from initlint.semantic.inits import conditions_at
from initlint.semantic.modules import Layer
from initlint.semantic.structure import AFFINE_NORMS, OPTIONAL_BIAS, bias_state
from initlint.semantic.values import evaluate, string_value

# torch.nn types whose `.bias` is a tensor or None (never a flag).
_TENSOR_BIAS = OPTIONAL_BIAS | frozenset(AFFINE_NORMS) | {"InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"}
_PARAMETER = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter"})
_SIZED = frozenset(
    {"torch.zeros", "torch.ones", "torch.empty", "torch.randn", "torch.rand", "torch.Tensor", "torch.FloatTensor"}
)


# What _bias_reads reads: an attribute `.bias`, or the string "bias" (a quote right after it).
_BIAS = r"(?:\.\s*bias\b|\bbias(?=['\"]))"


class BiasTruthTest(Rule):
    code = "IL409"
    name = "bias-truth-test"
    summary = "`if m.bias:` tests a tensor's truth: it raises for any bias with more than one element"
    severity = "error"
    fix_applicability = "unsafe"
    literals = ("bias",)
    # An `X.bias` or a `"bias"` (of `getattr(X, "bias")`; a bare `bias` name is never read) in a
    # truth context on one line (after if/elif/while/assert/not/and/or, or before and/or/if)
    # that is not compared, called, indexed or read further. A condition split so that `m.bias`
    # stands alone on a continuation line is not seen (rare; the cost of parsing every file
    # that says `bias` was a third of the cold run).
    triggers = (
        LineTrigger(
            rf"\b(?:if|elif|while|assert|not|and|or)\b[^\n]*{_BIAS}(?!\s*(?:is\b|[=!<>]|\.|\[|\())"
            rf"|{_BIAS}(?!\s*(?:is\b|[=!<>]|\.|\[|\())[^\n]*\b(?:and|or|if)\b",
            literals,
        ),
    )

    VALID = (
        src("""
            import torch.nn as nn
            def init(m):
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.zeros_(m.bias)
        """),
        # the layer is built without a bias: `.bias` is always None and its truth test never raises
        src("""
            import torch.nn as nn
            class Head(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.lm_head = nn.Linear(8, 100, bias=False)
                def copy_bias(self, other):
                    if self.lm_head.bias:
                        other.bias.data.copy_(self.lm_head.bias)
        """),
        # `bias` as a flag of a custom class: a bool, not a tensor
        src("""
            import torch.nn as nn
            class Block(nn.Module):
                def __init__(self, bias=True):
                    super().__init__()
                    self.bias = bias
                    self.fc = nn.Linear(4, 4, bias=bias)
                def forward(self, x):
                    if self.bias:
                        x = x + 1
                    return self.fc(x)
        """),
        # nothing shows the attribute is a tensor
        src("""
            def describe(m):
                if m.bias:
                    return 'biased'
                return 'plain'
        """),
        # a one-element bias: its truth is its value, not an error
        src("""
            import torch.nn as nn
            class Head(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.out = nn.Linear(8, 1)
                    if self.out.bias:
                        nn.init.zeros_(self.out.bias)
        """),
        src("""
            import torch
            import torch.nn as nn
            class M(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.bias = nn.Parameter(torch.zeros(1))
                def forward(self, x):
                    return x + self.bias if self.bias else x
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                def init(m):
                    if isinstance(m, nn.Linear):
                        nn.init.xavier_uniform_(m.weight)
                        if m.bias:
                            nn.init.zeros_(m.bias)
            """),
            src("""
                import torch.nn as nn
                def init(m):
                    if isinstance(m, nn.Linear):
                        nn.init.xavier_uniform_(m.weight)
                        if m.bias is not None:
                            nn.init.zeros_(m.bias)
            """),
            unsafe=True,
        ),
        Invalid(
            src("""
                import torch.nn as nn
                def init(m):
                    if isinstance(m, nn.Conv2d) and m.bias:
                        m.bias.data.zero_()
            """),
            src("""
                import torch.nn as nn
                def init(m):
                    if isinstance(m, nn.Conv2d) and m.bias is not None:
                        m.bias.data.zero_()
            """),
            unsafe=True,
        ),
        Invalid(
            src("""
                import torch.nn as nn
                def init(m):
                    if not getattr(m, 'bias', None):
                        return
                    nn.init.constant_(m.bias, 0.0)
            """),
            src("""
                import torch.nn as nn
                def init(m):
                    if getattr(m, 'bias', None) is None:
                        return
                    nn.init.constant_(m.bias, 0.0)
            """),
            unsafe=True,
        ),
        Invalid(
            src("""
                import torch
                import torch.nn as nn
                class Affine(nn.Module):
                    def __init__(self, n, bias=True):
                        super().__init__()
                        self.weight = nn.Parameter(torch.ones(n))
                        self.bias = nn.Parameter(torch.zeros(n)) if bias else None
                    def forward(self, x):
                        x = x * self.weight
                        if self.bias:
                            x = x + self.bias
                        return x
            """),
            src("""
                import torch
                import torch.nn as nn
                class Affine(nn.Module):
                    def __init__(self, n, bias=True):
                        super().__init__()
                        self.weight = nn.Parameter(torch.ones(n))
                        self.bias = nn.Parameter(torch.zeros(n)) if bias else None
                    def forward(self, x):
                        x = x * self.weight
                        if self.bias is not None:
                            x = x + self.bias
                        return x
            """),
            unsafe=True,
        ),
        Invalid(
            src("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(8, 4)
                        if self.fc.bias:
                            nn.init.zeros_(self.fc.bias)
            """),
            src("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(8, 4)
                        if self.fc.bias is not None:
                            nn.init.zeros_(self.fc.bias)
            """),
            unsafe=True,
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for node in _bias_reads(model):
            found = _truth_tested(model, node)
            if found is None:
                continue
            evidence = _tensor_evidence(model, node)
            if evidence is None:
                continue
            tested, fixable = found
            why, related = evidence
            code = model.code(node.with_changes(lpar=[], rpar=[]))
            negated = isinstance(tested, cst.UnaryOperation)
            replacement = f"{code} is None" if negated else f"{code} is not None"
            yield Report(
                tested,
                f"`{_short(model.code(tested))}` tests the truth of a tensor ({why}): for a bias of more than one "
                f'element it raises RuntimeError ("Boolean value of Tensor with more than one value is ambiguous"), '
                f"and for a one-element bias it tests the value, not the presence; write `{replacement}`",
                _fix(model, tested, replacement) if fixable else None,
                related=related,
            )


def _short(code: str) -> str:
    return code if len(code) <= 60 and "\n" not in code else code[:57] + "..."


def _bias_reads(model: SemanticModel) -> Iterator[cst.BaseExpression]:
    """``X.bias`` and ``getattr(X, "bias"[, default])``."""
    for attribute in model.nodes(cst.Attribute):
        if attribute.attr.value == "bias":
            yield attribute
    for call in model.nodes(cst.Call):
        if _getattr_bias(model, call) is not None:
            yield call


def _getattr_bias(model: SemanticModel, call: cst.Call) -> cst.BaseExpression | None:
    """``X`` of ``getattr(X, "bias")`` / ``getattr(X, "bias", None)``."""
    if not model.is_builtin(call.func, "getattr") or not 2 <= len(call.args) <= 3:
        return None
    if any(arg.star or arg.keyword is not None for arg in call.args):
        return None
    name = call.args[1].value
    if not (isinstance(name, cst.SimpleString) and string_value(name) == "bias"):
        return None
    if len(call.args) == 3 and not (isinstance(call.args[2].value, cst.Name) and call.args[2].value.value == "None"):
        return None  # a default other than None: not a presence test we can rewrite
    return call.args[0].value


def _owner_of(model: SemanticModel, node: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(node, cst.Call):
        owner = _getattr_bias(model, node)
        assert owner is not None
        return owner
    assert isinstance(node, cst.Attribute)
    return node.value


def _truth_tested(model: SemanticModel, node: cst.BaseExpression) -> tuple[cst.BaseExpression, bool] | None:
    """The expression to rewrite when ``node``'s truth is tested (``node`` itself, or the
    ``not node`` around it), and whether the rewrite keeps every other value (False when an
    ``and``/``or`` chain's value is used as a value: ``b = m.bias or 0``). None when ``node``'s
    truth is never tested."""
    parent = model.parent.get(node)
    if isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Not):
        return parent, True
    tested = False
    probe: cst.CSTNode = node
    while True:
        holder = model.parent.get(probe)
        if isinstance(holder, (cst.If, cst.While, cst.IfExp, cst.Assert, cst.CompIf)) and holder.test is probe:
            return node, True
        if isinstance(holder, cst.UnaryOperation) and isinstance(holder.operator, cst.Not) and probe is not node:
            return node, True
        if isinstance(holder, cst.BooleanOperation):
            tested = tested or holder.left is probe  # `a and b` tests `a` whatever becomes of the value
            probe = holder
            continue
        return (node, False) if tested else None


def _tensor_evidence(
    model: SemanticModel, node: cst.BaseExpression
) -> tuple[str, list[tuple[cst.CSTNode, str]]] | None:
    """Why ``X.bias`` is a tensor (or None) here, and where that shows; None when unproven."""
    owner = _owner_of(model, node)
    owner_code = model.code(owner.with_changes(lpar=[], rpar=[]))
    function = model.enclosing(node, cst.FunctionDef)
    # The same function initializes `X.bias` as a tensor.
    for site in model.init_sites:
        if site.param != "bias" or not isinstance(site.target, cst.Attribute):
            continue
        if model.code(site.target.value) != owner_code or site.function_node is not function:
            continue
        if site.layers and all(_one_element(layer) for layer in site.layers):
            return None
        line = model.range_of(site.call).start.line
        return f"line {line} initializes `{owner_code}.bias` as one", [(site.call, f"`{owner_code}.bias` is a tensor")]
    # `X` is narrowed to torch.nn layer types, whose bias is a tensor or None.
    if isinstance(owner, cst.Name):
        dispatch = conditions_at(model, node, owner.value)
        if dispatch.types and all(t in _TENSOR_BIAS for t in dispatch.types):
            return f"`{owner_code}` is a {'/'.join(dispatch.types)}", []
    cls = model.class_of(node)
    if cls is None:
        return None
    # `self.fc.bias` of a torch.nn layer the class builds.
    if isinstance(owner, cst.Attribute) and isinstance(owner.value, cst.Name) and owner.value.value == "self":
        layer = cls.layers.get(owner.attr.value)
        if layer is not None and layer.kind is not None and layer.type_name in _TENSOR_BIAS:
            if _one_element(layer) or bias_state(layer) is False:
                return None  # built without a bias: `.bias` is always None, its truth test is harmless
            return f"`{owner_code}` is a {layer.type_name}", [(layer.call, f"`{owner_code}` is built here")]
    # `self.bias` of a class that only ever assigns it an nn.Parameter or None.
    if isinstance(owner, cst.Name) and owner.value == "self":
        parameter = _bias_parameter(model, cls.node)
        if parameter is not None:
            return "it is an `nn.Parameter`", [(parameter, "`self.bias` is an nn.Parameter here")]
    return None


def _one_element(layer: Layer) -> bool:
    """A layer whose bias provably has a single element (`nn.Linear(d, 1)`)."""
    if layer.kind is None or layer.kind.out_arg is None:
        return False
    return layer.args.get(layer.kind.out_arg[1]) == 1


def _bias_parameter(model: SemanticModel, cls: cst.ClassDef) -> cst.Call | None:
    """The ``nn.Parameter(...)`` assigned to ``self.bias``, when every assignment of it in the
    class is a Parameter or None and some Parameter has more than one element possible."""
    found: cst.Call | None = None
    for assign in model.nodes_within(cls, cst.Assign):
        for target in assign.targets:
            t = target.target
            if not (isinstance(t, cst.Attribute) and t.attr.value == "bias"):
                continue
            if not (isinstance(t.value, cst.Name) and t.value.value == "self"):
                continue
            for value in _branches(assign.value):
                if isinstance(value, cst.Name) and value.value == "None":
                    continue
                if isinstance(value, cst.Call) and model.qualified_name(value.func) in _PARAMETER:
                    if _multi_element(model, value):
                        found = found or value
                    continue
                return None  # a flag, a copy, something else: not provably a tensor
    for attribute in model.nodes_within(cls, cst.Attribute):
        if attribute.attr.value == "bias" and isinstance(model.parent.get(attribute), cst.AugAssign):
            return None
    return found


def _branches(value: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(value, cst.IfExp):
        return _branches(value.body) + _branches(value.orelse)
    return [value]


def _multi_element(model: SemanticModel, parameter: cst.Call) -> bool:
    """``nn.Parameter(torch.zeros(n))`` and the like: a sized constructor whose sizes are not all
    the literal 1 (``torch.zeros(1)`` or a ``torch.tensor(0.0)`` scalar test their value)."""
    if not parameter.args or not isinstance(parameter.args[0].value, cst.Call):
        return False
    inner = parameter.args[0].value
    if model.qualified_name(inner.func) not in _SIZED:
        return False
    sizes = [arg.value for arg in inner.args if arg.keyword is None]
    if len(sizes) == 1 and isinstance(sizes[0], (cst.Tuple, cst.List)):
        sizes = [element.value for element in sizes[0].elements]
    return bool(sizes) and not all(evaluate(model, size) == 1 for size in sizes)


def _fix(model: SemanticModel, tested: cst.BaseExpression, replacement: str) -> FixSpec:
    # Unsafe: a one-element bias equal to 0 used to fail the test; it now passes.
    return FixSpec("unsafe", f"Replace with `{replacement}`", [model.replace(tested, replacement)])
