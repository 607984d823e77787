from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule
from initlint.semantic import SemanticModel
from initlint.semantic.modules import ModuleClass
from initlint.semantic.structure import nodes_in, referenced_function, self_call, top_statement

_INIT_METHODS = frozenset(
    {"reset_parameters", "_reset_parameters", "_init_weights", "init_weights", "_initialize_weights",
     "initialize_weights"}
)  # fmt: skip


class InitBeforeLayers(Rule):
    code = "IL406"
    name = "init-before-layers"
    summary = "`self.apply(init)` / `self.reset_parameters()` in `__init__` before the layers it should reach exist"
    severity = "error"
    triggers = (r"self\s*\.\s*(?:apply|_?reset_parameters|_?init_weights|_?initialize_weights)\s*\(",)

    VALID = (
        "import torch.nn as nn\ndef init(m):\n    if isinstance(m, nn.Linear):\n        nn.init.zeros_(m.bias)\n"
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 4)\n        self.apply(init)\n",
        # the late layer is not one the init touches
        "import torch.nn as nn\ndef init(m):\n    if isinstance(m, nn.Linear):\n        nn.init.zeros_(m.bias)\n"
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 4)\n        self.apply(init)\n        self.conv = nn.Conv2d(3, 3, 3)\n",
        "import torch\nimport torch.nn as nn\nclass Scale(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.gamma = nn.Parameter(torch.empty(4))\n"
        "        self.reset_parameters()\n        self.extra = nn.Linear(4, 4)\n"
        "    def reset_parameters(self):\n        nn.init.ones_(self.gamma)\n",
        # the method is defined elsewhere (a subclass may override it)
        "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.init_weights()\n        self.fc = nn.Linear(4, 4)\n",
    )
    INVALID = (
        Invalid(
            "import torch.nn as nn\ndef init(m):\n    if isinstance(m, nn.Linear):\n        nn.init.zeros_(m.bias)\n"
            "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.apply(init)\n        self.fc = nn.Linear(4, 4)\n"
        ),
        Invalid(
            "import torch\nimport torch.nn as nn\nclass Scale(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.reset_parameters()\n"
            "        self.gamma = nn.Parameter(torch.empty(4))\n"
            "    def reset_parameters(self):\n        nn.init.ones_(self.gamma)\n"
        ),
        Invalid(
            "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.conv = nn.Conv2d(3, 8, 3)\n        self._init_weights()\n"
            "        self.head = nn.Linear(8, 2)\n    def _init_weights(self):\n"
            "        for m in self.modules():\n            if isinstance(m, nn.Linear):\n"
            "                nn.init.normal_(m.weight, 0, 0.01)\n"
        ),
        Invalid(
            "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.apply(self._init)\n        self.blocks = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())\n"
            "    def _init(self, m):\n        if isinstance(m, nn.Conv2d):\n"
            "            nn.init.kaiming_normal_(m.weight)\n"
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for cls in model.module_classes.values():
            init = cls.init
            if init is None or not isinstance(init.body, cst.IndentedBlock) or not cls.assignments:
                continue
            positions = [
                (name, statement, top_statement(model, statement, init)) for name, statement in cls.assignments
            ]
            for index, statement in enumerate(init.body.body):
                found = self_call(statement)
                if found is None:
                    continue
                method, call = found
                early = _assigned_before(model, init, index)
                late = [(n, s) for n, s, i in positions if i is not None and i > index and n not in early]
                if not late:
                    continue
                if method == "apply" and len(call.args) == 1:
                    function = referenced_function(model, call.args[0].value, call)
                elif method in _INIT_METHODS and not call.args:
                    function = cls.methods.get(method)
                else:
                    continue
                if function is None:
                    continue
                touched = _touched(model, cls, function, late, generic=method == "apply")
                if touched:
                    yield self._report(model, cls, call, touched)

    def _report(self, model: SemanticModel, cls: ModuleClass, call: cst.Call, touched: list) -> Report:
        names = ", ".join(f"`self.{name}` (line {model.range_of(statement).start.line})" for name, statement in touched)
        return Report(
            call,
            f"`{model.code(call)}` in `{cls.name}.__init__` runs before {names} "
            f"{'is' if len(touched) == 1 else 'are'} assigned: it cannot initialize what does not exist yet "
            f"(those keep PyTorch's default init, or a `self.` reference raises AttributeError); "
            f"call it at the end of `__init__`",
            related=[(statement, f"`self.{name}` is assigned after the init call") for name, statement in touched],
        )


def _touched(
    model: SemanticModel, cls: ModuleClass, function: cst.CSTNode, late: list, *, generic: bool
) -> list[tuple[str, cst.CSTNode]]:
    referenced: set[str] = set()
    if not generic:
        for attribute in nodes_in(model, function, cst.Attribute):
            if isinstance(attribute.value, cst.Name) and attribute.value.value == "self":
                referenced.add(attribute.attr.value)
        if _guarded_by_hasattr(model, function):
            referenced = set()
    reached: set[int] = set()
    for site in model.init_sites:
        if any(a is function for a in model.ancestors(site.call)):
            reached.update(id(layer) for layer in site.layers)
    out = []
    for name, statement in late:
        layer = cls.layers.get(name)
        if name in referenced or (layer is not None and any(id(sub) in reached for sub in layer.walk())):
            out.append((name, statement))
    return out


def _assigned_before(model: SemanticModel, init: cst.FunctionDef, index: int) -> set[str]:
    names: set[str] = set()
    for statement in init.body.body[:index]:  # type: ignore[union-attr]
        assigns = [statement] if isinstance(statement, (cst.Assign, cst.AnnAssign)) else []
        assigns += [*model.nodes_within(statement, cst.Assign), *model.nodes_within(statement, cst.AnnAssign)]
        for assign in assigns:
            targets = [t.target for t in assign.targets] if isinstance(assign, cst.Assign) else [assign.target]
            for target in targets:
                if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
                    if target.value.value == "self":
                        names.add(target.attr.value)
    return names


def _guarded_by_hasattr(model: SemanticModel, function: cst.CSTNode) -> bool:
    for call in nodes_in(model, function, cst.Call):
        if model.is_builtin(call.func, "hasattr") or model.is_builtin(call.func, "getattr"):
            return True
    return False
