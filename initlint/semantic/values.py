"""Constant evaluation of small expressions: literals, arithmetic, math.*, module constants,
`calculate_gain(...)`, and names with a single known value in scope. Anything else is UNKNOWN.

Bounded: a value is an int of at most MAX_INT_BITS bits or a finite float of magnitude at most
MAX_FLOAT; anything larger (or inf, nan, complex) is UNKNOWN. No init argument means such a
number, and the bounds keep both the folding (`((2**64)**64)**64` took 33 s and 1.5 GB) and
the rules' arithmetic on the result (squares, float conversion, `int()`) from raising or hanging."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from initlint._lazy import cst
from initlint.semantic.catalog import GAIN_NAMES, gain_of

if TYPE_CHECKING:
    from initlint.semantic.model import SemanticModel

Value = int | float | str | bool | None
UNKNOWN = object()
# 2**128 and 1e150: products of a few such ints still convert to float, squares of such floats
# stay finite (``x**2`` on a float raises OverflowError where ``x*x`` would give inf).
MAX_INT_BITS = 128
MAX_FLOAT = 1e150
MAX_LITERAL_DIGITS = 1000  # int() of a longer literal is quadratic (and refused past 4,300)
_MATH = {"sqrt": math.sqrt, "log": math.log, "exp": math.exp}
_binary: dict[type, Callable[[float, float], float]] = {}


def _binary_operation(operator: type) -> Callable[[float, float], float] | None:
    if not _binary:
        _binary.update(
            {
                cst.Add: lambda a, b: a + b,
                cst.Subtract: lambda a, b: a - b,
                cst.Multiply: lambda a, b: a * b,
                cst.Divide: lambda a, b: a / b,
                cst.FloorDivide: lambda a, b: a // b,
                cst.Power: lambda a, b: a**b,
                cst.Modulo: lambda a, b: a % b,
            }
        )
    return _binary.get(operator)


def string_value(node: cst.SimpleString) -> str | bytes:
    """The string a literal denotes; libcst's ``evaluated_value`` goes through
    ``ast.literal_eval`` (a compile per call), needless for plain literals."""
    raw = node.value
    prefix = node.prefix.lower()
    quote = node.quote
    inner = raw[len(node.prefix) + len(quote) : len(raw) - len(quote)]
    if "b" not in prefix and "f" not in prefix and ("r" in prefix or "\\" not in inner):
        return inner
    return node.evaluated_value


def number_value(node: cst.Integer | cst.Float) -> int | float | None:
    """The number a literal denotes, None beyond the bounds (see ``bounded``)."""
    text = node.value.replace("_", "")
    if len(text) > MAX_LITERAL_DIGITS:
        return None
    try:
        value = int(text, 0) if isinstance(node, cst.Integer) else float(text)
    except ValueError:
        return None
    bounded_value = bounded(value)
    return None if bounded_value is UNKNOWN else bounded_value  # type: ignore[return-value]


def integer_value(node: cst.BaseExpression) -> int | None:
    """An integer literal, negated or not, within the folding bounds; None otherwise."""
    if isinstance(node, cst.Integer):
        value = number_value(node)  # bounded: int() of a 5,000-digit literal raises
        return value if isinstance(value, int) else None
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = integer_value(node.expression)
        return -inner if inner is not None else None
    return None


def literal_float(node: cst.Integer | cst.Float) -> float | None:
    """A number literal as a float for range checks (``p > 1``): beyond the float range it is
    inf rather than an error (``1e999``, a 400-digit int); None when it cannot be read."""
    text = node.value.replace("_", "")
    if isinstance(node, cst.Float):
        try:
            return float(text) if len(text) <= MAX_LITERAL_DIGITS else math.inf
        except ValueError:
            return None
    value = number_value(node)
    return math.inf if value is None else float(value)  # an int literal is never negative


def bounded(value: object) -> object:
    """``value`` when it is not a number or a number within the bounds, else UNKNOWN."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes)):
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= MAX_INT_BITS else UNKNOWN
    if isinstance(value, float):
        return value if math.isfinite(value) and abs(value) <= MAX_FLOAT else UNKNOWN
    return UNKNOWN  # complex (`(-1) ** 0.5`) and anything else


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _power_too_large(base: object, exponent: object) -> bool:
    """An int power whose result would exceed MAX_INT_BITS: refused before it is computed."""
    if not (isinstance(base, int) and isinstance(exponent, int)) or exponent <= 0 or abs(base) <= 1:
        return False
    return (abs(base).bit_length() - 1) * exponent > MAX_INT_BITS


