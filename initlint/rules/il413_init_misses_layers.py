from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from initlint._lazy import cst
from initlint.rules.base import FixSpec, Invalid, Report, Rule, src
from initlint.rules.triggers import INIT_TRIGGER
from initlint.semantic import SemanticModel
from initlint.semantic.construction import function_named
from initlint.semantic.inits import Dispatch, InitSite
from initlint.semantic.inits import _apply_condition as apply_condition
from initlint.semantic.instances import local_bindings
from initlint.semantic.module_tree import (
    TreeModule,
    constructor_methods,
    container_members,
    is_instance,
    module_tree,
)
from initlint.semantic.modules import ModuleClass
from initlint.semantic.structure import module_function

_CHILDREN = {"children": "modules", "named_children": "named_modules"}
_MODULES = frozenset({"modules", "named_modules"})
# Calls on the module variable that reach further than the module itself.
_RECURSING = frozenset({"modules", "children", "named_modules", "named_children", "apply", "__iter__"})
_RESETS = frozenset({"reset_parameters", "_reset_parameters"})
_READERS = frozenset({"print", "repr", "str", "len", "isinstance", "type", "id"})
# nn.Module methods that register no module.
_TREE_KEEPING = frozenset(
    {"apply", "modules", "named_modules", "children", "named_children", "to", "cuda", "cpu", "eval", "train",
     "float", "double", "half", "bfloat16", "parameters", "named_parameters", "buffers", "state_dict",
     "load_state_dict", "zero_grad", "requires_grad_", "forward"}
)  # fmt: skip
# Layer kinds: a dispatch on one class of a kind, in a model that builds another class of the
# same kind (Conv2d / ConvTranspose2d, BatchNorm2d / BatchNorm1d), was meant for those layers.
_FAMILIES = {
    **{t: "convolution" for t in ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
                                  "ConvTranspose3d", "LazyConv1d", "LazyConv2d", "LazyConv3d")},
    **{t: "linear" for t in ("Linear", "Bilinear", "LazyLinear")},
    **{t: "batch norm" for t in ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm")},
    **{t: "instance norm" for t in ("InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d")},
    **{t: "embedding" for t in ("Embedding", "EmbeddingBag")},
    **{t: "recurrent" for t in ("LSTM", "GRU", "RNN", "LSTMCell", "GRUCell", "RNNCell")},
}  # fmt: skip


@dataclass(eq=False)
class _Unit:
    """Code that sees each module of a scope through one variable: a loop over
    ``self.children()`` / ``.modules()``, or a function given to ``.apply``."""

    variable: str
    binder: cst.CSTNode  # the For, or the function / lambda
    body: cst.CSTNode  # what runs per module
    anchor: cst.CSTNode  # where to report: the `.apply(...)` call or the loop's iterator call
    modules: list[TreeModule] = field(default_factory=list)  # what it visits (besides the root)
    root: str | None = None  # the class of the root module it visits too (None: not visited)


@dataclass(eq=False)
class _Branch:
    test: cst.BaseExpression
    node: cst.If
    types: tuple[str, ...]
    actions: list[cst.CSTNode]  # the inits (and resets) it runs on the module


