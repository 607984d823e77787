from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule, src
from initlint.rules.triggers import INIT_TRIGGER
from initlint.semantic import SemanticModel
from initlint.semantic.modules import Layer

_CATEGORIES = frozenset({"linear", "conv", "embedding"})


class ConstantHiddenWeight(Rule):
    code = "IL407"
    name = "constant-hidden-weight"
    summary = "A constant non-zero weight on a layer that feeds another layer: its units stay identical forever"
    severity = "error"
    triggers = (INIT_TRIGGER, r"ones_|constant_|fill_")
    uses_init_aliases = True

    VALID = (
        # zeros: deliberate (last / residual layer)
        src("""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc1 = nn.Linear(4, 8)
                    self.fc2 = nn.Linear(8, 2)
                    nn.init.zeros_(self.fc1.weight)
                def forward(self, x):
                    return self.fc2(self.fc1(x).relu())
        """),
        # a norm's weight of one is its identity
        src("""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc1 = nn.Linear(4, 8)
                    self.bn = nn.BatchNorm1d(8)
                    self.fc2 = nn.Linear(8, 2)
                    nn.init.ones_(self.bn.weight)
                def forward(self, x):
                    return self.fc2(self.bn(self.fc1(x)))
        """),
        # the output layer: no unit downstream to tell apart
        src("""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc1 = nn.Linear(4, 8)
                    self.fc2 = nn.Linear(8, 2)
                    nn.init.constant_(self.fc2.weight, 0.1)
                def forward(self, x):
                    return self.fc2(self.fc1(x).relu())
        """),
        # a constant bias is fine
        src("""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc1 = nn.Linear(4, 8)
                    self.fc2 = nn.Linear(8, 2)
                    nn.init.constant_(self.fc1.bias, 0.1)
                def forward(self, x):
                    return self.fc2(self.fc1(x).relu())
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc1 = nn.Linear(4, 8)
                        self.fc2 = nn.Linear(8, 2)
                        nn.init.constant_(self.fc1.weight, 0.5)
                    def forward(self, x):
                        return self.fc2(self.fc1(x).relu())
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                import torch.nn.functional as F
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc1 = nn.Linear(4, 8)
                        self.fc2 = nn.Linear(8, 2)
                        for m in self.modules():
                            if isinstance(m, nn.Linear):
                                nn.init.ones_(m.weight)
                    def forward(self, x):
                        return self.fc2(F.relu(self.fc1(x)))
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3))
                        self.net[0].weight.data.fill_(0.01)
                    def forward(self, x):
                        return self.net(x)
            """)
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for site in model.init_sites:
            if site.param != "weight" or site.function not in ("ones_", "constant_"):
                continue
            value = 1.0 if site.function == "ones_" else site.scheme.value
            if not isinstance(value, (int, float)) or value == 0:
                continue
            for layer in site.layers:
                if layer.category not in _CATEGORIES or _frozen(model, layer):
                    continue
                edges = model.dataflow.successors(layer)
                if not edges or (model.dataflow.follower(layer) and model.dataflow.follower(layer).kind == "output"):
                    continue
                yield self._report(model, site.call, layer, edges[0].target, value)
                break

    def _report(self, model: SemanticModel, call: cst.Call, layer: Layer, target: Layer, value: float) -> Report:
        line = model.range_of(target.call).start.line
        return Report(
            call,
            f"`{_short(model.code(call))}` gives every unit of `self.{layer.path}` ({layer.type_name}) the same "
            f"weights ({value:g}), and its output feeds `self.{target.path}` (line {line}): identical units get "
            f"identical gradients and stay identical, so the layer acts as one unit wide; use a random init "
            f"(`nn.init.kaiming_uniform_`, `xavier_uniform_`) and keep constants for biases and norms",
            related=[
                (layer.call, f"`self.{layer.path}` is built here"),
                (target.call, f"`self.{target.path}` reads its output"),
            ],
        )


def _short(code: str) -> str:
    return code if len(code) <= 70 and "\n" not in code else code[:67] + "..."


def _frozen(model: SemanticModel, layer: Layer) -> bool:
    """A fixed filter (``requires_grad = False``) is deliberate."""
    for node in model.nodes(cst.Name):
        if node.value == "False":
            parent = model.parent.get(node)
            if isinstance(parent, cst.Arg) and parent.keyword is not None and parent.keyword.value == "requires_grad":
                return True
            if isinstance(parent, cst.Assign) and any(
                isinstance(t.target, cst.Attribute) and t.target.attr.value == "requires_grad" for t in parent.targets
            ):
                return True
    return any(node.attr.value == "requires_grad_" for node in model.nodes(cst.Attribute))
