"""Building a file's summary from its semantic model: the model's init sites, layers and dataflow,
read in terms of the functions' parameters so that another file can apply them to its own modules."""

from __future__ import annotations

import builtins
from dataclasses import asdict
from typing import TYPE_CHECKING

from initlint._lazy import cst
from initlint.project.fan_scaled import tensor_scheme
from initlint.project.summary import (
    ClassSummary,
    Effect,
    FileSummary,
    Forward,
    FunctionSummary,
    LayerSummary,
    Returned,
    location,
)
from initlint.project.text_facts import may_initialize
from initlint.project.wrappers import passthrough_alias
from initlint.semantic.catalog import LAYERS
from initlint.semantic.core import dotted, literal_all, target_names
from initlint.semantic.inits import conditions_at, strip_data
from initlint.semantic.structure import bias_state, constructor_disables_bias

if TYPE_CHECKING:
    from initlint.semantic.inits import Dispatch, InitSite
    from initlint.semantic.model import SemanticModel
    from initlint.semantic.modules import Layer, ModuleClass

_ITERATORS = frozenset({"modules", "named_modules"})
_BUILTINS = frozenset(dir(builtins))


class Extractor:
    def __init__(self, model: SemanticModel) -> None:
        self.model = model
        self.top_functions = {
            s.name.value: s for s in model.module.body if isinstance(s, cst.FunctionDef)
        }  # fmt: skip

    def summary(self, detail: bool = True) -> FileSummary:
        model = self.model
        summary = FileSummary(detail=detail)
        summary.names, summary.dynamic = self._module_names()
        exports = literal_all(model.module)
        summary.exports = exports or None  # a computed __all__ may export anything
        summary.imports, summary.star_imports = self._imports()
        if not detail:
            # What a call of the function in another file asks first, cheap to read off its own code.
            for name, node in self.top_functions.items():
                summary.functions[name] = FunctionSummary(
                    name, _params(node), location(model, node.name), alias_of=passthrough_alias(model, node),
                    returns=self._returns(node), may_init=self._may_init(node),
                )  # fmt: skip
        elif self.top_functions:
            sites_by_function: dict[int, list[InitSite]] = {}
            for site in model.init_sites:
                if site.function_node is not None:
                    sites_by_function.setdefault(id(site.function_node), []).append(site)
            for name, node in self.top_functions.items():
                summary.functions[name] = self._function(node, sites_by_function.get(id(node), []))
        for name, cls in model.module_classes.items():
            if isinstance(model.parent.get(cls.node), cst.Module):
                summary.classes[name] = self._class(cls, detail)
        for statement in model.module.body:
            if isinstance(statement, cst.ClassDef) and statement.name.value not in summary.classes:
                bases = tuple(name for b in statement.bases if b.keyword is None and (name := dotted(b.value)))
                if bases:
                    summary.other_classes[statement.name.value] = bases
        return summary

    # -- names ------------------------------------------------------------------------------------
    def _module_names(self) -> tuple[tuple[str, ...], bool]:
        names: set[str] = set()
        dynamic = False
        for statement in _module_level(self.model.module):
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                names.add(statement.name.value)
                dynamic |= statement.name.value == "__getattr__"
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    names |= _bound_by(small)
        text = self.model.source.text
        dynamic |= "globals()" in text or "sys.modules" in text or "exec(" in text
        return tuple(sorted(names)), dynamic

    def _imports(self) -> tuple[dict[str, str], tuple[str, ...]]:
        imports: dict[str, str] = {}
        stars: list[str] = []
        for node in self.model.imports.import_nodes:
            if not isinstance(node, cst.ImportFrom):
                continue
            module = dotted(node.module) if node.module is not None else ""
            if module is None:
                continue
            prefix = "." * len(node.relative) + module
            if isinstance(node.names, cst.ImportStar):
                stars.append(prefix)
                continue
            for alias in node.names:
                if not isinstance(alias.name, cst.Name):
                    continue
                local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else None
                joiner = "" if prefix.endswith(".") or not prefix else "."
                imports[local or alias.name.value] = f"{prefix}{joiner}{alias.name.value}"
        for local, qualified in self.model.imports.bindings.items():
            if isinstance(qualified, str) and not qualified.startswith(".") and local not in imports:
                imports[local] = qualified
        return imports, tuple(stars)

    # -- functions --------------------------------------------------------------------------------
    def _function(self, node: cst.FunctionDef, sites: list[InitSite]) -> FunctionSummary:
        model = self.model
        params = _params(node)
        effects = []
        for site in sites:
            effect = self._effect(node, params, site)
            if effect is not None:
                effects.append(effect)
        return FunctionSummary(
            name=node.name.value,
            params=params,
            where=location(model, node.name),
            effects=tuple(effects),
            forwards=tuple(self._forwards(node, params)),
            tensor_scheme=tensor_scheme(model, node, params),
            alias_of=passthrough_alias(model, node),
            returns=self._returns(node),
            may_init=self._may_init(node),
        )

    def _may_init(self, function: cst.FunctionDef) -> bool:
        text = self.model.statement_text(function)
        return text is None or may_initialize(text, tuple(self.model.init_aliases.items()))

    def _returns(self, function: cst.FunctionDef) -> Returned | None:
        """The torch.nn layer every ``return`` of a factory builds (a literal constructor call)."""
        model = self.model
        found: list[tuple[str, bool, cst.Call]] = []
        for statement in model.nodes_within(function, cst.Return):
            if model.enclosing(statement, cst.FunctionDef) is not function or model.enclosing(statement, cst.Lambda):
                continue
            value = statement.value
            if not isinstance(value, cst.Call):
                return None
            qualified = model.qualified_name(value.func)
            if qualified is None or not qualified.startswith("torch.nn.") or qualified.count(".") != 2:
                return None
            type_name = qualified.rsplit(".", 1)[1]
            if type_name not in LAYERS:
                return None
            found.append((type_name, constructor_disables_bias(model, type_name, value), value))
        if not found or len({type_name for type_name, _, _ in found}) != 1:
            return None
        return Returned(found[0][0], all(no_bias for _, no_bias, _ in found), location(model, found[0][2]))

    def _effect(self, function: cst.FunctionDef, params: tuple[str, ...], site: InitSite) -> Effect | None:
        if site.param is None:
            return None
        target = site.target
        if not isinstance(target, cst.Attribute) or not isinstance(target.value, cst.Name):
            return None
        found = self._scope_of(function, params, target.value.value, site.call)
        if found is None:
            return None
        param, scope = found
        dispatch = conditions_at(self.model, site.call, target.value.value)
        return Effect(
            param=param, scope=scope, attr=site.param, scheme=asdict(site.scheme),
            types=dispatch.types, name_contains=dispatch.name_contains,
            guarded=dispatch.bias_guarded or (site.dispatch is not None and site.dispatch.bias_guarded),
            where=location(self.model, site.call),
        )  # fmt: skip

    def _scope_of(
        self, function: cst.FunctionDef, params: tuple[str, ...], variable: str, node: cst.CSTNode
    ) -> tuple[str, str] | None:
        """Which parameter ``variable`` stands for at ``node``: the parameter itself (``self``
        scope) or each module of ``<param>.modules()`` it loops over (``modules`` scope)."""
        model = self.model
        for ancestor in model.ancestors(node):
            if ancestor is function:
                break
            if isinstance(ancestor, cst.For) and isinstance(ancestor.target, cst.Name):
                if ancestor.target.value != variable:
                    continue
                iterable = ancestor.iter
                if (
                    isinstance(iterable, cst.Call)
                    and isinstance(iterable.func, cst.Attribute)
                    and iterable.func.attr.value in _ITERATORS
                    and isinstance(iterable.func.value, cst.Name)
                    and iterable.func.value.value in params
                    and not _rebinds(model, function, iterable.func.value.value)
                ):
                    return iterable.func.value.value, "modules"
                return None
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                return None
        if variable in params and not _rebinds(model, function, variable):
            return variable, "self"
        return None

    def _forwards(self, function: cst.FunctionDef, params: tuple[str, ...]) -> list[Forward]:
        model = self.model
        forwards = []
        for call in model.nodes_within(function, cst.Call):
            if model.enclosing(call, cst.FunctionDef) is not function:
                continue
            func = call.func
            if isinstance(func, cst.Attribute) and func.attr.value == "apply" and len(call.args) == 1:
                receiver = func.value
                callee = dotted(call.args[0].value)
                if isinstance(receiver, cst.Name) and callee is not None:
                    forward = self._forward("apply", callee, function, params, receiver.value, None, 0, call)
                    if forward is not None:
                        forwards.append(forward)
                continue
            callee = dotted(func)
            if callee is None or callee.startswith("self.") or model.init_function(func) is not None:
                continue
            head = callee.partition(".")[0]
            if head in _BUILTINS and model.imports.is_free(head):
                continue  # isinstance(m, ...), getattr(m, ...): not a forward
            for position, arg in enumerate(call.args):
                if arg.star or arg.keyword is not None:
                    break
                value, _ = strip_data(arg.value)
                if isinstance(value, cst.Name):
                    forward = self._forward("module", callee, function, params, value.value, None, position, call)
                elif isinstance(value, cst.Attribute) and isinstance(value.value, cst.Name) and position == 0:
                    forward = self._forward(
                        "tensor", callee, function, params, value.value.value, value.attr.value, 0, call
                    )
                else:
                    continue
                if forward is not None:
                    forwards.append(forward)
        return forwards

    def _forward(
        self, kind: str, callee: str, function: cst.FunctionDef, params: tuple[str, ...],
        variable: str, attr: str | None, position: int, call: cst.Call,
    ) -> Forward | None:  # fmt: skip
        found = self._scope_of(function, params, variable, call)
        if found is None:
            return None
        dispatch: Dispatch = conditions_at(self.model, call, variable)
        return Forward(
            kind=kind, callee=callee, param=found[0], scope=found[1], attr=attr, position=position,
            types=dispatch.types, name_contains=dispatch.name_contains, guarded=dispatch.bias_guarded,
            where=location(self.model, call),
        )  # fmt: skip

    # -- classes ---------------------------------------------------------------------------------
    def _class(self, cls: ModuleClass, detail: bool) -> ClassSummary:
        model = self.model
        bases = []
        for base in cls.node.bases:
            name = dotted(base.value)
            if name is not None:
                bases.append(name)
        layers = tuple(self._layer(layer) for layer in cls.all_layers() if layer.owner is cls) if detail else ()
        return ClassSummary(cls.name, tuple(bases), location(model, cls.node.name), layers, cls.opaque)

    def _layer(self, layer: Layer) -> LayerSummary:
        from initlint.semantic.chains import plain_edges

        model = self.model
        follower = model.dataflow.follower(layer)
        activation = follower.activation if follower is not None and follower.kind == "activation" else None
        return LayerSummary(
            path=layer.path,
            type_name=layer.type_name,
            torch_layer=layer.kind is not None,
            no_bias=bias_state(layer) is False and constructor_disables_bias(model, layer.type_name, layer.call),
            activation=activation,
            hidden=bool(plain_edges(model, layer)) if layer.parametric else False,
            where=location(model, layer.call),
        )


