"""Which activation an init scheme was designed for, and whether that contradicts the one that
follows the layer."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from initlint.semantic.catalog import RELU_FAMILY

if TYPE_CHECKING:
    from initlint.semantic.inits import InitSite

_LINEAR_NAMES = frozenset(
    {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"}
)


def activation_class(name: str | None) -> str | None:
    """relu (the ReLU family), tanh, sigmoid, selu; None for anything else."""
    if name in RELU_FAMILY:
        return "relu"
    if name in ("tanh", "sigmoid", "selu"):
        return name
    return None


def assumed_activation(site: InitSite) -> str | None:
    """The activation class the site's gain was chosen for: relu, tanh, sigmoid, selu or linear."""
    scheme = site.scheme
    if scheme.family not in ("xavier", "orthogonal", "kaiming"):
        return None
    name = scheme.gain_name
    if name is not None:
        if name in ("relu", "leaky_relu"):
            return "relu"
        if name in _LINEAR_NAMES:
            return "linear"
        if name in ("tanh", "sigmoid", "selu"):
            return name
        return None
    gain = scheme.gain
    if gain is None:
        return None
    for value, label in ((1.0, "linear"), (math.sqrt(2.0), "relu"), (5.0 / 3, "tanh"), (0.75, "selu")):
        if math.isclose(gain, value, rel_tol=0.02):
            return label
    return None


def explicitly_named(site: InitSite) -> bool:
    """The activation was named (``nonlinearity=``, ``calculate_gain('...')``), not implied."""
    if site.scheme.family == "kaiming":
        return "nonlinearity" in site.arguments
    return site.scheme.gain_name is not None


def contradicts(assumed: str | None, actual: str | None, named: bool) -> bool:
    if assumed is None or actual is None or actual == "selu":
        return False
    if actual == "relu":
        return assumed in ("linear", "tanh", "sigmoid") or (named and assumed == "selu")
    if actual in ("tanh", "sigmoid"):
        if assumed == "relu":
            return True
        return named and assumed in ("tanh", "sigmoid", "selu") and assumed != actual
    return False
