from __future__ import annotations

import builtins
from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule, src
from initlint.rules.triggers import applies_imported, init_named_call, says_init
from initlint.semantic import SemanticModel
from initlint.semantic.core import dotted

_BUILTINS = frozenset(dir(builtins))


class InitFunctionNotImportable(Rule):
    code = "IL417"
    name = "init-function-not-importable"
    summary = "An init function applied or called here is not defined where it is imported from (another file)"
    severity = "error"
    # `.apply(weights_init)` or a call of a plain name that says it initializes (not `__init__`),
    # where an import of the file may bind that name (see may_match)
    literals = ("init", "Init", "INIT", ".apply")
    needs_torch = False  # a training script may apply an init function without importing torch
    uses_project = True

    VALID = (
        # checked on its own (no other file of the project is known): nothing to prove
        src("""
            from models import *
            net = Net()
            net.apply(weights_init)
        """),
        # defined in this file
        src("""
            import torch.nn as nn
            def weights_init(m):
                if isinstance(m, nn.Linear):
                    nn.init.zeros_(m.bias)
            net = nn.Linear(2, 2)
            net.apply(weights_init)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                from models import *

                net = Net()
                net.apply(weights_init)
            """),
            files=(
                (
                    "models.py",
                    src("""
                        import torch.nn as nn

                        __all__ = ["Net"]

                        class Net(nn.Module):
                            def __init__(self):
                                super().__init__()
                                self.fc = nn.Linear(2, 2)

                        def weights_init(m):
                            nn.init.zeros_(m.bias)
                    """),
                ),
            ),
        ),
        Invalid(
            src("""
                from utils import init_weights

                init_weights(None)
            """),
            files=(("utils.py", "def reset_weights(model):\n    pass\n"),),
        ),
    )

    @classmethod
    def may_match(cls, text: str, memo: dict[object, bool] | None = None) -> bool:
        if not super().may_match(text, memo):
            return False
        return applies_imported(text) or init_named_call(text, bare=True)

    def check(self, model: SemanticModel) -> Iterator[Report]:
        view = model.project
        if view is None:
            return
        reported: set[str] = set()
        for name, node in _used_init_functions(model):
            if name in reported:
                continue
            report = self._imported(model, name, node) or self._starred(model, name, node)
            if report is not None:
                reported.add(name)
                yield report

    def _imported(self, model: SemanticModel, name: str, node: cst.CSTNode) -> Report | None:
        """``from utils import weights_init`` where utils.py (of this project) has no such name."""
        view = model.project
        assert view is not None
        for statement in model.imports.import_nodes:
            if not isinstance(statement, cst.ImportFrom) or isinstance(statement.names, cst.ImportStar):
                continue
            for alias in statement.names:
                local = alias.asname.name if alias.asname is not None else alias.name
                if not isinstance(local, cst.Name) or local.value != name or not isinstance(alias.name, cst.Name):
                    continue
                module = "." * len(statement.relative) + (dotted(statement.module) or "" if statement.module else "")
                imported = alias.name.value
                if view.provides(module, imported, view.path, star=False) is not False:
                    return None
                path = view.index.module_file(module, view.path)
                shown = path.name if path is not None else module
                return Report(
                    statement,
                    f"`{imported}` is imported from {module} ({shown}), which does not define it: this import raises "
                    f"ImportError, so the init applied at line {model.range_of(node).start.line} never runs; "
                    f"import it from the module that defines it",
                    related=[(node, f"`{name}` used here")],
                )
        return None

    def _starred(self, model: SemanticModel, name: str, node: cst.CSTNode) -> Report | None:
        """A name no statement of this file binds, where every ``from m import *`` is a module of
        the project that does not export it: NameError when the line runs."""
        view = model.project
        assert view is not None
        if not model.imports.star_import or not model.imports.is_free(name) or name in _BUILTINS:
            return None
        if any(_binds_nonlocally(model, name)):
            return None
        modules = view.star_modules()
        if not modules or any(view.provides(m, name, view.path, star=True) is not False for m in modules):
            return None
        listed = ", ".join(f"`from {m} import *`" for m in modules)
        return Report(
            node,
            f"`{name}` is not defined in this file and {listed} does not provide it (not defined there, or "
            f"left out of its `__all__`): this line raises NameError and the init never runs; import it by name",
        )


def _used_init_functions(model: SemanticModel) -> Iterator[tuple[str, cst.CSTNode]]:
    """Names given to ``.apply`` or called, whose name says they initialize."""
    for call in model.nodes(cst.Call):
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "apply" and len(call.args) == 1:
            argument = call.args[0].value
            if isinstance(argument, cst.Name):
                yield argument.value, argument
        elif isinstance(func, cst.Name) and says_init(func.value):
            yield func.value, func


def _binds_nonlocally(model: SemanticModel, name: str) -> Iterator[bool]:
    """``global name`` / ``nonlocal name`` statements: assignments through them are not seen."""
    for node in (*model.nodes(cst.Global), *model.nodes(cst.Nonlocal)):
        yield any(item.name.value == name for item in node.names)
