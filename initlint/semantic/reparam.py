"""Reparametrizations of a module's tensor: ``weight_norm``, ``spectral_norm``, ``orthogonal``
and ``register_parametrization``, and what each does to a later in-place write of that tensor.

Checked against the torch sources (``torch/nn/utils/weight_norm.py``, ``spectral_norm.py``,
``parametrize.py``):

- legacy ``torch.nn.utils.weight_norm`` deletes the ``weight`` parameter, registers ``weight_g``
  and ``weight_v`` and sets ``module.weight`` to a tensor computed from them, which a forward
  pre-hook recomputes on every call: a later write of ``.weight`` is discarded.
- the parametrization forms (``torch.nn.utils.parametrizations.weight_norm`` /
  ``spectral_norm`` / ``orthogonal``, ``parametrize.register_parametrization``) make
  ``.weight`` a property computed from ``parametrizations.weight.original*`` on every access:
  an in-place write lands in a temporary and is discarded.
- legacy ``torch.nn.utils.spectral_norm`` keeps the parameter object as ``weight_orig`` and sets
  ``module.weight = weight.data``, which shares its storage: until the first forward replaces
  it, an in-place init of ``.weight`` writes ``weight_orig``, so an init in ``__init__`` is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from initlint._lazy import cst
from initlint.semantic.values import string_value

if TYPE_CHECKING:
    from initlint.semantic.model import SemanticModel


@dataclass(frozen=True)
class Wrapper:
    name: str  # as the user calls it: "weight_norm"
    discards: bool  # a later in-place write of the tensor is recomputed away
    source: str  # what the tensor is computed from, `{t}` standing for its name
    tensor_keyword: str = "name"  # the argument naming the tensor (positional 1)
    tensor_default: str | None = "weight"


_LEGACY_WEIGHT_NORM = Wrapper("weight_norm", True, "`{t}_g` and `{t}_v` by a forward pre-hook on every call")
_LEGACY_SPECTRAL_NORM = Wrapper(
    "spectral_norm", False, "`{t}_orig`, whose storage `.{t}` shares until the first forward"
)
WRAPPERS: dict[str, Wrapper] = {
    "torch.nn.utils.weight_norm": _LEGACY_WEIGHT_NORM,
    "torch.nn.utils.weight_norm.weight_norm": _LEGACY_WEIGHT_NORM,
    "torch.nn.utils.spectral_norm": _LEGACY_SPECTRAL_NORM,
    "torch.nn.utils.spectral_norm.spectral_norm": _LEGACY_SPECTRAL_NORM,
    "torch.nn.utils.parametrizations.weight_norm": Wrapper(
        "weight_norm", True, "`parametrizations.{t}.original0` and `original1` on every access"
    ),
    "torch.nn.utils.parametrizations.spectral_norm": Wrapper(
        "spectral_norm", True, "`parametrizations.{t}.original` on every access"
    ),
    "torch.nn.utils.parametrizations.orthogonal": Wrapper(
        "orthogonal", True, "`parametrizations.{t}.original` on every access"
    ),
    "torch.nn.utils.parametrize.register_parametrization": Wrapper(
        "register_parametrization", True, "`parametrizations.{t}.original` on every access", "tensor_name", None
    ),
}
# Calls that undo a reparametrization: `.weight` is a plain parameter again afterwards.
REMOVERS = frozenset(
    {"torch.nn.utils.remove_weight_norm", "torch.nn.utils.weight_norm.remove_weight_norm",
     "torch.nn.utils.remove_spectral_norm", "torch.nn.utils.spectral_norm.remove_spectral_norm",
     "torch.nn.utils.parametrize.remove_parametrizations"}
)  # fmt: skip


@dataclass(eq=False)
class Reparametrization:
    """One call of a wrapper (``weight_norm(conv)``)."""

    call: cst.Call
    qualified: str  # "torch.nn.utils.weight_norm"
    wrapper: Wrapper
    module: cst.BaseExpression | None  # the module argument (None: passed through *args)
    tensor: str | None  # the reparametrized tensor ("weight"); None when not a literal

    @property
    def discards(self) -> bool:
        return self.wrapper.discards


def find_reparametrizations(model: SemanticModel) -> dict[cst.Call, Reparametrization]:
    found: dict[cst.Call, Reparametrization] = {}
    for call in model.nodes(cst.Call):
        qualified = model.qualified_name(call.func)
        wrapper = WRAPPERS.get(qualified) if qualified is not None else None
        if wrapper is None:
            continue
        module = _argument(call, 0, "module")
        tensor_node = _argument(call, 1, wrapper.tensor_keyword)
        if tensor_node is None:
            tensor = None if any(a.star for a in call.args) else wrapper.tensor_default
        elif isinstance(tensor_node, cst.SimpleString):
            value = string_value(tensor_node)
            tensor = value if isinstance(value, str) else None
        else:
            tensor = None
        found[call] = Reparametrization(call, qualified, wrapper, module, tensor)  # type: ignore[arg-type]
    return found


def is_remover(model: SemanticModel, call: cst.Call) -> bool:
    return model.qualified_name(call.func) in REMOVERS


def _argument(call: cst.Call, position: int, keyword: str) -> cst.BaseExpression | None:
    index = 0
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is None:
            if index == position:
                return arg.value
            index += 1
        elif arg.keyword.value == keyword:
            return arg.value
    return None