class InitMissesLayers(Rule):
    code = "IL413"
    name = "init-misses-layers"
    summary = (
        "A type-dispatched init that never reaches its layers (a `children()` loop over nested layers, "
        "a dispatch no layer of the model passes)"
    )
    severity = "error"
    fix_applicability = "unsafe"
    literals = ("children", "modules", "apply", "self")
    triggers = (
        r"\.\s*(?:named_)?(?:children|modules)\s*\(|\.\s*apply\s*\(|\bfor\s+\w+\s+in\s+self\s*\.\s*\w+\s*:",
        INIT_TRIGGER,
    )
    uses_init_aliases = True

    VALID = (
        # modules() sees the nested convs
        src("""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
                    for m in self.modules():
                        if isinstance(m, nn.Conv2d):
                            nn.init.kaiming_normal_(m.weight)
        """),
        # a direct child matches: the children loop is meant for the top level
        src("""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 8, 3)
                    self.features = nn.Sequential(nn.Conv2d(8, 8, 3), nn.ReLU())
                    for m in self.children():
                        if isinstance(m, nn.Conv2d):
                            nn.init.kaiming_normal_(m.weight)
        """),
        # the loop recurses into what it sees
        src("""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
                    for m in self.children():
                        if isinstance(m, nn.Conv2d):
                            nn.init.kaiming_normal_(m.weight)
                        else:
                            m.apply(self._init)
                def _init(self, m):
                    pass
        """),
        # a layer set this file cannot see entirely: a backbone passed in
        src("""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self, backbone):
                    super().__init__()
                    self.backbone = backbone
                    self.head = nn.Linear(8, 2)
                    self.apply(self._init)
                def _init(self, m):
                    if isinstance(m, nn.Conv2d):
                        nn.init.kaiming_normal_(m.weight)
        """),
        # one branch matches: the others are defensive
        src("""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.up = nn.ConvTranspose2d(8, 3, 4)
                    self.apply(self._init)
                def _init(self, m):
                    if isinstance(m, nn.Conv2d):
                        nn.init.kaiming_normal_(m.weight)
                    elif isinstance(m, nn.ConvTranspose2d):
                        nn.init.normal_(m.weight, 0.0, 0.02)
        """),
        # LazyLinear derives from Linear
        src("""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.LazyLinear(8)
                    for m in self.modules():
                        if isinstance(m, nn.Linear):
                            m.reset_parameters()
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3))
                        self.fc = nn.Linear(8, 2)
                        for m in self.children():
                            if isinstance(m, nn.Conv2d):
                                nn.init.kaiming_normal_(m.weight)
                            elif isinstance(m, nn.Linear):
                                nn.init.normal_(m.weight, 0.0, 0.01)
            """),
            src("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3))
                        self.fc = nn.Linear(8, 2)
                        for m in self.modules():
                            if isinstance(m, nn.Conv2d):
                                nn.init.kaiming_normal_(m.weight)
                            elif isinstance(m, nn.Linear):
                                nn.init.normal_(m.weight, 0.0, 0.01)
            """),
            unsafe=True,
        ),
        # the convs sit inside a block class of this file
        Invalid(
            src("""
                import torch.nn as nn
                class Block(nn.Module):
                    def __init__(self, c):
                        super().__init__()
                        self.conv = nn.Conv2d(c, c, 3)
                        self.bn = nn.BatchNorm2d(c)
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.blocks = nn.ModuleList([Block(8) for _ in range(4)])
                        self._init_weights()
                    def _init_weights(self):
                        for name, m in self.named_children():
                            if isinstance(m, nn.Conv2d):
                                nn.init.kaiming_normal_(m.weight, mode='fan_out')
            """),
            src("""
                import torch.nn as nn
                class Block(nn.Module):
                    def __init__(self, c):
                        super().__init__()
                        self.conv = nn.Conv2d(c, c, 3)
                        self.bn = nn.BatchNorm2d(c)
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.blocks = nn.ModuleList([Block(8) for _ in range(4)])
                        self._init_weights()
                    def _init_weights(self):
                        for name, m in self.named_modules():
                            if isinstance(m, nn.Conv2d):
                                nn.init.kaiming_normal_(m.weight, mode='fan_out')
            """),
            unsafe=True,
        ),
        # the dispatch expects Conv2d, the model builds ConvTranspose2d
        Invalid(
            src("""
                import torch.nn as nn
                class Generator(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.net = nn.Sequential(nn.ConvTranspose2d(100, 64, 4), nn.BatchNorm2d(64), nn.ReLU(),
                                                 nn.ConvTranspose2d(64, 3, 4), nn.Tanh())
                        self.apply(self._init)
                    def _init(self, m):
                        if isinstance(m, nn.Conv2d):
                            nn.init.normal_(m.weight, 0.0, 0.02)
            """)
        ),
        # applied at module level
        Invalid(
            src("""
                import torch.nn as nn
                def weights_init(m):
                    if isinstance(m, (nn.Conv1d, nn.Linear)):
                        nn.init.xavier_uniform_(m.weight)
                        nn.init.zeros_(m.bias)
                class Net(nn.Module):
                    def __init__(self, c=16):
                        super().__init__()
                        self.conv = nn.Conv2d(3, c, 3)
                        self.norm = nn.GroupNorm(4, c)
                net = Net()
                net.apply(weights_init)
            """)
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        sites = {s.call: s for s in model.init_sites}  # once per file: every unit looks up into it
        for unit, cls, attribute in _children_loops(model):
            report = _children_finding(model, unit, cls, attribute, sites)
            if report is not None:
                yield report
        for unit, owner in _dispatch_units(model):
            report = _nothing_finding(model, unit, owner, sites)
            if report is not None:
                yield report


# -- the units --------------------------------------------------------------------------------------


def _iterator(node: cst.BaseExpression) -> tuple[cst.BaseExpression, str] | None:
    """``(receiver, method)`` of ``receiver.modules()`` / ``.children()`` and their named forms."""
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)):
        return None
    method = node.func.attr.value
    if method not in _CHILDREN and method not in _MODULES:
        return None
    if node.args and method in _CHILDREN:
        return None
    return node.func.value, method


def _loop_variable(loop: cst.For, method: str) -> str | None:
    target = loop.target
    if method.startswith("named_"):
        if isinstance(target, cst.Tuple) and len(target.elements) == 2:
            target = target.elements[1].value
        else:
            return None
    return target.value if isinstance(target, cst.Name) else None


def _children_loops(model: SemanticModel) -> Iterator[tuple[_Unit, ModuleClass, str | None]]:
    """Loops over one level of modules: ``self.children()``, ``self.X.children()`` and ``for m
    in self.X`` (a Sequential / ModuleList yields its members), with the attribute X."""
    for loop in model.nodes(cst.For):
        found = _iterator(loop.iter)
        if found is None:
            method, attribute = "__iter__", _self_attribute(loop.iter)
            if attribute is None:
                continue
        else:
            receiver, method = found
            if method not in _CHILDREN:
                continue
            attribute = None if _is_variable(receiver, "self") else _self_attribute(receiver)
            if attribute is None and not _is_variable(receiver, "self"):
                continue
        cls = model.class_of(loop)
        variable = _loop_variable(loop, method)
        if cls is None or variable is None or model.enclosing(loop, cst.FunctionDef) is None:
            continue
        yield _Unit(variable, loop, loop.body, loop.iter), cls, attribute


def _dispatch_units(model: SemanticModel) -> Iterator[tuple[_Unit, ModuleClass]]:
    """``.apply(fn)`` and loops over ``.modules()`` on a model of this file whose whole module
    tree is known: run by its constructor on ``self`` (or ``self.X``), or on a variable bound
    once to a new instance."""
    for cls in model.module_classes.values():
        for method in constructor_methods(model, cls):
            for call in model.nodes_within(method, cst.Call):
                if not _runs_per_module(call) or model.enclosing(call, cst.FunctionDef) is not method:
                    continue
                unit = _unit_of_call(model, call, method, cls)
                if unit is not None:
                    yield unit, cls
    for call in model.nodes(cst.Call):
        if not _runs_per_module(call) or model.class_of(call) is not None:
            continue
        cls = _new_instance(model, call.func.value, call)  # type: ignore[attr-defined]
        if cls is None:
            continue
        unit = _unit_of_call(model, call, model.enclosing(call, cst.FunctionDef) or model.module, cls, outside=True)
        if unit is not None:
            yield unit, cls


def _runs_per_module(call: cst.Call) -> bool:
    func = call.func
    return isinstance(func, cst.Attribute) and (func.attr.value == "apply" or func.attr.value in _MODULES)


def _unit_of_call(
    model: SemanticModel, call: cst.Call, holder: cst.CSTNode, cls: ModuleClass, *, outside: bool = False
) -> _Unit | None:
    func = call.func
    assert isinstance(func, cst.Attribute)
    receiver = func.value
    if not outside and _scope(receiver, [], cls)[0] is None:
        return None
    tree = module_tree(model, cls)
    if tree is None:
        return None
    if outside:
        scope: list[TreeModule] | None = tree
        root: str | None = cls.name
    else:
        scope, root = _scope(receiver, tree, cls)
    if scope is None:
        return None
    if func.attr.value == "apply":
        if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
            return None
        function = function_named(model, call.args[0].value, holder, cls) if not outside else None
        if outside:
            argument = call.args[0].value
            function = argument if isinstance(argument, cst.Lambda) else None
            if isinstance(argument, cst.Name):
                function = module_function(model, argument.value)
        if not isinstance(function, (cst.FunctionDef, cst.Lambda)):
            return None
        variable = _module_parameter(function)
        if variable is None:
            return None
        return _Unit(variable, function, function.body, call, scope, root)
    found = _iterator(call)
    if found is None or found[1] not in _MODULES:
        return None
    loop = model.parent.get(call)
    if not isinstance(loop, cst.For) or loop.iter is not call:
        return None
    variable = _loop_variable(loop, found[1])
    if variable is None:
        return None
    return _Unit(variable, loop, loop.body, call, scope, root)


def _scope(
    receiver: cst.BaseExpression, tree: list[TreeModule], cls: ModuleClass
) -> tuple[list[TreeModule] | None, str | None]:
    if isinstance(receiver, cst.Name) and receiver.value == "self":
        return tree, cls.name
    if isinstance(receiver, cst.Attribute) and isinstance(receiver.value, cst.Name) and receiver.value.value == "self":
        return [m for m in tree if m.attribute == receiver.attr.value], None
    return None, None


def _module_parameter(function: cst.FunctionDef | cst.Lambda) -> str | None:
    params = [*function.params.posonly_params, *function.params.params]
    if params and params[0].name.value == "self" and isinstance(function, cst.FunctionDef):
        params = params[1:]
    return params[0].name.value if params else None


def _new_instance(model: SemanticModel, node: cst.BaseExpression, context: cst.CSTNode) -> ModuleClass | None:
    """The class of a new instance: ``Net(...)`` itself, or a name bound only to one, whose
    attributes nothing in this file sets afterwards."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
        if node.func.value in model.imports.bindings:
            return None
        return model.module_classes.get(node.func.value)
    if not isinstance(node, cst.Name):
        return None
    function = model.enclosing(context, cst.FunctionDef)
    if function is not None:
        values = local_bindings(model, function, node.value)
    else:
        if model.enclosing(context, cst.ClassDef) is not None:
            return None
        values = []
        for assign in model.nodes(cst.Assign):
            for target in assign.targets:
                if isinstance(target.target, cst.Name) and target.target.value == node.value:
                    if model.enclosing(assign, cst.FunctionDef) is None:
                        values.append(assign.value)
    if not values or len(values) != 1:
        return None
    value = values[0]
    if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Name)):
        return None
    if value.func.value in model.imports.bindings:
        return None
    cls = model.module_classes.get(value.func.value)
    if cls is None:
        return None
    scope = function if function is not None else model.module
    for name in model.nodes_within(scope, cst.Name):
        if name.value == node.value and not _keeps_tree(model, name):
            return None  # `net.head = ...`, `build(net)`: the tree may change after construction
    return cls


def _keeps_tree(model: SemanticModel, name: cst.Name) -> bool:
    """A use of the model variable that adds no module: its binding, ``net(x)``, or a call of
    an ``nn.Module`` method that registers nothing."""
    parent = model.parent.get(name)
    if isinstance(parent, cst.AssignTarget) or (isinstance(parent, cst.Call) and parent.func is name):
        return True
    if isinstance(parent, cst.Arg):
        call = model.parent.get(parent)
        func = call.func if isinstance(call, cst.Call) else None
        return isinstance(func, cst.Name) and func.value in _READERS and model.is_builtin(func, func.value)
    if isinstance(parent, cst.Attribute) and parent.value is name:
        grand = model.parent.get(parent)
        return isinstance(grand, cst.Call) and grand.func is parent and parent.attr.value in _TREE_KEEPING
    return False


# -- what a unit does per module -------------------------------------------------------------------


def _branches(model: SemanticModel, unit: _Unit, sites: dict[cst.Call, InitSite]) -> list[_Branch] | None:
    """The ``if`` branches that act on the module variable with ``isinstance`` / ``type()``
    dispatch; None when the variable escapes (given to a call, iterated, recursed into)."""
    variable = unit.variable
    for name in model.nodes_within(unit.body, cst.Name):
        if name.value != variable:
            continue
        if not _benign(model, name):
            return None
        holder = _holder(model, name, unit)
        if holder is not unit.binder:
            return None  # a nested function or lambda may rebind or capture it
    branches = []
    for node in model.nodes_within(unit.body, cst.If):
        if _holder(model, node, unit) is not unit.binder:
            continue
        dispatch = Dispatch()
        for condition in _conjuncts(node.test):
            apply_condition(model, condition, variable, dispatch)
        if dispatch.types is None or dispatch.name_contains is not None:
            continue
        actions: list[cst.CSTNode] = []
        for call in model.nodes_within(node.body, cst.Call):
            site = sites.get(call)
            initializes = site is not None and _roots_at(site.target, variable)
            resets = (
                isinstance(call.func, cst.Attribute)
                and call.func.attr.value in _RESETS
                and _is_variable(call.func.value, variable)
            )
            if initializes or resets:
                actions.append(call)
        if actions:
            branches.append(_Branch(node.test, node, dispatch.types, actions))
    return branches


def _holder(model: SemanticModel, node: cst.CSTNode, unit: _Unit) -> cst.CSTNode | None:
    for ancestor in model.ancestors(node):
        if ancestor is unit.binder:
            return ancestor
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return ancestor
    return None


def _benign(model: SemanticModel, name: cst.Name) -> bool:
    """A use of the module variable that reaches no other module: ``isinstance(m, T)``,
    ``hasattr``/``getattr``, ``m.weight`` and what hangs on it, ``m.reset_parameters()``."""
    parent = model.parent.get(name)
    if isinstance(parent, cst.Arg):
        call = model.parent.get(parent)
        return (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Name)
            and call.func.value in ("isinstance", "hasattr", "getattr", "type")
            and model.is_builtin(call.func, call.func.value)
            and call.args[0] is parent
        )
    if isinstance(parent, cst.Attribute) and parent.value is name:
        grand = model.parent.get(parent)
        if isinstance(grand, cst.Call) and grand.func is parent:
            return parent.attr.value in _RESETS
        return parent.attr.value not in _RECURSING
    return isinstance(parent, (cst.Comparison, cst.ComparisonTarget))  # `m is self`, `m is not None`


