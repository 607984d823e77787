"""The rank of a tensor made in this file, where it is provable.

``torch.empty(2, 3)`` is 2-D, ``nn.Parameter(torch.zeros(d))`` is 1-D, and so is ``self.w`` when
the class assigns ``self.w`` exactly once, to such a tensor. Anything unproven is None: a size
given as one name that may hold a tuple (``torch.zeros(shape)``), ``*sizes``, ``*_like`` calls.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from initlint._lazy import cst
from initlint.semantic.tensors import PARAMETER_CLASSES, single_assignment
from initlint.semantic.values import evaluate

if TYPE_CHECKING:
    from initlint.semantic.model import SemanticModel

# torch.<name>(*size, ...) / torch.<name>(size_tuple, ...)
_SIZED = frozenset({"empty", "zeros", "ones", "rand", "randn"})
_ONE_D = frozenset({"arange", "linspace", "logspace", "randperm"})
# Tensor methods that keep the rank of their receiver.
_SAME_RANK = frozenset(
    {"to", "float", "double", "half", "bfloat16", "cuda", "cpu", "detach", "clone", "contiguous", "requires_grad_"}
)
# A name whose value is likely a tuple of sizes rather than one int: not trusted as a 1-D size.
_SHAPE_LIKE = re.compile(r"shape|size|dims\b|resolution|grid|kernel|patch|window", re.IGNORECASE)
_MAX_DEPTH = 8


def _is_int_expression(model: SemanticModel, node: cst.BaseExpression) -> bool:
    """``node`` is an int (not a tuple of sizes): an int constant, arithmetic on such, ``len()``,
    ``int()``, ``x.shape[i]`` / ``x.size(i)``, or a plain name / attribute that does not look like
    a shape."""
    value = evaluate(model, node)
    if isinstance(value, int) and not isinstance(value, bool):
        return True
    if isinstance(value, (float, str, tuple, list)):
        return False
    if isinstance(node, cst.BinaryOperation):
        if isinstance(node.operator, (cst.Add, cst.Subtract, cst.Multiply, cst.FloorDivide)):
            return _is_int_expression(model, node.left) and _is_int_expression(model, node.right)
        return False
    if isinstance(node, cst.Call):
        if isinstance(node.func, cst.Name) and node.func.value in ("len", "int"):
            return model.imports.is_free(node.func.value)
        func = node.func
        return isinstance(func, cst.Attribute) and func.attr.value == "size" and len(node.args) == 1
    if isinstance(node, cst.Subscript):
        base = node.value
        return (
            isinstance(base, cst.Attribute)
            and base.attr.value == "shape"
            and len(node.slice) == 1
            and isinstance(node.slice[0].slice, cst.Index)
        )
    if isinstance(node, (cst.Name, cst.Attribute)):
        last = node.value if isinstance(node, cst.Name) else node.attr.value
        return not _SHAPE_LIKE.search(last)
    return False


def _size_rank(model: SemanticModel, args: list[cst.Arg]) -> int | None:
    """Rank from the size arguments of torch.empty/zeros/…: ``(2, 3)``, ``2, 3``, ``[n]``, ``n``."""
    if any(a.star for a in args):
        return None
    positional = [a.value for a in args if a.keyword is None]
    sized = [a.value for a in args if a.keyword is not None and a.keyword.value == "size"]
    if sized:
        if positional:
            return None
        positional = sized
    if len(positional) == 1 and isinstance(positional[0], (cst.Tuple, cst.List)):
        elements = positional[0].elements
        if any(isinstance(e, cst.StarredElement) for e in elements):
            return None
        return len(elements)
    if not positional:
        return None
    if all(_is_int_expression(model, node) for node in positional):
        return len(positional)
    return None


def tensor_rank(model: SemanticModel, node: cst.BaseExpression, depth: int = 0) -> int | None:
    """The rank of the tensor ``node`` evaluates to, when it is made visibly in this file."""
    if depth > _MAX_DEPTH:
        return None
    if isinstance(node, cst.Call):
        qualified = model.qualified_name(node.func)
        if qualified in PARAMETER_CLASSES:
            data = [a for a in node.args if a.keyword is None or a.keyword.value == "data"]
            if not data or data[0].star:
                return None
            return tensor_rank(model, data[0].value, depth + 1)
        if qualified is not None:
            head, _, last = qualified.rpartition(".")
            if head != "torch":
                return None
            if last in _SIZED:
                return _size_rank(model, list(node.args))
            if last == "full":
                positional = [a for a in node.args if a.keyword is None]
                if positional and isinstance(positional[0].value, (cst.Tuple, cst.List)) and not positional[0].star:
                    return _size_rank(model, [positional[0]])
                return None
            if last in _ONE_D:
                return 1
            if last == "eye":
                return 2
            return None
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _SAME_RANK:
            if func.attr.value == "to" and any(isinstance(a.value, cst.Call) for a in node.args):
                return None  # `.to(other)` keeps the rank too, but stay simple and sure
            return tensor_rank(model, func.value, depth + 1)
        return None
    if isinstance(node, cst.Attribute):
        if node.attr.value == "data":
            return tensor_rank(model, node.value, depth + 1)
        if isinstance(node.value, cst.Name) and node.value.value == "self":
            value = self_parameter_value(model, node)
            return None if value is None else tensor_rank(model, value, depth + 1)
        return None
    if isinstance(node, cst.Name):
        if model.imports.resolve_name(node.value) is not None:
            return None
        value = single_assignment(model, node)
        return None if value is None else tensor_rank(model, value, depth + 1)
    return None


def self_parameter_value(model: SemanticModel, node: cst.Attribute) -> cst.BaseExpression | None:
    """For ``self.w`` inside an nn.Module class: the value of the one ``self.w = ...`` the class
    makes (None when it assigns ``self.w`` zero or several times, or also by setattr /
    register_parameter, which we do not follow)."""
    owner = model.class_of(node)
    if owner is None or not isinstance(node.value, cst.Name):
        return None
    name = node.attr.value
    found: list[cst.BaseExpression] = []
    for assign in model.nodes(cst.Assign):
        if model.enclosing(assign, cst.ClassDef) is not owner.node:
            continue
        for target in assign.targets:
            for element in flatten_targets(target.target):
                if (
                    isinstance(element, cst.Attribute)
                    and element.attr.value == name
                    and isinstance(element.value, cst.Name)
                    and element.value.value == "self"
                ):
                    if element is not target.target:
                        return None  # tuple unpacking: value unknown
                    found.append(assign.value)
    for other in (*model.nodes(cst.AugAssign), *model.nodes(cst.AnnAssign)):
        target = other.target
        if (
            isinstance(target, cst.Attribute)
            and target.attr.value == name
            and model.enclosing(other, cst.ClassDef) is owner.node
        ):
            if not isinstance(other, cst.AnnAssign) or other.value is None:
                return None
            found.append(other.value)
    if len(found) != 1:
        return None
    return found[0]


def flatten_targets(target: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(target, (cst.Tuple, cst.List)):
        out: list[cst.BaseExpression] = []
        for element in target.elements:
            out += flatten_targets(element.value)
        return out
    return [target]
