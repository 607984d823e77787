from __future__ import annotations

import math
from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule, src
from initlint.rules.triggers import INIT_TRIGGER
from initlint.semantic import SemanticModel
from initlint.semantic.catalog import GAIN_NAMES
from initlint.semantic.schemes import SIGNATURES, bind_arguments, canonical
from initlint.semantic.values import UNKNOWN, evaluate

_CHECKED = frozenset({"uniform_", "normal_", "trunc_normal_", "sparse_", "kaiming_uniform_", "kaiming_normal_"})
_SUPPORTED = ", ".join(sorted(GAIN_NAMES))
_DEFAULTS: dict[str, dict[str, object]] = {
    "uniform_": {"a": 0.0, "b": 1.0},
    "normal_": {"mean": 0.0, "std": 1.0},
    "trunc_normal_": {"mean": 0.0, "std": 1.0, "a": -2.0, "b": 2.0},
    "sparse_": {"std": 0.01},
}


def _number(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _fmt(value: float) -> str:
    # Whole numbers without ".0"; `int()` only on finite values (it raises on inf and nan).
    return str(int(value)) if math.isfinite(value) and value == int(value) and abs(value) < 1e15 else repr(value)


class InvalidInitArgument(Rule):
    code = "IL302"
    name = "invalid-init-argument"
    summary = "An nn.init argument that raises or is meaningless (`uniform_(w, 1, 0)`, `std=0`, `nonlinearity='gelu'`)"
    severity = "error"
    triggers = (
        r"\b(?:uniform|normal|trunc_normal|sparse|kaiming_uniform|kaiming_normal|calculate_gain)_?\b",
        INIT_TRIGGER,
    )
    uses_init_aliases = True

    VALID = (
        src("""
            import torch.nn as nn
            nn.init.uniform_(w, -0.1, 0.1)
        """),
        src("""
            import torch.nn as nn
            nn.init.kaiming_normal_(w, mode='fan_out', nonlinearity='relu')
        """),
        src("""
            from torch.nn import init
            init.trunc_normal_(w, std=0.02, a=-0.04, b=0.04)
        """),
        src("""
            from torch.nn.init import calculate_gain
            g = calculate_gain('leaky_relu', 0.2)
        """),
        src("""
            import torch.nn as nn
            nn.init.kaiming_uniform_(w, nonlinearity=act)
        """),
        src("""
            import numpy as np
            x = np.random.uniform(1, 0)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                nn.init.uniform_(w, 0.1, -0.1)
            """)
        ),
        Invalid(
            src("""
                from torch.nn import init
                init.normal_(w, 0.0, 0.0)
            """)
        ),
        Invalid(
            src("""
                import torch.nn.init as I
                I.kaiming_normal_(w, nonlinearity='gelu')
            """)
        ),
        Invalid(
            src("""
                from torch.nn.init import kaiming_uniform_
                kaiming_uniform_(w, mode='fan_avg')
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                g = nn.init.calculate_gain('silu')
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                nn.init.trunc_normal_(w, mean=3.0, std=0.02)
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                nn.init.sparse_(w, sparsity=10)
            """)
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for call in model.nodes(cst.Call):
            name = model.init_function(call.func)
            if name is None:
                continue
            if name == "calculate_gain":
                yield from self._calculate_gain(model, call)
                continue
            function = canonical(name)
            if function not in _CHECKED:
                continue
            arguments = bind_arguments(call, SIGNATURES[function])
            if arguments is None:
                continue
            yield from _check(model, function, arguments)

    def _calculate_gain(self, model: SemanticModel, call: cst.Call) -> Iterator[Report]:
        arguments = bind_arguments(call, ("nonlinearity", "param"), tensor_first=False)
        if arguments is None or "nonlinearity" not in arguments:
            return
        node = arguments["nonlinearity"]
        value = evaluate(model, node)
        if isinstance(value, str) and value not in GAIN_NAMES:
            yield Report(node, _gain_message(f"calculate_gain({value!r})", value))


def _gain_message(where: str, value: str) -> str:
    return (
        f"{where}: torch's calculate_gain does not know {value!r} and raises ValueError "
        f"(it supports {_SUPPORTED}); use the closest supported name (e.g. 'relu' for GELU/SiLU) "
        "or pass a numeric gain"
    )


def _check(model: SemanticModel, function: str, arguments: dict[str, cst.BaseExpression]) -> Iterator[Report]:
    defaults = _DEFAULTS.get(function, {})

    def value(name: str) -> object:
        node = arguments.get(name)
        return defaults.get(name, UNKNOWN) if node is None else evaluate(model, node)

    def number(name: str) -> float | None:
        return _number(value(name))

    def anchor(*names: str) -> cst.CSTNode:
        for name in names:
            if name in arguments:
                return arguments[name]
        return arguments["tensor"]

    def given(*names: str) -> bool:
        return any(name in arguments for name in names)

    if function in ("uniform_", "trunc_normal_"):
        low, high = number("a"), number("b")
        if low is not None and high is not None and low >= high and given("a", "b"):
            consequence = (
                f"the range is empty: torch raises ({function} needs a < b)"
                if low > high
                else "the range is a single point: every element gets the same value"
            )
            yield Report(
                anchor("a", "b"),
                f"{function} with a={_fmt(low)} >= b={_fmt(high)}: {consequence}; pass a < b "
                "(a symmetric range is usually `-bound, bound`)",
            )
    if function in ("normal_", "trunc_normal_", "sparse_") and given("std"):
        std = number("std")
        if std is not None and std <= 0:
            consequence = (
                "a zero std fills every element with the mean: the weights start identical and never break symmetry"
                if std == 0
                else "a negative std raises RuntimeError"
            )
            yield Report(anchor("std"), f"{function} with std={_fmt(std)}: {consequence}; pass a positive std")
    if function == "trunc_normal_" and given("mean", "a", "b"):
        mean, low, high = number("mean"), number("a"), number("b")
        if mean is not None and low is not None and high is not None and low < high and not low <= mean <= high:
            yield Report(
                anchor("mean", "a", "b"),
                f"trunc_normal_ with mean={_fmt(mean)} outside [a, b] = [{_fmt(low)}, {_fmt(high)}]: "
                "the samples pile up at one bound (torch warns); move the bounds around the mean "
                "(e.g. a=mean-2*std, b=mean+2*std)",
            )
    if function == "sparse_" and given("sparsity"):
        sparsity = number("sparsity")
        if sparsity is not None and not 0 <= sparsity <= 1:
            yield Report(
                anchor("sparsity"),
                f"sparse_ with sparsity={_fmt(sparsity)}: it is the fraction of each column set to zero and "
                "must lie in [0, 1]; outside it the zeroed fraction is not the one asked for "
                "(above 1 every entry is zeroed); pass a fraction such as 0.1",
            )
    if function in ("kaiming_uniform_", "kaiming_normal_"):
        mode = value("mode") if given("mode") else UNKNOWN
        if isinstance(mode, str) and mode not in ("fan_in", "fan_out"):
            yield Report(
                arguments["mode"],
                f"{function} with mode={mode!r}: torch accepts only 'fan_in' or 'fan_out' and raises "
                "ValueError; pick the fan whose variance should be preserved",
            )
        nonlinearity = value("nonlinearity") if given("nonlinearity") else UNKNOWN
        if isinstance(nonlinearity, str) and nonlinearity not in GAIN_NAMES:
            yield Report(
                arguments["nonlinearity"], _gain_message(f"{function}(nonlinearity={nonlinearity!r})", nonlinearity)
            )