def _conjuncts(test: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        return _conjuncts(test.left) + _conjuncts(test.right)
    return [test]


def _roots_at(target: cst.BaseExpression, variable: str) -> bool:
    node = target
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        node = node.value
    return _is_variable(node, variable)


def _self_attribute(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        return node.attr.value
    return None


def _is_variable(node: cst.BaseExpression, variable: str) -> bool:
    return isinstance(node, cst.Name) and node.value == variable


def _matches(model: SemanticModel, type_name: str, types: tuple[str, ...]) -> bool | None:
    verdicts = [is_instance(model, type_name, wanted) for wanted in types]
    if True in verdicts:
        return True
    return None if None in verdicts else False


# -- (a) a children() loop that misses the nested layers -----------------------------------------


def _children_finding(
    model: SemanticModel, unit: _Unit, cls: ModuleClass, attribute: str | None, sites: dict[cst.Call, InitSite]
) -> Report | None:
    tree = module_tree(model, cls)
    if tree is None:
        return None
    if attribute is not None:  # one level of `self.X`: its members
        members = container_members(model, cls, attribute)
        if members is None:
            return None
        below = [m for m in tree if m.attribute == attribute and not m.direct]
        direct = [m for m in below if any(m.call is c for c in members)]
        tree = [m for m in below if all(m.call is not c for c in members)] + direct
    else:
        direct = [m for m in tree if m.direct]
    branches = _branches(model, unit, sites)
    if not branches:
        return None
    direct_calls = {id(m.call) for m in direct}
    missed: list[tuple[_Branch, list[TreeModule]]] = []
    for branch in branches:
        if any(_matches(model, m.type_name, branch.types) is not False for m in direct):
            continue  # a direct child is (or may be) what the branch is for
        nested = [
            m for m in tree
            if id(m.call) not in direct_calls and _matches(model, m.type_name, branch.types) is True
        ]  # fmt: skip
        nested = [m for m in nested if not _initialized_elsewhere(model, m, branch, unit, sites)]
        if nested:
            missed.append((branch, nested))
    if not missed:
        return None
    iterator = unit.anchor
    expected = sorted({t for branch, _ in missed for t in branch.types})
    layers: list[TreeModule] = []
    for _, nested in missed:
        layers += [m for m in nested if all(m is not seen for seen in layers)]
    if isinstance(iterator, cst.Call) and isinstance(iterator.func, cst.Attribute):
        method = iterator.func.attr.value
        receiver = model.code(iterator.func.value)
        instead = f"{receiver}.{_CHILDREN[method]}()"
        edit = model.replace(iterator.func, iterator.func.with_changes(attr=cst.Name(_CHILDREN[method])))
        what = f"`{receiver}.{method}()` yields"
    else:
        receiver = model.code(iterator)
        instead = f"{receiver}.modules()"
        edit = model.replace(iterator, instead)
        what = f"Iterating `{receiver}` yields"
    if attribute is None:
        where = _containers(model, tree, layers)
        owner = f"`{cls.name}`"
        children = ", ".join(sorted({f"`{m.attribute}` ({m.type_name})" for m in direct})) or "none"
    else:
        owner = f"`{receiver}`"
        children = ", ".join(sorted({m.type_name for m in direct})) or "none"
        where = f"inside those members (built at line {model.range_of(direct[0].call).start.line})"
    fix = FixSpec(
        "unsafe",
        f"Iterate `{instead}` (every submodule; other branches may then reach more layers)",
        [edit],
    )
    related: list[tuple[cst.CSTNode, str]] = [
        (branch.test, "the dispatch that sees no such child") for branch, _ in missed
    ]
    related += [(m.call, f"a {m.type_name} nested in `self.{m.attribute}`") for m in layers[:4]]
    return Report(
        iterator,
        f"{what} only the {'direct children' if attribute is None else 'members'} of {owner} ({children}), but every "
        f"{' / '.join(expected)} that {'these branches' if len(missed) > 1 else 'the branch'} "
        f"`{_short(model.code(missed[0][0].test))}` initializes sits deeper, {where}: "
        f"the loop never sees them and they keep PyTorch's default init; iterate `{instead}`",
        fix,
        related=related[:6],
    )


def _initialized_elsewhere(
    model: SemanticModel, module: TreeModule, branch: _Branch, unit: _Unit, sites: dict[cst.Call, InitSite]
) -> bool:
    """Another init of this file may reach the module: it lists the layer, or it reaches
    tensors it cannot enumerate (a parameter loop, an unapplied helper) and no type dispatch
    keeps the module out."""
    for site in sites.values():
        if any(site.call is action for action in branch.actions) or _inside(model, site.call, unit.binder):
            continue
        if site.layers:
            if any(layer.call is module.call for layer in site.layers):
                return True
            continue
        if site.class_parameter is not None:
            continue  # `self.<parameter>` of a class
        types = site.dispatch.types if site.dispatch is not None else None
        if types is None or _matches(model, module.type_name, types) is not False:
            return True
    return False


def _containers(model: SemanticModel, tree: list[TreeModule], layers: list[TreeModule]) -> str:
    holders = []
    for attribute in dict.fromkeys(m.attribute for m in layers):
        holder = next((m for m in tree if m.direct and m.attribute == attribute), None)
        if holder is None:
            continue
        line = model.range_of(holder.call).start.line
        holders.append(f"`self.{attribute}` ({holder.type_name}, line {line})")
    if not holders:
        return "inside containers"
    return "inside " + " and ".join(holders)


# -- (b) a dispatch that no module of the model passes ---------------------------------------------


def _nothing_finding(
    model: SemanticModel, unit: _Unit, cls: ModuleClass, sites: dict[cst.Call, InitSite]
) -> Report | None:
    branches = _branches(model, unit, sites)
    if not branches:
        return None
    types = [m.type_name for m in unit.modules] + ([unit.root] if unit.root else [])
    if not any(_parametric(model, m) for m in unit.modules):
        return None  # nothing with weights: a base class, or a scope this file cannot judge
    for branch in branches:
        if any(_matches(model, t, branch.types) is not False for t in types):
            return None
    # every use of the module variable lies in one of these dead branches
    dead = [b.node for b in branches]
    for name in model.nodes_within(unit.body, cst.Name):
        if name.value != unit.variable:
            continue
        if not any(_in_test_or_body(model, name, node) for node in dead):
            return None
    expected = sorted({t for b in branches for t in b.types})
    families = {_FAMILIES[t] for t in expected if t in _FAMILIES}
    missed = [m for m in unit.modules if _FAMILIES.get(m.type_name) in families]
    if not missed:
        return None  # a generic init applied to a model without such layers: nothing was meant
    built = _built(model, missed)
    scope = f"`{cls.name}`" if unit.root else f"`{model.code(unit.anchor.func.value)}`"  # type: ignore[attr-defined]
    what = _short(model.code(unit.anchor))
    if isinstance(unit.binder, cst.For):
        what = f"for {_short(model.code(unit.binder.target))} in {what}"
    related: list[tuple[cst.CSTNode, str]] = [(b.test, "the dispatch no module passes") for b in branches[:3]]
    seen: set[str] = set()
    for module in missed:
        if module.type_name not in seen:
            seen.add(module.type_name)
            related.append((module.call, f"a {module.type_name}: not matched"))
    kinds = " and ".join(sorted({_FAMILIES[m.type_name] for m in missed}))
    return Report(
        unit.anchor,
        f"`{what}` initializes nothing: its init acts only on {' / '.join(f'`{t}`' for t in expected)} modules, "
        f"and {scope} builds none; its {kinds} layers are {built}, which the dispatch does not match: "
        f"the init never runs and they keep PyTorch's default init; dispatch on the layer types the model builds",
        related=related[:6],
    )


def _parametric(model: SemanticModel, module: TreeModule) -> bool:
    from initlint.semantic.catalog import LAYERS

    kind = LAYERS.get(module.type_name)
    return kind is not None and (kind.weight_rank is not None or kind.category == "rnn")


def _built(model: SemanticModel, modules: list[TreeModule]) -> str:
    counts: dict[str, list[int]] = {}
    for module in modules:
        if module.type_name in ("Sequential", "ModuleList", "ModuleDict"):
            continue
        counts.setdefault(module.type_name, []).append(model.range_of(module.call).start.line)
    parts = []
    for type_name, lines in counts.items():
        shown = ", ".join(str(line) for line in sorted(set(lines))[:3])
        parts.append(f"{type_name} (line{'s' if len(set(lines)) > 1 else ''} {shown})")
    return ", ".join(parts[:6]) or "none"


def _in_test_or_body(model: SemanticModel, node: cst.CSTNode, branch: cst.If) -> bool:
    child: cst.CSTNode = node
    for ancestor in model.ancestors(node):
        if ancestor is branch:
            return child is branch.test or child is branch.body
        child = ancestor
    return False


def _inside(model: SemanticModel, node: cst.CSTNode, holder: cst.CSTNode) -> bool:
    return any(ancestor is holder for ancestor in model.ancestors(node))


def _short(code: str) -> str:
    code = " ".join(code.split())
    return code if len(code) <= 60 else code[:57] + "..."
