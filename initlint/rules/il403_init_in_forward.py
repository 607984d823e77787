from __future__ import annotations

import re
from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule, src
from initlint.rules.triggers import has_init
from initlint.semantic import SemanticModel
from initlint.semantic.catalog import LAYERS
from initlint.semantic.modules import ModuleClass
from initlint.semantic.structure import inside, nodes_in, referenced_function

_APPLY = re.compile(r"\.\s*apply\s*\(")
_RESET = frozenset({"reset_parameters", "_reset_parameters"})


class InitInForward(Rule):
    code = "IL403"
    name = "init-in-forward"
    summary = "An init of the module's own parameters inside `forward` re-initializes them on every call"
    severity = "error"
    literals = ("forward",)
    triggers = (r"def\s+forward\b",)

    @classmethod
    def may_match(cls, text: str, memo: dict[object, bool] | None = None) -> bool:
        # An init site (the shared INIT test), a reset_parameters() call or an .apply() call.
        if not super().may_match(text, memo):
            return False
        return "reset_parameters" in text or bool(_APPLY.search(text)) or has_init(text, memo)

    uses_init_aliases = True

    VALID = (
        # deliberate lazy, data-dependent init (ActNorm)
        src("""
            import torch.nn as nn
            class ActNorm(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.Linear(4, 4)
                    self.initialized = False
                def forward(self, x):
                    if not self.initialized:
                        nn.init.normal_(self.fc.weight)
                        self.initialized = True
                    return self.fc(x)
        """),
        # noise on a local tensor
        src("""
            import torch
            import torch.nn as nn
            class Noisy(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.Linear(4, 4)
                def forward(self, x):
                    noise = torch.empty_like(x)
                    nn.init.normal_(noise)
                    return self.fc(x + noise)
        """),
        # init in __init__
        src("""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.Linear(4, 4)
                    nn.init.zeros_(self.fc.bias)
                def forward(self, x):
                    return self.fc(x)
        """),
        # forward of something that is not a module
        src("""
            import torch.nn as nn
            class Runner:
                def forward(self, x):
                    nn.init.zeros_(self.fc.bias)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(4, 4)
                    def forward(self, x):
                        nn.init.xavier_uniform_(self.fc.weight)
                        return self.fc(x)
            """)
        ),
        Invalid(
            src("""
                import torch
                import torch.nn as nn
                class Scale(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.gamma = nn.Parameter(torch.ones(4))
                    def forward(self, x):
                        self.gamma.data.fill_(1.0)
                        return x * self.gamma
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(4, 4)
                    def reset_parameters(self):
                        nn.init.zeros_(self.fc.bias)
                    def forward(self, x):
                        self.reset_parameters()
                        return self.fc(x)
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                def init(m):
                    if isinstance(m, nn.Linear):
                        nn.init.zeros_(m.bias)
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(4, 4)
                    def forward(self, x):
                        self.apply(init)
                        return self.fc(x)
            """)
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        # Init sites by the function that holds them: scanning every site per class was quadratic.
        by_function: dict[int, list] = {}  # type: ignore[type-arg]
        for site in model.init_sites:
            by_function.setdefault(id(site.function_node), []).append(site)
        for cls in model.module_classes.values():
            forward = cls.forward
            if forward is None or _early_return(model, forward):
                continue
            for site in by_function.get(id(forward), ()):
                if site.function_node is not forward or not inside(model, site.call, forward):
                    continue
                if _conditional(model, site.call, forward) or not _own_parameter(site.target, cls, site):
                    continue
                yield self._report(model, cls, site.call, f"`{_short(model.code(site.target))}`", site.layers)
            for call in nodes_in(model, forward, cst.Call):
                func = call.func
                if not (
                    isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self"
                ):
                    continue
                if _conditional(model, call, forward):
                    continue
                method = func.attr.value
                if method in _RESET and not call.args and _resets(model, cls, method):
                    yield self._report(model, cls, call, "every parameter it resets", [])
                elif method == "apply" and len(call.args) == 1:
                    function = referenced_function(model, call.args[0].value, call)
                    if function is not None and _initializes(model, function):
                        yield self._report(model, cls, call, "every submodule it reaches", [])

    def _report(self, model: SemanticModel, cls: ModuleClass, node: cst.Call, what: str, layers: list) -> Report:
        related = [(layer.call, f"`self.{layer.path}` is built here") for layer in layers[:3]]
        return Report(
            node,
            f"`{_short(model.code(node))}` runs in `{cls.name}.forward`: it re-initializes {what} on every "
            f"call, so whatever the optimizer learned is overwritten each step; initialize once in `__init__` "
            f"(or `reset_parameters`), or guard a deliberate lazy init with a flag",
            related=related,
        )


def _short(code: str) -> str:
    return code if len(code) <= 70 and "\n" not in code else code[:67] + "..."


def _conditional(model: SemanticModel, node: cst.CSTNode, function: cst.FunctionDef) -> bool:
    for ancestor in model.ancestors(node):
        if ancestor is function:
            return False
        if isinstance(ancestor, (cst.If, cst.IfExp, cst.While, cst.Try, cst.BooleanOperation)):
            return True
    return False


def _early_return(model: SemanticModel, forward: cst.FunctionDef) -> bool:
    """``if self.initialized: return ...`` before the init: a lazy init too."""
    return any(model.enclosing(ret, cst.If) is not None for ret in nodes_in(model, forward, cst.Return))


def _own_parameter(target: cst.BaseExpression, cls: ModuleClass, site) -> bool:
    if site.class_parameter is not None:
        return True
    if not isinstance(target, cst.Attribute):
        return False
    base = target.value
    if isinstance(base, cst.Name) and base.value == "self":
        return target.attr.value in ("weight", "bias") or target.attr.value in cls.parameters
    while isinstance(base, cst.Subscript):
        base = base.value
    if isinstance(base, cst.Attribute) and isinstance(base.value, cst.Name) and base.value.value == "self":
        return base.attr.value in cls.layers and target.attr.value in ("weight", "bias")
    return bool(site.layers) and all(layer.owner is cls for layer in site.layers)


def _resets(model: SemanticModel, cls: ModuleClass, method: str) -> bool:
    definition = cls.methods.get(method)
    if definition is not None:
        return _initializes(model, definition)
    for base in cls.node.bases:
        qualified = model.qualified_name(base.value)
        if qualified and qualified.startswith("torch.nn.") and qualified.rsplit(".", 1)[1] in LAYERS:
            kind = LAYERS[qualified.rsplit(".", 1)[1]]
            return kind.weight_rank is not None
    return False


def _initializes(model: SemanticModel, function: cst.CSTNode) -> bool:
    return any(
        site.call is not None and any(a is function for a in model.ancestors(site.call)) for site in model.init_sites
    )
