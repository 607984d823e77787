from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule, src
from initlint.rules.triggers import INIT_TRIGGER
from initlint.semantic import SemanticModel
from initlint.semantic.core import literal_all


class InitFunctionNeverApplied(Rule):
    code = "IL418"
    name = "init-function-never-applied"
    summary = "A public init function (`weights_init(m)`) that no file of the project calls, applies or names"
    severity = "warning"
    tier = "advice"
    default_enabled = False
    triggers = (r"\bdef\s+[A-Za-z]", INIT_TRIGGER)
    uses_init_aliases = True
    uses_project = True

    VALID = (
        # checked on its own: other files may apply it
        src("""
            import torch.nn as nn
            def weights_init(m):
                if isinstance(m, nn.Linear):
                    nn.init.zeros_(m.bias)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn

                def weights_init(m):
                    if isinstance(m, nn.Linear):
                        nn.init.kaiming_normal_(m.weight)
            """),
            files=(("train.py", "from snippet import *\n\nnet = build()\n"),),
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        view = model.project
        if view is None:
            return
        exported = literal_all(model.module)
        for statement in model.module.body:
            if not isinstance(statement, cst.FunctionDef) or statement.decorators:
                continue
            name = statement.name.value
            if name.startswith("_") or (exported is not None and (not exported or name in exported)):
                continue  # private ones are IL415's; a listed one is the package's API
            params = statement.params.params
            if not params or not _writes_its_module(model, statement, params[0].name.value):
                continue
            if _named_elsewhere_in_file(model, statement):
                continue
            if view.index.mentions(name, view.path) is not False:
                continue
            yield Report(
                statement.name,
                f"`{name}` initializes the module it is given, but no file of the project calls it, gives it to "
                f"`.apply` or names it: the model trains from PyTorch's default init; apply it "
                f"(`model.apply({name})`) or delete it",
            )


def _writes_its_module(model: SemanticModel, function: cst.FunctionDef, param: str) -> bool:
    """An init site of this function reached through its first parameter (``m.weight``)."""
    for site in model.init_sites:
        if site.function_node is not function or site.dispatch is None:
            continue
        target = site.target
        while isinstance(target, cst.Attribute):
            target = target.value
        if isinstance(target, cst.Name) and target.value == param:
            return True
    return False


def _named_elsewhere_in_file(model: SemanticModel, function: cst.FunctionDef) -> bool:
    """Used, or looked up by a string (``getattr(module, "weights_init")``), in its own file."""
    name = function.name.value
    if any(node.value == name and node is not function.name for node in model.nodes(cst.Name)):
        return True
    return any(name in value for s in model.nodes(cst.SimpleString) if isinstance(value := s.evaluated_value, str))
