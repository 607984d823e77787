"""Init aliases derived from the code: a function that calls one ``torch.nn.init`` function with its
own parameters, in the same places and with the same defaults, *is* that function under another
name (timm's and many projects' ``trunc_normal_``), wherever it is called from. What cannot be
derived this way (a wrapper that fixes or rescales an argument) stays for ``init-aliases``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from initlint._lazy import cst
from initlint.semantic.schemes import SIGNATURES, bind_arguments, canonical
from initlint.semantic.values import UNKNOWN, evaluate

if TYPE_CHECKING:
    from initlint.semantic.model import SemanticModel

_REQUIRED = object()
# torch.nn.init's defaults, after the tensor.
DEFAULTS: dict[str, dict[str, object]] = {
    "uniform_": {"a": 0.0, "b": 1.0, "generator": None},
    "normal_": {"mean": 0.0, "std": 1.0, "generator": None},
    "trunc_normal_": {"mean": 0.0, "std": 1.0, "a": -2.0, "b": 2.0, "generator": None},
    "constant_": {"val": _REQUIRED},
    "ones_": {},
    "zeros_": {},
    "eye_": {},
    "dirac_": {"groups": 1},
    "xavier_uniform_": {"gain": 1.0, "generator": None},
    "xavier_normal_": {"gain": 1.0, "generator": None},
    "kaiming_uniform_": {"a": 0, "mode": "fan_in", "nonlinearity": "leaky_relu", "generator": None},
    "kaiming_normal_": {"a": 0, "mode": "fan_in", "nonlinearity": "leaky_relu", "generator": None},
    "orthogonal_": {"gain": 1, "generator": None},
    "sparse_": {"sparsity": _REQUIRED, "std": 0.01, "generator": None},
}


def passthrough_alias(model: SemanticModel, function: cst.FunctionDef) -> str | None:
    """The nn.init function ``function`` is a pure pass-through of, or None."""
    params = function.params
    if isinstance(params.star_arg, cst.Param) or params.star_kwarg is not None or params.kwonly_params:
        return None
    own = list(params.posonly_params) + list(params.params)
    if not own or any(isinstance(p.name, cst.Name) and p.name.value == "self" for p in own[:1]):
        return None
    calls = []
    for call in model.nodes_within(function, cst.Call):
        qualified = model.qualified_name(call.func)
        if qualified is None:
            continue
        name = model._imported_init_function(qualified)
        if name is not None and name != "calculate_gain":
            calls.append((call, canonical(name)))
    if len(calls) != 1:
        return None
    call, name = calls[0]
    if model.enclosing(call, cst.FunctionDef) is not function or name not in SIGNATURES:
        return None
    signature = ("tensor", *SIGNATURES[name])
    arguments = bind_arguments(call, SIGNATURES[name])
    if arguments is None or len(own) > len(signature):
        return None
    defaults = DEFAULTS.get(name, {})
    for param, expected in zip(own, signature, strict=False):
        argument = arguments.get(expected)
        if param.name.value != expected or not (isinstance(argument, cst.Name) and argument.value == expected):
            return None
        if expected == "tensor":
            if param.default is not None:
                return None
            continue
        wanted = defaults.get(expected, _REQUIRED)
        if param.default is None:
            if wanted is not _REQUIRED:
                return None  # required here, optional there: still the same calls, but be strict
            continue
        value = evaluate(model, param.default)
        if value is UNKNOWN or wanted is _REQUIRED or value != wanted:
            return None
    passed = {p.name.value for p in own}
    if any(key not in passed for key in arguments):
        return None  # an argument the wrapper fixes
    if _reassigns(model, function, passed):
        return None
    return name


def _reassigns(model: SemanticModel, function: cst.FunctionDef, names: set[str]) -> bool:
    for node_type in (cst.Assign, cst.AugAssign, cst.AnnAssign):
        for node in model.nodes_within(function, node_type):
            targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
            if any(isinstance(t, cst.Name) and t.value in names for t in targets):
                return True
    return False
