from __future__ import annotations

import math
from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule
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
    triggers = (r"(?:Batch|Instance)Norm",)

    VALID = (
        "import torch.nn as nn\nbn = nn.BatchNorm2d(64, momentum=0.8)\n",
        "import torch.nn as nn\nbn = nn.BatchNorm2d(64, 1e-3)\n",
        "import torch.nn as nn\nbn = nn.BatchNorm1d(64, eps=0.8)\n",
        "import torch.nn as nn\nbn = nn.BatchNorm2d(64, eps, momentum)\n",
        # LayerNorm and GroupNorm have no momentum to confuse eps with
        "import torch.nn as nn\nln = nn.LayerNorm(64, 0.1)\n",
        "from mylib import BatchNorm2d\nbn = BatchNorm2d(64, 0.8)\n",
    )
    INVALID = (
        Invalid("import torch.nn as nn\nbn = nn.BatchNorm2d(64, 0.8)\n"),
        Invalid("from torch.nn import BatchNorm1d\nbn = BatchNorm1d(512, 0.9)\n"),
        Invalid("import torch\nnorm = torch.nn.InstanceNorm2d(64, 0.1, affine=True)\n"),
        Invalid("import torch.nn as nn\ndef block(c, bn_momentum=0.01):\n    return nn.BatchNorm2d(c, bn_momentum)\n"),
        Invalid("import torch.nn as nn\nbn = nn.LazyBatchNorm2d(0.99)\n"),
    )

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
