"""What the static analysis knows about torch.nn layer classes, activations and init
functions (no torch import: these are facts from the torch docs)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Category = Literal["linear", "conv", "embedding", "rnn", "norm", "activation", "dropout", "pool", "container", "other"]


@dataclass(frozen=True)
class LayerKind:
    category: Category
    weight_rank: int | None = None  # rank of .weight; None: no weight or unknown
    has_bias: bool = True  # has a `bias` constructor argument / attribute
    in_arg: tuple[int, str] | None = None  # (position, keyword) of the input width
    out_arg: tuple[int, str] | None = None
    kernel_arg: tuple[int, str] | None = None
    spatial: int = 0  # N of ConvNd
    transposed: bool = False
    positional: tuple[str, ...] = ()  # names of other positional constructor arguments, in order


_LINEAR = LayerKind("linear", 2, True, (0, "in_features"), (1, "out_features"))
_NORM = LayerKind("norm", 1, True, positional=("num_features", "eps"))
_DROPOUT = LayerKind("dropout", None, False, positional=("p", "inplace"))


def _conv(n: int, transposed: bool = False) -> LayerKind:
    return LayerKind("conv", n + 2, True, (0, "in_channels"), (1, "out_channels"), (2, "kernel_size"), n, transposed)


LAYERS: dict[str, LayerKind] = {
    "Linear": _LINEAR,
    "LazyLinear": LayerKind("linear", 2, True, None, (0, "out_features")),
    "Bilinear": LayerKind("linear", 3, True, None, (2, "out_features")),
    "Conv1d": _conv(1), "Conv2d": _conv(2), "Conv3d": _conv(3),
    "ConvTranspose1d": _conv(1, True), "ConvTranspose2d": _conv(2, True), "ConvTranspose3d": _conv(3, True),
    "Embedding": LayerKind("embedding", 2, False, (0, "num_embeddings"), (1, "embedding_dim")),
    "EmbeddingBag": LayerKind("embedding", 2, False, (0, "num_embeddings"), (1, "embedding_dim")),
    "LSTM": LayerKind("rnn", None, True), "GRU": LayerKind("rnn", None, True), "RNN": LayerKind("rnn", None, True),
    "LSTMCell": LayerKind("rnn", None, True), "GRUCell": LayerKind("rnn", None, True),
    "RNNCell": LayerKind("rnn", None, True),
    "BatchNorm1d": _NORM, "BatchNorm2d": _NORM, "BatchNorm3d": _NORM, "SyncBatchNorm": _NORM,
    "LayerNorm": LayerKind("norm", 1, True, positional=("normalized_shape", "eps", "elementwise_affine")),
    "GroupNorm": LayerKind("norm", 1, True, positional=("num_groups", "num_channels", "eps", "affine")),
    "RMSNorm": LayerKind("norm", 1, False, positional=("normalized_shape", "eps", "elementwise_affine")),
    "InstanceNorm1d": _NORM, "InstanceNorm2d": _NORM, "InstanceNorm3d": _NORM,
    "LocalResponseNorm": LayerKind("norm", None, False),
    "Dropout": _DROPOUT, "Dropout1d": _DROPOUT,
    "Dropout2d": _DROPOUT, "Dropout3d": _DROPOUT,
    "AlphaDropout": _DROPOUT, "FeatureAlphaDropout": _DROPOUT,
    "Identity": LayerKind("dropout", None, False),  # passes its input through, like eval-mode dropout
    "Sequential": LayerKind("container", None, False), "ModuleList": LayerKind("container", None, False),
    "ModuleDict": LayerKind("container", None, False),
}  # fmt: skip
for _pool in (
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
    "Flatten", "Unflatten", "Upsample", "PixelShuffle", "ZeroPad2d", "ConstantPad2d", "ReflectionPad2d",
):  # fmt: skip
    LAYERS[_pool] = LayerKind("pool", None, False)

# Activation modules -> the activation's canonical name (as F.* / calculate_gain spell it).
ACTIVATION_MODULES: dict[str, str] = {
    "ReLU": "relu", "ReLU6": "relu6", "LeakyReLU": "leaky_relu", "PReLU": "prelu", "RReLU": "rrelu",
    "ELU": "elu", "CELU": "celu", "SELU": "selu", "GELU": "gelu", "SiLU": "silu", "Mish": "mish",
    "Hardswish": "hardswish", "Softplus": "softplus", "Tanh": "tanh", "Sigmoid": "sigmoid",
    "Hardtanh": "hardtanh", "Hardsigmoid": "hardsigmoid", "Softsign": "softsign",
}  # fmt: skip
_ACTIVATION_POSITIONAL = {
    "LeakyReLU": ("negative_slope",),
    "ELU": ("alpha",),
    "CELU": ("alpha",),
    "PReLU": ("num_parameters",),
}
for _name in ACTIVATION_MODULES:
    LAYERS[_name] = LayerKind(
        "activation", 1 if _name == "PReLU" else None, False, positional=_ACTIVATION_POSITIONAL.get(_name, ())
    )

# Functional activations: F.<name>, torch.<name>, tensor.<name>() (and the in-place `_` forms).
FUNCTIONAL_ACTIVATIONS = frozenset(
    {"relu", "relu6", "leaky_relu", "prelu", "rrelu", "elu", "celu", "selu", "gelu", "silu", "mish",
     "hardswish", "softplus", "tanh", "sigmoid", "hardtanh", "hardsigmoid", "softsign"}
)  # fmt: skip
TENSOR_METHOD_ACTIVATIONS = frozenset({"relu", "tanh", "sigmoid", "relu_", "tanh_", "sigmoid_"})
FUNCTIONAL_DROPOUT = frozenset(
    {"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"}
)
FUNCTIONAL_NORMS = frozenset({"layer_norm", "batch_norm", "group_norm", "instance_norm", "rms_norm", "normalize"})
FUNCTIONAL_POOLS = frozenset(
    {"max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
     "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool2d", "interpolate", "pad", "flatten"}
)  # fmt: skip

# Activations whose second moment is about half the input's (the ReLU family): Kaiming's gain.
RELU_FAMILY = frozenset(
    {"relu", "relu6", "leaky_relu", "prelu", "rrelu", "elu", "celu", "gelu", "silu", "mish", "hardswish", "softplus"}
)  # fmt: skip
SATURATING = frozenset({"tanh", "sigmoid", "hardtanh", "hardsigmoid", "softsign"})

# torch.nn.init.calculate_gain: the only names it accepts, and their gains.
GAIN_NAMES = frozenset(
    {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
     "sigmoid", "tanh", "relu", "leaky_relu", "selu"}
)  # fmt: skip


def gain_of(name: str, param: float | None = None) -> float | None:
    """torch.nn.init.calculate_gain, for the names it supports."""
    if name in ("linear", "sigmoid") or name.startswith(("conv", "conv_transpose")):
        return 1.0
    if name == "tanh":
        return 5.0 / 3
    if name == "relu":
        return math.sqrt(2.0)
    if name == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if name == "selu":
        return 3.0 / 4
    return None


def activation_gain(name: str) -> float:
    """The gain an init should use before this activation."""
    if name in RELU_FAMILY:
        return math.sqrt(2.0)
    if name == "tanh":
        return 5.0 / 3
    return 1.0
