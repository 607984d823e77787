"""The input of the probed forward pass: given (``--input-shape``, ``--input-fn``) or inferred
from the first parametric layer."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from initlint.probe.errors import ProbeError


@dataclass
class ModelInput:
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def tensors(self) -> list[Any]:
        return [t for t in iter_tensors((self.args, self.kwargs))]


def iter_tensors(value: Any) -> Any:
    """Every tensor in a (nested) tuple, list, dict, ModelOutput (a dict) or dataclass instance."""
    import torch

    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_tensors(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from iter_tensors(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        # a model returning a plain @dataclass: its tensors are in its fields
        for f in dataclasses.fields(value):
            yield from iter_tensors(getattr(value, f.name, None))


def has_lazy(model: Any) -> bool:
    """Whether the model still has uninitialized (lazy) parameters or buffers (nn.LazyLinear, ...)."""
    from torch.nn.parameter import is_lazy

    return any(is_lazy(t) for t in (*model.parameters(), *model.buffers()))


def describe_value(value: Any) -> str:
    """dtype[shape] of a tensor; a container of tensors as "dict of float32[8,4], ..."; else the type name."""
    import torch

    if isinstance(value, torch.Tensor):
        return f"{str(value.dtype).removeprefix('torch.')}[{','.join(map(str, value.shape))}]"
    tensors = list(iter_tensors(value)) if not isinstance(value, str) else []
    if tensors:
        return f"{type(value).__name__} of {', '.join(describe_value(t) for t in tensors[:4])}" + (
            ", ..." if len(tensors) > 4 else ""
        )
    return type(value).__name__


def describe(inputs: ModelInput) -> str:
    import torch

    def one(value: Any) -> str:
        return describe_value(value) if isinstance(value, torch.Tensor) else type(value).__name__

    parts = [one(a) for a in inputs.args] + [f"{k}={one(v)}" for k, v in inputs.kwargs.items()]
    return ", ".join(parts)


def parse_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(",") if part.strip())
    except ValueError:
        raise ProbeError(f"--input-shape {text!r} is not a comma-separated list of integers") from None
    if not shape or any(n <= 0 for n in shape):
        raise ProbeError(f"--input-shape {text!r} must list positive sizes")
    return shape


def from_value(value: Any, label: str) -> ModelInput:
    """What an --input-fn returned: a tensor, a tuple/list of positional args, or a dict of kwargs."""
    import torch

    if isinstance(value, torch.Tensor):
        result = ModelInput((value,))
    elif isinstance(value, tuple | list):
        result = ModelInput(tuple(value))
    elif isinstance(value, dict):
        result = ModelInput((), dict(value))
    else:
        raise ProbeError(
            f"{label} returned {type(value).__name__}; expected a tensor, a tuple of args or a dict of kwargs"
        )
    result.description = describe(result)
    return result


def first_parametric_layer(model: Any) -> Any:
    import torch.nn as nn

    for module in model.modules():
        if isinstance(module, nn.Linear | nn.Bilinear | nn.Embedding | nn.EmbeddingBag | nn.modules.conv._ConvNd):
            return module
        if any(True for _ in module.parameters(recurse=False)) and not any(True for _ in module.children()):
            # an unknown leaf layer with parameters comes first (not a norm): nothing to infer from
            if not isinstance(module, nn.modules.batchnorm._NormBase | nn.LayerNorm | nn.GroupNorm):
                return module
    return None


def infer(model: Any, batch: int, dtype: Any) -> ModelInput:
    """A standard-normal batch shaped for the first parametric layer (integer tokens for an
    embedding); ProbeError when nothing tells the shape."""
    import torch
    import torch.nn as nn

    layer = first_parametric_layer(model)
    if layer is not None and has_lazy(layer):
        # LazyLinear/LazyConvNd know their input size only after a forward: nothing to infer from
        raise ProbeError(
            f"cannot infer the input of this model: its first layer is a lazy {type(layer).__name__}",
            hint="give --input-shape B,... or --input-fn FILE:FN; lazy layers are materialized by a dry run on it",
        )
    if isinstance(layer, nn.Embedding | nn.EmbeddingBag):
        tokens = torch.randint(0, layer.num_embeddings, (batch, 32))
        result = ModelInput((tokens,))
    elif isinstance(layer, nn.Linear):
        result = ModelInput((torch.randn(batch, layer.in_features, dtype=dtype),))
    elif isinstance(layer, nn.Bilinear):
        result = ModelInput(
            (torch.randn(batch, layer.in1_features, dtype=dtype), torch.randn(batch, layer.in2_features, dtype=dtype))
        )
    elif isinstance(layer, nn.modules.conv._ConvNd):
        spatial = (32,) * len(layer.kernel_size)
        result = ModelInput((torch.randn(batch, layer.in_channels, *spatial, dtype=dtype),))
    else:
        found = type(layer).__name__ if layer is not None else "no parametric layer"
        raise ProbeError(
            f"cannot infer the input of this model (first layer: {found})",
            hint="give --input-shape B,C,... or --input-fn FILE:FN",
        )
    result.description = describe(result)
    return result


def alternatives(model: Any, first: ModelInput, batch: int, dtype: Any) -> list[ModelInput]:
    """Other plausible inputs when the inferred one fails: a Linear-first model that works on
    token sequences gets (B, 16, in_features)."""
    import torch
    import torch.nn as nn

    layer = first_parametric_layer(model)
    if isinstance(layer, nn.Linear):
        result = ModelInput((torch.randn(batch, 16, layer.in_features, dtype=dtype),))
        result.description = describe(result)
        return [result]
    return []


def from_shape(shape: tuple[int, ...], dtype: Any) -> ModelInput:
    import torch

    result = ModelInput((torch.randn(*shape, dtype=dtype),))
    result.description = describe(result)
    return result


def to_device(inputs: ModelInput, device: Any, dtype: Any) -> ModelInput:
    """Floating tensors move to the device and the probe dtype; integer tensors only move."""
    import torch

    def move(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return value.to(device=device, dtype=dtype) if value.is_floating_point() else value.to(device)
        if isinstance(value, dict):
            return {k: move(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(move(v) for v in value)
        return value

    return ModelInput(tuple(move(a) for a in inputs.args), move(inputs.kwargs), inputs.description)
