from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule, src
from initlint.rules.triggers import INIT_TRIGGER
from initlint.semantic import SemanticModel
from initlint.semantic.catalog import LAYERS
from initlint.semantic.inits import InitSite
from initlint.semantic.values import evaluate

_RANDOM = frozenset({"normal_", "trunc_normal_", "uniform_"})


def _number(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _is_norm(type_name: str) -> bool:
    kind = LAYERS.get(type_name)
    return kind is not None and kind.category == "norm" and kind.weight_rank is not None


class NormWeightZeroMean(Rule):
    code = "IL304"
    name = "norm-weight-zero-mean"
    summary = "A norm layer's weight (its scale, gamma) drawn around 0 rather than 1"
    severity = "warning"
    triggers = (r"\b(?:normal|trunc_normal|uniform)_", r"Norm", INIT_TRIGGER)
    uses_init_aliases = True

    VALID = (
        src("""
            import torch.nn as nn
            def init(m):
                if isinstance(m, nn.BatchNorm2d):
                    nn.init.normal_(m.weight, 1.0, 0.02)
                    nn.init.zeros_(m.bias)
        """),
        src("""
            import torch.nn as nn
            class B(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.norm = nn.LayerNorm(8)
                    nn.init.zeros_(self.norm.weight)
        """),
        src("""
            import torch.nn as nn
            def init(m):
                if isinstance(m, (nn.Linear, nn.LayerNorm)):
                    nn.init.normal_(m.weight, 0.0, 0.02)
        """),
        src("""
            import torch.nn as nn
            def init(m):
                if isinstance(m, nn.LayerNorm):
                    nn.init.normal_(m.bias, 0.0, 0.02)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                def init(m):
                    if isinstance(m, nn.BatchNorm2d):
                        nn.init.normal_(m.weight, 0.0, 0.02)
            """)
        ),
        Invalid(
            src("""
                from torch.nn import init
                import torch.nn as nn
                class B(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.norm = nn.LayerNorm(8)
                        init.trunc_normal_(self.norm.weight, std=0.02)
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                class B(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.gn = nn.GroupNorm(4, 8)
                        self.gn.weight.data.uniform_(-0.1, 0.1)
            """)
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for site in model.init_sites:
            if site.function not in _RANDOM or site.param != "weight":
                continue
            types = _norm_types(model, site)
            if not types:
                continue
            how = _zero_mean(model, site)
            if how is None:
                continue
            target = model.code(site.target)
            target = target if len(target) <= 60 and "\n" not in target else "the weight"
            yield Report(
                site.call,
                f"{site.function} draws `{target}`, the scale (gamma) of a {'/'.join(types)}, {how}: the layer "
                "then multiplies its normalized output by near-zero factors of random sign, shrinking the "
                "signal and flipping channels; init it with ones_ (or normal_(w, 1.0, std)), or zeros_ "
                "if the branch is meant to start silent",
            )


def _norm_types(model: SemanticModel, site: InitSite) -> list[str] | None:
    """The norm classes the target's module can be, when every one of them is a norm."""
    dispatch = site.dispatch
    if dispatch is not None:
        if dispatch.types is None:
            loop = model.enclosing(site.call, cst.For)
            listed = loop is not None and isinstance(loop.iter, (cst.List, cst.Tuple))
            if not (listed and site.layers):
                return None  # every submodule of a module: the file may not show them all
        elif not all(_is_norm(t) for t in dispatch.types):
            return None
        else:
            names = sorted(set(dispatch.types))
            return names if not site.layers or all(_is_norm(layer.type_name) for layer in site.layers) else None
    if not site.layers or not all(layer.kind is not None and _is_norm(layer.type_name) for layer in site.layers):
        return None
    return sorted({layer.type_name for layer in site.layers})


def _zero_mean(model: SemanticModel, site: InitSite) -> str | None:
    arguments = site.arguments
    if site.function in ("normal_", "trunc_normal_"):
        node = arguments.get("mean")
        mean = 0.0 if node is None else _number(evaluate(model, node))
        if mean != 0:
            return None
        if site.function == "trunc_normal_":
            low, high = arguments.get("a"), arguments.get("b")
            low_value = -2.0 if low is None else _number(evaluate(model, low))
            high_value = 2.0 if high is None else _number(evaluate(model, high))
            if low_value is None or high_value is None or low_value >= 0 or high_value <= 0:
                return None
        return "around mean 0"
    low_node, high_node = arguments.get("a"), arguments.get("b")
    if low_node is None or high_node is None:
        return None  # uniform_(w) draws from [0, 1): positive, not centred on 0
    low, high = _number(evaluate(model, low_node)), _number(evaluate(model, high_node))
    if low is not None and high is not None:
        return "from a range centred on 0" if high > 0 and low == -high else None
    if (
        isinstance(low_node, cst.UnaryOperation)
        and isinstance(low_node.operator, cst.Minus)
        and model.code(low_node.expression) == model.code(high_node)
    ):
        return "from a range centred on 0"
    return None
