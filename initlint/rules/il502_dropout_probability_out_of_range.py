from __future__ import annotations

import re
from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule, src
from initlint.rules.triggers import call_arguments_text, word_matches
from initlint.semantic import SemanticModel
from initlint.semantic.catalog import FUNCTIONAL_DROPOUT
from initlint.semantic.values import literal_float

_MODULES = frozenset({"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"})
_NAMES = "|".join(sorted(_MODULES | FUNCTIONAL_DROPOUT, key=len, reverse=True))
_CALL = re.compile(rf"\b(?:{_NAMES})\s*\(")
_ALIAS = re.compile(rf"\b(?:{_NAMES})\s+as\b")
_ANCHOR = ("ropout",)  # in every name above: where a match can start (word_matches)
_NUMBER = re.compile(r"(?<![\w.])(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SUSPECT = re.compile(r"-|0[xXoObB]")


def _may_be_out_of_range(arguments: str) -> bool:
    """The argument text has a minus sign, a non-decimal literal or a number >= 1."""
    if _SUSPECT.search(arguments):
        return True
    return any(float(number) >= 1 for number in _NUMBER.findall(arguments))


def _literal(node: cst.BaseExpression) -> float | None:
    """A number written as a literal, with an optional unary minus or plus."""
    sign = 1.0
    while isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        if isinstance(node.operator, cst.Minus):
            sign = -sign
        node = node.expression
    if isinstance(node, (cst.Integer, cst.Float)):
        value = literal_float(node)
        return None if value is None else sign * value
    return None


def _probability(call: cst.Call, position: int) -> cst.BaseExpression | None:
    positional = 0
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is None:
            if positional == position:
                return arg.value
            positional += 1
        elif arg.keyword.value == "p":
            return arg.value
    return None


class DropoutProbabilityOutOfRange(Rule):
    code = "IL502"
    name = "dropout-probability-out-of-range"
    summary = "A dropout probability outside [0, 1] (raises) or equal to 1 (drops everything)"
    severity = "error"

    VALID = (
        src("""
            import torch.nn as nn
            d = nn.Dropout(0.1)
        """),
        src("""
            import torch.nn as nn
            d = nn.Dropout(p=0)
        """),
        src("""
            import torch.nn.functional as F
            y = F.dropout(x, 0.5, training=True)
        """),
        src("""
            import torch.nn as nn
            d = nn.Dropout(p=rate * 10)
        """),
        src("""
            import keras
            d = keras.layers.Dropout(50)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                d = nn.Dropout(50)
            """)
        ),
        Invalid(
            src("""
                from torch.nn import Dropout2d
                d = Dropout2d(p=-0.1)
            """)
        ),
        Invalid(
            src("""
                import torch.nn.functional as F
                y = F.dropout(x, 1.0, training=True)
            """)
        ),
        Invalid(
            src("""
                import torch
                y = torch.nn.functional.alpha_dropout(x, p=1.5, training=True)
            """)
        ),
    )

    @classmethod
    def may_match(cls, text: str, memo: dict[object, bool] | None = None) -> bool:
        """Sound and selective: some dropout call's arguments hold a literal that can be out of
        range (most files only write `nn.Dropout(0.1)` or `nn.Dropout(config.p)`)."""
        if "ropout" not in text:
            return False
        if any(word_matches(text, _ANCHOR, _ALIAS)):
            return True  # imported under another name: its calls do not spell the name
        for match in word_matches(text, _ANCHOR, _CALL):
            arguments = call_arguments_text(text, match.end())
            if arguments is None or _may_be_out_of_range(arguments):
                return True
        return False

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for call in model.nodes(cst.Call):
            qualified = model.qualified_name(call.func)
            if qualified is None:
                continue
            head, _, name = qualified.rpartition(".")
            if head == "torch.nn" and name in _MODULES:
                node = _probability(call, 0)
                where = f"nn.{name}"
            elif head == "torch.nn.functional" and name in FUNCTIONAL_DROPOUT:
                node = _probability(call, 1)
                where = f"F.{name}"
            else:
                continue
            if node is None:
                continue
            p = _literal(node)
            if p is None:
                continue
            shown = model.code(node)
            if p < 0 or p > 1:
                yield Report(
                    node,
                    f"{where} with p={shown}: p is the probability of zeroing each element and must lie in "
                    "[0, 1]; torch raises ValueError. For a percentage, divide by 100 (e.g. 50 -> 0.5)",
                )
            elif p == 1:
                yield Report(
                    node,
                    f"{where} with p={shown}: every element is dropped, so in training the output is all zeros "
                    "and nothing before it learns; use a probability below 1 (or remove the layer)",
                )
