"""Which modules of this file an expression denotes, and which modules a function's module
parameter receives: the receivers of ``X.apply(fn)`` and the arguments of direct calls
``helper(self)`` / ``helper(self.net)`` / ``init_net(net)``.

Init code in real projects rarely sits in ``__init__`` next to the layers: it is a module-level
``weights_init(m)`` given to ``net.apply`` in a script (``net = Net(...).to(device)``), a helper
called as ``init_weights(self)`` that loops over ``module.modules()``, a ``self.net.apply(fn)``
on one submodule. Every answer here is a subset of the truth: what cannot be resolved is left
out, so a layer listed is one the function provably receives on some call.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from initlint._lazy import cst
from initlint.semantic.core import has_parameter
from initlint.semantic.instances import local_bindings
from initlint.semantic.modules import Layer, ModuleClass, indexed_items, subscript_index

if TYPE_CHECKING:
    from initlint.semantic.model import SemanticModel

ModuleValue = ModuleClass | Layer
# nn.Module methods that return the module itself.
_RETURNS_SELF = frozenset(
    {"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "train", "eval", "requires_grad_", "to_empty",
     "type", "share_memory"}
)  # fmt: skip
_MAX_DEPTH = 8


class Receivers:
    """Per-file index of ``.apply`` calls and direct calls of the file's functions."""

    def __init__(self, model: SemanticModel) -> None:
        # Weakly: the cache below maps the model to this object, and a value that held its key
        # would keep every checked file's model alive for the whole run.
        self._model = weakref.ref(model)
        self._applies: dict[cst.CSTNode, list[tuple[cst.Call, cst.BaseExpression]]] | None = None
        self._calls: dict[cst.CSTNode, list[tuple[cst.Call, dict[str, cst.BaseExpression]]]] | None = None
        self._by_call: dict[int, list[Layer]] | None = None
        self._lookup: _FunctionLookup | None = None
        self._active: set[tuple[int, str]] = set()

    @property
    def model(self) -> SemanticModel:
        model = self._model()
        assert model is not None, "receivers outlived their model"
        return model

    # -- what an expression denotes -------------------------------------------------------------
    def values(self, node: cst.BaseExpression, context: cst.CSTNode, depth: int = 0) -> list[ModuleValue]:
        """The modules of this file ``node`` denotes at ``context``: a module class (an instance
        of it: ``self``, ``Net(...)``, a name bound to one) or a layer (``self.fc``,
        ``self.net[0]``, a name bound to a layer constructor that a class keeps)."""
        model = self.model
        if depth > _MAX_DEPTH:
            return []
        node = _strip_self_returning(node)
        if isinstance(node, cst.Name) and node.value == "self":
            owner = model.class_of(context)
            return [owner] if owner is not None and _in_method(model, context) else []
        if isinstance(node, cst.Call):
            if isinstance(node.func, cst.Name) and node.func.value in model.module_classes:
                if model.imports.resolve_name(node.func.value) is None:
                    return [model.module_classes[node.func.value]]
                return []
            return list(self._layers_built_by(node))
        if isinstance(node, cst.Subscript):
            containers = [v for v in self.values(node.value, context, depth + 1) if isinstance(v, Layer)]
            if len(containers) == 1:
                return list(indexed_items(model, containers[0], subscript_index(node)) or [])
            return []
        if isinstance(node, cst.Attribute):
            if isinstance(node.value, cst.Name) and node.value.value == "self":
                owner = model.class_of(context)
                if owner is None or not _in_method(model, context):
                    return []
                layer = owner.layers.get(node.attr.value)
                return [layer] if layer is not None else []
            out: list[ModuleValue] = []
            for value in self.values(node.value, context, depth + 1):
                out += named_member(value, node.attr.value)
            return out
        if isinstance(node, cst.Name):
            return self._name_values(node, context, depth)
        return []

    def _name_values(self, node: cst.Name, context: cst.CSTNode, depth: int) -> list[ModuleValue]:
        model = self.model
        if model.imports.resolve_name(node.value) is not None:
            return []
        function = _scope_function(model, context)
        if function is not None and has_parameter(function, node.value):
            return self.parameter_values(function, node.value, depth + 1)
        scope: cst.CSTNode = function if function is not None else model.module
        values = local_bindings(model, scope, node.value)
        if values is None:
            return []
        if not values and function is not None:
            # Not bound in the function: a global of the module (a script's `net = Net()`).
            if any(_binds_locally(model, f, node.value) for f in _enclosing_functions(model, function)):
                return []
            values = local_bindings(model, model.module, node.value)
            if values is None:
                return []
        out: list[ModuleValue] = []
        for value in values:
            out += self.values(value, value, depth + 1)
        return _unique(out)

    def parameter_values(self, function: cst.CSTNode, name: str, depth: int = 0) -> list[ModuleValue]:
        """What the parameter ``name`` of ``function`` receives from the direct calls of this
        file (``init_weights(self)``, ``self._init_layer(self.fc)``)."""
        key = (id(function), name)
        if key in self._active or depth > _MAX_DEPTH:
            return []
        self._active.add(key)
        try:
            out: list[ModuleValue] = []
            for call, bound in self._direct_calls().get(function, []):
                argument = bound.get(name)
                if argument is not None:
                    out += self.values(argument, call, depth + 1)
            return _unique(out)
        finally:
            self._active.discard(key)

    def apply_receivers(self, holder: cst.CSTNode) -> list[list[Layer]] | None:
        """For each ``X.apply(fn)`` whose ``fn`` is ``holder``: the layers ``X`` holds (what apply
        visits), empty when ``X`` is not resolved; None when ``holder`` is never given to apply."""
        applies = self._apply_calls().get(holder)
        if applies is None:
            return None
        out: list[list[Layer]] = []
        for call, receiver in applies:
            layers: list[Layer] = []
            for value in self.values(receiver, call):
                layers += subtree(value)
            out.append(layers)
        return out

    def layers_of_call(self, call: cst.Call) -> list[Layer]:
        """The layers of this file's classes built by the constructor call ``call``."""
        return self._layers_built_by(call)

    # -- indexes ----------------------------------------------------------------------------------
    def _layers_built_by(self, call: cst.Call) -> list[Layer]:
        if self._by_call is None:
            self._by_call = {}
            for cls in self.model.module_classes.values():
                for layer in cls.all_layers():
                    self._by_call.setdefault(id(layer.call), [])
                    if not any(known is layer for known in self._by_call[id(layer.call)]):
                        self._by_call[id(layer.call)].append(layer)
        return self._by_call.get(id(call), [])

    def _functions(self) -> _FunctionLookup:
        if self._lookup is None:
            self._lookup = _FunctionLookup(self.model)
        return self._lookup

    def _apply_calls(self) -> dict[cst.CSTNode, list[tuple[cst.Call, cst.BaseExpression]]]:
        if self._applies is None:
            self._applies = {}
            functions = self._functions()
            for call in self.model.nodes(cst.Call):
                func = call.func
                if isinstance(func, cst.Attribute) and func.attr.value == "apply" and len(call.args) == 1:
                    function = functions.referenced(call.args[0].value, call)
                    if function is not None:
                        self._applies.setdefault(function, []).append((call, func.value))
        return self._applies

    def _direct_calls(self) -> dict[cst.CSTNode, list[tuple[cst.Call, dict[str, cst.BaseExpression]]]]:
        if self._calls is None:
            self._calls = {}
            functions = self._functions()
            for call in self.model.nodes(cst.Call):
                found = functions.called(call)
                if found is None:
                    continue
                function, skip_first = found
                bound = _bind(function, call, skip_first)
                if bound:
                    self._calls.setdefault(function, []).append((call, bound))
        return self._calls


