from __future__ import annotations

import re
from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import FixSpec, Invalid, Report, Rule, src
from initlint.rules.triggers import INIT_TRIGGER
from initlint.semantic import SemanticModel
from initlint.semantic.inits import InitSite, strip_data
from initlint.semantic.modules import ModuleClass
from initlint.semantic.scales import bound_value, matrix_sizes, radicand
from initlint.semantic.tensors import scope_of
from initlint.semantic.values import evaluate

_MM = re.compile(r"mm\s*(?:\(|as\b)")  # torch.mm, x.mm, torch.spmm, torch.sparse.mm, or imported as
# `x @ W` spelled as a call: W is the second argument.
_MATMUL_FUNCTIONS = frozenset({"torch.matmul", "torch.mm", "torch.spmm", "torch.sparse.mm"})
_MATMUL_METHODS = frozenset({"matmul", "mm"})
# Reading these from the weight says nothing about how forward multiplies it.
_SAME_MATRIX = frozenset({"float", "double", "half", "bfloat16", "cpu", "cuda", "to", "contiguous", "detach"})
_METADATA = frozenset({"size", "shape", "dim", "ndim", "numel", "device", "dtype", "requires_grad"})

_GCN = src("""
    import math
    import torch
    import torch.nn as nn
    class GraphConvolution(nn.Module):
        def __init__(self, in_features, out_features):
            super().__init__()
            self.weight = nn.Parameter(torch.FloatTensor(in_features, out_features))
            self.reset_parameters()
        def reset_parameters(self):
            stdv = 1.0 / math.sqrt(self.weight.size({axis}))
            self.weight.data.uniform_(-stdv, stdv)
        def forward(self, x, adj):
            return torch.spmm(adj, {use})
""")


class FanFromWrongAxis(Rule):
    code = "IL306"
    name = "fan-from-wrong-axis"
    summary = "A std or bound from `W.size(1)` for a weight used as `x @ W`: there axis 1 is fan_out, not fan_in"
    severity = "warning"
    fix_applicability = "unsafe"
    literals = ("sqrt", "**")
    triggers = (INIT_TRIGGER,)
    uses_init_aliases = True

    VALID = (
        # the fan from axis 0, the input width of `x @ W`
        _GCN.format(axis=0, use="torch.mm(x, self.weight)"),
        # nn.Linear's convention: F.linear(x, W) multiplies by W.T, so axis 1 is fan_in
        _GCN.format(axis=1, use="torch.nn.functional.linear(x, self.weight)").replace(
            "nn.Parameter(torch.FloatTensor(in_features, out_features))",
            "nn.Parameter(torch.FloatTensor(out_features, in_features))",
        ),
        # W @ x: axis 1 is the input width
        _GCN.format(axis=1, use="self.weight @ x"),
        # a square weight: both axes give the same fan
        _GCN.format(axis=1, use="x @ self.weight").replace("(in_features, out_features)", "(in_features, in_features)"),
        # used in ways this rule does not read as well: it stays silent
        _GCN.format(axis=1, use="torch.einsum('ij,jk->ik', x, self.weight)"),
    )
    INVALID = (
        Invalid(
            _GCN.format(axis=1, use="torch.mm(x, self.weight)"),
            _GCN.format(axis=0, use="torch.mm(x, self.weight)"),
            unsafe=True,
        ),
        Invalid(
            _GCN.format(axis=1, use="x @ self.weight").replace("self.weight.size(1)", "self.weight.shape[-1]"),
            _GCN.format(axis=1, use="x @ self.weight").replace("self.weight.size(1)", "self.weight.shape[0]"),
            unsafe=True,
        ),
        Invalid(
            src("""
                import torch
                import torch.nn as nn
                class Proj(nn.Module):
                    def __init__(self, d_in, d_out):
                        super().__init__()
                        self.W = nn.Parameter(torch.empty(d_in, d_out))
                        nn.init.normal_(self.W, std=d_out ** -0.5)
                    def forward(self, x):
                        return x.matmul(self.W)
            """)
        ),
    )

    @classmethod
    def may_match(cls, text: str, memo: dict[object, bool] | None = None) -> bool:
        """A matmul (`@`, `matmul`, `mm(`/`spmm(`) besides the literals and the init trigger;
        literal scans first: an alternation regex without a literal prefix tries every offset."""
        if "@" not in text and "matmul" not in text and not _MM.search(text):
            return False
        return super().may_match(text, memo)

    def check(self, model: SemanticModel) -> Iterator[Report]:
        reported: set[int] = set()
        init_calls = {id(site.call) for site in model.init_sites}
        for site in model.init_sites:
            owner = site.owner
            if owner is None or site.class_parameter is None:
                continue
            scale = _scale(site)
            if scale is None:
                continue
            holder = scale
            fan = radicand(model, scale)
            if fan is None and isinstance(scale, cst.Name):
                bound = bound_value(model, scale)
                if bound is not None:
                    holder, fan = bound, radicand(model, bound)
            if fan is None or id(fan) in reported:
                continue
            weight = site.class_parameter
            creation = owner.parameters.get(weight)
            sizes = matrix_sizes(model, creation) if creation is not None else None
            if sizes is None or _same_size(model, *sizes):
                continue
            if not _axis_one(model, fan, weight, sizes[1]):
                continue
            use = _right_operand_use(model, owner, weight, init_calls)
            if use is None:
                continue
            reported.add(id(fan))
            yield _report(model, site, fan, holder, weight, creation, sizes, use)


