from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule, src
from initlint.rules.triggers import init_code_possible
from initlint.semantic import SemanticModel
from initlint.semantic.effects import PerModuleUse, per_module_uses, walks_every_module
from initlint.semantic.structure import nodes_in
from initlint.semantic.tensors import is_init_code

# Calls that can reach a local variable without naming it.
_INTROSPECTION = frozenset({"locals", "vars", "eval", "exec"})


class InitIgnoresModuleArgument(Rule):
    code = "IL411"
    name = "init-ignores-module-argument"
    summary = "A function run once per module (`.apply(fn)`, a `.modules()` loop) that never reads its module"
    severity = "error"
    literals = ("apply", "modules", "children")
    triggers = (r"\.\s*(?:apply|modules|children|named_modules|named_children)\s*\(",)
    uses_init_aliases = True  # an init call through a configured alias is evidence too

    @classmethod
    def may_match(cls, text: str, memo: dict[object, bool] | None = None) -> bool:
        # A finding needs init code in the function (is_init_code, or an init site in a lambda).
        return init_code_possible(text, memo) and super().may_match(text, memo)

    VALID = (
        # reads its module argument
        src("""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.Linear(4, 4)
                    self.apply(self._init)
                def _init(self, m):
                    if isinstance(m, nn.Linear):
                        nn.init.zeros_(m.bias)
        """),
        # deliberately unused (underscore name)
        src("""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.w = nn.Parameter(torch.ones(3))
                    self.apply(lambda _: nn.init.ones_(self.w))
        """),
        # walks every module itself: the result is the same whatever it is given
        src("""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.Linear(4, 4)
                    self.apply(self._init)
                def _init(self, m):
                    for layer in self.modules():
                        if isinstance(layer, nn.Linear):
                            nn.init.zeros_(layer.bias)
        """),
        # a staticmethod: the module is its first parameter
        src("""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.Linear(4, 4)
                    self.apply(self._init)
                @staticmethod
                def _init(m):
                    if isinstance(m, nn.Linear):
                        nn.init.zeros_(m.bias)
        """),
        # no init in it: nothing to prove
        src("""
            import torch.nn as nn
            count = []
            def visit(m):
                count.append(1)
            model.apply(visit)
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
                        self.apply(self._init)
                    def _init(self, m):
                        if isinstance(self, nn.Linear):
                            nn.init.zeros_(self.bias)
            """)
        ),
        Invalid(
            src("""
                import torch
                import torch.nn as nn
                class Scale(nn.Module):
                    def __init__(self, n):
                        super().__init__()
                        self.weight = nn.Parameter(torch.ones(n))
                        self.apply(self.init_weights)
                    def init_weights(self, module):
                        nn.init.normal_(self.weight, std=0.02)
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                net = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
                def init(m):
                    if isinstance(net, nn.Linear):
                        nn.init.xavier_uniform_(net.weight)
                for layer in net.modules():
                    init(layer)
            """)
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        reported: set[cst.CSTNode] = set()
        for use in per_module_uses(model):
            if use.function in reported:
                continue
            report = self._check(model, use)
            if report is not None:
                reported.add(use.function)
                yield report

    def _check(self, model: SemanticModel, use: PerModuleUse) -> Report | None:
        function, parameter = use.function, use.parameter
        name = parameter.name.value
        if name.startswith("_") or _reads(model, function, parameter):
            return None
        evidence = _evidence(model, function)
        if evidence is None:
            return None
        node, what = evidence
        label = "<lambda>" if isinstance(function, cst.Lambda) else f"`{function.name.value}`"
        how = (
            f"`{_short(model.code(use.call))}` (line {model.range_of(use.call).start.line}) calls {label} once per module"
            if use.loop is None
            else f"the loop over `{_short(model.code(use.loop.iter))}` (line {model.range_of(use.loop).start.line}) "
            f"calls {label} with each module"
        )
        return Report(
            parameter,
            f"{how}, passing it as `{name}`, but {label} never reads `{name}`: it {what}, line "
            f"{model.range_of(node).start.line}) instead, the same object on every call, and none of the modules "
            f"it is given is initialized by it; dispatch and initialize on `{name}` "
            f"(`isinstance({name}, ...)`, `{name}.weight`)",
            related=[(use.call, "run once per module here"), (node, "acts on something other than the module here")],
        )


def _reads(model: SemanticModel, function: cst.CSTNode, parameter: cst.Param) -> bool:
    """Any use of the parameter's name in the function (nested functions included), or a call
    that can reach it without naming it."""
    name = parameter.name.value
    for node in model.nodes_within(function, cst.Name):
        if node is parameter.name:
            continue
        if node.value in _INTROSPECTION and model.is_builtin(node, node.value):
            return True
        if node.value != name:
            continue
        parent = model.parent.get(node)
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            continue
        if isinstance(parent, cst.Arg) and parent.keyword is node:
            continue
        return True
    return False


def _evidence(model: SemanticModel, function: cst.FunctionDef | cst.Lambda) -> tuple[cst.CSTNode, str] | None:
    """What an init function acts on instead of its module: its first init call, or its first
    isinstance test on a torch.nn type; calls inside its own walk over every module (``for l in
    self.modules()``) do not count: such a walk does the same work whatever it is given."""
    anchor: cst.CSTNode = function.body if isinstance(function, cst.FunctionDef) else function
    sites = {site.call: site for site in model.init_sites}
    if isinstance(function, cst.FunctionDef):
        initializes = is_init_code(model, function.body)
    else:
        initializes = any(call in sites for call in nodes_in(model, anchor, cst.Call))
    if not initializes:
        return None
    for call in nodes_in(model, anchor, cst.Call):
        if walks_every_module(model, call, anchor):
            continue
        if model.is_builtin(call.func, "isinstance") and len(call.args) == 2:
            if _torch_class(model, call.args[1].value):
                subject = _short(model.code(call.args[0].value))
                return call, f"dispatches on `{subject}` (`{_short(model.code(call))}`"
            continue
        site = sites.get(call)
        if site is not None:
            return call, f"initializes `{_short(model.code(site.target))}` (`{_short(model.code(call))}`"
    return None


def _torch_class(model: SemanticModel, node: cst.BaseExpression) -> bool:
    elements = [e.value for e in node.elements] if isinstance(node, cst.Tuple) else [node]
    for element in elements:
        qualified = model.qualified_name(element)
        if not (qualified and qualified.startswith("torch.nn.")):
            return False
    return bool(elements)


def _short(code: str) -> str:
    code = " ".join(code.split())
    return code if len(code) <= 60 else code[:57] + "..."
