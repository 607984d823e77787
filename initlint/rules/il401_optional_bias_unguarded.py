from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst
from initlint.finding import Edit
from initlint.rules.base import Elsewhere, FixSpec, Invalid, Report, Rule, src
from initlint.rules.triggers import INIT_TRIGGER
from initlint.semantic import SemanticModel
from initlint.semantic.inits import APPLIED_BY_CONVENTION, InitSite
from initlint.semantic.modules import Layer, ModuleClass
from initlint.semantic.structure import (
    AFFINE_NORMS,
    INSTANCE_NORMS,
    OPTIONAL_BIAS,
    bias_state,
    constructor_disables_bias,
    fully_known,
    referenced_function,
)

_NORMS = frozenset(AFFINE_NORMS) | INSTANCE_NORMS
_ITERATORS = frozenset({"modules", "children", "named_modules", "named_children"})


class OptionalBiasUnguarded(Rule):
    code = "IL401"
    name = "optional-bias-unguarded"
    summary = "An init of `m.bias` reaching layers built with `bias=False` (where `.bias` is None) without a guard"
    severity = "error"
    fix_applicability = "safe"
    triggers = (r"bias", INIT_TRIGGER)
    uses_init_aliases = True
    uses_project = True

    VALID = (
        src("""
            import torch.nn as nn
            def init(m):
                if isinstance(m, nn.Linear):
                    nn.init.xavier_uniform_(m.weight)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
        """),
        # every reached layer is known and has its bias
        src("""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.Linear(4, 4)
                    for m in self.modules():
                        if isinstance(m, nn.Linear):
                            nn.init.zeros_(m.bias)
        """),
        src("""
            import torch.nn as nn
            def init(m):
                if isinstance(m, nn.Conv2d) and hasattr(m, 'bias'):
                    nn.init.zeros_(m.bias)
        """),
        # BatchNorm's bias exists unless the file builds one with affine=False
        src("""
            import torch.nn as nn
            def init(m):
                if isinstance(m, nn.BatchNorm2d):
                    nn.init.zeros_(m.bias)
        """),
        # a public helper whose receivers are unknown, and no layer of this file lacks a bias:
        # nothing proves a crash (the warning "may reach layers built elsewhere" was always wrong)
        src("""
            import torch.nn as nn
            def init(m):
                if isinstance(m, (nn.Conv1d, nn.Linear)):
                    nn.init.zeros_(m.bias)
            conv = nn.Conv1d(3, 8, 3)
        """),
        # the layer without a bias is of a type the init does not reach
        src("""
            import torch.nn as nn
            def init(m):
                if isinstance(m, nn.Conv2d):
                    nn.init.zeros_(m.bias)
            head = nn.Linear(8, 2, bias=False)
        """),
        src("""
            import torch.nn as nn
            def init(m):
                if isinstance(m, nn.InstanceNorm2d):
                    nn.init.zeros_(m.bias)
            norm = nn.InstanceNorm2d(8, affine=True)
        """),
        # early exit on a missing bias
        src("""
            import torch.nn as nn
            def init(m):
                if not isinstance(m, nn.Linear):
                    return
                if m.bias is None:
                    return
                nn.init.zeros_(m.bias)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                head = nn.Linear(8, 2, bias=False)
                def init(m):
                    if isinstance(m, nn.Linear):
                        nn.init.zeros_(m.bias)  # start at zero
            """),
            src("""
                import torch.nn as nn
                head = nn.Linear(8, 2, bias=False)
                def init(m):
                    if isinstance(m, nn.Linear):
                        if m.bias is not None:
                            nn.init.zeros_(m.bias)  # start at zero
            """),
        ),
        Invalid(
            src("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(4, 4)
                        self.head = nn.Linear(4, 2, bias=False)
                        for m in self.modules():
                            if isinstance(m, nn.Linear):
                                m.bias.data.zero_()
            """),
            src("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(4, 4)
                        self.head = nn.Linear(4, 2, bias=False)
                        for m in self.modules():
                            if isinstance(m, nn.Linear):
                                if m.bias is not None:
                                    m.bias.data.zero_()
            """),
        ),
        Invalid(
            src("""
                import torch.nn as nn
                def weights_init(m):
                    classname = m.__class__.__name__
                    if classname.find('Conv') != -1:
                        nn.init.constant_(m.bias, 0.0)
                stem = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8))
            """),
            src("""
                import torch.nn as nn
                def weights_init(m):
                    classname = m.__class__.__name__
                    if classname.find('Conv') != -1:
                        if m.bias is not None:
                            nn.init.constant_(m.bias, 0.0)
                stem = nn.Sequential(nn.Conv2d(3, 8, 3, bias=False), nn.BatchNorm2d(8))
            """),
        ),
        # InstanceNorm's affine defaults to False: no weight, no bias
        Invalid(
            src("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.conv = nn.Conv2d(3, 8, 3)
                        self.norm = nn.InstanceNorm2d(8)
                        self.apply(self._init)
                    def _init(self, m):
                        if 'Norm' in type(m).__name__:
                            nn.init.zeros_(m.bias)
            """),
            src("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.conv = nn.Conv2d(3, 8, 3)
                        self.norm = nn.InstanceNorm2d(8)
                        self.apply(self._init)
                    def _init(self, m):
                        if 'Norm' in type(m).__name__:
                            if m.bias is not None:
                                nn.init.zeros_(m.bias)
            """),
        ),
        Invalid(
            src("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.conv = nn.Conv2d(3, 8, 3, bias=False)
                        nn.init.zeros_(self.conv.bias)
            """),
            src("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.conv = nn.Conv2d(3, 8, 3, bias=False)
                        if self.conv.bias is not None:
                            nn.init.zeros_(self.conv.bias)
            """),
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        disabled = _disabled_types(model)
        for site in model.init_sites:
            if site.param != "bias" or not isinstance(site.target, cst.Attribute):
                continue
            report = self._direct(model, site) if site.dispatch is None else self._dispatched(model, site, disabled)
            if report is not None:
                yield report
        yield from self._from_other_files(model)

    # -- `self.apply(init_fn)` with init_fn in another file, writing `m.bias` unguarded ------------
    def _from_other_files(self, model: SemanticModel) -> Iterator[Report]:
        for remote in model.remote_init_sites:
            effect = remote.effect
            if effect.attr != "bias" or effect.guarded:
                continue
            for layer in remote.layers:
                if _optional(layer.type_name) and _state(model, layer) is False:
                    origin = effect.origins[0]
                    line = model.range_of(layer.call).start.line
                    name = origin.path.rsplit("/", 1)[-1]
                    yield Report(
                        remote.call,
                        f"`{remote.function}` initializes the bias of every layer it reaches (`{origin.where.text}`, "
                        f"{name}:{origin.where.line}), but `self.{layer.path}` is built without a bias (line {line}): "
                        f"there the bias is None and the init raises AttributeError; guard it there with "
                        f"`if m.bias is not None:`",
                        related=[
                            (Elsewhere(origin.path, origin.where), "the unguarded bias init"),
                            (layer.call, f"`self.{layer.path}` is built without a bias here"),
                        ],
                        severity="error",
                    )
                    break

    def _remote_layers(self, model: SemanticModel, site: InitSite) -> Report | None:
        """This file's init function, applied to a module built in another file of the project
        (``net = Net(); net.apply(init)``) that has a layer of a reached type without a bias."""
        view = model.project
        if view is None:
            return None
        reached = view.remote_receivers(site)
        dispatch = site.dispatch
        assert dispatch is not None
        for _, layers in reached or []:
            for remote in layers:
                type_name = remote.layer.type_name
                if not remote.layer.torch_layer or not remote.layer.no_bias or not _optional(type_name):
                    continue
                if dispatch.types is not None and type_name not in dispatch.types:
                    continue
                if dispatch.name_contains is not None and dispatch.name_contains not in type_name:
                    continue
                variable = model.code(site.target)
                name = str(remote.path).rsplit("/", 1)[-1]
                return Report(
                    site.call,
                    f"`{_short(model.code(site.call))}` initializes `{variable}` of every layer it reaches, but "
                    f"`{remote.qualified_path}` is built without a bias in another file ({name}:"
                    f"{remote.layer.where.line}): there `{variable}` is None and the init raises AttributeError; "
                    f"guard it with `if {variable} is not None:`",
                    _fix(model, site),
                    related=[(Elsewhere(str(remote.path), remote.layer.where), "a layer without a bias")],
                )
        return None

    # -- `nn.init.zeros_(self.conv.bias)` where self.conv has bias=False ---------------------------
    def _direct(self, model: SemanticModel, site: InitSite) -> Report | None:
        if _guarded(model, site.call):
            return None
        for layer in site.layers:
            if layer.type_name in OPTIONAL_BIAS | _NORMS and _state(model, layer) is False:
                line = model.range_of(layer.call).start.line
                return Report(
                    site.call,
                    f"`{_short(model.code(site.call))}`: `self.{layer.path}` is built without a bias (line {line}), "
                    f"so `{model.code(site.target)}` is None and the init raises AttributeError; drop it, or "
                    f"guard it with `if {model.code(site.target)} is not None:`",
                    _fix(model, site),
                    related=[(layer.call, f"`self.{layer.path}` is built without a bias here"), *_factory(layer)],
                    severity="error",
                )
        return None

    # -- a module variable: loops over modules, apply functions, type dispatch --------------------
    def _dispatched(self, model: SemanticModel, site: InitSite, disabled: dict[str, cst.Call]) -> Report | None:
        dispatch = site.dispatch
        assert dispatch is not None
        if dispatch.bias_guarded or _guarded(model, site.call):
            return None
        # Only a layer proven built without a bias speaks: in the reached layers when the
        # receivers are known, else a layer of a dispatched type anywhere in this file.
        # Never "may reach layers built elsewhere": that guess was wrong every time it was judged.
        if _conditions_read(model, site):
            for layer in site.layers:
                if _optional(layer.type_name) and _state(model, layer) is False:
                    report = self._report(model, site, f"`self.{layer.path}` is built without a bias", layer.call)
                    report.related += _factory(layer)
                    return report
        elsewhere = self._remote_layers(model, site)
        if elsewhere is not None:
            return elsewhere
        if _receivers_known(model, site):
            return None
        possible = _possible_types(site)
        if possible is None:
            return None
        for type_name in sorted(possible):
            if type_name in disabled:
                call = disabled[type_name]
                return self._report(model, site, f"this file builds a {type_name} without a bias", call)
        return None

    def _report(self, model: SemanticModel, site: InitSite, why: str, other: cst.CSTNode) -> Report:
        variable = model.code(site.target)
        where = f" (line {model.range_of(other).start.line})"
        message = (
            f"`{_short(model.code(site.call))}` initializes `{variable}` of every layer it reaches, but {why}{where}: "
            f"there `{variable}` is None and the init raises AttributeError; "
            f"guard it with `if {variable} is not None:`"
        )
        return Report(site.call, message, _fix(model, site), related=[(other, "a layer without a bias")])


def _factory(layer: Layer) -> list[tuple[Elsewhere, str]]:
    """Where a factory of another file builds the layer without a bias."""
    if layer.factory is None or not layer.factory[2]:
        return []
    path, where, _ = layer.factory
    return [(Elsewhere(path, where), f"the factory builds a {layer.type_name} without a bias here")]  # type: ignore[arg-type]


def _state(model: SemanticModel, layer: Layer) -> bool | None:
    """The layer's bias state, where "no bias" must be written in the constructor call itself
    (a parameter's default of False proves nothing: callers may pass True), or be torch's own
    default (InstanceNorm's affine=False)."""
    if layer.factory is not None:
        return False if layer.factory[2] else None  # decided in the factory's own file (project index)
    state = bias_state(layer)
    if state is not False:
        return state
    if constructor_disables_bias(model, layer.type_name, layer.call):
        return False
    return None


def _conditions_read(model: SemanticModel, site: InitSite) -> bool:
    """The layers the site reaches are the ones its conditions select: a type dispatch we read,
    or no condition on the module variable at all (an `else:` after `isinstance(m, nn.Conv2d)`,
    `if m.__class__ in TYPES:` or an early exit on a test we cannot read select other layers)."""
    dispatch = site.dispatch
    assert dispatch is not None
    if dispatch.types is not None or dispatch.name_contains is not None:
        return True
    assert isinstance(site.target, cst.Attribute)
    variable = model.code(site.target.value)
    child: cst.CSTNode = site.call
    for ancestor in model.ancestors(site.call):
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda, cst.For, cst.ClassDef, cst.Module)):
            return True
        tests: list[cst.BaseExpression] = []
        if isinstance(ancestor, (cst.If, cst.IfExp, cst.While)):
            tests.append(ancestor.test)
        elif isinstance(ancestor, cst.BooleanOperation):
            tests.append(ancestor.left)
        elif isinstance(ancestor, cst.IndentedBlock):
            for statement in ancestor.body:
                if statement is child:
                    break
                if isinstance(statement, cst.If):
                    tests.append(statement.test)
        if any(_mentions(model, test, variable) for test in tests):
            return False
        child = ancestor
    return True


