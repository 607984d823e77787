from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule, src
from initlint.semantic import SemanticModel
from initlint.semantic.inits import InitSite
from initlint.semantic.modules import Layer, ModuleClass, foreign_module_classes
from initlint.semantic.structure import nodes_in, referenced_function, self_call
from initlint.semantic.values import evaluate

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
        src("""
            import torch.nn as nn
            def init(m):
                if isinstance(m, nn.Linear):
                    nn.init.zeros_(m.bias)
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.Linear(4, 4)
                    self.apply(init)
        """),
        # the late layer is not one the init touches
        src("""
            import torch.nn as nn
            def init(m):
                if isinstance(m, nn.Linear):
                    nn.init.zeros_(m.bias)
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.Linear(4, 4)
                    self.apply(init)
                    self.conv = nn.Conv2d(3, 3, 3)
        """),
        src("""
            import torch
            import torch.nn as nn
            class Scale(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.gamma = nn.Parameter(torch.empty(4))
                    self.reset_parameters()
                    self.extra = nn.Linear(4, 4)
                def reset_parameters(self):
                    nn.init.ones_(self.gamma)
        """),
        # the method is defined elsewhere (a subclass may override it)
        src("""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.init_weights()
                    self.fc = nn.Linear(4, 4)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                def init(m):
                    if isinstance(m, nn.Linear):
                        nn.init.zeros_(m.bias)
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.apply(init)
                        self.fc = nn.Linear(4, 4)
            """)
        ),
        Invalid(
            src("""
                import torch
                import torch.nn as nn
                class Scale(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.reset_parameters()
                        self.gamma = nn.Parameter(torch.empty(4))
                    def reset_parameters(self):
                        nn.init.ones_(self.gamma)
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.conv = nn.Conv2d(3, 8, 3)
                        self._init_weights()
                        self.head = nn.Linear(8, 2)
                    def _init_weights(self):
                        for m in self.modules():
                            if isinstance(m, nn.Linear):
                                nn.init.normal_(m.weight, 0, 0.01)
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.apply(self._init)
                        self.blocks = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
                    def _init(self, m):
                        if isinstance(m, nn.Conv2d):
                            nn.init.kaiming_normal_(m.weight)
            """)
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        # A class with a base from another file gets the same verdict as its nn.Module twin, and
        # an init call nested in `if`/`with`/`try`/`for` the same as a top-level one.
        for cls in (*model.module_classes.values(), *foreign_module_classes(model).values()):
            init = cls.init
            if init is None or not isinstance(init.body, cst.IndentedBlock) or not cls.assignments:
                continue
            for statement in nodes_in(model, init, cst.SimpleStatementLine):
                found = self_call(statement)
                if found is None:
                    continue
                method, call = found
                early = _assigned_before(model, init, statement)
                late = [
                    (name, assignment)
                    for name, assignment in cls.assignments
                    if name not in early
                    and model.precedes(statement, assignment)
                    and not _exclusive(model, statement, assignment)
                ]
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
    sites = [site for site in model.init_sites if any(a is function for a in model.ancestors(site.call))]
    out = []
    for name, statement in late:
        layer = cls.layers.get(name)
        if name in referenced or (
            layer is not None and any(_reaches(model, site, function, sub) for site in sites for sub in layer.walk())
        ):
            out.append((name, statement))
    return out


def _reaches(model: SemanticModel, site: InitSite, function: cst.CSTNode, layer: Layer) -> bool:
    """Whether the init site would reach ``layer`` of the class. For a module variable that the
    function receives from ``.apply`` or loops over ``self.modules()``, by its type dispatch,
    so that the answer does not depend on whether the class derives from nn.Module here or
    through a base of another file."""
    if site.param == "bias" and _without_bias(model, layer):
        return False  # an init of `.bias` does nothing to a layer built without one
    dispatch = site.dispatch
    if dispatch is None or not _every_submodule(model, site, function):
        return any(layer is reached for reached in site.layers)
    if layer.category == "container":
        return False
    if dispatch.types is not None and layer.type_name not in dispatch.types:
        return False
    return dispatch.name_contains is None or dispatch.name_contains in layer.type_name


def _every_submodule(model: SemanticModel, site: InitSite, function: cst.CSTNode) -> bool:
    """The site's module variable is the parameter of the applied function, or the variable of a
    loop over ``self.modules()`` (every submodule of the class, whatever its layers)."""
    target = site.target
    if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)):
        return False
    variable = target.value.value
    for ancestor in model.ancestors(site.call):
        if (
            isinstance(ancestor, cst.For)
            and isinstance(ancestor.target, cst.Name)
            and ancestor.target.value == variable
        ):
            iterable = ancestor.iter
            return (
                isinstance(iterable, cst.Call)
                and isinstance(iterable.func, cst.Attribute)
                and iterable.func.attr.value in ("modules", "named_modules")
                and isinstance(iterable.func.value, cst.Name)
                and iterable.func.value.value == "self"
            )
        if ancestor is function:
            params = function.params if isinstance(function, (cst.FunctionDef, cst.Lambda)) else None
            return params is not None and any(p.name.value == variable for p in params.params)
    return False


def _without_bias(model: SemanticModel, layer: Layer) -> bool:
    """``bias=False`` written in the constructor call (a parameter's default proves nothing)."""
    return any(
        arg.keyword is not None and arg.keyword.value == "bias" and evaluate(model, arg.value) is False
        for arg in layer.call.args
    )


def _assigned_before(model: SemanticModel, init: cst.FunctionDef, statement: cst.CSTNode) -> set[str]:
    """``self.X`` names assigned in ``__init__`` before ``statement``."""
    names: set[str] = set()
    for assign in (*nodes_in(model, init, cst.Assign), *nodes_in(model, init, cst.AnnAssign)):
        if not model.precedes(assign, statement):
            continue
        targets = [t.target for t in assign.targets] if isinstance(assign, cst.Assign) else [assign.target]
        for target in targets:
            if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
                if target.value.value == "self":
                    names.add(target.attr.value)
    return names


def _exclusive(model: SemanticModel, first: cst.CSTNode, second: cst.CSTNode) -> bool:
    """The two statements are in different branches of one ``if`` (or of a ``try`` and its
    handlers): one running does not mean the other runs after it."""
    path: dict[int, cst.CSTNode] = {}
    child: cst.CSTNode = first
    for ancestor in model.ancestors(first):
        path[id(ancestor)] = child
        child = ancestor
    child = second
    for ancestor in model.ancestors(second):
        if id(ancestor) in path:
            other = path[id(ancestor)]
            if other is child:
                return False
            if isinstance(ancestor, cst.If):
                return True  # body and orelse
            if isinstance(ancestor, (cst.Try, cst.TryStar)):
                return isinstance(other, cst.ExceptHandler) or isinstance(child, cst.ExceptHandler)
            return False
        child = ancestor
    return False


def _guarded_by_hasattr(model: SemanticModel, function: cst.CSTNode) -> bool:
    for call in nodes_in(model, function, cst.Call):
        if model.is_builtin(call.func, "hasattr") or model.is_builtin(call.func, "getattr"):
            return True
    return False
