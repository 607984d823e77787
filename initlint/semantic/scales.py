"""Hand-written init scales, and what a name holds where a rule reads it.

``c / sqrt(F)`` in any spelling (``1 / math.sqrt(F)``, ``math.sqrt(c / F)``, ``F ** -0.5``,
``c * F ** -0.5``) is how init code writes a fan-based std or bound by hand: ``radicand`` gives F.
``parameter_default`` is what a name read in a function holds when the caller leaves it out: the
default of the parameter of the enclosing function that binds it (and nothing else binds it).
``resolved_value`` evaluates an expression through such names, single assignments and
``self.x = <name>`` in ``__init__``. ``matrix_sizes`` gives the two size expressions of a 2-D
tensor made in this file (``nn.Parameter(torch.empty(a, b))``, ``torch.FloatTensor(a, b)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from initlint._lazy import cst
from initlint.semantic.tensor_shapes import self_parameter_value
from initlint.semantic.tensors import PARAMETER_CLASSES, _bindings, _declared, scope_of, single_assignment
from initlint.semantic.values import UNKNOWN, evaluate

if TYPE_CHECKING:
    from initlint.semantic.model import SemanticModel

SQRT_FUNCTIONS = frozenset({"math.sqrt", "numpy.sqrt"})
_NUMBER_CASTS = frozenset({"float", "int"})
# torch.<name>(*sizes): the factories whose positional ints are the shape.
_SIZED = frozenset({"empty", "zeros", "ones", "rand", "randn", "Tensor", "FloatTensor", "DoubleTensor", "HalfTensor"})
_SAME_SHAPE = frozenset({"to", "float", "double", "half", "cuda", "cpu", "detach", "clone", "contiguous"})
_SAME_SHAPE_FILLS = frozenset({"uniform_", "normal_", "zero_", "fill_", "requires_grad_"})
_MAX_DEPTH = 6


def _positive_or_unknown(model: SemanticModel, node: cst.BaseExpression) -> bool:
    value = evaluate(model, node)
    if value is UNKNOWN:
        return True
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _half(model: SemanticModel, node: cst.BaseExpression, sign: int) -> bool:
    value = evaluate(model, node)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == sign * 0.5


def strip_cast(model: SemanticModel, node: cst.BaseExpression) -> cst.BaseExpression:
    """``float(x)`` / ``int(x)`` -> ``x`` (builtins only)."""
    while (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Name)
        and node.func.value in _NUMBER_CASTS
        and model.imports.is_free(node.func.value)
        and len(node.args) == 1
        and node.args[0].keyword is None
        and not node.args[0].star
    ):
        node = node.args[0].value
    return node


def _sqrt_of(model: SemanticModel, node: cst.BaseExpression) -> cst.BaseExpression | None:
    """X for ``math.sqrt(X)`` / ``np.sqrt(X)`` / ``X ** 0.5``."""
    if isinstance(node, cst.Call) and model.qualified_name(node.func) in SQRT_FUNCTIONS and len(node.args) == 1:
        arg = node.args[0]
        return arg.value if arg.keyword is None and not arg.star else None
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Power) and _half(model, node.right, 1):
        return node.left
    return None


def _reciprocal(model: SemanticModel, node: cst.BaseExpression) -> cst.BaseExpression | None:
    """F for ``c / F`` with c a positive (or unknown) factor."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
        if _positive_or_unknown(model, node.left) and evaluate(model, node.right) is UNKNOWN:
            return node.right
    return None


def radicand(model: SemanticModel, node: cst.BaseExpression, depth: int = 0) -> cst.BaseExpression | None:
    """F when ``node`` computes ``c / sqrt(F)`` (c positive or unknown): ``c / math.sqrt(F)``,
    ``math.sqrt(c / F)``, ``F ** -0.5``, ``c * F ** -0.5``, ``1 / F ** 0.5``, ``k * (c / sqrt(F))``."""
    if depth > _MAX_DEPTH:
        return None
    node = strip_cast(model, node)
    if isinstance(node, cst.BinaryOperation):
        operator = node.operator
        if isinstance(operator, cst.Divide):
            root = _sqrt_of(model, strip_cast(model, node.right))
            if root is not None and _positive_or_unknown(model, node.left):
                return strip_cast(model, root)
            inner = radicand(model, node.left, depth + 1)  # (c / sqrt(F)) / k
            if inner is not None and _positive_or_unknown(model, node.right):
                return inner
            return None
        if isinstance(operator, cst.Multiply):
            for factor, other in ((node.left, node.right), (node.right, node.left)):
                inner = radicand(model, factor, depth + 1)
                if inner is not None and _positive_or_unknown(model, other):
                    return inner
            return None
        if isinstance(operator, cst.Power) and _half(model, node.right, -1):
            return strip_cast(model, node.left)
    root = _sqrt_of(model, node)
    if root is not None:
        denominator = _reciprocal(model, strip_cast(model, root))
        if denominator is not None:
            return strip_cast(model, denominator)
    return None