def _scale(site: InitSite) -> cst.BaseExpression | None:
    """The magnitude of a symmetric init: b of ``uniform_(w, -s, s)``, the std of a zero-mean
    ``normal_`` / ``trunc_normal_``."""
    arguments = site.arguments
    if site.function == "uniform_":
        low, high = arguments.get("a"), arguments.get("b")
        if low is None or high is None:
            return None
        if isinstance(low, cst.UnaryOperation) and isinstance(low.operator, cst.Minus):
            return high if _same_code(low.expression, high) else None
        return None
    if site.function in ("normal_", "trunc_normal_") and "std" in arguments:
        mean = site.scheme.mean
        return arguments["std"] if mean == 0 else None
    return None


def _same_code(left: cst.CSTNode, right: cst.CSTNode) -> bool:
    return left.deep_equals(right)


def _same_size(model: SemanticModel, first: cst.BaseExpression, second: cst.BaseExpression) -> bool:
    if first.deep_equals(second):
        return True
    a, b = evaluate(model, first), evaluate(model, second)
    return isinstance(a, int) and a == b


def _is_weight(node: cst.BaseExpression, weight: str) -> bool:
    node, _ = strip_data(node)
    return (
        isinstance(node, cst.Attribute)
        and node.attr.value == weight
        and isinstance(node.value, cst.Name)
        and node.value.value == "self"
    )


def _axis_one(model: SemanticModel, fan: cst.BaseExpression, weight: str, second: cst.BaseExpression) -> bool:
    """``fan`` reads axis 1 (the last) of the 2-D ``self.<weight>``, or is the expression its
    second size was made from."""
    if isinstance(fan, cst.Call) and isinstance(fan.func, cst.Attribute) and fan.func.attr.value == "size":
        if len(fan.args) == 1 and fan.args[0].keyword is None and _is_weight(fan.func.value, weight):
            return evaluate(model, fan.args[0].value) in (1, -1)
        return False
    if isinstance(fan, cst.Subscript) and isinstance(fan.value, cst.Attribute) and fan.value.attr.value == "shape":
        if len(fan.slice) == 1 and isinstance(fan.slice[0].slice, cst.Index):
            return _is_weight(fan.value.value, weight) and evaluate(model, fan.slice[0].slice.value) in (1, -1)
        return False
    # the very name the second size was made from, in the same function
    if isinstance(fan, cst.Name) and isinstance(second, cst.Name):
        return fan.value == second.value and scope_of(model, fan) is scope_of(model, second)
    # `self.out_features` set to the name the second size was made from
    if isinstance(fan, cst.Attribute) and isinstance(second, cst.Name):
        bound = bound_value(model, fan)
        return isinstance(bound, cst.Name) and bound.value == second.value and not _is_weight(fan, weight)
    return False


