from __future__ import annotations

import math
from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import FixSpec, Invalid, Report, Rule, src
from initlint.rules.triggers import INIT_TRIGGER
from initlint.semantic import SemanticModel
from initlint.semantic.catalog import gain_of
from initlint.semantic.chains import is_hidden
from initlint.semantic.inits import InitSite
from initlint.semantic.modules import Layer

_TOLERANCE = 0.2  # relative error in the weight variance accepted as "LeCun"


class SeluRequiresLecun(Rule):
    code = "IL202"
    name = "selu-requires-lecun"
    summary = "Layers feeding SELU need LeCun normal init (`kaiming_normal_(w, nonlinearity='linear')`)"
    severity = "warning"
    fix_applicability = "unsafe"
    triggers = (INIT_TRIGGER, r"(?i)selu")
    uses_init_aliases = True

    VALID = (
        src("""
            import torch.nn as nn
            class SNN(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.net = nn.Sequential(nn.Linear(8, 8), nn.SELU(), nn.Linear(8, 8), nn.SELU(), nn.Linear(8, 1))
                    for m in self.modules():
                        if isinstance(m, nn.Linear):
                            nn.init.kaiming_normal_(m.weight, nonlinearity='linear')
                def forward(self, x):
                    return self.net(x)
        """),
        src("""
            import torch.nn as nn
            import torch.nn.functional as F
            class SNN(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc, self.out = nn.Linear(100, 100), nn.Linear(100, 1)
                    nn.init.normal_(self.fc.weight, std=0.1)
                def forward(self, x):
                    return self.out(F.selu(self.fc(x)))
        """),
        # SELU on the output only: nothing self-normalizes after it.
        src("""
            import torch.nn as nn
            import torch.nn.functional as F
            class Head(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.Linear(8, 8)
                    nn.init.kaiming_normal_(self.fc.weight)
                def forward(self, x):
                    return F.selu(self.fc(x))
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                class SNN(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.a, self.act, self.b = nn.Linear(8, 8), nn.SELU(), nn.Linear(8, 1)
                        nn.init.kaiming_normal_(self.a.weight, nonlinearity='selu')
                    def forward(self, x):
                        return self.b(self.act(self.a(x)))
            """),
            src("""
                import torch.nn as nn
                class SNN(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.a, self.act, self.b = nn.Linear(8, 8), nn.SELU(), nn.Linear(8, 1)
                        nn.init.kaiming_normal_(self.a.weight, nonlinearity="linear")
                    def forward(self, x):
                        return self.b(self.act(self.a(x)))
            """),
            unsafe=True,
        ),
        Invalid(
            src("""
                import torch
                import torch.nn as nn
                class SNN(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.a, self.b = nn.Linear(8, 8), nn.Linear(8, 1)
                        nn.init.kaiming_uniform_(self.a.weight)
                    def forward(self, x):
                        return self.b(torch.selu(self.a(x)))
            """),
            src("""
                import torch
                import torch.nn as nn
                class SNN(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.a, self.b = nn.Linear(8, 8), nn.Linear(8, 1)
                        nn.init.kaiming_normal_(self.a.weight, nonlinearity="linear")
                    def forward(self, x):
                        return self.b(torch.selu(self.a(x)))
            """),
            unsafe=True,
        ),
        Invalid(
            src("""
                import torch.nn as nn
                import torch.nn.functional as F
                class SNN(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.a, self.b = nn.Linear(256, 256), nn.Linear(256, 1)
                        self.a.weight.data.normal_(0, 0.01)
                    def forward(self, x):
                        return self.b(F.selu(self.a(x)))
            """),
            src("""
                import torch.nn as nn
                import torch.nn.functional as F
                class SNN(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.a, self.b = nn.Linear(256, 256), nn.Linear(256, 1)
                        nn.init.kaiming_normal_(self.a.weight, nonlinearity="linear")
                    def forward(self, x):
                        return self.b(F.selu(self.a(x)))
            """),
            unsafe=True,
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for site in model.init_sites:
            if site.param != "weight" or not site.layers:
                continue
            feeding = []
            for layer in site.layers:
                follower = model.dataflow.follower(layer)
                if (
                    follower
                    and follower.kind == "activation"
                    and follower.activation == "selu"
                    and is_hidden(model, layer)
                ):
                    feeding.append(layer)
            if not feeding:
                continue
            problem = _problem(site, feeding)
            if problem is None:
                continue
            names = ", ".join(layer.path for layer in feeding)
            message = (
                f"{site.function} at line {model.range_of(site.call).start.line} initializes {names}, which feed SELU: "
                f"{problem}. Self-normalizing networks need LeCun normal, Var(w) = 1/fan_in: "
                "kaiming_normal_(w, nonlinearity='linear')"
            )
            related = [(layer.call, f"{layer.path} = {layer.type_name}(...) feeds SELU") for layer in feeding]
            yield Report(site.call, message, _fix(model, site, feeding), related=related)


def _problem(site: InitSite, layers: list[Layer]) -> str | None:
    scheme = site.scheme
    if scheme.family == "kaiming":
        if scheme.gain_name == "selu":
            return (
                "nonlinearity='selu' uses calculate_gain('selu') = 3/4, which the torch docs give for "
                "other inits; SELU itself needs nonlinearity='linear'"
            )
        if scheme.gain_name is None:
            return None
        gain = scheme.gain
        if gain is None and scheme.gain_name != "leaky_relu":
            gain = gain_of(scheme.gain_name)  # only leaky_relu's gain depends on `a`
        if gain is None:
            return None  # an unknown name, or a slope we cannot evaluate (a=1 would be LeCun)
        fan = "fan_out" if scheme.mode == "fan_out" else "fan_in"
        square = all(layer.fan_in and layer.fan_in == layer.fan_out for layer in layers)
        if abs(gain**2 - 1) <= _TOLERANCE and (fan == "fan_in" or square):
            return None  # LeCun (normal or the uniform of equal variance), whatever the name: 'sigmoid' too
        return f"nonlinearity='{scheme.gain_name}' gives Var(w) = {gain**2:.3g}/{fan}"
    fans = [(layer.fan_in, layer.fan_out) for layer in layers]
    if scheme.family in ("xavier", "orthogonal"):
        if scheme.gain is None:
            return None
        if not math.isclose(scheme.gain, 1.0, rel_tol=_TOLERANCE):
            return f"gain {scheme.gain:.3g} scales the variance by {scheme.gain**2:.3g}"
        if scheme.family == "xavier":
            for fan_in, fan_out in fans:
                if fan_in and fan_out and abs(2 * fan_in / (fan_in + fan_out) - 1) > _TOLERANCE:
                    return f"Xavier gives Var(w) = 2/(fan_in+fan_out) = 2/{fan_in + fan_out}, not 1/{fan_in}"
        return None
    if scheme.fixed_scale and scheme.std is not None:
        for fan_in, _ in fans:
            if fan_in and abs(scheme.std**2 * fan_in - 1) > _TOLERANCE * 2:
                return (
                    f"std {scheme.std:g} at fan_in {fan_in} gives Var(w)*fan_in = {scheme.std**2 * fan_in:.3g}, not 1"
                )
    return None


def _fix(model: SemanticModel, site: InitSite, feeding: list[Layer]) -> FixSpec | None:
    if len(feeding) != len(site.layers):
        return None
    reference = model.reference_to("torch.nn.init.kaiming_normal_")
    if reference is None:
        return None
    callee, edits = reference
    func = site.call.func
    # Only `nn.init.x_(...)` keeps its module prefix; a bare name (`from torch.nn.init import
    # kaiming_uniform_`) and a configured alias (`minit.lec` for `mylib.init.lec`, whose module has
    # no kaiming_normal_) take the reference above.
    if (
        not site.tensor_method
        and isinstance(func, cst.Attribute)
        and model.qualified_name(func.value) == "torch.nn.init"
    ):
        callee = f"{model.code(func.value)}.kaiming_normal_"
        edits = []
    tensor = model.code(site.target)
    new = f'{callee}({tensor}, nonlinearity="linear")'
    return FixSpec("unsafe", f"Use `{new}`", [model.replace(site.call, new), *edits])