def _mentions(model: SemanticModel, node: cst.CSTNode, variable: str) -> bool:
    return any(name.value == variable for name in model.nodes_within(node, cst.Name)) or (
        isinstance(node, cst.Name) and node.value == variable
    )


def _short(code: str) -> str:
    return code if len(code) <= 70 and "\n" not in code else code[:67] + "..."


def _optional(type_name: str) -> bool:
    return type_name in OPTIONAL_BIAS or type_name in _NORMS


def _possible_types(site: InitSite) -> set[str] | None:
    dispatch = site.dispatch
    assert dispatch is not None
    if dispatch.types is not None:
        return set(dispatch.types)
    if dispatch.name_contains:
        return {t for t in OPTIONAL_BIAS | _NORMS if dispatch.name_contains in t}
    return None


def _disabled_types(model: SemanticModel) -> dict[str, cst.Call]:
    """torch.nn layer types this file builds without a bias somewhere (bias=False,
    affine=False, elementwise_affine=False, an InstanceNorm at its default)."""
    found: dict[str, cst.Call] = {}
    for call in model.nodes(cst.Call):
        qualified = model.qualified_name(call.func)
        if not qualified or not qualified.startswith("torch.nn."):
            continue
        type_name = qualified.rsplit(".", 1)[1]
        if type_name not in OPTIONAL_BIAS and type_name not in _NORMS:
            continue
        if constructor_disables_bias(model, type_name, call):
            found.setdefault(type_name, call)
    return found


