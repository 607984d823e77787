from __future__ import annotations

import math
from collections.abc import Iterator

from initlint.rules.base import Elsewhere, Invalid, Report, Rule, src
from initlint.rules.triggers import INIT_TRIGGER
from initlint.semantic import SemanticModel
from initlint.semantic.chains import Step, chains, weight_sites
from initlint.semantic.inits import InitSite
from initlint.semantic.remote import RemoteSite

LOW, HIGH = 0.1, 10.0  # predicted total std gain outside this range is flagged
# Second moment kept by an activation for a zero-mean Gaussian input (ReLU keeps half).
_SECOND_MOMENT = {"relu": 0.5, "relu6": 0.5, "prelu": 0.5, "rrelu": 0.5, "elu": 0.5, "celu": 0.5,
                  "gelu": 0.425, "silu": 0.355, "mish": 0.42, "hardswish": 0.36, "tanh": 1.0}  # fmt: skip


def _moment(step: Step) -> float | None:
    if step.activation is None:
        return 1.0
    if step.activation == "leaky_relu":
        slope = 0.01 if step.activation_param is None else step.activation_param
        return (1 + slope**2) / 2
    return _SECOND_MOMENT.get(step.activation)


class VarianceNotPreserved(Rule):
    code = "IL203"
    name = "variance-not-preserved"
    summary = "A fixed-scale init (normal std, uniform bounds) makes the signal vanish or explode through a chain"
    severity = "warning"
    uses_project = True
    triggers = (INIT_TRIGGER,)
    uses_init_aliases = True

    VALID = (
        src("""
            import torch.nn as nn
            class MLP(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.net = nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
                    for m in self.modules():
                        if isinstance(m, nn.Linear):
                            nn.init.normal_(m.weight, std=(2 / 256) ** 0.5)
                def forward(self, x):
                    return self.net(x)
        """),
        # BatchNorm between the layers rescales the signal: nothing compounds.
        src("""
            import torch.nn as nn
            class MLP(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.net = nn.Sequential(nn.Linear(256, 256), nn.BatchNorm1d(256), nn.ReLU(),
                                             nn.Linear(256, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Linear(256, 10))
                    for m in self.modules():
                        if isinstance(m, nn.Linear):
                            nn.init.normal_(m.weight, std=0.01)
                def forward(self, x):
                    return self.net(x)
        """),
        # Widths from a config: unknown fan, no verdict.
        src("""
            import torch.nn as nn
            class MLP(nn.Module):
                def __init__(self, config):
                    super().__init__()
                    self.net = nn.Sequential(nn.Linear(config.d, config.d), nn.ReLU(), nn.Linear(config.d, config.d),
                                             nn.ReLU(), nn.Linear(config.d, 2))
                    for m in self.modules():
                        if isinstance(m, nn.Linear):
                            nn.init.normal_(m.weight, std=0.01)
                def forward(self, x):
                    return self.net(x)
        """),
        # One hidden layer only (a transformer MLP): no chain.
        src("""
            import torch.nn as nn
            class Mlp(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc1, self.act, self.fc2 = nn.Linear(768, 3072), nn.GELU(), nn.Linear(3072, 768)
                    nn.init.normal_(self.fc1.weight, std=0.02)
                    nn.init.normal_(self.fc2.weight, std=0.02)
                def forward(self, x):
                    return self.fc2(self.act(self.fc1(x)))
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                class MLP(nn.Module):
                    def __init__(self, width=256, depth=20):
                        super().__init__()
                        layers = []
                        for _ in range(depth):
                            layers += [nn.Linear(width, width), nn.ReLU()]
                        self.body = nn.Sequential(*layers)
                        self.head = nn.Linear(width, 10)
                        for m in self.modules():
                            if isinstance(m, nn.Linear):
                                nn.init.normal_(m.weight, 0.0, 0.01)
                    def forward(self, x):
                        return self.head(self.body(x))
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                import torch.nn.functional as F
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc1, self.fc2, self.fc3 = nn.Linear(1024, 1024), nn.Linear(1024, 1024), nn.Linear(1024, 2)
                        for fc in (self.fc1, self.fc2):
                            fc.weight.data.uniform_(-1, 1)
                    def forward(self, x):
                        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
            """)
        ),
        Invalid(
            src("""
                from torch import nn
                class Conv(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.c1 = nn.Conv2d(64, 64, 3, padding=1)
                        self.c2 = nn.Conv2d(64, 64, 3, padding=1)
                        self.c3 = nn.Conv2d(64, 10, 1)
                        self.act = nn.ReLU()
                        for c in (self.c1, self.c2):
                            nn.init.normal_(c.weight, std=0.001)
                    def forward(self, x):
                        return self.c3(self.act(self.c2(self.act(self.c1(x)))))
            """)
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        reported: set[int] = set()
        for chain in chains(model):
            evaluated = _evaluate(model, chain)
            if evaluated is None:
                continue
            gains, total, sites = evaluated
            if LOW <= total <= HIGH or id(sites[0].call) in reported:
                continue
            reported.add(id(sites[0].call))
            depth = sum(step.copies for step in chain)
            per_layer = ", ".join(
                f"{step.layer.path} x{gain:.3g}" + (f" (x{step.copies} layers)" if step.copies > 1 else "")
                for step, gain in zip(chain, gains, strict=True)
            )
            direction = "vanishes" if total < LOW else "explodes"
            first = sites[0]
            message = (
                f"{_label(model, first)} at line {model.range_of(first.call).start.line}: through {depth} hidden layers "
                f"the activation std {direction} (predicted per-layer gain {per_layer}; total x{total:.2g}, "
                f"outside [{LOW:g}, {HIGH:g}]). A fixed std ignores fan-in; use kaiming_normal_ (ReLU family) or "
                "xavier_normal_ (tanh/linear), or put a norm between the layers"
            )
            related = [(step.layer.call, f"{step.layer.path}: fan_in {step.layer.fan_in}") for step in chain]
            related += [(site.call, f"{_label(model, site)} reaching it") for site in sites[1:]]
            related += [
                (Elsewhere(o.path, o.where), o.message)
                for site in sites
                if isinstance(site, RemoteSite)
                for o in site.effect.origins
            ]
            yield Report(first.call, message, related=related)


def _label(model: SemanticModel, site: InitSite | RemoteSite) -> str:
    """``normal_``, or for a random draw assigned to the weight the draw itself; for an init of
    another file, where it is."""
    if isinstance(site, RemoteSite):
        origin = site.effect.origins[0]
        return f"{site.scheme.function} ({origin.path.rsplit('/', 1)[-1]}:{origin.where.line}, through {site.function})"
    if site.drawn is None:
        return site.function
    code = " ".join(model.code(site.drawn).split())
    return f"`{code}`" if len(code) <= 60 else f"the {site.scheme.family} draw"


def _evaluate(model: SemanticModel, chain: list[Step]) -> tuple[list[float], float, list[InitSite | RemoteSite]] | None:
    """Per-layer std gains, their product over the chain, and the init sites involved; None when
    any link is unknown or the chain has fewer than two hidden layers."""
    if sum(step.copies for step in chain) < 2:
        return None
    gains: list[float] = []
    sites: list[InitSite | RemoteSite] = []
    log_total = 0.0
    saturating = False
    for step in chain:
        site_list: list[InitSite | RemoteSite] = [*weight_sites(model, step.layer)]
        # inits written in another file of the project (`self.apply(init_fn)`) count the same
        site_list += [
            r for r in model.remote_init_sites if r.effect.attr == "weight" and any(x is step.layer for x in r.layers)
        ]
        if len(site_list) != 1:
            return None
        site = site_list[0]
        scheme = site.scheme
        moment = _moment(step)
        fan_in = step.layer.fan_in
        if not scheme.fixed_scale or scheme.std is None or fan_in is None or moment is None:
            return None
        if scheme.mean is None or abs(scheme.mean) > scheme.std:
            return None
        variance_gain = fan_in * (scheme.std**2 + scheme.mean**2) * moment
        if variance_gain <= 0:
            return None
        gain = math.sqrt(variance_gain)
        gains.append(gain)
        log_total += step.copies * math.log(gain)
        saturating = saturating or step.activation == "tanh"
        if site not in sites:
            sites.append(site)
    total = math.exp(max(min(log_total, 700), -700))
    if saturating and total > HIGH:
        return None  # tanh bounds the activations: it saturates rather than explodes
    return gains, total, sites
