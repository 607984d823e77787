"""Facts about torch.nn.init functions that the static analysis needs (no torch import)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from initlint._lazy import cst
from initlint.semantic.catalog import gain_of
from initlint.semantic.values import UNKNOWN, calculate_gain_value, evaluate, gain_arguments

if TYPE_CHECKING:
    from initlint.semantic.model import SemanticModel

# Spelled without the underscore: deprecated since PyTorch 0.4, they warn on every call.
DEPRECATED_ALIASES = frozenset(
    {
        "normal",
        "uniform",
        "constant",
        "eye",
        "dirac",
        "xavier_uniform",
        "xavier_normal",
        "kaiming_uniform",
        "kaiming_normal",
        "orthogonal",
        "sparse",
    }
)
INIT_FUNCTIONS = (
    frozenset(
        {
            "calculate_gain",
            "uniform_",
            "normal_",
            "trunc_normal_",
            "constant_",
            "ones_",
            "zeros_",
            "eye_",
            "dirac_",
            "xavier_uniform_",
            "xavier_normal_",
            "kaiming_uniform_",
            "kaiming_normal_",
            "orthogonal_",
            "sparse_",
        }
    )
    | DEPRECATED_ALIASES
)

# Parameters after the tensor, in order, for each init function (deprecated aliases share them).
SIGNATURES: dict[str, tuple[str, ...]] = {
    "uniform_": ("a", "b", "generator"),
    "normal_": ("mean", "std", "generator"),
    "trunc_normal_": ("mean", "std", "a", "b", "generator"),
    "constant_": ("val",),
    "ones_": (),
    "zeros_": (),
    "eye_": (),
    "dirac_": ("groups",),
    "xavier_uniform_": ("gain", "generator"),
    "xavier_normal_": ("gain", "generator"),
    "kaiming_uniform_": ("a", "mode", "nonlinearity", "generator"),
    "kaiming_normal_": ("a", "mode", "nonlinearity", "generator"),
    "orthogonal_": ("gain", "generator"),
    "sparse_": ("sparsity", "std", "generator"),
}
# In-place tensor methods that initialize, mapped to the nn.init function they behave like.
TENSOR_METHODS: dict[str, tuple[str, tuple[str, ...]]] = {
    "normal_": ("normal_", ("mean", "std", "generator")),
    "uniform_": ("uniform_", ("a", "b", "generator")),  # Tensor.uniform_(from, to)
    "fill_": ("constant_", ("val",)),
    "zero_": ("zeros_", ()),
}


def canonical(function: str) -> str:
    """The underscore form of a deprecated alias (``normal`` -> ``normal_``)."""
    return function if function.endswith("_") or function == "calculate_gain" else function + "_"


def bind_arguments(
    call: cst.Call, parameters: tuple[str, ...], *, tensor_first: bool = True
) -> dict[str, cst.BaseExpression] | None:
    """Argument expressions by parameter name (``tensor`` first when ``tensor_first``); None when
    the call uses ``*args``/``**kwargs`` or names an unknown parameter."""
    names = (("tensor",) if tensor_first else ()) + parameters
    bound: dict[str, cst.BaseExpression] = {}
    position = 0
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is None:
            if position >= len(names):
                return None
            bound[names[position]] = arg.value
            position += 1
        else:
            keyword = arg.keyword.value
            if keyword == "value" and "val" in names:  # Tensor.fill_(value=...)
                keyword = "val"
            if keyword not in names:
                return None
            bound[keyword] = arg.value
    return bound


@dataclass(frozen=True)
class Scheme:
    """The scale an init call implies. Fields are None where the call leaves them unknown."""

    function: str  # nn.init name, e.g. "xavier_normal_"
    # xavier | kaiming | orthogonal | normal | trunc_normal | uniform | constant | zeros | ones | eye | dirac | sparse
    family: str
    gain: float | None = None  # xavier / orthogonal (and kaiming's implied gain)
    gain_name: str | None = None  # the calculate_gain / nonlinearity name it was given
    gain_param: float | None = None
    mode: str | None = None
    a: float | None = None
    mean: float | None = None
    std: float | None = None  # normal / trunc_normal / uniform (as a std)
    low: float | None = None  # uniform bounds, or trunc_normal's a
    high: float | None = None
    value: float | None = None  # constant
    default_bounds: bool = False  # trunc_normal_ without a/b

    @property
    def assumed_gain(self) -> float | None:
        """The activation gain the scheme was designed for (xavier/orthogonal/kaiming)."""
        return self.gain

    @property
    def fixed_scale(self) -> bool:
        return self.family in ("normal", "trunc_normal", "uniform")


def _number(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def parse_scheme(
    model: SemanticModel,
    function: str,
    arguments: dict[str, cst.BaseExpression],
    names: dict[str, object] | None = None,
) -> Scheme:
    function = canonical(function)

    def value(name: str) -> object:
        node = arguments.get(name)
        return UNKNOWN if node is None else evaluate(model, node, names)

    def number(name: str, default: float | None) -> float | None:
        if name not in arguments:
            return default
        return _number(value(name))

    if function in ("xavier_uniform_", "xavier_normal_", "orthogonal_"):
        family = "orthogonal" if function == "orthogonal_" else "xavier"
        gain_node = arguments.get("gain")
        gain_name = None
        gain_param = None
        if gain_node is None:
            gain = 1.0
        elif isinstance(gain_node, cst.Call) and model.init_function(gain_node.func) == "calculate_gain":
            name, param = gain_arguments(model, gain_node, names)
            gain_name = name if isinstance(name, str) else None
            gain_param = _number(param)
            gain = _number(calculate_gain_value(model, gain_node, names))
        else:
            gain = _number(value("gain"))
        return Scheme(function, family, gain=gain, gain_name=gain_name, gain_param=gain_param)
    if function in ("kaiming_uniform_", "kaiming_normal_"):
        a = number("a", 0.0)
        mode = value("mode") if "mode" in arguments else "fan_in"
        nonlinearity = value("nonlinearity") if "nonlinearity" in arguments else "leaky_relu"
        nonlinearity = nonlinearity if isinstance(nonlinearity, str) else None
        gain = None
        if nonlinearity is not None and a is not None:
            gain = gain_of(nonlinearity, a if nonlinearity == "leaky_relu" else None)
        return Scheme(
            function, "kaiming", gain=gain, gain_name=nonlinearity, gain_param=a,
            mode=mode if isinstance(mode, str) else None, a=a,
        )  # fmt: skip
    if function == "normal_":
        return Scheme(function, "normal", mean=number("mean", 0.0), std=number("std", 1.0))
    if function == "trunc_normal_":
        return Scheme(
            function, "trunc_normal", mean=number("mean", 0.0), std=number("std", 1.0),
            low=number("a", -2.0), high=number("b", 2.0),
            default_bounds="a" not in arguments and "b" not in arguments,
        )  # fmt: skip
    if function == "uniform_":
        low, high = number("a", 0.0), number("b", 1.0)
        std = (high - low) / math.sqrt(12) if low is not None and high is not None else None
        mean = (high + low) / 2 if low is not None and high is not None else None
        return Scheme(function, "uniform", low=low, high=high, std=std, mean=mean)
    if function == "constant_":
        return Scheme(function, "constant", value=number("val", None))
    if function == "zeros_":
        return Scheme(function, "zeros", value=0.0)
    if function == "ones_":
        return Scheme(function, "ones", value=1.0)
    if function == "sparse_":
        return Scheme(function, "sparse", std=number("std", 0.01))
    return Scheme(function, function.rstrip("_"))
