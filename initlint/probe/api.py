"""Running the probe: settle the device and dtype, seed everything (and give the caller's RNG
state back afterwards), switch dropout off, measure, judge."""

from __future__ import annotations

import contextlib
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from initlint.probe.errors import ProbeError
from initlint.probe.inputs import ModelInput
from initlint.probe.thresholds import Thresholds
from initlint.probe.verdicts import Row, RuntimeFinding

MEASURED_CODES = frozenset({f"IL6{i:02d}" for i in range(1, 13)})  # IL601-IL612: initlint.probe.verdicts
# IL620-IL624: init provenance (initlint.probe.provenance_verdicts), only when the build was recorded
PROVENANCE_CODES = frozenset({"IL620", "IL621", "IL622", "IL623", "IL624"})
ALL_CODES = MEASURED_CODES | PROVENANCE_CODES
DTYPES = ("float32", "bfloat16", "float16")


@dataclass
class ProbeResult:
    model: str
    device: str
    dtype: str
    input: str
    rows: list[Row]
    findings: list[RuntimeFinding]
    reference_std: float
    thresholds: Thresholds
    extra: dict[str, Any] = field(default_factory=dict)
    provenance: Any = None  # initlint.probe.provenance.Provenance when the build was recorded
    confirmed: list[dict[str, Any]] = field(default_factory=list)  # static findings confirmed at runtime
    copied: bool = False  # the probe ran on a copy of the caller's model

    @property
    def layers(self) -> list[Row]:
        return self.rows

    @property
    def healthy(self) -> bool:
        return not self.findings

    def assert_healthy(self, fail_on: str = "warning") -> None:
        """Raise AssertionError listing the findings of this severity or worse ("error",
        "warning"); the message is the findings as ``initlint probe`` prints them."""
        rank = {"error": 2, "warning": 1}
        floor = {"error": 2, "warning": 1}.get(fail_on)
        if floor is None:
            raise ValueError(f"fail_on must be 'error' or 'warning', not {fail_on!r}")
        bad = [f for f in self.findings if rank.get(f.severity, 0) >= floor]
        if bad:
            lines = [f"initlint probe: {len(bad)} finding(s) on {self.model}:"]
            for f in bad:
                lines.append(f"{f.code} [{f.severity}] {f.name}: {f.message}")
                if f.suggestion:
                    lines.append(f"    suggestion: {f.suggestion}")
            raise AssertionError("\n".join(lines))

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for f in self.findings:
            counts[f.code] = counts.get(f.code, 0) + 1
        return {
            "layers": len(self.rows),
            "findings": len(self.findings),
            "by_code": dict(sorted(counts.items())),
            "by_severity": {s: sum(1 for f in self.findings if f.severity == s) for s in ("error", "warning")},
            "reference_std": self.reference_std,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "device": self.device,
            "dtype": self.dtype,
            "input": self.input,
            "layers": [r.to_dict() for r in self.rows],
            "findings": [f.to_dict() for f in self.findings],
            "summary": self.summary(),
            **({"provenance": self.provenance.to_dict()} if self.provenance is not None else {}),
            **({"confirmed_at_runtime": self.confirmed} if self.confirmed else {}),
            **({"copied": True} if self.copied else {}),
            **({"meta": self.extra["meta"]} if "meta" in self.extra else {}),
        }


def resolve_device(name: str) -> Any:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ProbeError(f"unknown device {name!r}", hint="use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ProbeError(f"--device {name} asked for, but CUDA is not available", hint="use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ProbeError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s)")
    if device.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ProbeError("--device mps asked for, but MPS is not available", hint="use --device cpu")
    return device


def resolve_dtype(name: str) -> Any:
    import torch

    if name not in DTYPES:
        raise ProbeError(f"unknown dtype {name!r} (one of {', '.join(DTYPES)})")
    return getattr(torch, name)


@contextlib.contextmanager
def preserved_rng(seed: int) -> Iterator[None]:
    """Seed torch (CPU and CUDA), random and numpy; restore the caller's states afterwards."""
    import torch

    cpu = torch.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    py = random.getstate()
    np = sys.modules.get("numpy")
    np_state = np.random.get_state() if np is not None else None
    try:
        torch.manual_seed(seed)  # also seeds every CUDA device
        random.seed(seed)
        if np is not None:
            np.random.seed(seed % 2**32)
        yield
    finally:
        torch.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)
        elif torch.cuda.is_available() and torch.cuda.is_initialized():
            pass  # CUDA was first used inside: nothing of the caller's to restore
        random.setstate(py)
        if np is not None and np_state is not None:
            np.random.set_state(np_state)


