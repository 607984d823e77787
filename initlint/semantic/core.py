"""Node and name helpers shared by the semantic model and the analyses that hang off it.

This module sits under everything in ``initlint.semantic``: it imports nothing of the package, so
any module may use it without importing ``model.py`` (whose lazy layers import those modules;
tests/test_semantic_imports.py keeps the package's run-time import graph free of cycles).
"""

from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst


def dotted(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def target_names(target: cst.BaseExpression) -> Iterator[str]:
    """The names an assignment target binds (``a``, ``a, (b, *c)``); attributes and subscripts bind none."""
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from target_names(target.value)


def is_string(node: cst.BaseExpression) -> bool:
    """A string literal: plain, f-string, or implicitly joined parts (``"a" "b"``)."""
    return isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString))


def is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def self_attribute(node: cst.BaseExpression) -> str | None:
    """``x`` for ``self.x``, else None."""
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        return node.attr.value
    return None


def has_parameter(holder: cst.CSTNode, name: str) -> bool:
    """The function or lambda ``holder`` takes a parameter called ``name`` (not ``*args``/``**kwargs``)."""
    params = holder.params if isinstance(holder, (cst.FunctionDef, cst.Lambda)) else None
    if params is None:
        return False
    return any(p.name.value == name for p in (*params.params, *params.posonly_params, *params.kwonly_params))


def module_assignments(module: cst.Module) -> Iterator[tuple[str, cst.BaseExpression]]:
    """``NAME = value`` statements at the top level of the module (one plain name each)."""
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if not isinstance(small, cst.Assign) or len(small.targets) != 1:
                continue
            target = small.targets[0].target
            if isinstance(target, cst.Name):
                yield target.value, small.value


def literal_all(module: cst.Module) -> tuple[str, ...] | None:
    """The names of a module-level ``__all__`` written as a list or tuple of strings; None when
    there is none, () when it is computed (then anything may be exported)."""
    for name, value in module_assignments(module):
        if name != "__all__":
            continue
        if not isinstance(value, (cst.List, cst.Tuple)):
            return ()
        names = []
        for element in value.elements:
            item = element.value
            if not isinstance(item, cst.SimpleString) or not isinstance(item.evaluated_value, str):
                return ()
            names.append(item.evaluated_value)
        return tuple(names)
    return None