_cache: WeakKeyDictionary[SemanticModel, Receivers] = WeakKeyDictionary()


def receivers(model: SemanticModel) -> Receivers:
    found = _cache.get(model)
    if found is None:
        found = _cache[model] = Receivers(model)
    return found


def subtree(value: ModuleValue) -> list[Layer]:
    """The layers a module holds, itself included (what ``.modules()`` and ``.apply`` visit)."""
    if isinstance(value, ModuleClass):
        return list(value.all_layers())
    return list(value.walk())


class _FunctionLookup:
    """Functions of this file by the name a call or an ``.apply`` argument uses."""

    def __init__(self, model: SemanticModel) -> None:
        self._model = weakref.ref(model)  # as Receivers: held by the cache of the model's receivers
        self.by_name: dict[str, list[cst.FunctionDef]] = {}
        self.method_names = {name for cls in model.module_classes.values() for name in cls.methods}
        self.assigned = {
            target.target.value
            for assign in model.nodes(cst.Assign)
            for target in assign.targets
            if isinstance(target.target, cst.Name)
        }
        for definition in model.nodes(cst.FunctionDef):
            if model.enclosing(definition, cst.ClassDef) is None:
                self.by_name.setdefault(definition.name.value, []).append(definition)

    @property
    def model(self) -> SemanticModel:
        model = self._model()
        assert model is not None, "a function lookup outlived its model"
        return model

    def _named(self, name: str, context: cst.CSTNode) -> cst.FunctionDef | None:
        """The one function of this name visible at ``context``: nested in an enclosing
        function, else module-level; None when it is defined twice or rebound."""
        candidates = self.by_name.get(name)
        if not candidates or len(candidates) > 1 or self.model.imports.resolve_name(name) is not None:
            return None
        definition = candidates[0]
        scope = self.model.enclosing(definition, cst.FunctionDef)
        if scope is not None and not any(a is scope for a in self.model.ancestors(context)):
            return None
        return None if name in self.assigned else definition

    def referenced(self, node: cst.BaseExpression, context: cst.CSTNode) -> cst.CSTNode | None:
        """The function or lambda ``node`` names (given to ``.apply``)."""
        model = self.model
        if isinstance(node, cst.Lambda):
            return node
        if isinstance(node, cst.Call) and model.qualified_name(node.func) == "functools.partial" and node.args:
            return self.referenced(node.args[0].value, context)
        if isinstance(node, cst.Name):
            return self._named(node.value, context)
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
            owner = model.class_of(context)
            if owner is not None and (node.value.value == "self" or node.value.value == owner.name):
                return owner.methods.get(node.attr.value)
        return None

    def called(self, call: cst.Call) -> tuple[cst.FunctionDef, bool] | None:
        """The function ``call`` runs, and whether its first parameter is bound (``self.m(...)``)."""
        func = call.func
        if isinstance(func, cst.Name):
            definition = self._named(func.value, call)
            return (definition, False) if definition is not None else None
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            if func.attr.value not in self.method_names:
                return None  # not a method of a module class here: no class lookup needed
            owner = self.model.class_of(call)
            if owner is None:
                return None
            method = owner.methods.get(func.attr.value)
            if method is None:
                return None
            static = _is_static(method)
            if func.value.value == "self" and _in_method(self.model, call):
                return method, not static
            if func.value.value == owner.name and static:
                return method, False
        return None