def _params(function: cst.FunctionDef) -> tuple[str, ...]:
    return tuple(p.name.value for p in (*function.params.posonly_params, *function.params.params))


def _module_level(module: cst.Module) -> list[cst.CSTNode]:
    """Statements at module level, including those inside top-level if/try/with blocks."""
    out: list[cst.CSTNode] = []
    pending: list[cst.CSTNode] = list(module.body)
    while pending:
        statement = pending.pop(0)
        out.append(statement)
        if isinstance(statement, (cst.If, cst.Try, cst.TryStar, cst.With, cst.For, cst.While)):
            for attr in ("body", "orelse", "finalbody"):
                block = getattr(statement, attr, None)
                if block is None:
                    continue
                if isinstance(block, cst.If):
                    pending.append(block)
                    continue
                inner = getattr(block, "body", None)
                if isinstance(inner, (list, tuple)):
                    pending.extend(inner)
                elif isinstance(inner, cst.BaseSuite):
                    pending.extend(getattr(inner, "body", ()))
            for handler in getattr(statement, "handlers", ()):
                pending.extend(getattr(handler.body, "body", ()))
    return out


def _bound_by(small: cst.BaseSmallStatement) -> set[str]:
    names: set[str] = set()
    if isinstance(small, cst.Assign):
        for target in small.targets:
            names.update(target_names(target.target))
    elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
        names.update(target_names(small.target))
    elif isinstance(small, cst.Import):
        for alias in small.names:
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                names.add(alias.asname.name.value)
            else:
                full = dotted(alias.name)
                if full is not None:
                    names.add(full.split(".", 1)[0])
    elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
        for alias in small.names:
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                names.add(alias.asname.name.value)
            elif isinstance(alias.name, cst.Name):
                names.add(alias.name.value)
    return names


def _rebinds(model: SemanticModel, function: cst.FunctionDef, name: str) -> bool:
    """``name`` is assigned in the function (then it no longer holds the argument)."""
    for assign in model.nodes_within(function, cst.Assign):
        for target in assign.targets:
            if name in target_names(target.target):
                return True
    return False
