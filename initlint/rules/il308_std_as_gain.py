from __future__ import annotations

import math
import re
from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule, src
from initlint.rules.triggers import INIT_TRIGGER
from initlint.semantic import SemanticModel
from initlint.semantic.dataflow import Edge
from initlint.semantic.inits import InitSite
from initlint.semantic.modules import Layer
from initlint.semantic.scales import resolved_value
from initlint.semantic.values import evaluate

# A gain at or below this is no activation's gain (calculate_gain's smallest is 3/4, for SELU)
# but is a typical std (0.02 in BERT/GPT/DCGAN, 0.01, 0.001).
_STD_LIKE = 0.1
_FAN_BASED = frozenset({"xavier_uniform_", "xavier_normal_", "orthogonal_"})
_STD_FAMILIES = frozenset({"normal", "trunc_normal"})
# An identifier that says the value is a standard deviation.
_STD_NAME = re.compile(r"(?:^|_)(?:std|stdv|stddev|sigma)(?:$|_)|initializer_range|init_range", re.IGNORECASE)
_PARAMETRIC = frozenset({"linear", "conv"})


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _identifier(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None


def _short(code: str) -> str:
    return code if len(code) <= 60 and "\n" not in code else code[:57] + "..."


class StdAsGain(Rule):
    code = "IL308"
    name = "std-as-gain"
    summary = "A std used as the gain of Xavier/orthogonal init (`xavier_normal_(w, gain=0.02)`), or so small a gain on hidden layers"
    severity = "warning"
    literals = ("xavier", "orthogonal")
    triggers = (r"xavier|orthogonal", INIT_TRIGGER)
    uses_init_aliases = True

    VALID = (
        # a nonlinearity's gain
        src("""
            import torch.nn as nn
            nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain('tanh'))
        """),
        # a small gain on the output layer: a deliberate small start (policy heads, flows)
        src("""
            import torch.nn as nn
            class Policy(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.body = nn.Linear(8, 64)
                    self.pi = nn.Linear(64, 4)
                    nn.init.orthogonal_(self.pi.weight, gain=0.01)
                def forward(self, x):
                    return self.pi(self.body(x).tanh())
        """),
        # small, but neither a hidden layer nor a std is in sight
        src("""
            import torch.nn as nn
            def init_head(m):
                nn.init.orthogonal_(m.weight, gain=0.01)
        """),
        # a residual-branch scale (DeepNet's beta) is a gain, not a std
        src("""
            import torch.nn as nn
            nn.init.xavier_normal_(w, gain=(8 * n) ** -0.25)
        """),
    )
    INVALID = (
        # the same number is the std of the normal_ init next to it
        Invalid(
            src("""
                import torch.nn as nn
                def weights_init(m):
                    if isinstance(m, nn.Conv2d):
                        nn.init.xavier_normal_(m.weight, gain=0.02)
                    elif isinstance(m, nn.BatchNorm2d):
                        nn.init.normal_(m.weight, 1.0, 0.02)
            """)
        ),
        # pix2pix/CycleGAN style: one init_gain serves as normal_'s std and as xavier's gain
        Invalid(
            src("""
                from torch.nn import init
                def init_weights(net, init_type='normal', init_gain=0.02):
                    def init_func(m):
                        if init_type == 'normal':
                            init.normal_(m.weight.data, 0.0, init_gain)
                        elif init_type == 'xavier':
                            init.xavier_normal_(m.weight.data, gain=init_gain)
                    net.apply(init_func)
            """)
        ),
        # a hidden layer: its output feeds another layer
        Invalid(
            src("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc1 = nn.Linear(256, 256)
                        self.fc2 = nn.Linear(256, 10)
                        for m in self.modules():
                            if isinstance(m, nn.Linear):
                                nn.init.xavier_uniform_(m.weight, gain=0.02)
                    def forward(self, x):
                        return self.fc2(self.fc1(x).relu())
            """)
        ),
        # a value named as a std
        Invalid(
            src("""
                import torch.nn as nn
                def init(module, config):
                    nn.init.xavier_normal_(module.weight, gain=config.initializer_range)
            """)
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for site in model.init_sites:
            if site.function not in _FAN_BASED:
                continue
            node = site.arguments.get("gain")
            if node is None:
                continue
            if isinstance(node, cst.Call) and model.init_function(node.func) == "calculate_gain":
                continue
            gain = _number(resolved_value(model, node))
            name = _identifier(node)
            named_std = name is not None and _STD_NAME.search(name) is not None
            if gain is not None and not 0 < gain <= _STD_LIKE:
                continue
            if gain is None and not named_std:
                continue
            layers = [layer for layer in site.layers if layer.category in _PARAMETRIC]
            if layers and not any(_feeds_a_layer(model, layer) for layer in layers):
                continue  # every layer it reaches is an output layer: a small start is deliberate
            hidden = [edge for layer in layers for edge in _unnormed_edges(model, layer)]
            evidence = _std_use(model, site, node, gain)
            if evidence is None and named_std:
                evidence = f"`{name}` names a standard deviation"
            if evidence is None and hidden:
                edge = hidden[0]
                evidence = (
                    f"on `self.{edge.source.path}`, a hidden layer whose output reaches `self.{edge.target.path}` "
                    "with no norm or residual add in between"
                )
            if evidence is None:
                continue
            yield _report(model, site, node, gain, evidence, hidden[0].source if hidden else None)


def _unnormed_edges(model: SemanticModel, layer: Layer) -> list[Edge]:
    """Edges from ``layer`` to a layer it feeds with no norm and no residual add between: a norm
    rescales the signal whatever the weights' scale, and a small last layer of a residual branch
    is deliberate (Fixup, SkipInit)."""
    if not _feeds_a_layer(model, layer):
        return []
    return [edge for edge in model.dataflow.successors(layer) if not edge.normed and not edge.merged]


def _feeds_a_layer(model: SemanticModel, layer: Layer) -> bool:
    follower = model.dataflow.follower(layer)
    if follower is not None and follower.kind == "output":
        return False
    return bool(model.dataflow.successors(layer))


def _std_use(model: SemanticModel, site: InitSite, node: cst.BaseExpression, gain: float | None) -> str | None:
    """The same value is a std in the same function (or one it is nested in): the std of a
    normal_/trunc_normal_ there, or a ``std=`` argument of any call (timm's ``trunc_normal_``)."""
    outer = None
    for ancestor in model.ancestors(site.call):
        if isinstance(ancestor, cst.FunctionDef):
            outer = ancestor
    if outer is None:
        return None
    stds: list[tuple[cst.BaseExpression, cst.CSTNode]] = []
    for other in model.init_sites:
        if other.scheme.family in _STD_FAMILIES and "std" in other.arguments:
            stds.append((other.arguments["std"], other.call))
    for arg in model.nodes_within(outer, cst.Arg):
        if arg.keyword is not None and arg.keyword.value == "std":
            call = model.parent.get(arg)
            stds.append((arg.value, call if call is not None else arg))
    for std, call in stds:
        if not any(ancestor is outer for ancestor in model.ancestors(call)):
            continue
        if isinstance(node, (cst.Integer, cst.Float)) or isinstance(std, (cst.Integer, cst.Float)):
            same = (
                gain is not None and isinstance(std, (cst.Integer, cst.Float)) and _number(evaluate(model, std)) == gain
            )
        else:
            same = std.deep_equals(node)
        if same:
            line = model.range_of(call).start.line
            return f"{_short(model.code(std))} is also the std at line {line}"
    return None


def _report(
    model: SemanticModel,
    site: InitSite,
    node: cst.BaseExpression,
    gain: float | None,
    evidence: str,
    hidden: Layer | None,
) -> Report:
    code = _short(model.code(node))
    function = site.function
    scale = (
        "sqrt(2 / (fan_in + fan_out))"
        if function.startswith("xavier")
        else "the orthogonal matrix (entries ~1/sqrt(n))"
    )
    example = ""
    if hidden is not None and gain is not None and function.startswith("xavier"):
        fan_in, fan_out = hidden.fan_in, hidden.fan_out
        if fan_in and fan_out:
            std = gain * math.sqrt(2 / (fan_in + fan_out))
            example = f" (for `self.{hidden.path}`, {fan_in}->{fan_out}: std {std:.2g}, not {gain:g})"
    advice = (
        f"if {code} is meant as a std, use `normal_(w, 0, {code})`; otherwise pass an activation's gain "
        "(`calculate_gain('relu')`, or 1) and keep small gains for output layers (policy heads)"
    )
    if gain is None:
        return Report(
            node,
            f"`{function}` with gain={code} ({evidence}): the gain multiplies {scale}, so a std passed as the "
            f"gain gives the weights that std times {scale}, far smaller than the std itself; {advice}",
        )
    shown = f"gain={code}" if code == f"{gain:g}" else f"gain={code} = {gain:g}"
    return Report(
        node,
        f"`{function}` with {shown} ({evidence}): the gain multiplies {scale}, so the weights' std is {gain:g} "
        f"times that{example}; no activation has so small a gain (SELU's 0.75 is the smallest), and each such "
        f"layer multiplies the signal by about {gain:g} where a gain of 1 keeps it; {advice}",
    )
