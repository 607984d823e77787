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

ALL_CODES = frozenset({"IL601", "IL602", "IL603", "IL604", "IL605", "IL606", "IL607"})
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
    return ProbeResult(name, str(torch_device), dtype, inputs.description, rows, findings, reference, thresholds)


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
    with preserved_rng(seed):
        model = build(factory, list(args or []), dict(kwargs or {}), split_spec(target, "target")[1], verbose)
        if init_fn is not None:
            try:
                model.apply(init_fn)
            except Exception as exc:
                raise ProbeError(f"--init {init} raised: {type(exc).__name__}: {exc}") from exc
        return probe_model(
            model,
            name=target,
            seed=seed,
            input_shape=input_shape,
            input_fn=make_input,
            seeded=True,
            **options,
        )
