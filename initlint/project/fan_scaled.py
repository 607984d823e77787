"""Init wrappers: functions that fill their first parameter, a tensor, with a known scheme.

``def init_lecun_normal(tensor, scale=1.0): fan_in = init._calculate_correct_fan(tensor, "fan_in");
tensor.normal_(0, scale * np.sqrt(1.0 / fan_in))`` is LeCun normal: a Kaiming-family scheme whose
gain is ``scale`` (1 by default). Called with the tensor alone, such a function is an init of that
scheme wherever it is called from, in this file or another.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from initlint._lazy import cst
from initlint.semantic.instances import local_bindings
from initlint.semantic.schemes import TENSOR_METHODS, Scheme, bind_arguments
from initlint.semantic.values import UNKNOWN, evaluate

if TYPE_CHECKING:
    from initlint.semantic.model import SemanticModel

# torch's private fan helpers, as init code calls them: (qualified name) -> the mode they give.
_FAN_HELPERS = {
    "torch.nn.init._calculate_correct_fan": None,  # the mode is its second argument
    "torch.nn.init._calculate_fan_in_and_fan_out": "tuple",
}


def tensor_scheme(model: SemanticModel, function: cst.FunctionDef, params: tuple[str, ...]) -> dict[str, Any] | None:
    """The scheme ``function`` fills its first parameter with when only that is passed; None
    when it does not, or fills it more than once, or the scale is not known."""
    if not params or isinstance(function.params.star_arg, cst.Param):
        return None
    tensor = params[0]
    from initlint.semantic.modules import _param_defaults

    defaults = _param_defaults(model, function)
    schemes = []
    for site in model.init_sites:
        if site.function_node is function and isinstance(site.target, cst.Name) and site.target.value == tensor:
            schemes.append(site.scheme)
    for call in model.nodes_within(function, cst.Call):
        func = call.func
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == tensor):
            continue
        method = func.attr.value
        if method not in ("normal_", "uniform_"):
            continue
        scheme = _method_scheme(model, function, method, call, defaults)
        if scheme is None:
            return None
        schemes.append(scheme)
    if len(schemes) != 1:
        return None
    return asdict(schemes[0])


def _method_scheme(
    model: SemanticModel, function: cst.FunctionDef, method: str, call: cst.Call, defaults: dict[str, object]
) -> Scheme | None:
    _, parameters = TENSOR_METHODS[method]
    arguments = bind_arguments(call, parameters, tensor_first=False)
    if arguments is None:
        return None
    if method == "normal_":
        mean = _value(model, function, arguments.get("mean"), defaults, 0.0)
        std_node = arguments.get("std")
        if mean != 0.0 or std_node is None:
            return None
        fan_scaled = _fan_coefficient(model, function, std_node, defaults)
        if fan_scaled is not None:
            coefficient, mode = fan_scaled
            return Scheme("kaiming_normal_", "kaiming", gain=coefficient, mode=mode)
        std = _value(model, function, std_node, defaults, None)
        return Scheme("normal_", "normal", mean=0.0, std=std) if isinstance(std, float) else None
    low, high = arguments.get("a"), arguments.get("b")
    if low is None or high is None:
        return None
    fan_scaled = _fan_coefficient(model, function, high, defaults)
    low_scaled = _fan_coefficient(model, function, _negated(low), defaults) if fan_scaled else None
    if fan_scaled is not None and low_scaled == fan_scaled:
        coefficient, mode = fan_scaled
        # U(-b, b) has std b / sqrt(3): bound c * sqrt(3 / fan) is Kaiming with gain c.
        return Scheme("kaiming_uniform_", "kaiming", gain=coefficient / math.sqrt(3), mode=mode)
    return None


def _negated(node: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        return node.expression
    return cst.UnaryOperation(cst.Minus(), node)


def _value(
    model: SemanticModel, function: cst.FunctionDef, node: cst.BaseExpression | None,
    defaults: dict[str, object], default: float | None,
) -> float | None:  # fmt: skip
    if node is None:
        return default
    node = _through_local(model, function, node)
    value = evaluate(model, node, defaults)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _through_local(model: SemanticModel, function: cst.FunctionDef, node: cst.BaseExpression) -> cst.BaseExpression:
    """A local name's single assignment (``std = gain / math.sqrt(fan)``), else the node."""
    if isinstance(node, cst.Name):
        values = local_bindings(model, function, node.value)
        if values is not None and len(values) == 1:
            return values[0]
    return node


def _fan_coefficient(
    model: SemanticModel, function: cst.FunctionDef, node: cst.BaseExpression, defaults: dict[str, object]
) -> tuple[float, str] | None:
    """(c, mode) when ``node`` is ``c / sqrt(fan)`` for a fan of the function's tensor: its value
    at fan = 1 is c, and evaluating it at a second fan proves the 1/sqrt dependence."""
    from initlint.semantic.scales import radicand

    node = _through_local(model, function, node)
    fan_node = radicand(model, node)
    if not isinstance(fan_node, cst.Name):
        return None
    mode = _fan_mode(model, function, fan_node)
    if mode is None:
        return None
    at_one = evaluate(model, node, {**defaults, fan_node.value: 1.0})
    at_four = evaluate(model, node, {**defaults, fan_node.value: 4.0})
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (at_one, at_four)):
        return None
    if at_one <= 0 or not math.isclose(at_four, at_one / 2, rel_tol=1e-9):  # type: ignore[operator]
        return None
    return float(at_one), mode  # type: ignore[arg-type]


def _fan_mode(model: SemanticModel, function: cst.FunctionDef, name: cst.Name) -> str | None:
    """fan_in / fan_out when ``name`` is bound, once, to torch's fan helper on the tensor."""
    for assign in model.nodes_within(function, cst.Assign):
        if len(assign.targets) != 1:
            continue
        target = assign.targets[0].target
        value = assign.value
        if isinstance(target, cst.Name) and target.value == name.value:
            if isinstance(value, cst.Subscript) and len(value.slice) == 1:
                index = value.slice[0].slice
                helper = _helper(model, value.value)
                position = evaluate(model, index.value) if isinstance(index, cst.Index) else UNKNOWN
                if helper == "tuple" and position in (0, 1):
                    return ("fan_in", "fan_out")[position]  # type: ignore[index]
                return None
            if isinstance(value, cst.Call) and _helper(model, value) is None and len(value.args) == 2:
                mode = evaluate(model, value.args[1].value)
                return mode if mode in ("fan_in", "fan_out") else None
            return None
        if isinstance(target, cst.Tuple) and len(target.elements) == 2 and _helper(model, value) == "tuple":
            for position, element in enumerate(target.elements):
                if isinstance(element.value, cst.Name) and element.value.value == name.value:
                    return ("fan_in", "fan_out")[position]
    return None


def _helper(model: SemanticModel, node: cst.BaseExpression) -> str | bool | None:
    """The fan helper a call is (its entry in _FAN_HELPERS), or False."""
    if not isinstance(node, cst.Call):
        return False
    qualified = model.qualified_name(node.func)
    if qualified not in _FAN_HELPERS:
        return False
    return _FAN_HELPERS[qualified]