def evaluate(model: SemanticModel, node: cst.BaseExpression, names: dict[str, object] | None = None) -> object:
    """The value of ``node`` or UNKNOWN. ``names`` gives values of local names (e.g. defaults)."""
    try:
        return bounded(_evaluate(model, node, names or {}, 0))
    except (ArithmeticError, ValueError, TypeError, OverflowError, RecursionError, MemoryError):
        return UNKNOWN


def _evaluate(model: SemanticModel, node: cst.BaseExpression, names: dict[str, object], depth: int) -> object:
    if depth > 20:
        return UNKNOWN
    if isinstance(node, (cst.Integer, cst.Float)):
        number = number_value(node)
        return UNKNOWN if number is None else number
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value
    if isinstance(node, cst.ConcatenatedString):
        value = node.evaluated_value
        return value if isinstance(value, str) else UNKNOWN
    if isinstance(node, cst.Name):
        if node.value in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.value]
        if node.value in names:
            return names[node.value]
        return model.module_constant(node.value)
    if isinstance(node, cst.UnaryOperation):
        operand = _evaluate(model, node.expression, names, depth + 1)
        if _number(operand):
            if isinstance(node.operator, cst.Minus):
                return -operand  # type: ignore[operator]
            if isinstance(node.operator, cst.Plus):
                return operand
        if isinstance(node.operator, cst.Not) and isinstance(operand, bool):
            return not operand
        return UNKNOWN
    if isinstance(node, cst.BinaryOperation):
        left = _evaluate(model, node.left, names, depth + 1)
        right = _evaluate(model, node.right, names, depth + 1)
        op = _binary_operation(type(node.operator))
        if op is None or not (_number(left) and _number(right)):
            return UNKNOWN
        if isinstance(node.operator, cst.Power) and (abs(right) > 64 or _power_too_large(left, right)):  # type: ignore[arg-type]
            return UNKNOWN
        return bounded(op(left, right))  # type: ignore[arg-type]
    if isinstance(node, cst.Attribute):
        qualified = model.qualified_name(node)
        if qualified in ("math.pi", "torch.pi", "numpy.pi"):
            return math.pi
        if qualified in ("math.e",):
            return math.e
        return UNKNOWN
    if isinstance(node, cst.Call):
        qualified = model.qualified_name(node.func)
        args = [a for a in node.args if a.keyword is None and not a.star]
        module, _, function = (qualified or "").partition(".")
        if module in ("math", "numpy") and function in _MATH and len(args) == 1:  # np.sqrt of a number too
            value = _evaluate(model, args[0].value, names, depth + 1)
            return bounded(_MATH[function](value)) if _number(value) else UNKNOWN  # type: ignore[arg-type]
        if qualified in ("torch.nn.init.calculate_gain",) or model.init_function(node.func) == "calculate_gain":
            return calculate_gain_value(model, node, names)
        if qualified in ("float", "int") or (isinstance(node.func, cst.Name) and node.func.value in ("float", "int")):
            if len(args) == 1 and model.imports.is_free(node.func.value if isinstance(node.func, cst.Name) else ""):
                value = _evaluate(model, args[0].value, names, depth + 1)
                if _number(value):
                    return bounded(float(value) if node.func.value == "float" else int(value))  # type: ignore[union-attr,arg-type]
        return UNKNOWN
    return UNKNOWN


def calculate_gain_value(model: SemanticModel, call: cst.Call, names: dict[str, object] | None = None) -> object:
    name, param = gain_arguments(model, call, names)
    if not isinstance(name, str) or name not in GAIN_NAMES:
        return UNKNOWN
    if param is not None and not _number(param):
        return UNKNOWN
    value = gain_of(name, param)  # type: ignore[arg-type]
    return UNKNOWN if value is None else value


def gain_arguments(
    model: SemanticModel, call: cst.Call, names: dict[str, object] | None = None
) -> tuple[object, object]:
    """(nonlinearity, param) of a calculate_gain call, each evaluated (UNKNOWN when not literal)."""
    nonlinearity: object = UNKNOWN
    param: object = None
    positional = [a for a in call.args if a.keyword is None and not a.star]
    if positional:
        nonlinearity = evaluate(model, positional[0].value, names)
    if len(positional) > 1:
        param = evaluate(model, positional[1].value, names)
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "nonlinearity":
            nonlinearity = evaluate(model, arg.value, names)
        elif arg.keyword is not None and arg.keyword.value == "param":
            param = evaluate(model, arg.value, names)
    return nonlinearity, param
