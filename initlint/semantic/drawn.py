"""Random draws assigned to a parameter: ``m.weight.data = torch.randn(o, i) * 0.01``,
``w.copy_(torch.from_numpy(np.random.normal(0, 0.01, shape)))``. Such an assignment is an init
of its scheme (normal with that mean and std, uniform with those bounds), written without
``nn.init``. This module reads the distribution of the drawn value through the affine steps
(``* c``, ``/ c``, ``+ c``) and the conversions (``torch.from_numpy``, ``.float()``,
``nn.Parameter``) that keep it; anything else is not a draw."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from initlint._lazy import cst
from initlint.semantic.schemes import Scheme
from initlint.semantic.values import UNKNOWN, evaluate

if TYPE_CHECKING:
    from initlint.semantic.model import SemanticModel

# (qualified name) -> (family, keyword names of the two parameters, their defaults)
_SAMPLERS: dict[str, tuple[str, tuple[str, str] | None, tuple[float, float]]] = {
    "torch.randn": ("normal", None, (0.0, 1.0)),
    "torch.randn_like": ("normal", None, (0.0, 1.0)),
    "torch.rand": ("uniform", None, (0.0, 1.0)),
    "torch.rand_like": ("uniform", None, (0.0, 1.0)),
    "torch.normal": ("normal", ("mean", "std"), (0.0, 1.0)),
    "numpy.random.randn": ("normal", None, (0.0, 1.0)),
    "numpy.random.standard_normal": ("normal", None, (0.0, 1.0)),
    "numpy.random.normal": ("normal", ("loc", "scale"), (0.0, 1.0)),
    "numpy.random.rand": ("uniform", None, (0.0, 1.0)),
    "numpy.random.random": ("uniform", None, (0.0, 1.0)),
    "numpy.random.random_sample": ("uniform", None, (0.0, 1.0)),
    "numpy.random.uniform": ("uniform", ("low", "high"), (0.0, 1.0)),
}
# In-place fills on a fresh tensor: `torch.empty(o, i).normal_(0, 0.01)`.
_FILLS = {"normal_": ("normal", ("mean", "std")), "uniform_": ("uniform", ("from", "to"))}
_FRESH = frozenset(
    {"torch.empty", "torch.zeros", "torch.ones", "torch.Tensor", "torch.FloatTensor", "torch.DoubleTensor",
     "torch.cuda.FloatTensor", "torch.HalfTensor"}
)  # fmt: skip
# Conversions that keep the values: wrappers and methods.
_WRAPPERS = frozenset(
    {"torch.from_numpy", "torch.tensor", "torch.as_tensor", "torch.Tensor", "torch.FloatTensor", "torch.nn.Parameter",
     "torch.nn.parameter.Parameter", "torch.DoubleTensor", "torch.cuda.FloatTensor"}
)  # fmt: skip
_KEEPING_METHODS = frozenset(
    {"float", "double", "half", "bfloat16", "to", "cuda", "cpu", "type", "astype", "clone", "detach", "contiguous",
     "view", "reshape", "t", "requires_grad_", "type_as", "view_as", "reshape_as", "squeeze", "unsqueeze"}
)  # fmt: skip
_MAX_DEPTH = 12


@dataclass(frozen=True)
class Draw:
    """A drawn value: its distribution (the base sample through ``scale * x + shift``)."""

    call: cst.Call  # the sampling call (`torch.randn(...)`)
    family: str  # normal | uniform
    first: float | None  # normal: mean; uniform: low
    second: float | None  # normal: std; uniform: high
    scale: float | None = 1.0
    shift: float | None = 0.0

    def affine(self, scale: float | None, shift: float | None) -> Draw:
        new_scale = None if self.scale is None or scale is None else self.scale * scale
        new_shift = None if self.shift is None or scale is None or shift is None else self.shift * scale + shift
        return Draw(self.call, self.family, self.first, self.second, new_scale, new_shift)

    def scheme(self) -> Scheme:
        scale, shift, first, second = self.scale, self.shift, self.first, self.second
        known = scale is not None and shift is not None and first is not None and second is not None
        if self.family == "normal":
            if not known:
                return Scheme("normal_", "normal")
            return Scheme("normal_", "normal", mean=first * scale + shift, std=second * abs(scale))  # type: ignore[operator]
        if not known:
            return Scheme("uniform_", "uniform")
        low, high = sorted((first * scale + shift, second * scale + shift))  # type: ignore[operator]
        return Scheme(
            "uniform_", "uniform", low=low, high=high, std=(high - low) / math.sqrt(12), mean=(low + high) / 2
        )


def drawn(
    model: SemanticModel, node: cst.BaseExpression, names: dict[str, object] | None = None, depth: int = 0
) -> Draw | None:
    """The distribution of ``node`` when it is a random draw, else None (``names``: known
    values of local names, as for ``evaluate``)."""
    names = names or {}
    if depth > _MAX_DEPTH:
        return None
    if isinstance(node, cst.BinaryOperation):
        return _arithmetic(model, node, names, depth)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = drawn(model, node.expression, names, depth + 1)
        return inner.affine(-1.0, 0.0) if inner is not None else None
    if isinstance(node, cst.Attribute) and node.attr.value == "T":
        return drawn(model, node.value, names, depth + 1)
    if not isinstance(node, cst.Call):
        return None
    qualified = model.qualified_name(node.func)
    if qualified in _SAMPLERS:
        return _sample(model, node, qualified, names)
    positional = [a for a in node.args if a.keyword is None]
    if qualified in _WRAPPERS and positional and not positional[0].star:
        return drawn(model, positional[0].value, names, depth + 1)
    func = node.func
    if qualified is None and isinstance(func, cst.Attribute):
        method = func.attr.value
        if method in _KEEPING_METHODS:
            return drawn(model, func.value, names, depth + 1)
        if method in ("mul", "mul_", "div", "div_", "add", "add_", "sub", "sub_") and len(positional) == 1:
            inner = drawn(model, func.value, names, depth + 1)
            if inner is None or node.args[0].keyword is not None:
                return None
            number = _number(model, positional[0].value, names)
            if method.startswith("mul"):
                return inner.affine(number, 0.0)
            if method.startswith("div"):
                return inner.affine(None if not number else 1 / number, 0.0)
            return inner.affine(1.0, number if method.startswith("add") or number is None else -number)
        if method in _FILLS and _fresh(model, func.value):
            family, parameters = _FILLS[method]
            return _with_parameters(model, node, family, parameters, (0.0, 1.0), names)
    return None


def _fresh(model: SemanticModel, node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and model.qualified_name(node.func) in _FRESH


def _sample(model: SemanticModel, call: cst.Call, qualified: str, names: dict[str, object]) -> Draw | None:
    family, parameters, defaults = _SAMPLERS[qualified]
    if parameters is None:
        return Draw(call, family, *defaults)
    return _with_parameters(model, call, family, parameters, defaults, names)


def _with_parameters(
    model: SemanticModel,
    call: cst.Call,
    family: str,
    parameters: tuple[str, str],
    defaults: tuple[float, float],
    names: dict[str, object],
) -> Draw | None:
    values: list[float | None] = list(defaults)
    position = 0
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is None:
            if position < 2:
                values[position] = _number(model, arg.value, names)
            position += 1
        elif arg.keyword.value in parameters:
            values[parameters.index(arg.keyword.value)] = _number(model, arg.value, names)
    return Draw(call, family, values[0], values[1])


def _arithmetic(model: SemanticModel, node: cst.BinaryOperation, names: dict[str, object], depth: int) -> Draw | None:
    operator = node.operator
    left = drawn(model, node.left, names, depth + 1)
    right = drawn(model, node.right, names, depth + 1) if left is None else None
    if (left is None) == (right is None):
        return None
    inner = left if left is not None else right
    other = _number(model, node.right if left is not None else node.left, names)
    assert inner is not None
    if isinstance(operator, cst.Multiply):
        return inner.affine(other, 0.0)
    if isinstance(operator, cst.Divide) and left is not None:
        return inner.affine(None if not other else 1 / other, 0.0)
    if isinstance(operator, cst.Add):
        return inner.affine(1.0, other)
    if isinstance(operator, cst.Subtract):
        if left is not None:
            return inner.affine(1.0, None if other is None else -other)
        return inner.affine(-1.0, other)
    return None


def _number(model: SemanticModel, node: cst.BaseExpression, names: dict[str, object]) -> float | None:
    value = evaluate(model, node, names)
    if value is UNKNOWN or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