def _right_operand_use(
    model: SemanticModel, owner: ModuleClass, weight: str, init_calls: set[int]
) -> cst.CSTNode | None:
    """The first ``x @ self.<weight>`` (or matmul/mm with it second) in the class, when every
    other read of it is an init, a size or shape: any other use (``W @ x``, ``F.linear``,
    einsum, a helper) could mean another layout, and the rule stays silent."""
    found: cst.CSTNode | None = None
    for node in model.nodes_within(owner.node, cst.Attribute):
        if not (node.attr.value == weight and isinstance(node.value, cst.Name) and node.value.value == "self"):
            continue
        child: cst.CSTNode = node
        parent = model.parent.get(child)
        if isinstance(parent, cst.AssignTarget):
            continue
        while isinstance(parent, cst.Attribute) and parent.attr.value == "data":
            child, parent = parent, model.parent.get(parent)
        if isinstance(parent, cst.Attribute) and parent.attr.value in _METADATA:
            continue
        if any(id(ancestor) in init_calls for ancestor in model.ancestors(node)):
            continue
        # `self.W.float()`, `self.W.to(x.device)`: the same matrix
        while (
            isinstance(parent, cst.Attribute)
            and parent.attr.value in _SAME_MATRIX
            and isinstance(model.parent.get(parent), cst.Call)
        ):
            child = model.parent[parent]
            parent = model.parent.get(child)
        use = _matmul_with_right(model, child)
        if use is None:
            return None
        found = found or use
    return found


def _matmul_with_right(model: SemanticModel, node: cst.CSTNode) -> cst.CSTNode | None:
    parent = model.parent.get(node)
    if isinstance(parent, cst.BinaryOperation) and isinstance(parent.operator, cst.MatrixMultiply):
        return parent if parent.right is node else None
    if not isinstance(parent, cst.Arg) or parent.keyword is not None or parent.star:
        return None
    call = model.parent.get(parent)
    if not isinstance(call, cst.Call) or len(call.args) != (2 if _is_matmul_function(model, call) else 1):
        return None
    if _is_matmul_function(model, call):
        return call if call.args[1] is parent else None
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value in _MATMUL_METHODS and model.qualified_name(func) is None:
        return call
    return None


def _is_matmul_function(model: SemanticModel, call: cst.Call) -> bool:
    return model.qualified_name(call.func) in _MATMUL_FUNCTIONS


def _report(
    model: SemanticModel,
    site: InitSite,
    fan: cst.BaseExpression,
    holder: cst.BaseExpression,
    weight: str,
    creation: cst.Call,
    sizes: tuple[cst.BaseExpression, cst.BaseExpression],
    use: cst.CSTNode,
) -> Report:
    rows, columns = (_short(model.code(size)) for size in sizes)
    line = model.range_of
    message = (
        f"`{_short(model.code(holder))}` takes the fan from axis 1 of `self.{weight}`, made as ({rows}, {columns}) "
        f"(line {line(creation).start.line}) and multiplied as `{_short(model.code(use))}` "
        f"(line {line(use).start.line}): for `x @ W` axis 0 ({rows}) is the input width, the fan_in, and axis 1 "
        f"({columns}) the output width, so the init's scale follows the output width and the output variance "
        f"is off by {rows}/{columns}; nn.Linear reads size(1) because its weight is (out, in), here read axis 0"
    )
    return Report(
        fan,
        message,
        fix=_fix(model, fan),
        related=[
            (creation, f"`self.{weight}` is made ({rows}, {columns}) here"),
            (use, "multiplied as `x @ W` here"),
            (site.call, "the init that uses the scale"),
        ],
    )


def _fix(model: SemanticModel, fan: cst.BaseExpression) -> FixSpec | None:
    index: cst.BaseExpression | None = None
    if isinstance(fan, cst.Call):
        index = fan.args[0].value
    elif isinstance(fan, cst.Subscript):
        index = fan.slice[0].slice.value  # type: ignore[union-attr]
    if index is None:
        return None
    return FixSpec("unsafe", "Take the fan from axis 0 (the input width of `x @ W`)", [model.replace(index, "0")])


def _short(code: str) -> str:
    return code if len(code) <= 60 and "\n" not in code else code[:57] + "..."
