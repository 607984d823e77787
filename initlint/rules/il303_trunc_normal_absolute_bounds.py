from __future__ import annotations

from collections.abc import Iterator

from initlint.rules.base import Invalid, Report, Rule, src
from initlint.rules.triggers import INIT_TRIGGER
from initlint.semantic import SemanticModel
from initlint.semantic.values import evaluate

_LIMIT = 0.5  # at std <= 0.5 the default bounds [-2, 2] sit 4 std or more away: nothing is cut


def _fmt(value: float) -> str:
    return f"{value:g}"


class TruncNormalAbsoluteBounds(Rule):
    code = "IL303"
    name = "trunc-normal-absolute-bounds"
    summary = "`trunc_normal_(w, std=0.02)` keeps the absolute bounds a=-2, b=2: nothing is truncated"
    severity = "info"
    tier = "advice"
    default_enabled = False
    triggers = (r"\btrunc_normal", INIT_TRIGGER)
    uses_init_aliases = True

    VALID = (
        src("""
            import torch.nn as nn
            nn.init.trunc_normal_(w, std=0.02, a=-0.04, b=0.04)
        """),
        src("""
            import torch.nn as nn
            nn.init.trunc_normal_(w)
        """),
        src("""
            from torch.nn import init
            init.trunc_normal_(w, std=1.0)
        """),
        src("""
            import torch.nn as nn
            nn.init.trunc_normal_(w, std=s)
        """),
        src("""
            from timm.layers import trunc_normal_
            trunc_normal_(w, std=0.02)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                nn.init.trunc_normal_(w, std=0.02)
            """)
        ),
        Invalid(
            src("""
                from torch.nn import init
                init.trunc_normal_(m.weight, 0.0, 0.2)
            """)
        ),
        Invalid(
            src("""
                from torch.nn.init import trunc_normal_
                trunc_normal_(w, mean=0, std=0.5)
            """)
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for site in model.init_sites:
            if site.function != "trunc_normal_" or not site.scheme.default_bounds:
                continue
            node = site.arguments.get("std")
            if node is None:
                continue
            std = evaluate(model, node)
            if not isinstance(std, (int, float)) or isinstance(std, bool) or not 0 < std <= _LIMIT:
                continue
            yield Report(
                node,
                f"trunc_normal_ with std={_fmt(std)} and the default bounds a=-2, b=2: the bounds are "
                f"absolute, not in units of std, so at {_fmt(2 / std)} std nothing is truncated and this is a "
                f"plain normal_; pass a=-2*std, b=2*std (here a={_fmt(-2 * std)}, b={_fmt(2 * std)}) to "
                "truncate at two standard deviations, or use normal_ if no truncation is meant",
            )
