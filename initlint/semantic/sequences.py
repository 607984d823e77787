"""Constant sequences in constructor code: the layer sizes of an MLP built in a loop.

``for a, b in zip(sizes[:-1], sizes[1:])`` and ``for i in range(len(sizes) - 1)`` build one
layer per pair of sizes; when ``sizes`` is a literal (a default, a local list, ``[d] * n``) the
loop can be unrolled into the layers it builds, each with its own widths. This module evaluates
such sequences (tuples of values, UNKNOWN where an element is not a constant) and the scalars
read from them (``sizes[i]``, ``len(sizes) - 1``, ``i < len(sizes) - 2``). Anything else is
None / UNKNOWN, as in ``values.evaluate``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING

from initlint._lazy import cst
from initlint.semantic.values import UNKNOWN, evaluate

if TYPE_CHECKING:
    from initlint.semantic.model import SemanticModel

MAX_LENGTH = 32  # longer sequences are not unrolled: their loops stay templates
_MAX_DEPTH = 12
Sequences = dict[str, tuple[object, ...]]


def _comparisons() -> dict[type, Callable[[object, object], bool]]:
    return {
        cst.LessThan: operator.lt, cst.LessThanEqual: operator.le, cst.GreaterThan: operator.gt,
        cst.GreaterThanEqual: operator.ge, cst.Equal: operator.eq, cst.NotEqual: operator.ne,
    }  # fmt: skip


def _arithmetic() -> dict[type, Callable[[int, int], int]]:
    return {cst.Add: operator.add, cst.Subtract: operator.sub, cst.Multiply: operator.mul,
            cst.FloorDivide: operator.floordiv, cst.Modulo: operator.mod}  # fmt: skip


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def sequence_value(
    model: SemanticModel, node: cst.BaseExpression, names: dict[str, object], sequences: Sequences, depth: int = 0
) -> tuple[object, ...] | None:
    """The elements of ``node`` when it is a sequence of known length, else None."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(node, (cst.List, cst.Tuple)):
        out: list[object] = []
        for element in node.elements:
            if isinstance(element, cst.StarredElement):
                inner = sequence_value(model, element.value, names, sequences, depth + 1)
                if inner is None:
                    return None
                out += inner
            else:
                nested = sequence_value(model, element.value, names, sequences, depth + 1)
                out.append(nested if nested is not None else scalar_value(model, element.value, names, sequences))
        return tuple(out) if len(out) <= MAX_LENGTH else None
    if isinstance(node, cst.Name):
        return sequences.get(node.value)
    if isinstance(node, cst.BinaryOperation):
        if isinstance(node.operator, cst.Add):
            left = sequence_value(model, node.left, names, sequences, depth + 1)
            right = sequence_value(model, node.right, names, sequences, depth + 1)
            if left is None or right is None or len(left) + len(right) > MAX_LENGTH:
                return None
            return left + right
        if isinstance(node.operator, cst.Multiply):
            for seq_node, count_node in ((node.left, node.right), (node.right, node.left)):
                seq = sequence_value(model, seq_node, names, sequences, depth + 1)
                if seq is None:
                    continue
                count = scalar_value(model, count_node, names, sequences, depth + 1)
                if _int(count) and len(seq) * max(count, 0) <= MAX_LENGTH:  # type: ignore[call-overload]
                    return seq * count  # type: ignore[operator]
                return None
        return None
    if isinstance(node, cst.Subscript):
        return _slice(model, node, names, sequences, depth)
    if isinstance(node, cst.Call):
        return _call(model, node, names, sequences, depth)
    return None


def _slice(
    model: SemanticModel, node: cst.Subscript, names: dict[str, object], sequences: Sequences, depth: int
) -> tuple[object, ...] | None:
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Slice):
        return None
    seq = sequence_value(model, node.value, names, sequences, depth + 1)
    if seq is None:
        return None
    part = node.slice[0].slice
    bounds: list[int | None] = []
    for bound in (part.lower, part.upper, part.step):
        if bound is None:
            bounds.append(None)
            continue
        value = scalar_value(model, bound, names, sequences, depth + 1)
        if not _int(value):
            return None
        bounds.append(value)  # type: ignore[arg-type]
    if bounds[2] == 0:
        return None
    return seq[slice(*bounds)]


