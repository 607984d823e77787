from __future__ import annotations

import math
import re
from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule, src
from initlint.rules.triggers import call_arguments_text
from initlint.semantic import SemanticModel
from initlint.semantic.scales import resolved_value

# Norm layers whose positional parameters run (num_features, eps, momentum, ...): the position of
# eps. The lazy ones infer num_features, so eps comes first.
_EPS_POSITION: dict[str, int] = {
    **{name: 1 for name in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm")},
    **{name: 1 for name in ("InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d")},
    **{f"Lazy{kind}Norm{n}d": 0 for kind in ("Batch", "Instance") for n in (1, 2, 3)},
}
# torch's default eps is 1e-5 and ports from TF use 1e-3; a value from here up is a momentum
# (PyTorch's 0.1 or 0.01, Keras' 0.8/0.9/0.99), never a deliberate eps.
_MOMENTUM_LIKE = 0.01
_DEFAULT_EPS = 1e-5


# Anchored on the literal "Norm" (a leading optional group would make the engine try every offset).
_NORM = re.compile(r"Norm(?:[123]d)?(?:\s*(\()|\s+as\b)")
_KEYWORD = re.compile(r"\s*[A-Za-z_]\w*\s*=(?!=)")


def _top_level_parts(arguments: str) -> list[str]:
    """The arguments text split at its top-level commas (empty parts dropped)."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(arguments):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(arguments[start:index])
            start = index + 1
    parts.append(arguments[start:])
    return [part for part in parts if part.strip()]


def _positional_count(arguments: str) -> int:
    """Positional arguments before the first ``*`` splat (the rule stops there); keywords and
    ``**`` splats are not positional."""
    count = 0
    for part in _top_level_parts(arguments):
        stripped = part.lstrip()
        if stripped.startswith("**") or _KEYWORD.match(part):
            continue
        if stripped.startswith("*"):
            break
        count += 1
    return count


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _identifier(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None


class NormEpsAsMomentum(Rule):
    code = "IL309"
    name = "norm-eps-as-momentum"
    summary = "`nn.BatchNorm2d(c, 0.8)`: the second positional argument is eps, not momentum"
    severity = "warning"
    literals = ("Norm",)

    VALID = (
        src("""
            import torch.nn as nn
            bn = nn.BatchNorm2d(64, momentum=0.8)
        """),
        src("""
            import torch.nn as nn
            bn = nn.BatchNorm2d(64, 1e-3)
        """),
        src("""
            import torch.nn as nn
            bn = nn.BatchNorm1d(64, eps=0.8)
        """),
        src("""
            import torch.nn as nn
            bn = nn.BatchNorm2d(64, eps, momentum)
        """),
        # LayerNorm and GroupNorm have no momentum to confuse eps with
        src("""
            import torch.nn as nn
            ln = nn.LayerNorm(64, 0.1)
        """),
        src("""
            from mylib import BatchNorm2d
            bn = BatchNorm2d(64, 0.8)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                bn = nn.BatchNorm2d(64, 0.8)
            """)
        ),
        Invalid(
            src("""
                from torch.nn import BatchNorm1d
                bn = BatchNorm1d(512, 0.9)
            """)
        ),
        Invalid(
            src("""
                import torch
                norm = torch.nn.InstanceNorm2d(64, 0.1, affine=True)
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                def block(c, bn_momentum=0.01):
                    return nn.BatchNorm2d(c, bn_momentum)
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                bn = nn.LazyBatchNorm2d(0.99)
            """)
        ),
    )

    @classmethod
    def may_match(cls, text: str, memo: dict[object, bool] | None = None) -> bool:
        """Sound and selective: some Batch/InstanceNorm call passes its eps slot positionally
        (most files write `nn.BatchNorm2d(c)` or `nn.BatchNorm2d(c, eps=1e-3)`)."""
        if "Norm" not in text:
            return False
        for match in _NORM.finditer(text):
            before = text[max(0, match.start() - 13) : match.start()]
            if not before.endswith(("Batch", "Instance")):
                continue
            if match.group(1) is None:
                return True  # `BatchNorm2d as BN`: its calls do not spell the name
            arguments = call_arguments_text(text, match.end())
            if arguments is None:
                return True  # a string or comment inside: unsure
            lazy = before.endswith(("LazyBatch", "LazyInstance"))
            if _positional_count(arguments) > (0 if lazy else 1):
                return True
        return False

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for call in model.nodes(cst.Call):
            qualified = model.qualified_name(call.func)
            if qualified is None or not qualified.startswith("torch.nn."):
                continue
            layer = qualified.rsplit(".", 1)[1]
            position = _EPS_POSITION.get(layer)
            if position is None:
                continue
            positional = []
            for arg in call.args:
                if arg.star:
                    break
                if arg.keyword is None:
                    positional.append(arg.value)
            if len(positional) <= position:
                continue
            node = positional[position]
            report = _judge(model, layer, node)
            if report is not None:
                yield report


def _judge(model: SemanticModel, layer: str, node: cst.BaseExpression) -> Report | None:
    value = _number(resolved_value(model, node))
    name = _identifier(node)
    named = name is not None and ("momentum" in name.lower() or name.lower() in ("mom", "bn_mom"))
    if value is not None and not _MOMENTUM_LIKE <= value < 1 and not named:
        return None
    if value is None and not named:
        return None
    code = model.code(node)
    evidence = f"`{name}` names a momentum" if named else f"{value:g} is a momentum-sized value"
    effect = ""
    variance = 0.1  # a feature of variance v is scaled by 1/sqrt(v + eps) instead of about 1/sqrt(v)
    if value is not None and value > 0 and math.sqrt((variance + _DEFAULT_EPS) / (variance + value)) < 0.8:
        effect = (
            f"; with eps={value:g} a feature of variance {variance:g} is scaled by "
            f"{1 / math.sqrt(variance + value):.2g} instead of {1 / math.sqrt(variance + _DEFAULT_EPS):.2g}, "
            "so small features are barely normalized"
        )
    return Report(
        node,
        f"`nn.{layer}` given `{code}` positionally ({evidence}): that position is eps, not momentum, so eps is "
        f"{code} (torch's default is 1e-5) and momentum keeps its default 0.1{effect}; pass it by keyword: "
        "`momentum=` if a momentum was meant (PyTorch's momentum weighs the new batch: Keras' momentum=0.8 is "
        "PyTorch's 0.2), `eps=` if a large eps is really wanted",
    )
