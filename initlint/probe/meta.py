"""``initlint probe --meta``: check the init of a model larger than memory.

The model is built on the meta device (shapes, no memory). Then, one module at a time, its own
parameters and buffers are materialized on the CPU (``to_empty(recurse=False)``), initialized by
the module's ``reset_parameters()`` and the model's init for that module (``--init FN``, or a
transformers model's ``_init_weights``), measured (weight statistics and init provenance) and
freed again (back to meta). Peak memory is about the largest single module, not the model.
Activations are not measured: this mode checks weights only.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn

from initlint.probe.api import ALL_CODES, ProbeResult, preserved_rng, resolve_dtype
from initlint.probe.errors import ProbeError
from initlint.probe.measure import fans, weight_of
from initlint.probe.provenance import ParamProvenance, Provenance, Recorder
from initlint.probe.thresholds import Thresholds
from initlint.probe.verdicts import RULE_INFO, Row, RuntimeFinding, expected_stds, guess_scheme

# The measured codes that weights alone decide; the others need a forward pass.
META_CODES = frozenset({"IL606", "IL607", "IL620", "IL621", "IL622", "IL624"})


class MetaStats:
    """Counts what is materialized at once (bytes of parameters and buffers), for the report
    and for tests that prove one module at a time."""

    def __init__(self) -> None:
        self.current = 0
        self.peak = 0
        self.largest_module = ("", 0)
        self.total = 0
        self.modules = 0

    def add(self, name: str, nbytes: int) -> None:
        self.current += nbytes
        self.total += nbytes
        self.modules += 1
        self.peak = max(self.peak, self.current)
        if nbytes > self.largest_module[1]:
            self.largest_module = (name, nbytes)

    def remove(self, nbytes: int) -> None:
        self.current -= nbytes


def _own_tensors(module: nn.Module) -> list[torch.Tensor]:
    return [t for t in (*module._parameters.values(), *module._buffers.values()) if t is not None]


def _module_seed(seed: int, name: str) -> int:
    # each module's draws depend on (seed, its name), not on the order modules are visited
    return (seed * 1_000_003 + zlib.crc32(name.encode())) % 2**63


def _init_module(module: nn.Module, model: nn.Module, init_fn: Callable[[nn.Module], Any] | None) -> None:
    for reset in ("reset_parameters", "_reset_parameters"):
        fn = getattr(module, reset, None)
        if callable(fn):
            fn()
            break
    if init_fn is not None:
        init_fn(module)
    elif callable(getattr(model, "_init_weights", None)):
        model._init_weights(module)  # transformers' per-module init (what post_init applies)


def probe_meta(
    factory: Callable[[], nn.Module],
    *,
    name: str = "model",
    init_fn: Callable[[nn.Module], Any] | None = None,
    seed: int = 0,
    dtype: str = "float32",
    thresholds: Thresholds | None = None,
    codes: frozenset[str] | set[str] = ALL_CODES,
    memory_budget: int | None = None,
    stats: MetaStats | None = None,
) -> ProbeResult:
    """Build ``factory()`` on the meta device and check its init one module at a time.
    ``memory_budget`` (bytes): ProbeError when one module alone needs more."""
    thresholds = thresholds or Thresholds()
    torch_dtype = resolve_dtype(dtype)
    stats = stats or MetaStats()
    with preserved_rng(seed):
        with torch.device("meta"):
            try:
                model = factory()
            except Exception as exc:
                raise ProbeError(f"building {name} on the meta device failed: {type(exc).__name__}: {exc}") from exc
        if not isinstance(model, nn.Module):
            raise ProbeError(f"{name} returned {type(model).__name__}, not a torch.nn.Module")
        rows: list[Row] = []
        params: dict[str, ParamProvenance] = {}
        lost = []
        findings: list[RuntimeFinding] = []
        order = 0
        inside: set[int] = set()  # the parametrizations of a parametrized layer go with the layer
        not_simulated: list[str] = []
        for mname, module in model.named_modules():
            if id(module) in inside:
                continue
            if nn.utils.parametrize.is_parametrized(module):
                # weight_norm & co: a reset after wrapping writes the computed weight, not the
                # originals, so replaying the init here would not be the model's: not simulated
                inside.update(id(m) for m in module.parametrizations.modules())
                not_simulated.append(mname or "(model)")
                continue
            unit = False
            own = _own_tensors(module)
            if not own:
                continue
            label = mname or "(model)"
            nbytes = sum(t.numel() * (torch_dtype.itemsize if t.is_floating_point() else t.element_size()) for t in own)
            if memory_budget is not None and stats.current + nbytes > memory_budget:
                raise ProbeError(
                    f"`{label}` alone needs {nbytes / 2**20:.1f} MiB, over the memory budget of "
                    f"{memory_budget / 2**20:.1f} MiB"
                )
            recorder = Recorder()
            stats.add(label, nbytes)
            try:
                torch.manual_seed(_module_seed(seed, mname))
                with recorder.recording():  # the allocation too: what nothing writes after it is IL620
                    _to_empty(module, "cpu", unit)
                    for key, t in list(module._parameters.items()):
                        if t is not None and t.is_floating_point() and t.dtype != torch_dtype:
                            module._parameters[key] = nn.Parameter(
                                torch.empty_like(t, dtype=torch_dtype), requires_grad=t.requires_grad
                            )
                    try:
                        _init_module(module, model, init_fn)
                    except Exception as exc:
                        raise ProbeError(f"initializing `{label}` raised {type(exc).__name__}: {exc}") from exc
                local = recorder.finish(_Own(module))
                for pname, prov in local.params.items():
                    qname = f"{mname}.{pname}" if mname else pname
                    params[qname] = ParamProvenance(qname, label, prov.status, prov.writer, prov.history)
                lost += local.lost
                row, found = _measure(module, label, order, thresholds, set(codes))
                order += 1
                if row is not None:
                    rows.append(row)
                findings += found
            finally:
                _to_empty(module, "meta", unit)  # free it
                stats.remove(nbytes)
        from initlint.probe.provenance_verdicts import judge_provenance

        provenance = Provenance(params, lost, [], model)
        meta_codes = set(codes) & META_CODES
        extra = judge_provenance(provenance, meta_codes)
        unwritten = {f.layer for f in extra if f.code == "IL620"}
        findings = [f for f in findings if not (f.code == "IL607" and f.layer in unwritten)] + extra
    result = ProbeResult(name, "cpu (meta, one module at a time)", dtype, "none (weights only)", rows, findings,
                         1.0, thresholds, provenance=provenance)  # fmt: skip
    result.extra["meta"] = {
        "modules": stats.modules,
        "materialized_bytes_total": stats.total,
        "materialized_bytes_peak": stats.peak,
        "largest_module": stats.largest_module[0],
        "largest_module_bytes": stats.largest_module[1],
        "not_simulated": not_simulated,
    }
    return result


def _to_empty(module: nn.Module, device: str, unit: bool) -> None:
    module.to_empty(device=device, recurse=False)
    if unit:
        module.parametrizations.to_empty(device=device)


class _Own(nn.Module):
    """A view of one module's own parameters (its children stay on meta) for provenance."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        object.__setattr__(self, "_target", module)

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True) -> Any:  # type: ignore[override]
        own = [(k, p) for k, p in self._target._parameters.items() if p is not None]
        if nn.utils.parametrize.is_parametrized(self._target):
            own += [(f"parametrizations.{k}", p) for k, p in self._target.parametrizations.named_parameters()]
        return iter(own)

    def named_modules(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        yield "", self._target

    def named_buffers(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return iter(())


CHUNK = 1 << 22  # elements (32 MiB per float64 temporary): statistics of a 4 GiB embedding, no 4 GiB copy


def _chunked_stats(t: torch.Tensor) -> tuple[float, float, float, int]:
    """std, mean, largest |x| (inf when NaN/Inf) and denormal count, chunk by chunk (float64 sums)."""
    flat = t.reshape(-1)
    n = flat.numel()
    if n == 0:
        return math.nan, math.nan, 0.0, 0
    tiny = torch.finfo(t.dtype).tiny if t.is_floating_point() else 0.0
    total = squares = 0.0
    largest, denormal = 0.0, 0
    for start in range(0, n, CHUNK):
        chunk = flat[start : start + CHUNK].double()
        total += float(chunk.sum())
        squares += float(chunk.square().sum())
        a = chunk.abs()
        high = float(a.amax())
        largest = math.inf if not math.isfinite(high) else max(largest, high)
        if tiny:
            denormal += int(torch.count_nonzero((a < tiny) & (a > 0)))
    mean = total / n
    var = max(squares / n - mean * mean, 0.0) * n / (n - 1) if n > 1 else math.nan
    if not math.isfinite(total) or not math.isfinite(squares):
        return math.nan, mean, math.inf, denormal
    return math.sqrt(var), mean, largest, denormal


def _measure(
    module: nn.Module, label: str, order: int, t: Thresholds, codes: set[str]
) -> tuple[Row | None, list[RuntimeFinding]]:
    findings: list[RuntimeFinding] = []
    weight = weight_of(module)
    params = [p for p in module._parameters.values() if p is not None and p.is_floating_point()]
    if not params:
        return None, findings
    main = weight if weight is not None else params[0]
    with torch.no_grad():
        std, mean, _, _ = _chunked_stats(main.detach())
        largest, denormal = 0.0, 0
        for p in params:
            _, _, high, tiny = _chunked_stats(p.detach())
            largest, denormal = max(largest, high), denormal + tiny
    kind = "weight" if weight is not None and weight.dim() >= 2 else "other"
    row = Row(label, type(module).__name__, kind, tuple(main.shape), order, order)
    row.weight_std, row.weight_mean = std, mean
    fan = fans(module, main) if kind == "weight" else None
    if fan is not None:
        row.fan_in, row.fan_out = fan
        row.expected_std = expected_stds(*fan)
    row.init_guess = guess_scheme(row.weight_std, row.weight_mean, row.fan_in, row.fan_out, t.scheme_tolerance)
    row.param_largest, row.param_denormal = largest, denormal
    if not math.isfinite(largest):
        row.param_nonfinite = 1
        if "IL606" in codes:
            name, severity = RULE_INFO["IL606"]
            findings.append(
                RuntimeFinding("IL606", name, severity, f"NaN or Inf in the parameters of `{label}`", label)
            )
    elif (largest > t.huge_value or denormal) and "IL607" in codes:
        name, severity = RULE_INFO["IL607"]
        findings.append(
            RuntimeFinding(
                "IL607", name, severity,
                f"parameters of `{label}` look like raw memory (largest |x| {largest:.3g}, {denormal} denormal)",
                label, value=largest, threshold=t.huge_value,
            )
        )  # fmt: skip
    return row, findings


def probe_meta_target(
    target: str,
    *,
    args: list[Any] | None = None,
    kwargs: dict[str, Any] | None = None,
    init: str | None = None,
    verbose: bool = False,
    **options: Any,
) -> ProbeResult:
    """``initlint probe TARGET --meta``."""
    from initlint.probe.target import load_object, missing_arguments, split_spec

    factory = load_object(target, "target", verbose)
    init_fn = load_object(init, "--init", verbose) if init else None
    label = split_spec(target, "target")[1]
    args, kwargs = list(args or []), dict(kwargs or {})
    missing = missing_arguments(factory, args, kwargs)
    if missing:
        raise ProbeError(f"{label} needs arguments: {', '.join(missing)}", hint="pass them with --args/--kwargs")
    return probe_meta(lambda: factory(*args, **kwargs), name=target, init_fn=init_fn, **options)