def _call(
    model: SemanticModel, node: cst.Call, names: dict[str, object], sequences: Sequences, depth: int
) -> tuple[object, ...] | None:
    func = node.func
    if not isinstance(func, cst.Name) or not model.is_builtin(func, func.value):
        return None
    if any(arg.star for arg in node.args):
        return None
    positional = [a.value for a in node.args if a.keyword is None]
    keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
    name = func.value
    if name == "zip" and positional and not keywords:
        parts = [sequence_value(model, p, names, sequences, depth + 1) for p in positional]
        if any(p is None for p in parts):
            return None
        return tuple(zip(*parts, strict=False))  # type: ignore[arg-type]  # zip stops at the shortest, as Python does
    if name == "enumerate" and len(positional) in (1, 2) and set(keywords) <= {"start"}:
        seq = sequence_value(model, positional[0], names, sequences, depth + 1)
        start_node = positional[1] if len(positional) == 2 else keywords.get("start")
        start = 0 if start_node is None else scalar_value(model, start_node, names, sequences, depth + 1)
        if seq is None or not _int(start):
            return None
        return tuple(enumerate(seq, start))  # type: ignore[arg-type]
    if name == "range" and 1 <= len(positional) <= 3 and not keywords:
        bounds = [scalar_value(model, p, names, sequences, depth + 1) for p in positional]
        if not all(_int(b) for b in bounds) or (len(bounds) == 3 and bounds[2] == 0):
            return None
        values = range(*bounds)  # type: ignore[arg-type]
        return tuple(values) if len(values) <= MAX_LENGTH else None
    if name in ("list", "tuple", "reversed") and len(positional) == 1 and not keywords:
        seq = sequence_value(model, positional[0], names, sequences, depth + 1)
        if seq is None:
            return None
        return tuple(reversed(seq)) if name == "reversed" else seq
    return None


def scalar_value(
    model: SemanticModel, node: cst.BaseExpression, names: dict[str, object], sequences: Sequences, depth: int = 0
) -> object:
    """``evaluate`` that also reads the sequences: ``sizes[i]``, ``len(sizes)``, and the
    arithmetic and comparisons built on them."""
    if depth > _MAX_DEPTH:
        return UNKNOWN
    if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        seq = sequence_value(model, node.value, names, sequences, depth + 1)
        index = scalar_value(model, node.slice[0].slice.value, names, sequences, depth + 1)
        if seq is not None and _int(index) and -len(seq) <= index < len(seq):  # type: ignore[operator]
            return seq[index]  # type: ignore[index]
        return UNKNOWN
    if isinstance(node, cst.Call) and model.is_builtin(node.func, "len") and len(node.args) == 1:
        seq = sequence_value(model, node.args[0].value, names, sequences, depth + 1)
        return len(seq) if seq is not None and not node.args[0].star else UNKNOWN
    if isinstance(node, cst.BinaryOperation) and type(node.operator) in _arithmetic():
        left = scalar_value(model, node.left, names, sequences, depth + 1)
        right = scalar_value(model, node.right, names, sequences, depth + 1)
        if _int(left) and _int(right):
            if isinstance(node.operator, (cst.FloorDivide, cst.Modulo)) and right == 0:
                return UNKNOWN
            return _arithmetic()[type(node.operator)](left, right)  # type: ignore[arg-type]
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right))
        return evaluate(model, node, names) if numbers else UNKNOWN
    if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
        compare = _comparisons().get(type(node.comparisons[0].operator))
        left = scalar_value(model, node.left, names, sequences, depth + 1)
        right = scalar_value(model, node.comparisons[0].comparator, names, sequences, depth + 1)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right))
        if compare is None or not numbers:
            return UNKNOWN
        return compare(left, right)
    return evaluate(model, node, names)