@contextlib.contextmanager
def probe_mode(model: Any, mode: str) -> Iterator[None]:
    """train (default) or eval; dropout is switched off either way. Everything is put back."""
    import torch.nn as nn

    from initlint.probe.measure import DROPOUTS

    training = {m: m.training for m in model.modules()}
    saved: list[tuple[Any, str, Any]] = []
    try:
        model.train(mode == "train")
        for module in model.modules():
            if isinstance(module, DROPOUTS):
                saved.append((module, "p", module.p))
                module.p = 0.0
                module.training = False
            elif isinstance(module, nn.MultiheadAttention) and isinstance(module.dropout, float):
                saved.append((module, "dropout", module.dropout))
                module.dropout = 0.0
        yield
    finally:
        for module, attr, value in saved:
            setattr(module, attr, value)
        for module, flag in training.items():
            module.training = flag


def _is_oom(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


def probe_model(
    model: Any,
    inputs: ModelInput | None = None,
    *,
    name: str = "model",
    device: str = "cpu",
    dtype: str = "float32",
    seed: int = 0,
    mode: str = "train",
    thresholds: Thresholds | None = None,
    codes: frozenset[str] | set[str] = ALL_CODES,
    input_shape: tuple[int, ...] | None = None,
    input_fn: Callable[[], Any] | None = None,
    batch: int | None = None,
    progress: bool = False,
    seeded: bool = False,
    provenance: Any = None,
) -> ProbeResult:
    """Probe a built model. ``inputs`` wins over ``input_fn`` and ``input_shape``; none of them:
    inferred. Raises ProbeError for bad input (shape, device, memory)."""
    import torch

    from initlint.probe import inputs as inputs_mod
    from initlint.probe.measure import Prober
    from initlint.probe.verdicts import build_rows, judge

    thresholds = thresholds or Thresholds()
    batch = batch or thresholds.batch
    torch_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype)
    context = contextlib.nullcontext() if seeded else preserved_rng(seed)
    with context:
        inferred = False
        if inputs is None:
            if input_fn is not None:
                try:
                    value = input_fn()
                except Exception as exc:
                    raise ProbeError(f"--input-fn raised: {type(exc).__name__}: {exc}") from exc
                inputs = inputs_mod.from_value(value, "--input-fn")
            elif input_shape is not None:
                inputs = inputs_mod.from_shape(input_shape, torch.float32)
            else:
                inputs = inputs_mod.infer(model, batch, torch.float32)
                inferred = True
        try:
            model.to(device=torch_device, dtype=torch_dtype)
        except Exception as exc:
            if _is_oom(exc):
                raise ProbeError(f"out of memory moving the model to {torch_device}", hint="try --device cpu") from exc
            raise ProbeError(f"cannot move the model to {torch_device}/{dtype}: {exc}") from exc
        attempts = [inputs]
        if inferred:
            attempts += inputs_mod.alternatives(model, inputs, batch, torch.float32)
        bar = _progress_bar(model) if progress else None
        failures: list[str] = []
        last_exc: BaseException | None = None
        measurement = None
        try:
            for attempt in attempts:
                moved = inputs_mod.to_device(attempt, torch_device, torch_dtype)
                lazy = inputs_mod.has_lazy(model)
                prober = None if lazy else Prober(model, thresholds.huge_value, progress=bar.advance if bar else None)
                try:
                    if prober is None:
                        # nn.LazyLinear/LazyConvNd: one dry forward (no grad) on this input sizes
                        # and initializes them; then the probe dtype/device again for the new params
                        with probe_mode(model, mode), torch.no_grad():
                            model(*moved.args, **moved.kwargs)
                        model.to(device=torch_device, dtype=torch_dtype)
                        prober = Prober(model, thresholds.huge_value, progress=bar.advance if bar else None)
                    with probe_mode(model, mode):
                        measurement = prober.run(moved, seed)
                except ProbeError:
                    raise  # already one clear line (a forward that returns no tensor)
                except Exception as exc:
                    if _is_oom(exc):
                        raise ProbeError(
                            "out of memory during the probe", hint="lower --batch or use --device cpu"
                        ) from exc
                    message = str(exc).splitlines()[0] if str(exc) else ""
                    failures.append(f"{attempt.description}: {type(exc).__name__}: {message}")
                    last_exc = exc
                    continue
                inputs = attempt
                break
        finally:
            if bar:
                bar.close()
        if measurement is None:
            where = "inferred input" if inferred else "input"
            raise ProbeError(
                f"the forward/backward pass failed with the {where} {'; '.join(failures)}",
                hint="give --input-shape B,C,... or --input-fn FILE:FN",
            ) from last_exc
        rows, reference = build_rows(measurement, thresholds)
        findings = judge(rows, measurement, thresholds, reference, set(codes))
        if provenance is not None:
            findings = _with_provenance(findings, provenance, set(codes))
    return ProbeResult(
        name, str(torch_device), dtype, inputs.description, rows, findings, reference, thresholds, provenance=provenance
    )


