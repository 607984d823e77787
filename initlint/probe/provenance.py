"""Init provenance: which code wrote each parameter's values while the model was built and
initialized.

A ``TorchFunctionMode`` sees every torch call made while the model is built (and while the
user's init runs): allocations of uninitialized memory (``torch.empty``, ``empty_like`` of
``to_empty()``), in-place writes (``nn.init.*``, ``normal_``, ``fill_``, ``copy_``,
``__setitem__``) and tensors created with values (``torch.randn(...) * 0.02``). Each event keeps
the byte range it touched, the op, whether it ran inside a PyTorch module's own
``reset_parameters`` (the constructor's default) and the file:line of the first frame outside
torch (the user's code). At the end the ranges are mapped to the parameters that own them.

Nothing of the user's tensors is kept: events hold addresses and code objects, not tensors or
frames. Only this module and the probe import torch.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import sys
import sysconfig
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import CodeType
from typing import Any

import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode

_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
_INITLINT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_THIS_FILE = os.path.abspath(__file__)
_STDLIB_SKIP = (os.sep + "contextlib.py", os.sep + "functools.py")
_STDLIB_DIR = sysconfig.get_paths()["stdlib"] + os.sep  # copy.deepcopy & co: never "the user's code"
# Ops that copy a tensor's values (deepcopy calls clone): the copy has its source's provenance.
_COPY_OPS = frozenset({"clone", "contiguous", "to", "_to_copy", "cpu", "cuda", "float", "double", "half", "bfloat16"})
# Frames of PyTorch's own modules that fill a layer at construction: the default init.
_DEFAULT_FUNCS = frozenset(
    {"reset_parameters", "_reset_parameters", "__init__", "_fill_padding_idx_with_zero", "reset_running_stats",
     "initialize_parameters"}
)  # fmt: skip
_ALLOC_OPS = frozenset({"empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided"})
# Methods ending in "_" that do not write values.
_NOT_WRITES = frozenset(
    {"requires_grad_", "share_memory_", "detach_", "retain_grad", "rename_", "set_", "resize_", "resize_as_",
     "as_strided_", "squeeze_", "unsqueeze_", "transpose_", "t_", "swapdims_", "swapaxes_", "record_stream"}
)  # fmt: skip
_WRITE_DUNDERS = frozenset(
    {"__setitem__", "__iadd__", "__isub__", "__imul__", "__itruediv__", "__ifloordiv__", "__imod__", "__ipow__",
     "__iand__", "__ior__", "__ixor__", "__ilshift__", "__irshift__"}
)  # fmt: skip
# Code of PyTorch that computes a weight from parameters (weight_norm, parametrizations).
_INIT_FILE = os.path.join("nn", "init.py")
_COMPUTED_FILES = ("parametrize.py", "weight_norm.py", "parametrizations.py", "spectral_norm.py")
MAX_CHAIN = 12
_DEBUG = bool(os.environ.get("INITLINT_PROVENANCE_DEBUG"))


@dataclass(frozen=True)
class Event:
    seq: int
    kind: str  # alloc | created | write
    op: str  # the torch op or nn.init function
    lo: int  # byte range touched
    hi: int
    default: bool  # ran inside a PyTorch module's own constructor / reset_parameters
    location: str | None  # file:line of the first frame outside torch
    function: str | None  # the function of that frame
    chain: tuple[CodeType, ...] = ()  # code objects of the frames outside torch, innermost first
    computed: bool = False  # wrote a weight computed from parameters (weight_norm, parametrization)
    to_empty: bool = False  # an allocation of Module.to_empty()
    shape: tuple[int, ...] = ()

    def describe(self) -> str:
        where = f" at {self.location}" if self.location else ""
        if self.kind == "alloc":
            return f"{'to_empty()' if self.to_empty else self.op} (uninitialized){where}"
        return f"{self.op}{' (default)' if self.default else ''}{where}"


@dataclass
class ApplyCall:
    fn: Any
    root: nn.Module
    before: frozenset[int]  # ids of the modules under root when apply ran
    location: str | None = None  # where .apply was called


@dataclass
class ParamProvenance:
    name: str  # qualified parameter name
    layer: str  # the owning module's name ("(model)" for the root)
    status: str  # default | custom | uninitialized | unknown | lazy | meta
    writer: Event | None  # the last write (or the allocation, when uninitialized)
    history: list[Event] = field(default_factory=list)  # since the last allocation

    def source(self) -> str:
        if self.writer is None:
            return {"lazy": "lazy (set at first forward)", "meta": "meta (no memory)"}.get(self.status, "unknown")
        return self.writer.describe()

    def to_dict(self) -> dict[str, Any]:
        return {
            "parameter": self.name,
            "layer": self.layer,
            "status": self.status,
            "op": self.writer.op if self.writer else None,
            "location": self.writer.location if self.writer else None,
            "default": bool(self.writer and self.writer.default),
            "history": [e.describe() for e in self.history],
        }


def _tensor_range(t: torch.Tensor) -> tuple[int, int] | None:
    if t.device.type == "meta" or t.numel() == 0:
        return None
    try:
        lo = t.data_ptr()
    except RuntimeError:  # tensors without storage (some subclasses)
        return None
    if lo == 0:
        return None
    return lo, lo + t.numel() * t.element_size()


class Recorder(TorchFunctionMode):
    """Records allocations and writes while active; ``finish(model)`` maps them to parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Event] = []
        self.applies: list[ApplyCall] = []
        self._computed: set[int] = set()  # start addresses of computed weights
        self._seq = 0
        self._last: dict[int, Event] = {}  # start address -> the latest event there
        self.failures = 0  # events that could not be recorded (never raised to the user)

    # ---- recording -------------------------------------------------------------------
    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        name = getattr(func, "__name__", "")
        if name in ("dim", "size", "device", "_set_grad_enabled", "numel", "is_floating_point"):
            return out  # the common metadata calls: nothing to record
        try:
            self._record(func, name, args, kwargs or {}, out)
        except Exception:  # recording must never change what the user's code does
            self.failures += 1
            if _DEBUG:
                raise
        return out

    def _record(self, func: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> None:
        module = getattr(func, "__module__", None)
        if name == "__get__":
            owner = getattr(func, "__self__", None)
            if getattr(owner, "__name__", "") == "data" and args and isinstance(args[0], torch.Tensor):
                if args[0].grad_fn is not None and isinstance(out, torch.Tensor):
                    r = _tensor_range(out)
                    if r:
                        self._computed.add(r[0])
            return
        if name == "__set__":
            return  # `p.data = t`: the values are t's, recorded where t was created
        if module == "torch.nn.init" and name.endswith("_"):
            target = args[0] if args else kwargs.get("tensor")
            if isinstance(target, torch.Tensor):
                self._event("write", name, target)
            return
        if name in _WRITE_DUNDERS or (name.endswith("_") and not name.startswith("_") and name not in _NOT_WRITES):
            if args and isinstance(args[0], torch.Tensor):
                self._event("write", name, args[0])
            return
        if not isinstance(out, torch.Tensor):
            return
        if name in _ALLOC_OPS:
            self._event("alloc", name, out)
            return
        r = _tensor_range(out)
        if r is None or out._base is not None:
            return
        for a in args:  # views and aliases of an input (detach, _make_subclass) carry no new values
            if isinstance(a, torch.Tensor) and a.device.type != "meta" and a.numel() and a.data_ptr() == r[0]:
                return
        if name in _COPY_OPS and args and isinstance(args[0], torch.Tensor):
            source = self._last.get(args[0].data_ptr()) if args[0].device.type != "meta" else None
            if source is not None:  # unknown source: record nothing (the parameter stays "not seen")
                self._copy(source, out, r)
            return
        self._event("created", name, out)

    def _copy(self, source: Event, out: torch.Tensor, r: tuple[int, int]) -> None:
        self._seq += 1
        event = Event(self._seq, "alloc" if source.kind == "alloc" else "created", source.op, r[0], r[1],
                      source.default, source.location, source.function, source.chain, False, source.to_empty,
                      tuple(out.shape))  # fmt: skip
        self.events.append(event)
        self._last[r[0]] = event

    def _event(self, kind: str, op: str, t: torch.Tensor) -> None:
        r = _tensor_range(t)
        if r is None:
            return
        default, location, function, chain, computed_code, to_empty, init_fn = _where(sys._getframe(3))
        if init_fn is not None:
            op = init_fn  # xavier_uniform_, not the uniform_ it calls
        computed = False
        if kind == "write":
            try:
                computed = t.grad_fn is not None
            except RuntimeError:  # a no_grad view of a tensor modified in place: not a computed weight
                computed = False
            computed = computed or r[0] in self._computed
        elif kind == "created" and computed_code:
            self._computed.add(r[0])
        self._seq += 1
        event = Event(self._seq, kind, op, r[0], r[1], default, location, function, chain, computed, to_empty,
                      tuple(t.shape))  # fmt: skip
        self.events.append(event)
        if kind != "write" or r[0] not in self._last or self._last[r[0]].hi <= r[1]:
            self._last[r[0]] = event

    @contextlib.contextmanager
    def recording(self) -> Iterator[Recorder]:
        """Record while building and initializing; also see which functions ``Module.apply`` runs."""
        original = nn.Module.apply
        recorder = self

        def apply(module: nn.Module, fn: Callable[[nn.Module], None]) -> nn.Module:
            caller = sys._getframe(1)
            where = f"{_short(caller.f_code.co_filename)}:{caller.f_lineno}"
            recorder.applies.append(ApplyCall(fn, module, frozenset(id(m) for m in module.modules()), where))
            return original(module, fn)

        nn.Module.apply = apply  # type: ignore[method-assign,assignment]
        try:
            with self:
                yield self
        finally:
            nn.Module.apply = original  # type: ignore[method-assign]

    # ---- mapping ---------------------------------------------------------------------
    def finish(self, model: nn.Module) -> Provenance:
        """Map the recorded ranges to the parameters of ``model`` (call it before the model is
        moved or cast: that copies every parameter to new memory)."""
        return Provenance.build(model, self.events, self.applies)


def _where(frame: Any) -> tuple[bool, str | None, str | None, tuple[CodeType, ...], bool, bool, str | None]:
    """(inside a default init, user location, user function, user code chain, inside the code
    of a computed weight, inside to_empty, the public nn.init function it ran in)."""
    default = computed = to_empty = False
    location = function = init_fn = None
    chain: list[CodeType] = []
    while frame is not None and len(chain) < MAX_CHAIN:
        code = frame.f_code
        filename = code.co_filename
        if filename.startswith(_TORCH_DIR):
            if location is None:
                if code.co_name in _DEFAULT_FUNCS and (os.sep + "modules" + os.sep) in filename:
                    default = True
                if filename.endswith(_COMPUTED_FILES):
                    computed = True
                if code.co_name == "to_empty":
                    to_empty = True
                if filename.endswith(_INIT_FILE) and not code.co_name.startswith("_"):
                    init_fn = code.co_name  # the outermost public one
        elif filename == _THIS_FILE or filename.endswith(_STDLIB_SKIP) or filename.startswith(_STDLIB_DIR):
            pass
        elif filename.startswith(_INITLINT_DIR):
            break  # the probe that started the build: nothing of the user's beyond it
        else:
            if location is None:
                location = f"{_short(filename)}:{frame.f_lineno}"
                function = code.co_name
            chain.append(code)
        frame = frame.f_back
    return default, location, function, tuple(chain), computed, to_empty, init_fn


def _short(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith(".." + os.sep + "..") else rel


@dataclass
class LostWrite:
    event: Event
    layers: list[str]  # parametrized layers whose computed weight has the written shape


@dataclass
class Provenance:
    params: dict[str, ParamProvenance]
    lost: list[LostWrite]
    applies: list[ApplyCall]
    model: Any = None  # the model the parameters belong to (for dispatch checks); not serialized

    @classmethod
    def build(cls, model: nn.Module, events: list[Event], applies: list[ApplyCall]) -> Provenance:
        order = sorted(events, key=lambda e: e.lo)
        starts = [e.lo for e in order]
        layer_of: dict[int, str] = {}
        for mname, module in model.named_modules(remove_duplicate=False):
            for p in module._parameters.values():
                if p is not None:
                    layer_of.setdefault(id(p), mname or "(model)")
        params: dict[str, ParamProvenance] = {}
        for qname, p in model.named_parameters(remove_duplicate=False):
            layer = layer_of.get(id(p), "(model)")
            if isinstance(p, nn.parameter.UninitializedParameter):
                params[qname] = ParamProvenance(qname, layer, "lazy", None)
                continue
            if p.device.type == "meta":
                params[qname] = ParamProvenance(qname, layer, "meta", None)
                continue
            r = _tensor_range(p)
            if r is None:
                params[qname] = ParamProvenance(qname, layer, "unknown", None)
                continue
            lo, hi = r
            i = bisect.bisect_left(starts, lo)
            touched: list[Event] = []
            while i < len(order) and order[i].lo < hi:
                touched.append(order[i])
                i += 1
            touched.sort(key=lambda e: e.seq)
            params[qname] = _status(qname, layer, lo, hi, touched)
        reached = {e.seq for p in params.values() for e in p.history}
        lost = _lost_writes(model, events, reached)
        return cls(params, lost, applies, model)

    def by_layer(self) -> dict[str, list[ParamProvenance]]:
        out: dict[str, list[ParamProvenance]] = {}
        for p in self.params.values():
            out.setdefault(p.layer, []).append(p)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "parameters": [p.to_dict() for p in self.params.values()],
            "lost_writes": [
                {"op": w.event.op, "location": w.event.location, "layers": w.layers, "shape": list(w.event.shape)}
                for w in self.lost
            ],
        }


def _status(name: str, layer: str, lo: int, hi: int, touched: list[Event]) -> ParamProvenance:
    # Writes before the memory was (re)allocated or (re)created belong to an earlier tensor.
    start = 0
    for i, e in enumerate(touched):
        if e.kind in ("alloc", "created") and e.lo == lo and e.hi >= hi:
            start = i
    history = touched[start:]
    if not history:
        return ParamProvenance(name, layer, "unknown", None)
    if history[0].kind == "alloc" and len(history) == 1:
        return ParamProvenance(name, layer, "uninitialized", history[0], history)
    if history[0].kind != "alloc" and history[0].kind != "created":
        # the tensor came from somewhere the recorder did not see (a legacy constructor, a
        # file): its writes still say who wrote it last
        pass
    last = history[-1]
    return ParamProvenance(name, layer, "default" if last.default else "custom", last, history)


def _lost_writes(model: nn.Module, events: list[Event], reached: set[int]) -> list[LostWrite]:
    """Writes to a computed weight that no parameter's history holds (addresses are reused, so
    "no parameter at that address now" would not prove anything)."""
    suspects = [e for e in events if e.kind == "write" and e.computed and not e.default and e.seq not in reached]
    if not suspects:
        return []
    computed_layers: list[tuple[str, tuple[int, ...]]] = []
    for mname, module in model.named_modules():
        parametrized = nn.utils.parametrize.is_parametrized(module)
        legacy = "weight" in module.__dict__ and "weight" not in module._parameters
        if parametrized or legacy:
            try:
                with torch.no_grad():
                    w = getattr(module, "weight", None)
            except Exception:
                w = None
            if isinstance(w, torch.Tensor):
                computed_layers.append((mname or "(model)", tuple(w.shape)))
    return [LostWrite(e, [n for n, s in computed_layers if s == e.shape]) for e in suspects]


@contextlib.contextmanager
def recording() -> Iterator[Recorder]:
    recorder = Recorder()
    with recorder.recording():
        yield recorder