def _bind(function: cst.FunctionDef, call: cst.Call, skip_first: bool) -> dict[str, cst.BaseExpression]:
    """Argument expressions of ``call`` by parameter name (positional and keyword; a ``*args``
    stops the positional mapping)."""
    params = [*function.params.posonly_params, *function.params.params]
    if skip_first:
        params = params[1:]
    names = {p.name.value for p in (*params, *function.params.kwonly_params)}
    bound: dict[str, cst.BaseExpression] = {}
    position = 0
    for arg in call.args:
        if arg.star:
            if arg.star == "*":
                position = len(params)  # the rest of the positional mapping is unknown
            continue
        if arg.keyword is None:
            if position < len(params):
                bound[params[position].name.value] = arg.value
            position += 1
        elif arg.keyword.value in names:
            bound[arg.keyword.value] = arg.value
    return bound


def _is_static(function: cst.FunctionDef) -> bool:
    return any(isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod" for d in function.decorators)


def _strip_self_returning(node: cst.BaseExpression) -> cst.BaseExpression:
    """``Net().to(device).train()`` is the ``Net()`` instance."""
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in _RETURNS_SELF:
        node = node.func.value
    return node


def named_member(value: ModuleValue, name: str) -> list[ModuleValue]:
    """``X.name`` where ``X`` is a module: a layer of a class, or a named item of a container."""
    if isinstance(value, ModuleClass):
        layer = value.layers.get(name)
        return [layer] if layer is not None else []
    if value.custom is not None:
        layer = value.custom.layers.get(name)
        return [layer] if layer is not None else []
    return [item for item in value.items if item.path.rsplit(".", 1)[-1] == name and item.repeat == 1]


def _in_method(model: SemanticModel, context: cst.CSTNode) -> bool:
    """``context`` is inside a method of a class (where ``self`` is the instance)."""
    function = model.enclosing(context, cst.FunctionDef)
    while function is not None:
        parent = model.enclosing(function, cst.FunctionDef)
        if parent is None:
            cls = model.enclosing(function, cst.ClassDef)
            if cls is None:
                return False
            params = function.params.params
            return bool(params) and params[0].name.value == "self" and not _is_static(function)
        function = parent
    return False


def _scope_function(model: SemanticModel, node: cst.CSTNode) -> cst.CSTNode | None:
    for ancestor in model.ancestors(node):
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
            return ancestor
        if isinstance(ancestor, cst.ClassDef):
            return None
    return None


def _enclosing_functions(model: SemanticModel, function: cst.CSTNode) -> Iterator[cst.CSTNode]:
    for ancestor in model.ancestors(function):
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
            yield ancestor


def _binds_locally(model: SemanticModel, function: cst.CSTNode, name: str) -> bool:
    values = local_bindings(model, function, name)
    return values is None or bool(values)


def _unique(values: list[ModuleValue]) -> list[ModuleValue]:
    seen: set[int] = set()
    out = []
    for value in values:
        if id(value) not in seen:
            seen.add(id(value))
            out.append(value)
    return out