def _with_provenance(findings: list[RuntimeFinding], provenance: Any, codes: set[str]) -> list[RuntimeFinding]:
    """Add IL620-IL624; a layer whose memory provably was never written is one finding (IL620),
    not also IL607 on the values that memory happens to hold."""
    from initlint.probe.provenance_verdicts import judge_provenance

    extra = judge_provenance(provenance, codes)
    unwritten = {f.layer for f in extra if f.code == "IL620"}
    unwritten |= {
        n for f in extra if f.code == "IL620" for n in f.extra.get("parameters") or [f.extra.get("parameter")]
    }
    names = set(getattr(provenance, "params", {}) or {})
    if names and len(unwritten & names) >= 0.8 * len(names):
        # (nearly) the whole model holds raw memory: every measured statistic is its symptom
        return extra
    # IL607 names its parameters (extra["parameters"]); older callers gave the layer
    return [
        f for f in findings if not (f.code == "IL607" and set(f.extra.get("parameters") or [f.layer]) <= unwritten)
    ] + extra


class _Bar:
    """A progress bar on stderr (rich when importable, else a plain counter)."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0
        self._rich: Any = None
        try:
            from rich.console import Console
            from rich.progress import Progress

            self._rich = Progress(console=Console(stderr=True), transient=True)
            self._task = self._rich.add_task("probing", total=total)
            self._rich.start()
        except ImportError:
            self._rich = None

    def advance(self) -> None:
        self.done += 1
        if self._rich is not None:
            self._rich.update(self._task, completed=min(self.done, self.total))
        elif self.done % 50 == 0:
            sys.stderr.write(f"\rprobing: {self.done}/{self.total} modules")
            sys.stderr.flush()

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
        else:
            sys.stderr.write("\r\033[K")


PROGRESS_MIN_MODULES = 100


def _progress_bar(model: Any) -> _Bar | None:
    from initlint.probe.inputs import has_lazy
    from initlint.probe.measure import classify

    if not sys.stderr.isatty() or has_lazy(model):  # lazy layers: not countable before the dry run
        return None
    total = len(classify(model))
    return _Bar(total) if total >= PROGRESS_MIN_MODULES else None


def probe_target(
    target: str,
    *,
    args: list[Any] | None = None,
    kwargs: dict[str, Any] | None = None,
    init: str | None = None,
    input_shape: tuple[int, ...] | None = None,
    input_fn: str | None = None,
    seed: int = 0,
    verbose: bool = False,
    **options: Any,
) -> ProbeResult:
    """Load TARGET (file.py:Name or module:Name), build it (seeded), apply --init, probe it."""
    from initlint.probe.target import build, load_object, split_spec

    factory = load_object(target, "target", verbose)
    init_fn = load_object(init, "--init", verbose) if init else None
    make_input = load_object(input_fn, "--input-fn", verbose) if input_fn else None
    record = options.pop("provenance", True)
    with preserved_rng(seed):
        with _recording(record) as recorder:
            model = build(factory, list(args or []), dict(kwargs or {}), split_spec(target, "target")[1], verbose)
            if init_fn is not None:
                try:
                    model.apply(init_fn)
                except Exception as exc:
                    raise ProbeError(f"--init {init} raised: {type(exc).__name__}: {exc}") from exc
        # mapped now: moving the model to the probe's device/dtype copies every parameter
        provenance = recorder.finish(model) if recorder is not None else None
        result = probe_model(
            model,
            name=target,
            seed=seed,
            input_shape=input_shape,
            input_fn=make_input,
            seeded=True,
            provenance=provenance,
            **options,
        )
    location = split_spec(target, "target")[0]
    if provenance is not None and location.endswith(".py"):
        from initlint.probe.provenance_verdicts import confirm_static

        result.confirmed = confirm_static(result.findings, location)
    return result


@contextlib.contextmanager
def _recording(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from initlint.probe.provenance import recording

    with recording() as recorder:
        yield recorder


# ---- the Python API ----------------------------------------------------------------------
def _codes(select: Any, ignore: Any) -> frozenset[str]:
    def items(value: Any) -> list[str]:
        if value is None:
            return []
        return [value] if isinstance(value, str) else list(value)

    chosen = set(ALL_CODES)
    if select is not None:
        chosen = {c for c in ALL_CODES for s in items(select) if c.startswith(s.upper())}
    for s in items(ignore):
        chosen -= {c for c in ALL_CODES if c.startswith(s.upper())}
    unknown = [s for s in items(select) + items(ignore) if not any(c.startswith(s.upper()) for c in ALL_CODES)]
    if unknown:
        raise ProbeError(f"unknown runtime rule code or prefix: {', '.join(map(repr, unknown))}")
    return frozenset(chosen)


def _needs_copy(model: Any, device: Any, dtype: Any) -> bool:
    from initlint.probe.inputs import has_lazy

    if has_lazy(model):
        return True  # the dry run would materialize the caller's lazy layers
    for t in (*model.parameters(), *model.buffers()):
        if t.device != device or (t.is_floating_point() and t.dtype != dtype):
            return True
    return False


@contextlib.contextmanager
def _restored(model: Any) -> Iterator[None]:
    """Give the caller's model back as it was: buffers (BatchNorm running stats and its batch
    counter), gradients and requires_grad flags. Modes and hooks are put back by the probe."""
    import torch

    buffers = [
        (module, key, b, b.detach().clone())
        for module in model.modules()
        for key, b in module._buffers.items()
        if b is not None
    ]
    params = [(p, p.grad, p.requires_grad) for p in model.parameters()]
    try:
        yield
    finally:
        with torch.no_grad():
            for module, key, original, saved in buffers:
                module._buffers[key] = original
                original.copy_(saved)
        for p, grad, flag in params:
            p.grad = grad
            p.requires_grad_(flag)


def probe(
    model: Any,
    inputs: Any = None,
    *,
    device: str = "auto",
    dtype: str = "float32",
    seed: int = 0,
    mode: str = "train",
    select: Any = None,
    ignore: Any = None,
    thresholds: Thresholds | None = None,
    copy: bool | None = None,
    name: str | None = None,
) -> ProbeResult:
    """Probe a model in a test; ``report.assert_healthy()`` raises AssertionError on findings.

    ``model`` is a built ``nn.Module``, or a function (or class) that builds one: then the probe
    builds it itself and records init provenance (IL620-IL624). ``inputs`` is a tensor, a tuple of
    positional arguments or a dict of keyword arguments (None: inferred as ``initlint probe``
    does). ``device`` defaults to "auto" (CUDA when available), as on the command line.

    A built model is probed in place when it already is on ``device`` in ``dtype`` and has no lazy
    layers, and is given back unchanged: parameters, buffers (BatchNorm running stats), gradients,
    requires_grad, train/eval mode, dropout, hooks and every RNG state. Otherwise the probe runs on
    a deep copy (``report.copied`` is True); ``copy=True`` forces a copy, ``copy=False`` refuses
    one (ProbeError when the model would have to move)."""
    import copy as copy_mod

    import torch.nn as nn

    from initlint.probe import inputs as inputs_mod

    codes = _codes(select, ignore)
    given = inputs_mod.from_value(inputs, "inputs") if inputs is not None else None
    options = {"device": device, "dtype": dtype, "seed": seed, "mode": mode, "thresholds": thresholds, "codes": codes}
    if not isinstance(model, nn.Module):
        if not callable(model):
            raise ProbeError(f"probe() needs an nn.Module or a function that builds one, not {type(model).__name__}")
        from initlint.probe.target import build

        label = name or getattr(model, "__qualname__", type(model).__name__)
        with preserved_rng(seed), _recording(True) as recorder:
            built = build(model, [], {}, label)
        provenance = recorder.finish(built)
        return probe_model(built, given, name=label, provenance=provenance, **options)
    label = name or type(model).__name__
    torch_device, torch_dtype = resolve_device(device), resolve_dtype(dtype)
    must_copy = _needs_copy(model, torch_device, torch_dtype)
    if copy is False and must_copy:
        raise ProbeError(
            f"probing {label} needs a copy (it is not on {torch_device} in {dtype}, or has lazy layers)",
            hint="pass copy=None or move the model first",
        )
    if copy or must_copy:
        try:
            clone = copy_mod.deepcopy(model)
        except Exception as exc:
            raise ProbeError(f"cannot copy {label} ({type(exc).__name__}: {exc})", hint="move it first") from exc
        result = probe_model(clone, given, name=label, **options)
        result.copied = True
        return result
    with _restored(model):
        return probe_model(model, given, name=label, **options)