def parameter_default(model: SemanticModel, name: cst.Name) -> cst.BaseExpression | None:
    """The default of the function parameter that ``name`` (read inside that function or a
    function nested in it) stands for; None when another statement also binds the name there,
    the parameter has no default, or the name is no parameter."""
    if name.value in _declared(model):
        return None
    table = _bindings(model, name.value)
    scope = scope_of(model, name)
    first = True
    while scope is not model.module:
        if isinstance(scope, cst.ClassDef) and not first:
            scope = scope_of(model, scope)  # a method does not see its class's names
            continue
        bindings = table.get(scope)
        if bindings:
            if len(bindings) == 1 and isinstance(bindings[0], cst.Param):
                default = bindings[0].default
                return default
            return None
        first = False
        scope = scope_of(model, scope)
    return None


def bound_value(model: SemanticModel, node: cst.BaseExpression) -> cst.BaseExpression | None:
    """The one expression ``node`` was set to: a name's single assignment in its scope, else its
    parameter default; for ``self.x``, the one ``self.x = ...`` of the class."""
    if isinstance(node, cst.Name):
        if model.imports.resolve_name(node.value) is not None:
            return None
        value = single_assignment(model, node)
        return value if value is not None else parameter_default(model, node)
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        return self_parameter_value(model, node)
    return None


def resolved_value(model: SemanticModel, node: cst.BaseExpression, depth: int = 0) -> object:
    """``evaluate`` with the names and ``self.x`` in ``node`` replaced by what ``bound_value``
    says they hold; UNKNOWN when something is not known."""
    value = evaluate(model, node)
    if value is not UNKNOWN or depth > _MAX_DEPTH:
        return value
    if isinstance(node, (cst.Name, cst.Attribute)):
        bound = bound_value(model, node)
        return UNKNOWN if bound is None else resolved_value(model, bound, depth + 1)
    names: dict[str, object] = {}
    for child in _names_in(node):
        if child.value not in names:
            found = resolved_value(model, child, depth + 1)
            if found is not UNKNOWN:
                names[child.value] = found
    return evaluate(model, node, names) if names else UNKNOWN


def _names_in(node: cst.CSTNode) -> list[cst.Name]:
    found: list[cst.Name] = []
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            found.append(current)
            continue
        if isinstance(current, cst.Attribute):
            stack.append(current.value)  # `a.b`: only `a` is a name read here
            continue
        if isinstance(current, (cst.Lambda, cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp)):
            continue
        stack.extend(current.children)
    return found


def matrix_sizes(
    model: SemanticModel, node: cst.BaseExpression, depth: int = 0
) -> tuple[cst.BaseExpression, cst.BaseExpression] | None:
    """The two size expressions of the 2-D tensor ``node`` makes: ``torch.empty(a, b)``,
    ``torch.FloatTensor(a, b)``, ``torch.randn((a, b))``, through ``nn.Parameter(...)``, in-place
    fills and dtype/device moves; ``self.w`` when the class assigns it once. None otherwise."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(node, cst.Attribute):
        if isinstance(node.value, cst.Name) and node.value.value == "self":
            value = self_parameter_value(model, node)
            return None if value is None else matrix_sizes(model, value, depth + 1)
        return None
    if not isinstance(node, cst.Call) or any(arg.star for arg in node.args):
        return None
    qualified = model.qualified_name(node.func)
    if qualified in PARAMETER_CLASSES:
        data = [a for a in node.args if a.keyword is None or a.keyword.value == "data"]
        return matrix_sizes(model, data[0].value, depth + 1) if data else None
    if qualified is not None:
        head, _, last = qualified.rpartition(".")
        if head != "torch" or last not in _SIZED:
            return None
        positional = [a.value for a in node.args if a.keyword is None]
        if len(positional) == 1 and isinstance(positional[0], (cst.Tuple, cst.List)) and last not in _LEGACY:
            elements = positional[0].elements
            if any(isinstance(e, cst.StarredElement) for e in elements):
                return None
            positional = [e.value for e in elements]
        # Two positional sizes are the shape: anything but two ints raises.
        not_sizes = (cst.Float, cst.SimpleString, cst.Tuple, cst.List)
        if len(positional) != 2 or any(isinstance(p, not_sizes) for p in positional):
            return None
        return positional[0], positional[1]
    func = node.func
    if isinstance(func, cst.Attribute) and func.attr.value in (_SAME_SHAPE | _SAME_SHAPE_FILLS):
        return matrix_sizes(model, func.value, depth + 1)
    return None


_LEGACY = frozenset({"Tensor", "FloatTensor", "DoubleTensor", "HalfTensor"})  # a list argument is data
