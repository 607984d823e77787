"""Module instances a class's constructor builds, each identified by the constructor call that
builds it (``nn.Conv1d(...)``; a call in a loop or in a helper stands for every module it
builds), and which of them an expression denotes: ``self.X``, a local name, a container's
members, a reparametrized layer (``weight_norm(nn.Conv1d(...))`` is the Conv1d), the return
value of a module-level factory of this file. Unlike ``ModuleClass.layers`` this also follows
``self.X.append(...)`` / ``self.X += [...]`` and wrapper calls; what it cannot resolve it
leaves out, so every answer is a subset of the truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from initlint._lazy import cst
from initlint.semantic.catalog import LAYERS, LayerKind
from initlint.semantic.core import self_attribute
from initlint.semantic.structure import module_function, nodes_in

if TYPE_CHECKING:
    from initlint.semantic.model import SemanticModel
    from initlint.semantic.modules import ModuleClass

_CONTAINERS = frozenset({"Sequential", "ModuleList"})
_APPENDS = frozenset({"append", "extend", "insert"})
_MAX_DEPTH = 8


@dataclass(frozen=True)
class Registered:
    """An instance reachable from ``self``, the ``__init__`` statement that makes it so, and
    the attribute it hangs under (for messages)."""

    call: cst.Call
    statement: cst.CSTNode
    attribute: str
    direct: bool  # the instance is ``self.<attribute>`` itself, not a member inside it


@dataclass(eq=False)
class ClassInstances:
    model: SemanticModel
    cls: ModuleClass
    index: InstanceIndex
    bindings: dict[str, list[tuple[cst.BaseExpression, cst.CSTNode]]] = field(default_factory=dict)
    appends: dict[str, list[tuple[cst.BaseExpression, bool, cst.CSTNode]]] = field(default_factory=dict)
    _registered: list[Registered] | None = None

    def __post_init__(self) -> None:
        init = self.cls.init
        if init is None:
            return
        for assign in nodes_in(self.model, init, cst.Assign):
            for target in assign.targets:  # type: ignore[attr-defined]
                name = self_attribute(target.target)
                if name is not None:
                    self.bindings.setdefault(name, []).append((assign.value, assign))  # type: ignore[attr-defined]
        for aug in nodes_in(self.model, init, cst.AugAssign):
            name = self_attribute(aug.target)  # type: ignore[attr-defined]
            if name is not None and isinstance(aug.operator, cst.AddAssign):  # type: ignore[attr-defined]
                self.appends.setdefault(name, []).append((aug.value, True, aug))  # type: ignore[attr-defined]
        for call in nodes_in(self.model, init, cst.Call):
            func = call.func  # type: ignore[attr-defined]
            if isinstance(func, cst.Attribute) and func.attr.value in _APPENDS and call.args:  # type: ignore[attr-defined]
                name = self_attribute(func.value)
                if name is not None:
                    value = call.args[-1].value  # type: ignore[attr-defined]
                    self.appends.setdefault(name, []).append((value, func.attr.value == "extend", call))

    # -- what an expression denotes ------------------------------------------------------------
    def attribute(self, name: str, depth: int = 0) -> list[cst.Call]:
        """What ``self.<name>`` holds: its one assignment in ``__init__`` (re-wrapping
        assignments such as ``self.x = weight_norm(self.x)`` aside)."""
        bindings = [(v, s) for v, s in self.bindings.get(name, []) if not self._rewraps(v, name)]
        if len(bindings) != 1 or depth > _MAX_DEPTH:
            return []
        return self.of(bindings[0][0], self.cls.init, depth + 1)

    def of(self, node: cst.BaseExpression, function: cst.CSTNode | None, depth: int = 0) -> list[cst.Call]:
        """The instances ``node`` denotes in ``function`` (a constructor call, a wrapped one,
        ``self.X``, a local name bound once, a factory of this file)."""
        model = self.model
        if depth > _MAX_DEPTH:
            return []
        if isinstance(node, cst.Call):
            if instance_type(model, node) is not None:
                return [node]
            wrapped = model.reparametrizations.get(node)
            if wrapped is not None:
                return self.of(wrapped.module, function, depth + 1) if wrapped.module is not None else []
            if isinstance(node.func, cst.Name):
                factory = module_function(model, node.func.value)
                if factory is not None:
                    returns = [r for r in nodes_in(model, factory, cst.Return) if r.value is not None]  # type: ignore[attr-defined]
                    if len(returns) == 1:
                        return self.of(returns[0].value, factory, depth + 1)  # type: ignore[attr-defined]
            return []
        name = self_attribute(node)
        if name is not None:
            return self.attribute(name, depth + 1)
        if isinstance(node, cst.Name) and function is not None:
            values = local_bindings(model, function, node.value)
            if values is not None and len(values) == 1:
                return self.of(values[0], function, depth + 1)
        return []

    def items(self, node: cst.BaseExpression, function: cst.CSTNode | None, depth: int = 0) -> list[cst.Call]:
        """The instances a list / tuple / comprehension / local list holds."""
        if depth > _MAX_DEPTH:
            return []
        if isinstance(node, (cst.List, cst.Tuple)):
            out: list[cst.Call] = []
            for element in node.elements:
                if isinstance(element, cst.StarredElement):
                    out += self.items(element.value, function, depth + 1)
                else:
                    out += self.of(element.value, function, depth + 1)
            return out
        if isinstance(node, (cst.ListComp, cst.GeneratorExp)):
            return self.of(node.elt, function, depth + 1)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            return self.items(node.left, function, depth + 1) + self.items(node.right, function, depth + 1)
        if isinstance(node, cst.Name) and function is not None:
            out = []
            for value, sequence in local_list_contents(self.model, function, node.value):
                out += self.items(value, function, depth + 1) if sequence else self.of(value, function, depth + 1)
            return out
        return []

    def members(self, call: cst.Call, depth: int = 0) -> list[cst.Call]:
        """Direct members of a Sequential / ModuleList instance (appends to it included)."""
        model = self.model
        if instance_type(model, call) not in _CONTAINERS or depth > _MAX_DEPTH:
            return []
        function = model.enclosing(call, cst.FunctionDef)
        out: list[cst.Call] = []
        positional = [a for a in call.args if a.keyword is None]
        for arg in positional:
            if arg.star == "*" or instance_type(model, call) == "ModuleList":
                out += self.items(arg.value, function, depth + 1)
            else:
                out += self.of(arg.value, function, depth + 1)
        for name, bindings in self.bindings.items():
            held = self.of(bindings[0][0], self.cls.init) if len(bindings) == 1 else []
            if len(held) == 1 and held[0] is call:
                for value, sequence, _ in self.appends.get(name, []):
                    out += self.items(value, self.cls.init) if sequence else self.of(value, self.cls.init)
        return out

    def descendants(self, call: cst.Call, depth: int = 0) -> list[cst.Call]:
        """The instance and every module inside it (what ``.modules()`` / ``.apply`` visit)."""
        if depth > _MAX_DEPTH:
            return [call]
        out = [call]
        for member in self.members(call, depth + 1):
            out += self.descendants(member, depth + 1)
        type_name = instance_type(self.model, call)
        if type_name in self.model.module_classes and type_name != self.cls.name:
            inner = self.index.of_class(self.model.module_classes[type_name])
            if inner is not None:
                out += [r.call for r in inner.registered()]
        return out

    # -- what hangs on self ------------------------------------------------------------------
    def registered(self) -> list[Registered]:
        """Every instance reachable from ``self`` once ``__init__`` is done, with the statement
        that registers it (the assignment, or the append of a member added later)."""
        if self._registered is not None:
            return self._registered
        self._registered = []  # a class that contains itself stops here
        found: dict[cst.Call, Registered] = {}
        for name, bindings in self.bindings.items():
            holders = self.attribute(name)
            if not holders:
                continue
            # A member appended later is registered by its append, not by the container's assignment.
            for value, sequence, appended in self.appends.get(name, []):
                added = self.items(value, self.cls.init) if sequence else self.of(value, self.cls.init)
                for member in added:
                    for call in self.descendants(member):
                        found.setdefault(call, Registered(call, appended, name, False))
            statement = next(s for v, s in bindings if not self._rewraps(v, name))
            for holder in holders:
                for call in self.descendants(holder):
                    found.setdefault(call, Registered(call, statement, name, call is holder))
        self._registered = list(found.values())
        return self._registered

    def _rewraps(self, value: cst.BaseExpression, name: str) -> bool:
        wrapped = self.model.reparametrizations.get(value) if isinstance(value, cst.Call) else None
        return wrapped is not None and wrapped.module is not None and self_attribute(wrapped.module) == name


class InstanceIndex:
    """``ClassInstances`` per class of a file, built on demand."""

    def __init__(self, model: SemanticModel) -> None:
        self.model = model
        self._classes: dict[str, ClassInstances] = {}

    def of_class(self, cls: ModuleClass) -> ClassInstances | None:
        if cls.init is None:
            return None
        found = self._classes.get(cls.name)
        if found is None:
            found = self._classes[cls.name] = ClassInstances(self.model, cls, self)
        return found


def instance_type(model: SemanticModel, call: cst.Call) -> str | None:
    """``"Conv1d"`` for a torch.nn layer constructor, the class name for a module class of this
    file, else None."""
    qualified = model.qualified_name(call.func)
    if qualified and qualified.startswith("torch.nn."):
        tail = qualified.rsplit(".", 1)[1]
        return tail if tail in LAYERS else None
    if isinstance(call.func, cst.Name) and call.func.value in model.module_classes:
        return call.func.value
    return None


def instance_kind(model: SemanticModel, call: cst.Call) -> LayerKind | None:
    type_name = instance_type(model, call)
    return LAYERS.get(type_name) if type_name is not None and type_name not in model.module_classes else None


def local_bindings(model: SemanticModel, function: cst.CSTNode, name: str) -> list[cst.BaseExpression] | None:
    """The values assigned to local ``name`` in ``function``; None when something else binds it
    too (a loop, a parameter, an augmented assignment, a ``with``)."""
    values: list[cst.BaseExpression] = []
    for assign in nodes_in(model, function, cst.Assign):
        for target in assign.targets:  # type: ignore[attr-defined]
            if isinstance(target.target, cst.Name) and target.target.value == name:
                values.append(assign.value)  # type: ignore[attr-defined]
            elif _binds_inside(target.target, name):
                return None
    for node_type in (cst.AugAssign, cst.AnnAssign, cst.NamedExpr, cst.For, cst.CompFor):
        for node in nodes_in(model, function, node_type):
            if _binds_inside(node.target, name):  # type: ignore[attr-defined]
                return None
    params = getattr(function, "params", None)
    if params is not None and any(
        p.name.value == name for p in (*params.params, *params.posonly_params, *params.kwonly_params)
    ):
        return None
    return values


def local_list_contents(
    model: SemanticModel, function: cst.CSTNode, name: str
) -> list[tuple[cst.BaseExpression, bool]]:
    """What local list ``name`` is filled with: (value, is a sequence) for ``name = [...]``,
    ``name += [...]``, ``name.extend(...)`` and (value, False) for ``name.append(v)``."""
    out: list[tuple[cst.BaseExpression, bool]] = []
    for assign in nodes_in(model, function, cst.Assign):
        for target in assign.targets:  # type: ignore[attr-defined]
            if isinstance(target.target, cst.Name) and target.target.value == name:
                out.append((assign.value, True))  # type: ignore[attr-defined]
    for aug in nodes_in(model, function, cst.AugAssign):
        if isinstance(aug.target, cst.Name) and aug.target.value == name:  # type: ignore[attr-defined]
            out.append((aug.value, True))  # type: ignore[attr-defined]
    for call in nodes_in(model, function, cst.Call):
        func = call.func  # type: ignore[attr-defined]
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == name
            and func.attr.value in _APPENDS
            and call.args  # type: ignore[attr-defined]
        ):
            out.append((call.args[-1].value, func.attr.value == "extend"))  # type: ignore[attr-defined]
    return out


def _binds_inside(target: cst.BaseExpression, name: str) -> bool:
    if isinstance(target, cst.Name):
        return target.value == name
    if isinstance(target, (cst.Tuple, cst.List)):
        return any(_binds_inside(e.value, name) for e in target.elements)
    if isinstance(target, cst.StarredElement):
        return _binds_inside(target.value, name)
    return False
