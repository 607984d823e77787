"""A fast walk over a libcst tree that skips whitespace and punctuation.

libcst's visitor calls two methods per node, whitespace included; rules here only look at
expressions and statements, so one pass that indexes nodes by type and records parents is
about twice as fast and lets every rule iterate only the node types it cares about.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict

from initlint._lazy import cst


def _skipped_types() -> tuple[type, ...]:
    return (
        cst.BaseParenthesizableWhitespace,
        cst.Comma,
        cst.Dot,
        cst.EmptyLine,
        cst.TrailingWhitespace,
        cst.Newline,
        cst.Comment,
        cst.LeftParen,
        cst.RightParen,
        cst.LeftSquareBracket,
        cst.RightSquareBracket,
        cst.LeftCurlyBrace,
        cst.RightCurlyBrace,
        cst.BaseBinaryOp,
        cst.BaseBooleanOp,
        cst.BaseCompOp,
        cst.BaseUnaryOp,
        cst.BaseAugOp,
        cst.AssignEqual,
        cst.Colon,
        cst.Semicolon,
    )


_SKIPPED_FIELD_PREFIXES = (
    "whitespace", "lpar", "rpar", "leading_lines", "lines_after_decorators", "header", "footer",
    "semicolon", "comma", "lbracket", "rbracket", "lbrace", "rbrace", "equal", "colon", "dot",
)  # fmt: skip
_child_fields: dict[type, tuple[str, ...]] = {}


def _fields_of(cls: type) -> tuple[str, ...]:
    names = _child_fields.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(cls) if not f.name.startswith(_SKIPPED_FIELD_PREFIXES))
        _child_fields[cls] = names
    return names


_is_skipped: dict[type, bool] = {}


def index_tree(
    root: cst.CSTNode,
) -> tuple[dict[type, list[cst.CSTNode]], dict[cst.CSTNode, cst.CSTNode], dict[cst.CSTNode, int]]:
    """Nodes by exact type, in source order; each node's parent; each node's pre-order index
    (source order, cheap to compare, unlike positions, which need a full code generation)."""
    by_type: dict[type, list[cst.CSTNode]] = defaultdict(list)
    parent: dict[cst.CSTNode, cst.CSTNode] = {}
    order: dict[cst.CSTNode, int] = {}
    stack: list[cst.CSTNode] = [root]
    # isinstance against libcst's abstract classes is slow; decide once per concrete class.
    skipped = _is_skipped
    node_base = cst.CSTNode
    while stack:
        node = stack.pop()
        node_type = type(node)
        by_type[node_type].append(node)
        order[node] = len(order)
        children: list[cst.CSTNode] = []
        for name in _fields_of(node_type):
            value = getattr(node, name)
            if isinstance(value, (tuple, list)):
                items = value
            elif value is None or isinstance(value, (str, bool)):
                continue
            else:
                items = (value,)
            for item in items:
                item_type = type(item)
                skip = skipped.get(item_type)
                if skip is None:
                    skip = skipped[item_type] = not issubclass(item_type, node_base) or issubclass(
                        item_type, _skipped_types()
                    )
                if not skip:
                    children.append(item)
        for child in children:
            parent[child] = node
        # Reversed so that pops come in source order.
        stack.extend(reversed(children))
    return by_type, parent, order
