from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from initlint._lazy import cst
from initlint.rules.base import Elsewhere, FixSpec, Invalid, Report, Rule, src
from initlint.rules.triggers import INIT_TRIGGER
from initlint.semantic import SemanticModel
from initlint.semantic.activations import activation_class, assumed_activation, contradicts, explicitly_named
from initlint.semantic.chains import plain_edges
from initlint.semantic.inits import InitSite
from initlint.semantic.modules import Layer
from initlint.semantic.remote import RemoteSite
from initlint.semantic.schemes import Scheme

_WHY = {
    "relu": "under {act} the second moment halves per layer, so a gain-1 init loses about half the variance at "
    "every layer (Kaiming's gain is sqrt(2))",
    "tanh": "tanh wants gain 5/3; a ReLU gain over- or under-scales it and the error compounds per layer",
    "sigmoid": "sigmoid wants gain 1; a ReLU gain over-scales its inputs towards saturation",
}


class InitActivationMismatch(Rule):
    code = "IL201"
    name = "init-activation-mismatch"
    summary = "The init's gain assumes a different activation than the one that follows the layer"
    severity = "warning"
    fix_applicability = "unsafe"
    # An activation: "lu"/"LU" covers relu, gelu, silu, elu and their module names.
    triggers = (INIT_TRIGGER, r"lu|LU|tanh|Tanh|sigmoid|Sigmoid|mish|Mish|softplus|Softplus|swish")
    uses_init_aliases = True
    uses_project = True

    VALID = (
        # Kaiming before ReLU: the matching scheme.
        src("""
            import torch.nn as nn
            import torch.nn.functional as F
            class MLP(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc1, self.fc2, self.fc3 = nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 2)
                    for fc in (self.fc1, self.fc2, self.fc3):
                        nn.init.kaiming_normal_(fc.weight, nonlinearity='relu')
                def forward(self, x):
                    return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
        """),
        # A norm between each layer and its activation: the scale does not compound.
        src("""
            import torch.nn as nn
            class MLP(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.net = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8), nn.ReLU(),
                                             nn.Linear(8, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
                    for m in self.modules():
                        if isinstance(m, nn.Linear):
                            nn.init.xavier_uniform_(m.weight)
                def forward(self, x):
                    return self.net(x)
        """),
        # Xavier before tanh is the classic match.
        src("""
            import torch
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.a, self.b, self.c = nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 1)
                    for m in (self.a, self.b, self.c):
                        nn.init.xavier_normal_(m.weight, gain=nn.init.calculate_gain('tanh'))
                def forward(self, x):
                    return self.c(torch.tanh(self.b(torch.tanh(self.a(x)))))
        """),
        # One Xavier layer before GELU in a residual block (a ViT MLP): nothing compounds.
        src("""
            import torch.nn as nn
            class Mlp(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc1, self.act, self.fc2 = nn.Linear(8, 32), nn.GELU(), nn.Linear(32, 8)
                    nn.init.xavier_uniform_(self.fc1.weight)
                    nn.init.xavier_uniform_(self.fc2.weight)
                def forward(self, x):
                    return x + self.fc2(self.act(self.fc1(x)))
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                import torch.nn.functional as F
                class MLP(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc1, self.fc2, self.fc3 = nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 2)
                        for fc in (self.fc1, self.fc2):
                            nn.init.xavier_normal_(fc.weight)
                    def forward(self, x):
                        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
            """),
            src("""
                import torch.nn as nn
                import torch.nn.functional as F
                class MLP(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc1, self.fc2, self.fc3 = nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 2)
                        for fc in (self.fc1, self.fc2):
                            nn.init.kaiming_normal_(fc.weight, nonlinearity="relu")
                    def forward(self, x):
                        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
            """),
            unsafe=True,
        ),
        Invalid(
            src("""
                from torch import nn
                class Deep(nn.Module):
                    def __init__(self, depth=6):
                        super().__init__()
                        layers = []
                        for _ in range(depth):
                            layers += [nn.Linear(64, 64), nn.ReLU()]
                        self.body = nn.Sequential(*layers)
                        self.head = nn.Linear(64, 10)
                        self.apply(self._init)
                    def _init(self, m):
                        if isinstance(m, nn.Linear):
                            nn.init.xavier_uniform_(m.weight)
                    def forward(self, x):
                        return self.head(self.body(x))
            """),
            None,  # the init also reaches the head, which no activation follows: no fix
        ),
        Invalid(
            src("""
                import torch
                from torch.nn import init
                import torch.nn as nn
                class RNNish(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.l1, self.l2, self.out = nn.Linear(16, 16), nn.Linear(16, 16), nn.Linear(16, 1)
                        init.kaiming_uniform_(self.l1.weight, nonlinearity='relu')
                        init.kaiming_uniform_(self.l2.weight, nonlinearity='relu')
                    def forward(self, x):
                        x = torch.tanh(self.l1(x))
                        x = torch.tanh(self.l2(x))
                        return self.out(x)
            """),
            src("""
                import torch
                from torch.nn import init
                import torch.nn as nn
                class RNNish(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.l1, self.l2, self.out = nn.Linear(16, 16), nn.Linear(16, 16), nn.Linear(16, 1)
                        init.kaiming_uniform_(self.l1.weight, nonlinearity="tanh")
                        init.kaiming_uniform_(self.l2.weight, nonlinearity="tanh")
                    def forward(self, x):
                        x = torch.tanh(self.l1(x))
                        x = torch.tanh(self.l2(x))
                        return self.out(x)
            """),
            unsafe=True,
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        mismatched: dict[int, tuple[InitSite, Layer, str]] = {}
        per_site: list[tuple[InitSite, list[tuple[Layer, str]]]] = []
        for site in model.init_sites:
            if site.param != "weight" or not site.layers:
                continue
            assumed = assumed_activation(site)
            named = explicitly_named(site)
            found = []
            for layer in site.layers:
                follower = model.dataflow.follower(layer)
                if follower is None or follower.kind != "activation":
                    continue
                actual = activation_class(follower.activation)
                if contradicts(assumed, actual, named):
                    found.append((layer, follower.activation or ""))
                    mismatched[id(layer)] = (site, layer, follower.activation or "")
            if found:
                per_site.append((site, found))
        per_remote = self._remote_mismatches(model, mismatched)
        fed = _fed_by_mismatch(model, mismatched) if per_site or per_remote else set()
        for remote, found in per_remote:
            # Never explicitly named here (the call is elsewhere): the mismatch must compound.
            if any(_compounds(model, layer, mismatched, fed) for layer, _ in found):
                yield _remote_report(model, remote, found)
        for site, found in per_site:
            named = explicitly_named(site)
            if named:
                firing = [(layer, act) for layer, act in found if plain_edges(model, layer)]
            else:
                firing = [(layer, act) for layer, act in found if _compounds(model, layer, mismatched, fed)]
            if firing:
                yield self._report(model, site, found)

    def _remote_mismatches(
        self, model: SemanticModel, mismatched: dict[int, tuple[object, Layer, str]]
    ) -> list[tuple[RemoteSite, list[tuple[Layer, str]]]]:
        """Inits of other files of the project (``self.apply(init_fn)``) whose scheme contradicts
        the activation after the layers of this file they reach."""
        out = []
        for remote in model.remote_init_sites:
            if remote.effect.attr != "weight":
                continue
            assumed = assumed_activation(_SchemeOnly(remote.effect.scheme))  # type: ignore[arg-type]
            found = []
            for layer in remote.layers:
                follower = model.dataflow.follower(layer)
                if follower is None or follower.kind != "activation":
                    continue
                if contradicts(assumed, activation_class(follower.activation), False):
                    found.append((layer, follower.activation or ""))
                    mismatched.setdefault(id(layer), (remote, layer, follower.activation or ""))
            if found:
                out.append((remote, found))
        return out

    def _report(self, model: SemanticModel, site: InitSite, found: list[tuple[Layer, str]]) -> Report:
        function = site.function
        names = ", ".join(layer.path for layer, _ in found)
        activations = sorted({act for _, act in found})
        act_text = "/".join(activations)
        actual = activation_class(activations[0])
        assumed = assumed_activation(site)
        lines = sorted(
            {
                model.range_of(f.node).start.line
                for layer, _ in found
                if (f := model.dataflow.follower(layer)) and f.node
            }
        )
        where = f" at line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))}" if lines else ""
        why = _WHY.get(actual or "", "").format(act=act_text)
        message = (
            f"{function} at line {model.range_of(site.call).start.line} assumes a {assumed} activation, but it reaches "
            f"{names}, which feed{'s' if len(found) == 1 else ''} {act_text}{where}; {why}. "
            f"Use {_suggestion(actual, activations[0])}"
        )
        related = []
        for layer, _ in found:
            related.append((layer.call, f"{layer.path} = {layer.type_name}(...)"))
            follower = model.dataflow.follower(layer)
            if follower is not None and follower.node is not None:
                related.append((follower.node, f"{follower.activation} after {layer.path}"))
        fix = _fix(model, site, found)
        return Report(site.call, message, fix, related=related)


@dataclass(frozen=True)
class _SchemeOnly:
    """What ``assumed_activation`` reads of a site, for an init written in another file."""

    scheme: Scheme
    arguments: tuple[()] = ()


def _remote_report(model: SemanticModel, remote: RemoteSite, found: list[tuple[Layer, str]]) -> Report:
    effect = remote.effect
    first = effect.origins[0]
    assumed = assumed_activation(_SchemeOnly(effect.scheme))  # type: ignore[arg-type]
    activations = sorted({act for _, act in found})
    act_text = "/".join(activations)
    actual = activation_class(activations[0])
    names = ", ".join(layer.path for layer, _ in found)
    why = _WHY.get(actual or "", "").format(act=act_text)
    chain = " <- ".join(f"{o.path.rsplit('/', 1)[-1]}:{o.where.line}" for o in effect.origins)
    message = (
        f"{remote.function} initializes {names} in another file ({first.where.text} at {chain}); that scheme "
        f"assumes a {assumed} activation, but {'they feed' if len(found) > 1 else 'it feeds'} {act_text}; {why}. "
        f"Use {_suggestion(actual, activations[0])} there"
    )
    related: list[tuple[cst.CSTNode | Elsewhere, str]] = [
        (Elsewhere(origin.path, origin.where), origin.message) for origin in effect.origins
    ]
    for layer, _ in found:
        related.append((layer.call, f"{layer.path} = {layer.type_name}(...)"))
        follower = model.dataflow.follower(layer)
        if follower is not None and follower.node is not None:
            related.append((follower.node, f"{follower.activation} after {layer.path}"))
    return Report(remote.call, message, None, related=related)


def _compounds(
    model: SemanticModel, layer: Layer, mismatched: dict[int, tuple[InitSite, Layer, str]], fed: set[int]
) -> bool:
    """The mismatch repeats in series: the activation feeds another mismatched layer, or the
    layer is fed through its activation by one (``fed``): the last of a mismatched run counts too."""
    for edge in plain_edges(model, layer):
        if edge.activation is None or id(edge.target) not in mismatched:
            continue
        if edge.target is layer and not (isinstance(layer.repeat, int) and layer.repeat > 1):
            continue
        return True
    return id(layer) in fed


def _fed_by_mismatch(model: SemanticModel, mismatched: dict[int, tuple[InitSite, Layer, str]]) -> set[int]:
    """Layers whose input comes, through an activation and no norm, from a mismatched layer."""
    fed: set[int] = set()
    for _, source, _ in mismatched.values():
        for edge in plain_edges(model, source):
            if edge.activation is not None and edge.target is not source:
                fed.add(id(edge.target))
    return fed


def _suggestion(actual: str | None, activation: str) -> str:
    if actual == "relu":
        return "kaiming_normal_(w, nonlinearity='relu') (or kaiming_uniform_), or gain=calculate_gain('relu')"
    if actual == "tanh":
        return "xavier_normal_(w, gain=calculate_gain('tanh'))"
    return "xavier_normal_(w) (gain 1)"


def _fix(model: SemanticModel, site: InitSite, found: list[tuple[Layer, str]]) -> FixSpec | None:
    """Switch the call to the scheme the activation wants, when every reached layer wants it."""
    if len(found) != len(site.layers) or site.tensor_method:
        return None
    actual = {activation_class(act) for _, act in found}
    if len(actual) != 1:
        return None
    target = actual.pop()
    tensor = model.code(site.arguments["tensor"])
    extra = [f"generator={model.code(site.arguments['generator'])}"] if "generator" in site.arguments else []
    family = site.scheme.family
    if family == "xavier" and target == "relu":
        function = "kaiming_normal_" if site.function == "xavier_normal_" else "kaiming_uniform_"
        return _call_fix(model, site, function, [tensor, 'nonlinearity="relu"', *extra])
    if family == "kaiming":
        mode = [f"mode={model.code(site.arguments['mode'])}"] if "mode" in site.arguments else []
        return _call_fix(model, site, site.function, [tensor, *mode, f'nonlinearity="{target}"', *extra])
    if family in ("xavier", "orthogonal"):
        gain = model.reference_to("torch.nn.init.calculate_gain")
        if gain is None:
            return None
        text, edits = gain
        args = [tensor, *extra] if target == "sigmoid" else [tensor, f'gain={text}("{target}")', *extra]
        spec = _call_fix(model, site, site.function, args)
        if spec is not None:
            spec.edits = [*spec.edits, *edits]
        return spec
    return None


def _call_fix(model: SemanticModel, site: InitSite, function: str, args: list[str]) -> FixSpec | None:
    func = site.call.func
    edits = []
    # Keep the module prefix only of `<torch.nn.init>.x_(...)`: the prefix of a configured alias
    # (`minit.xav` for `mylib.init.xav`) has no `kaiming_uniform_`.
    if isinstance(func, cst.Attribute) and model.qualified_name(func.value) == "torch.nn.init":
        callee = f"{model.code(func.value)}.{function}"
    else:
        reference = model.reference_to(f"torch.nn.init.{function}")
        if reference is None:
            return None
        callee, edits = reference
    new = f"{callee}({', '.join(args)})"
    return FixSpec("unsafe", f"Use `{new}`", [model.replace(site.call, new), *edits])