def _receivers_known(model: SemanticModel, site: InitSite) -> bool:
    """The site reaches exactly the layers we listed: loops over given layers or `self.modules()`
    of a fully known class, or a function applied only to fully known classes."""
    for ancestor in model.ancestors(site.call):
        if isinstance(ancestor, cst.For):
            iterable = ancestor.iter
            if isinstance(iterable, (cst.Tuple, cst.List)):
                return bool(site.layers)
            if (
                isinstance(iterable, cst.Call)
                and isinstance(iterable.func, cst.Attribute)
                and iterable.func.attr.value in _ITERATORS
            ):
                receiver = iterable.func.value
                if isinstance(receiver, cst.Name) and receiver.value == "self" and site.owner is not None:
                    return fully_known(model, site.owner)
                return False
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
            return _applied_only_to_known(model, ancestor)
    return False


def _applied_only_to_known(model: SemanticModel, holder: cst.CSTNode) -> bool:
    if isinstance(holder, cst.FunctionDef) and holder.name.value in APPLIED_BY_CONVENTION:
        return False
    receivers: list[ModuleClass] = []
    for call in model.nodes(cst.Call):
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "apply" and len(call.args) == 1):
            continue
        if referenced_function(model, call.args[0].value, call) is not holder:
            continue
        receiver = func.value
        if isinstance(receiver, cst.Name) and receiver.value == "self":
            owner = model.class_of(call)
            if owner is None:
                return False
            receivers.append(owner)
        else:
            return False
    if isinstance(holder, cst.FunctionDef) and _referenced_elsewhere(model, holder):
        return False
    return bool(receivers) and all(fully_known(model, cls) for cls in receivers)


