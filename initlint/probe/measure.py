"""One forward and one backward pass with hooks. Statistics are computed inside the hooks on the
device and kept as device tensors; the host reads them once, at the end. No activation is kept,
and the hooks are removed even when the pass fails."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn as nn

from initlint.probe.errors import ProbeError
from initlint.probe.inputs import ModelInput, describe_value, iter_tensors

ACTIVATIONS: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
    nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Tanh, nn.Sigmoid, nn.Softplus, nn.Softsign, nn.Tanhshrink,
    nn.LogSigmoid, nn.Threshold,
)  # fmt: skip
# Units of these are exactly zero on their negative side, so a unit can be dead over a whole batch.
RELU_FAMILY: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ReLU6, nn.Threshold)
_ACTIVATION_NAME = re.compile(r"(GELU|ReLU|SiLU|Swish|Mish|Tanh|Sigmoid|Activation)$", re.IGNORECASE)
_NORM_NAME = re.compile(r"Norm", re.IGNORECASE)
NORMS: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm,
    *((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ()),
)  # fmt: skip
DROPOUTS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)
CONTAINERS = (nn.Sequential, nn.ModuleList)

# Columns of the per-call activation statistics. A_SATURATED: fraction of a tanh/sigmoid's outputs
# in its flat tails; A_BATCH_SPREAD: largest difference between the first and last sample's
# outputs (0: the layer gives every sample the same output).
A_IN_STD, A_MEAN, A_STD, A_NONFINITE, A_DEAD, A_SATURATED, A_BATCH_SPREAD = range(7)
A_WIDTH = 7
# Columns of the per-layer parameter statistics (P_BIAS_MEAN: the mean of the layer's bias).
P_MEAN, P_STD, P_NONFINITE, P_LARGEST, P_DENORMAL, P_SYMMETRIC, P_BIAS_MEAN = range(7)
P_WIDTH = 7
# Bounded activations: (centre, half range) of the output; saturated beyond 98% of the half range.
SATURATING: dict[str, tuple[float, float]] = {"Tanh": (0.0, 1.0), "Sigmoid": (0.5, 0.5), "Hardtanh": (0.0, 1.0)}
SATURATED_AT = 0.98


def is_activation(module: nn.Module) -> bool:
    if isinstance(module, ACTIVATIONS):
        return True
    return not any(True for _ in module.children()) and bool(_ACTIVATION_NAME.search(type(module).__name__))


def is_relu_family(module: nn.Module) -> bool:
    if isinstance(module, RELU_FAMILY):
        return True
    name = type(module).__name__
    return not isinstance(module, ACTIVATIONS) and name.endswith("ReLU") and not re.search("Leaky|PReLU|RReLU", name)


def is_norm(module: nn.Module) -> bool:
    return isinstance(module, NORMS) or bool(_NORM_NAME.search(type(module).__name__))


def _parametrized(module: nn.Module) -> bool:
    parametrizations = getattr(module, "parametrizations", None)
    return isinstance(parametrizations, nn.ModuleDict) and nn.utils.parametrize.is_parametrized(module)


def own_parameters(module: nn.Module) -> list[nn.Parameter]:
    """A layer's own parameters; for a parametrized layer (parametrizations.weight_norm,
    orthogonal, ...) also the originals its computed weight is made from."""
    own = list(module.parameters(recurse=False))
    if _parametrized(module):
        seen = {id(p) for p in own}
        own += [p for p in module.parametrizations.parameters() if id(p) not in seen]
    return own


def weight_of(module: nn.Module) -> torch.Tensor | None:
    weight = module._parameters.get("weight")
    if isinstance(weight, torch.Tensor):
        return weight
    # A computed weight: a parametrization (a property recomputed on access) or the legacy
    # nn.utils.weight_norm (a plain tensor attribute rebuilt from weight_g/weight_v before each
    # forward). Measure the weight the layer uses, not weight_g's (out, 1).
    if "weight" not in module._parameters and (_parametrized(module) or "weight" in module.__dict__):
        with torch.no_grad():
            computed = getattr(module, "weight", None)
        if isinstance(computed, torch.Tensor) and computed.dim() >= 1:
            return computed
    for param in module.parameters(recurse=False):
        if param.dim() >= 2:
            return param
    return None


def fans(module: nn.Module, weight: torch.Tensor) -> tuple[int, int] | None:
    """fan_in, fan_out as nn.init computes them (transformers' Conv1D stores its weight transposed)."""
    if weight.dim() < 2:
        return None
    receptive = math.prod(weight.shape[2:]) if weight.dim() > 2 else 1
    rows, cols = int(weight.shape[0]), int(weight.shape[1])
    if type(module).__name__ == "Conv1D" and weight.dim() == 2:
        rows, cols = cols, rows
    return cols * receptive, rows * receptive


def _is_weight_layer(module: nn.Module) -> bool:
    """A layer with a weight matrix: a registered ``weight`` (or a computed one), or a leaf module
    whose only matrix is its parameter. A module with children whose own parameters are tokens
    or scales (ViT's cls/pos tokens, ConvNeXt's layer scale (C, 1, 1)) is not one."""
    if "weight" in module._parameters or "weight" in module.__dict__ or _parametrized(module):
        return True
    return not any(True for _ in module.children())


@dataclass
class LayerInfo:
    """What is known about a module on the host, without any sync."""

    name: str
    type: str
    kind: str  # weight | embedding | norm | activation | block | other
    trunk: bool
    relu_family: bool = False
    saturating: tuple[float, float] | None = None  # (centre, half range) of a tanh/sigmoid
    shape: tuple[int, ...] = ()
    fan_in: int | None = None
    fan_out: int | None = None
    param_row: int | None = None  # row in the parameter statistics
    has_grad: bool = False


@dataclass
class CallRecord:
    """One call of a hooked module, in the order calls begin (pre-order)."""

    layer: LayerInfo
    call: int
    order: int
    normalized: bool = False  # its output goes straight into a norm (judged after the norm)
    float_out: bool = False
    finished: int = -1  # position in the order calls end
    positions: int = 1  # output values per output unit: how often a weight layer's weights are used


@dataclass
class Measurement:
    layers: list[LayerInfo]
    calls: list[CallRecord]
    activation: list[list[float]]  # per call: A_* columns
    out_grad: list[list[float]]  # per call: [std, nonfinite]
    params: list[list[float]]  # per parametric layer: P_* columns
    weight_grad: list[list[float]]  # per parametric layer: [std, nonfinite]
    input_std: float | None
    output_nonfinite: float = 0.0
    loss_nonfinite: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    # the model output that the loss reads: its std and batch spread (see A_BATCH_SPREAD)
    output_std: float | None = None
    output_spread: float | None = None
    # per unique parameter: its qualified name and [NaN/Inf present, largest finite |x|, denormals]
    param_names: list[str] = field(default_factory=list)
    param_raw: list[list[float]] = field(default_factory=list)


def classify(model: nn.Module) -> dict[nn.Module, LayerInfo]:
    """The modules worth a row: those with parameters, activations, norms, and the trunk (the
    model's children and the members of Sequential/ModuleList containers: the main path)."""
    trunk: set[int] = {id(m) for m in model.children()}
    for module in model.modules():
        if isinstance(module, CONTAINERS):
            trunk.update(id(m) for m in module.children())
    infos: dict[nn.Module, LayerInfo] = {}
    # The internals of parametrized layers (parametrizations.weight: a ModuleList) compute a
    # weight, not an activation: their parameters belong to the layer, they get no row.
    seen: set[int] = {id(m) for p in model.modules() if _parametrized(p) for m in p.parametrizations.modules()}
    for name, module in model.named_modules():
        if id(module) in seen:
            continue
        seen.add(id(module))
        own_params = own_parameters(module)
        if is_norm(module):
            kind = "norm"
        elif is_activation(module):
            kind = "activation"
        elif isinstance(module, nn.Embedding | nn.EmbeddingBag):
            kind = "embedding"
        elif own_params and weight_of(module) is not None and _is_weight_layer(module):
            kind = "weight"
        elif own_params:
            kind = "other"
        elif id(module) in trunk and not isinstance(module, (*CONTAINERS, *DROPOUTS, nn.Identity)):
            kind = "block"
        else:
            continue
        info = LayerInfo(name or "(model)", type(module).__name__, kind, id(module) in trunk)
        info.relu_family = kind == "activation" and is_relu_family(module)
        if kind == "activation":
            info.saturating = SATURATING.get(type(module).__name__)
        weight = weight_of(module) if own_params else None
        if weight is not None:
            info.shape = tuple(weight.shape)
            fan = fans(module, weight) if kind == "weight" else None
            if fan is not None:
                info.fan_in, info.fan_out = fan
        elif own_params:
            info.shape = tuple(own_params[0].shape)
        infos[module] = info
    return infos


def _first_float(value: Any) -> torch.Tensor | None:
    for tensor in iter_tensors(value):
        if tensor.is_floating_point() or tensor.is_complex():
            return tensor
    return None


def _nan(device: torch.device) -> torch.Tensor:
    return torch.full((), float("nan"), device=device)


def _batch_spread(y: torch.Tensor) -> torch.Tensor:
    """Largest |first sample - last sample| of an output, relative to the output's scale; NaN when
    there is no batch dimension to compare along."""
    if y.dim() < 2 or y.shape[0] < 2:
        return _nan(y.device)
    first, last = _sample(y[0]), _sample(y[-1])  # a strided sample: a logit tensor is 10^7 values
    diff = (first - last).abs().amax()
    scale = torch.maximum(first.abs().amax(), last.abs().amax())
    return torch.where(scale > 0, diff / scale, torch.zeros((), device=y.device))


SAMPLE = 1 << 16


def _finite_largest(p: torch.Tensor) -> float:
    """The largest finite |x| of a parameter that also holds NaN/Inf (raw memory holds both)."""
    a = p.detach().abs().float()
    return float(torch.where(torch.isfinite(a), a, torch.zeros((), device=a.device)).amax())


def _sample(y: torch.Tensor) -> torch.Tensor:
    """At most SAMPLE values of a tensor, evenly strided over all of it (a view where possible)."""
    flat = y.reshape(-1)
    return flat if flat.numel() <= SAMPLE else flat[:: -(-flat.numel() // SAMPLE)]


class Prober:
    """Hooks a model, runs it once forward and backward, and collects device statistics."""

    def __init__(self, model: nn.Module, huge_value: float = 1e10, progress: Callable[[], None] | None = None):
        self.model = model
        self.huge_value = huge_value
        self.progress = progress
        self.infos = classify(model)
        self.layers = list(self.infos.values())
        self.calls: list[CallRecord] = []
        self.act_stats: list[torch.Tensor | None] = []
        self.grad_stats: dict[int, torch.Tensor] = {}
        self._active: dict[int, list[int]] = {}  # module id -> stack of open call indices
        self._call_counts: dict[int, int] = {}
        self._finished = 0
        self._last_leaf: tuple[int, int] | None = None  # (call index, data_ptr of its output)
        self._norm_outputs: set[int] = set()
        self._last_weight_conv = False
        self._handles: list[Any] = []
        self._pending_in: dict[int, torch.Tensor | None] = {}
        self._derived_grads: dict[int, torch.Tensor] = {}  # module id -> grad of its computed weight

    # ---- hooks -------------------------------------------------------------------------
    def _pre(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        info = self.infos[module]
        count = self._call_counts.get(id(module), 0)
        self._call_counts[id(module)] = count + 1
        index = len(self.calls)
        self.calls.append(CallRecord(info, count, index))
        self.act_stats.append(None)
        self._active.setdefault(id(module), []).append(index)
        x = _first_float((args, kwargs))
        in_std = x.detach().float().std() if x is not None and x.numel() > 1 else None
        self._pending_in[index] = in_std
        if info.kind == "norm" and x is not None and self._last_leaf is not None:
            leaf_index, ptr = self._last_leaf
            if x.data_ptr() == ptr:
                self.calls[leaf_index].normalized = True

    def _post(self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> None:
        info = self.infos[module]
        index = self._active[id(module)].pop()
        record = self.calls[index]
        record.finished = self._finished
        self._finished += 1
        in_std = self._pending_in.pop(index, None)
        out = _first_float(output)
        device = out.device if out is not None else (in_std.device if in_std is not None else None)
        if out is None or device is None:
            if self.progress:
                self.progress()
            return
        record.float_out = True
        y = out.detach()
        if info.kind == "weight" and info.shape:
            # a conv's units are its output channels (dim 1), a Linear's the last dim; the gradient
            # of its weight sums over the other output values (batch, positions)
            units = info.shape[1] if info.type == "Conv1D" and len(info.shape) == 2 else info.shape[0]
            if units and y.numel() % units == 0:
                record.positions = max(1, y.numel() // units)
        yf = y.float()
        if yf.numel() > 1:
            std, mean = torch.std_mean(yf)
        else:
            std, mean = _nan(device), yf.reshape(()).clone()
        # NaN/Inf anywhere makes the std NaN: a flag for free instead of another pass over a
        # large activation (an overflow of the float32 sum of squares also shows, as IL602 does).
        nonfinite = (~torch.isfinite(std + mean)).float()
        dead = _nan(device)
        pooled = yf.dim() >= 3 and math.prod(yf.shape[2:]) == 1
        if info.relu_family and yf.dim() >= 2 and not pooled:
            unit_dim = 1 if yf.dim() != 3 or self._last_weight_conv else -1
            units = yf.movedim(unit_dim, -1)
            active = units.reshape(-1, units.shape[-1]).gt(0).any(0)
            dead = 1.0 - active.float().mean()
        saturated = _nan(device)
        if info.saturating is not None:
            centre, half = info.saturating
            saturated = ((yf - centre).abs() > SATURATED_AT * half).float().mean()
        # two samples are enough to see a batch-constant output, at 2/B of the cost of a full pass
        spread = _batch_spread(yf) if info.kind == "weight" else _nan(device)
        self.act_stats[index] = torch.stack(
            [in_std if in_std is not None else _nan(device), mean, std, nonfinite, dead, saturated, spread]
        )
        if info.kind == "weight":
            self._last_weight_conv = isinstance(module, nn.modules.conv._ConvNd)
        if info.kind == "norm":
            self._norm_outputs.add(y.data_ptr())
        elif info.kind in ("block",) or not any(True for _ in module.children()):
            if y.data_ptr() in self._norm_outputs:
                record.normalized = True
        if not any(True for _ in module.children()):
            self._last_leaf = (index, y.data_ptr())
        if out.requires_grad:
            out.register_hook(self._grad_hook(index))
        if self.progress:
            self.progress()

    def _grad_hook(self, index: int) -> Callable[[torch.Tensor], None]:
        def hook(grad: torch.Tensor) -> None:
            g = grad.detach().float()
            std = g.std() if g.numel() > 1 else _nan(g.device)
            self.grad_stats[index] = torch.stack([std, (~torch.isfinite(std)).float()])

        return hook

    # ---- the pass ----------------------------------------------------------------------
    def run(self, inputs: ModelInput, seed: int) -> Measurement:
        # cached(): a parametrized weight is computed once and the same tensor is used by the
        # forward and seen by weight_of, so the gradient of the computed weight can be measured
        with nn.utils.parametrize.cached():
            return self._run(inputs, seed)

    def _run(self, inputs: ModelInput, seed: int) -> Measurement:
        try:
            for module in self.infos:
                self._handles.append(module.register_forward_pre_hook(self._pre, with_kwargs=True))
                self._handles.append(module.register_forward_hook(self._post, with_kwargs=True))
            output = self.model(*inputs.args, **inputs.kwargs)
            outputs = list({id(t): t for t in iter_tensors(output) if t.is_floating_point()}.values())
            if not outputs:
                raise ProbeError(
                    f"the forward returned {describe_value(output)}, with no floating-point tensor to measure "
                    "and backpropagate",
                    hint="return the model's output tensor(s): a tensor, or a tuple/list/dict/dataclass of them",
                )
            device = outputs[0].device if outputs else None
            loss = None
            out_nonfinite = []
            generators: dict[torch.device, torch.Generator] = {}
            output_stats = None
            for tensor in outputs:
                if not tensor.requires_grad:
                    out_nonfinite.append((~torch.isfinite(tensor.detach().float().sum())).float())
                    continue
                generator = generators.get(tensor.device)
                if generator is None:  # made on the output's device: no host-side tensor, no copy
                    generator = generators[tensor.device] = torch.Generator(tensor.device).manual_seed(seed + 1)
                direction = torch.randn(tensor.shape, generator=generator, device=tensor.device)
                # divided by the root of the number of output vectors, not of the elements: the
                # gradient of each logit is then the same for 10 classes or 1000, so a large head
                # does not make the last layers' gradients look small (IL603)
                vectors = tensor.numel() // tensor.shape[-1] if tensor.dim() >= 2 and tensor.shape[-1] else 1
                term = (tensor.float() * direction).sum() / math.sqrt(max(vectors, 1))
                if output_stats is None:
                    out_f = tensor.detach()
                    sampled = _sample(out_f).float()
                    out_std = sampled.std() if sampled.numel() > 1 else _nan(out_f.device)
                    output_stats = torch.stack([out_std, _batch_spread(out_f).float()])
                loss = term if loss is None else loss + term
            del output, outputs
            params, owners = self._parameters()
            grads: list[torch.Tensor | None] = [None] * len(params)
            loss_nonfinite = None
            if loss is not None:
                trainable = [i for i, p in enumerate(params) if p.requires_grad]
                # computed weights (parametrizations, legacy weight_norm) as the forward used them
                derived = [
                    (module, w)
                    for module in self.infos
                    if "weight" not in module._parameters
                    and (w := weight_of(module)) is not None
                    and w.grad_fn is not None
                ]
                wanted = [params[i] for i in trainable] + [w for _, w in derived]
                if wanted:  # all frozen (and an input that requires grad): no backward to run
                    computed = torch.autograd.grad(loss, wanted, allow_unused=True, materialize_grads=False)
                    for i, g in zip(trainable, computed[: len(trainable)], strict=True):
                        grads[i] = g
                    for (module, _), g in zip(derived, computed[len(trainable) :], strict=True):
                        if g is not None:
                            self._derived_grads[id(module)] = g
                loss_nonfinite = (~torch.isfinite(loss.detach())).float()
                del loss
            measurement = self._collect(
                params, owners, grads, out_nonfinite, loss_nonfinite, device, inputs, output_stats
            )
            names = {id(p): n for n, p in self.model.named_parameters(remove_duplicate=False)}
            measurement.param_names = [names.get(id(p), "?") for p in params]
            return measurement
        finally:
            for handle in self._handles:
                handle.remove()
            self._handles.clear()

    def _raw_memory(self, p: torch.Tensor, device: torch.device) -> torch.Tensor:
        """[NaN/Inf present, largest |x|, denormal count] of one parameter, on the device."""
        if not p.is_floating_point() or p.numel() == 0:
            return torch.zeros(3, device=device)
        a = p.abs()
        largest = a.amax().float()  # NaN propagates
        nonfinite = (~torch.isfinite(largest)).float()
        tiny = torch.finfo(p.dtype).tiny
        denormal = torch.count_nonzero((a < tiny) & (a > 0)).float()
        # with NaN/Inf present the largest finite value is computed after the sync (_finite_largest)
        return torch.stack([nonfinite, torch.nan_to_num(largest, nan=0.0), denormal]).to(device)

    def _parameters(self) -> tuple[list[torch.Tensor], list[list[int]]]:
        """Unique parameters, and for each parametric layer the indices of its own parameters."""
        params: list[torch.Tensor] = []
        index_of: dict[int, int] = {}
        owners: list[list[int]] = []
        row = 0
        for module, info in self.infos.items():
            own = own_parameters(module)
            if not own:
                continue
            info.param_row = row
            row += 1
            indices = []
            for p in own:
                if id(p) not in index_of:
                    index_of[id(p)] = len(params)
                    params.append(p)
                indices.append(index_of[id(p)])
            owners.append(indices)
            info.has_grad = any(p.requires_grad for p in own)
        return params, owners

    def _collect(
        self,
        params: list[torch.Tensor],
        owners: list[list[int]],
        grads: list[torch.Tensor | None],
        out_nonfinite: list[torch.Tensor],
        loss_nonfinite: torch.Tensor | None,
        device: torch.device | None,
        inputs: ModelInput,
        output_stats: torch.Tensor | None = None,
    ) -> Measurement:
        if device is None:
            device = params[0].device if params else torch.device("cpu")
        nan = _nan(device)
        modules = [m for m in self.infos if own_parameters(m)]
        raw_cache: dict[int, torch.Tensor] = {}
        # The last weight layer to run is never "hidden" (IL605): skip its symmetry check.
        ran = [r for r in self.calls if r.layer.kind == "weight"]
        last_info = max(ran, key=lambda r: r.order).layer if ran else None
        last_weight = next((m for m, i in self.infos.items() if i is last_info), None)
        param_rows: list[torch.Tensor] = []
        wgrad_rows: list[torch.Tensor] = []
        for module, indices in zip(modules, owners, strict=True):
            info = self.infos[module]
            weight = weight_of(module)
            main = weight if weight is not None else params[indices[0]]
            w = main.detach().float()
            if w.numel() > 1:
                std, mean = torch.std_mean(w)
            else:
                std, mean = nan, w.reshape(-1)[0] if w.numel() else nan
            nonfinite = torch.zeros((), device=w.device)
            huge = torch.zeros((), device=w.device)
            denormal = torch.zeros((), device=w.device)
            for i in indices:
                raw = raw_cache.get(i)
                if raw is None:
                    raw = raw_cache[i] = self._raw_memory(params[i].detach(), w.device)
                nonfinite = nonfinite + raw[0]
                huge = torch.maximum(huge, raw[1])
                denormal = denormal + raw[2]
            symmetric = torch.zeros((), device=w.device)
            if info.kind == "weight" and w.dim() >= 2 and module is not last_weight:
                rows = w.t() if info.type == "Conv1D" and w.dim() == 2 else w
                rows = rows.reshape(rows.shape[0], -1)
                # one value per unit (a (C, 1, 1) scale, a depthwise 1x1) is a scale, not a matrix
                if rows.shape[0] > 1 and rows.shape[1] > 1:
                    high, low = rows.amax(0), rows.amin(0)  # identical rows: every column is constant
                    same = (high - low).abs().amax() == 0
                    symmetric = (same & (torch.maximum(high.abs(), low.abs()).amax() > 0)).float()
            bias = module._parameters.get("bias")
            bias_mean = bias.detach().float().mean() if isinstance(bias, torch.Tensor) and bias.numel() else nan
            param_rows.append(
                torch.stack([mean, std, nonfinite, huge, denormal, symmetric, bias_mean.to(w.device)]).to(device)
            )
            main_index = next((i for i in indices if params[i] is main), None)
            g = grads[main_index] if main_index is not None else self._derived_grads.get(id(module))
            gstd = g.detach().float().std().to(device) if g is not None and g.numel() > 1 else nan
            g_nonfinite = (~torch.isfinite(gstd)).float() if g is not None else torch.zeros((), device=device)
            for i in indices:
                other = grads[i]
                if other is not None and other is not g and other.numel() > 1:
                    g_nonfinite = g_nonfinite + (~torch.isfinite(other.detach().float().sum())).float().to(device)
            wgrad_rows.append(torch.stack([gstd, g_nonfinite]))
        x = _first_float((inputs.args, inputs.kwargs))
        input_std = x.detach().float().std().to(device) if x is not None and x.numel() > 1 else nan
        n = len(self.calls)
        act = [
            s.to(device) if s is not None else torch.full((A_WIDTH,), float("nan"), device=device)
            for s in self.act_stats
        ]
        raw_rows = [
            raw_cache[i] if i in raw_cache else self._raw_memory(p.detach(), device) for i, p in enumerate(params)
        ]
        ograd = [
            self.grad_stats[i].to(device) if i in self.grad_stats else torch.full((2,), float("nan"), device=device)
            for i in range(n)
        ]
        pieces = [
            torch.stack(act).reshape(-1) if act else torch.zeros(0, device=device),
            torch.stack(ograd).reshape(-1) if ograd else torch.zeros(0, device=device),
            torch.stack(param_rows).reshape(-1) if param_rows else torch.zeros(0, device=device),
            torch.stack(wgrad_rows).reshape(-1) if wgrad_rows else torch.zeros(0, device=device),
            input_std.reshape(1),
            (torch.stack(out_nonfinite).sum() if out_nonfinite else torch.zeros((), device=device)).reshape(1),
            (loss_nonfinite if loss_nonfinite is not None else torch.zeros((), device=device)).reshape(1),
            (output_stats.to(device) if output_stats is not None else torch.full((2,), float("nan"), device=device)),
            torch.stack(raw_rows).to(device).reshape(-1) if raw_rows else torch.zeros(0, device=device),
        ]
        flat = torch.cat(pieces).cpu().tolist()  # the one host sync
        self.act_stats.clear()
        self.grad_stats.clear()
        pos = 0

        def take(count: int, width: int) -> list[list[float]]:
            nonlocal pos
            rows = [flat[pos + i * width : pos + (i + 1) * width] for i in range(count)]
            pos += count * width
            return rows

        activation = take(n, A_WIDTH)
        out_grad = take(n, 2)
        params_stats = take(len(param_rows), P_WIDTH)
        weight_grad = take(len(wgrad_rows), 2)
        input_value, output_nonfinite, loss_nf = flat[pos], flat[pos + 1], flat[pos + 2]
        output_std, output_spread = flat[pos + 3], flat[pos + 4]
        pos += 5
        param_raw = take(len(raw_rows), 3)
        for raw, p in zip(param_raw, params, strict=True):
            if raw[0]:  # rare (NaN/Inf in a parameter): a second, small sync for this one
                raw[1] = _finite_largest(p)
        return Measurement(
            self.layers,
            self.calls,
            activation,
            out_grad,
            params_stats,
            weight_grad,
            None if math.isnan(input_value) else input_value,
            output_nonfinite,
            loss_nf,
            output_std=None if math.isnan(output_std) else output_std,
            output_spread=None if math.isnan(output_spread) else output_spread,
            param_raw=param_raw,
        )