def _referenced_elsewhere(model: SemanticModel, function: cst.FunctionDef) -> bool:
    """The function escapes (returned, passed to something other than `.apply`, exported)."""
    name = function.name.value
    for node in model.nodes(cst.Name):
        if node.value != name or node is function.name:
            continue
        parent = model.parent.get(node)
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            parent = model.parent.get(parent)
        arg = parent if isinstance(parent, cst.Arg) else None
        if arg is not None:
            call = model.parent.get(arg)
            if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == "apply":
                continue
        return True
    # A public module-level function: other files may apply it to anything.
    return model.enclosing(function, cst.ClassDef) is None and not function.name.value.startswith("_")


def _guarded(model: SemanticModel, call: cst.Call) -> bool:
    """A condition mentioning the bias around the call, an early exit on it before, or a try."""
    child: cst.CSTNode = call
    for ancestor in model.ancestors(call):
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.Module)):
            return False
        if isinstance(ancestor, (cst.If, cst.IfExp, cst.While)) and "bias" in model.code(ancestor.test):
            return True
        if isinstance(ancestor, cst.Try) and child is ancestor.body:
            return True
        if isinstance(ancestor, cst.IndentedBlock):
            for statement in ancestor.body:
                if statement is child:
                    break
                if isinstance(statement, cst.If) and "bias" in model.code(statement.test):
                    return True
        child = ancestor
    return False


def _fix(model: SemanticModel, site: InitSite) -> FixSpec | None:
    call = site.call
    expr = model.parent.get(call)
    line = model.parent.get(expr)
    if not (isinstance(expr, cst.Expr) and isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1):
        return None
    block = model.parent.get(line)
    if not isinstance(block, cst.IndentedBlock) or call.lpar:
        return None
    span = model.range_of(call)
    if span.start.line != span.end.line:
        return None
    text = model.source.line_text(span.start.line)
    indent = text[: span.start.column]
    if indent.strip():
        return None
    # One level deeper: this block's own step, not the module's default (libcst takes that from
    # the first indented block, which may hold a form feed that resets the column to 0).
    unit = block.indent if block.indent is not None else model.module.default_indent
    if not unit or unit.strip(" \t"):
        unit = "\t" if "\t" in indent else "    "
    guard = f"if {model.code(site.target)} is not None:"
    content = f"{guard}{model.source.newline}{indent}{unit}{model.code(call)}"
    edit = Edit(span.start.line, span.start.column + 1, span.end.line, span.end.column + 1, content)
    return FixSpec("safe", f"Guard with `{guard}`", [edit])
