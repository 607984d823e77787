"""The project seen from one file: what an imported name is in another file of the project, and the
init effects that reach this file's layers from there (and this file's inits that reach layers built
there).

Everything here reads file summaries through the project index (``initlint.project``); nothing
re-parses another file. Every answer is a subset of the truth: a name that does not resolve, a
dynamic module, a chain deeper than a few hops, all give nothing.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from initlint._lazy import cst
from initlint.semantic.imports import dotted
from initlint.semantic.schemes import Scheme

if TYPE_CHECKING:
    from initlint.project.index import ProjectIndex
    from initlint.project.summary import ClassSummary, FileSummary, FunctionSummary, LayerSummary, Location
    from initlint.project.text_facts import TextFacts
    from initlint.semantic.inits import InitSite
    from initlint.semantic.model import SemanticModel
    from initlint.semantic.modules import Layer

_MAX_HOPS = 6
_RETURNS_SELF = frozenset({"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "train", "eval", "to_empty"})


@dataclass(frozen=True)
class Origin:
    """A place in another file of the project."""

    path: str
    where: Location
    message: str


@dataclass(frozen=True)
class RemoteFunction:
    path: Path
    file: FileSummary
    function: FunctionSummary


@dataclass(frozen=True)
class RemoteClass:
    path: Path
    file: FileSummary
    cls: ClassSummary


@dataclass(frozen=True)
class RemoteLayer:
    """A layer built in another file: its summary and where it is."""

    path: Path
    layer: LayerSummary
    prefix: str  # attribute path from the module the receiver denotes

    @property
    def qualified_path(self) -> str:
        return f"{self.prefix}.{self.layer.path}" if self.prefix else self.layer.path


@dataclass(frozen=True)
class ReachedEffect:
    """An init effect of a function of another file, followed through its forwards."""

    attr: str
    scope: str
    scheme: Scheme
    types: tuple[str, ...] | None
    name_contains: str | None
    guarded: bool
    origins: tuple[Origin, ...]  # the init call first, then each hop back towards the caller


@dataclass(eq=False)
class RemoteSite:
    """An init of another file that reaches layers of this file: ``call`` is where it enters this
    file (``net.apply(weights_init)``, ``init_weights(self)``)."""

    call: cst.Call
    function: str  # the function called here, as written
    effect: ReachedEffect
    layers: list[Layer] = field(default_factory=list)

    @property
    def scheme(self) -> Scheme:
        return self.effect.scheme


@dataclass(frozen=True)
class _Found:
    """Where a name is defined: found through outlines, read in detail only when asked."""

    path: Path
    kind: str  # "function" | "class" | "not a function" (a class the text defines: not outlined)
    name: str


class ProjectView:
    def __init__(self, model: SemanticModel, index: ProjectIndex) -> None:
        # The model caches its view: a strong reference back would make a cycle, and a checked
        # file's model would then wait for the cycle collector instead of being freed at once.
        self._model = weakref.ref(model)
        self.index = index
        self.path = Path(model.source.path).resolve()
        self._found: dict[tuple[str, Path, bool], _Found | None] = {}

    @property
    def model(self) -> SemanticModel:
        model = self._model()
        assert model is not None, "a project view outlived its model"
        return model

    # -- names ----------------------------------------------------------------------------------------
    def qualified(self, node: cst.BaseExpression) -> tuple[str, Path] | None:
        """The import path of a name of this file (``pkg.mod.fn``, ``.mod.fn``) and the file it is
        relative to; None for names this file binds itself."""
        name = dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        target = self.model.imports.resolve_name(head)
        if target is None:
            return None
        return (f"{target}.{rest}" if rest else target), self.path

    def _resolve(self, node: cst.BaseExpression, text_first: bool = False) -> _Found | None:
        found = self.qualified(node)
        return self._star_lookup(node) if found is None else self.lookup(*found, text_first=text_first)

    def function(self, node: cst.BaseExpression) -> RemoteFunction | None:
        return self._function_at(self._resolve(node))

    def class_(self, node: cst.BaseExpression) -> RemoteClass | None:
        return self._class_at(self._resolve(node))

    def alias_of(self, node: cst.BaseExpression) -> str | None:
        """The nn.init function that the function of another file ``node`` names passes through to
        (see project.wrappers); its file is read in detail only when its text can call one. Asked
        of every call of an imported function, so a module whose text defines the name is not
        even outlined."""
        found, facts = self._function_and_facts(node)
        if (
            found is None
            or facts is None
            or not facts.calls_init
            or facts.rules_out(found.name, facts.may_pass_through)
        ):
            return None
        remote = self._function_at(found, detail=False)
        return remote.function.alias_of if remote is not None else None

    def factory(self, node: cst.BaseExpression) -> RemoteFunction | None:
        """The function of another file ``node`` names, when its file can build a torch layer (from
        its outline: what it returns, not its effects)."""
        found, facts = self._function_and_facts(node)
        if found is None or facts is None or not facts.mentions_torch or facts.rules_out(found.name, facts.returns):
            return None  # a file without torch, or a function that returns nothing: not a factory
        return self._function_at(found, detail=False)

    def _function_and_facts(self, node: cst.BaseExpression) -> tuple[_Found | None, TextFacts | None]:
        """The function of another file ``node`` names (found text first) and its file's text facts."""
        found = self._resolve(node, text_first=True)
        if found is None or found.kind != "function":
            return None, None
        return found, self.index.text_facts(found.path)

    def _may_init(self, found: _Found | None) -> bool:
        """``found`` is a function whose text (or else outline) says it may initialize what it is
        given."""
        if found is None or found.kind != "function":
            return False
        facts = self.index.text_facts(found.path)
        if facts is not None and facts.rules_out(found.name, facts.may_initialize):
            return False
        remote = self._function_at(found, detail=False)
        return remote is not None and remote.function.may_init

    def _function_at(self, found: _Found | None, detail: bool = True) -> RemoteFunction | None:
        if found is None or found.kind != "function":
            return None
        summary = self.index.summary(found.path, detail)
        function = summary.functions.get(found.name) if summary is not None else None
        return RemoteFunction(found.path, summary, function) if function is not None else None  # type: ignore[arg-type]

    def _class_at(self, found: _Found | None) -> RemoteClass | None:
        if found is None or found.kind != "class":
            return None
        summary = self.index.summary(found.path)
        cls = summary.classes.get(found.name) if summary is not None else None
        return RemoteClass(found.path, summary, cls) if cls is not None else None  # type: ignore[arg-type]

    def is_module_class(self, node: cst.BaseExpression) -> bool:
        """``node`` names a class of another file of the project that is an nn.Module there, or
        through its own bases (followed across files)."""
        found = self.qualified(node)
        if found is None:
            star = self._star_lookup(node)
            return star is not None and star.kind == "class"
        return self._module_class(*found, 0)

    def _module_class(self, qualified: str, importer: Path, hops: int) -> bool:
        if hops > _MAX_HOPS:
            return False
        resolved = self.lookup(qualified, importer)
        if resolved is not None and resolved.kind == "class":
            return True
        level = len(qualified) - len(qualified.lstrip("."))
        module_rest, _, name = qualified[level:].rpartition(".")
        path = self.index.module_file("." * level + module_rest, importer) if name and (module_rest or level) else None
        summary = self.index.summary(path, detail=False) if path is not None else None
        if summary is None or name not in summary.other_classes:
            return False
        for base in summary.other_classes[name]:
            head, _, rest = base.partition(".")
            target = summary.imports.get(head)
            if target is None:
                if not rest and (base in summary.classes or base in summary.other_classes):
                    target_module = "." * 1 if path.name == "__init__.py" else "." + path.stem
                    if base in summary.classes:
                        return True
                    if self._module_class(f"{target_module}.{base}", path, hops + 1):
                        return True
                continue
            if target.startswith("torch.nn.") or target in ("torch.nn", "torch"):
                if (f"{target}.{rest}" if rest else target).startswith("torch.nn."):
                    return True
                continue
            if self._module_class(f"{target}.{rest}" if rest else target, path, hops + 1):
                return True
        return False

    def _star_lookup(self, node: cst.BaseExpression) -> _Found | None:
        """A free name of a file with ``from m import *``: the one star module that defines it."""
        if not isinstance(node, cst.Name) or not self.model.imports.star_import:
            return None
        if not self.model.imports.is_free(node.value):
            return None
        found = [self._in_module(module, node.value, self.path, 0) for module in self.star_modules()]
        hits = [f for f in found if f is not None]
        return hits[0] if len(hits) == 1 else None

    def star_modules(self) -> list[str]:
        out = []
        for statement in self.model.imports.import_nodes:
            if isinstance(statement, cst.ImportFrom) and isinstance(statement.names, cst.ImportStar):
                module = dotted(statement.module) if statement.module is not None else ""
                if module is not None:
                    out.append("." * len(statement.relative) + module)
        return out

    def lookup(self, qualified: str, importer: Path, hops: int = 0, text_first: bool = False) -> _Found | None:
        """``pkg.mod.name`` (or ``.mod.name``) to the function or class of the project it names,
        through re-exports (``from .impl import name`` in ``__init__.py``) and star imports.
        ``text_first``: a module whose text has ``def name`` (``class name``) at its top level is
        taken to define that function (something other than a function) without being outlined
        (what the outline would say, short of a `def` in a string)."""
        key = (qualified, importer, text_first)
        if key not in self._found:
            self._found[key] = self._lookup(qualified, importer, hops, text_first)
        return self._found[key]

    def _lookup(self, qualified: str, importer: Path, hops: int, text_first: bool = False) -> _Found | None:
        if hops > _MAX_HOPS:
            return None
        level = len(qualified) - len(qualified.lstrip("."))
        module_rest, _, name = qualified[level:].rpartition(".")
        module = "." * level + module_rest
        if not name or not module:
            return None
        return self._in_module(module, name, importer, hops, text_first)

    def _in_module(self, module: str, name: str, importer: Path, hops: int, text_first: bool = False) -> _Found | None:
        if hops > _MAX_HOPS:
            return None
        path = self.index.module_file(module, importer)
        if path is None:
            return None
        if text_first:
            facts = self.index.text_facts(path)
            if facts is not None and name in facts.function_names:
                return _Found(path, "function", name)
            if facts is not None and name in facts.classes:
                return _Found(path, "not a function", name)
        summary = self.index.summary(path, detail=False)
        if summary is None:
            return None
        if name in summary.functions:
            return _Found(path, "function", name)
        if name in summary.classes:
            return _Found(path, "class", name)
        target = summary.imports.get(name)
        if target is not None:
            return self.lookup(target, path, hops + 1, text_first)
        if name not in summary.names:
            for star in summary.star_imports:
                found = self._in_module(star, name, path, hops + 1, text_first)
                if found is not None:
                    return found
        return None

    def provides(self, module: str, name: str, importer: Path, star: bool, hops: int = 0) -> bool | None:
        """Whether ``from module import name`` (``star``: ``from module import *``) binds ``name``:
        True, False, or None when the module is not a readable file of the project or may define
        names dynamically."""
        if hops > _MAX_HOPS:
            return None
        path = self.index.module_file(module, importer)
        if path is None:
            return None
        summary = self.index.summary(path, detail=False)
        if summary is None or summary.dynamic:
            return None
        if star and summary.exports is not None:
            if name not in summary.exports:
                return False
            star = False  # listed in __all__: then it must exist as for an explicit import
        if name in summary.names and not (star and name.startswith("_")):
            return True
        if not star and path.name == "__init__.py" and self.index.module_file(f".{name}", path) is not None:
            return True  # a submodule of the package
        undecided = False
        for inner in summary.star_imports:
            provided = self.provides(inner, name, path, True, hops + 1)
            if provided:
                return True
            undecided |= provided is None
        return None if undecided else False

    # -- effects of a function of another file --------------------------------------------------------
    def effects(self, remote: RemoteFunction, param: str, hops: int = 0) -> list[ReachedEffect]:
        """The init effects ``remote`` has on (the modules of) its parameter ``param``."""
        if hops > _MAX_HOPS:
            return []
        out: list[ReachedEffect] = []
        path = str(remote.path)
        for effect in remote.function.effects:
            if effect.param != param:
                continue
            origin = Origin(path, effect.where, f"{remote.function.name}: {effect.where.text}")
            out.append(ReachedEffect(
                effect.attr, effect.scope, Scheme(**effect.scheme), effect.types, effect.name_contains,
                effect.guarded, (origin,),
            ))  # fmt: skip
        for forward in remote.function.forwards:
            if forward.param != param:
                continue
            callee = self._callee(remote, forward.callee)
            if callee is None:
                continue
            hop = Origin(path, forward.where, f"{remote.function.name}: {forward.where.text}")
            if forward.kind == "tensor":
                scheme = callee.function.tensor_scheme
                if scheme is None or forward.attr is None:
                    continue
                origin = Origin(str(callee.path), callee.function.where, f"{callee.function.name} (init of its tensor)")
                out.append(ReachedEffect(
                    forward.attr, forward.scope, Scheme(**scheme), forward.types, forward.name_contains,
                    forward.guarded, (origin, hop),
                ))  # fmt: skip
                continue
            position = 0 if forward.kind == "apply" else forward.position
            if position >= len(callee.function.params):
                continue
            for inner in self.effects(callee, callee.function.params[position], hops + 1):
                scope = "modules" if "modules" in (forward.scope, inner.scope) or forward.kind == "apply" else "self"
                out.append(ReachedEffect(
                    inner.attr, scope, inner.scheme, _meet(forward.types, inner.types),
                    inner.name_contains or forward.name_contains, inner.guarded or forward.guarded,
                    (*inner.origins, hop),
                ))  # fmt: skip
        return out

    def _callee(self, remote: RemoteFunction, written: str) -> RemoteFunction | None:
        head, _, rest = written.partition(".")
        if not rest and head in remote.file.functions and head not in remote.file.imports:
            return RemoteFunction(remote.path, remote.file, remote.file.functions[head])
        target = remote.file.imports.get(head)
        if target is None:
            return None
        return self._function_at(self.lookup(f"{target}.{rest}" if rest else target, remote.path))

    # -- this file's calls into other files -----------------------------------------------------------
    def remote_sites(self) -> list[RemoteSite]:
        """Inits of other files that reach this file's layers: ``X.apply(fn)`` and ``fn(X)`` with
        ``fn`` a function of another file of the project."""
        from initlint.semantic.inits import Dispatch, _narrow
        from initlint.semantic.receivers import receivers, subtree

        model = self.model
        found = receivers(model)
        sites: list[RemoteSite] = []
        for call in model.nodes(cst.Call):
            memo: dict[int, list] = {}

            def values_of(argument: cst.BaseExpression, call: cst.Call = call, memo: dict = memo) -> list:
                if id(argument) not in memo:
                    memo[id(argument)] = found.values(argument, call)
                return memo[id(argument)]

            for remote, param, argument in self._entries(call, values_of):
                values = values_of(argument)
                if not values:
                    continue
                for effect in self.effects(remote, param):
                    layers: list[Layer] = []
                    for value in values:
                        if effect.scope == "modules" or _is_apply(call):
                            layers += subtree(value)
                        elif not hasattr(value, "all_layers"):
                            layers.append(value)  # type: ignore[arg-type]
                    dispatch = Dispatch(types=effect.types, name_contains=effect.name_contains)
                    narrowed = _narrow(layers, dispatch)
                    if narrowed:
                        sites.append(RemoteSite(call, dotted(_function_node(call)) or "", effect, narrowed))
        return sites

    def _entries(
        self, call: cst.Call, values_of: Callable[[cst.BaseExpression], list]
    ) -> Iterator[tuple[RemoteFunction, str, cst.BaseExpression]]:
        """The functions of other files a call hands this file's modules to, with the parameter
        each module arrives as; the callee's file is read in detail only when a module goes in."""
        func = call.func
        if _is_apply(call):
            found = self._resolve(call.args[0].value, text_first=True)
            if not self._may_init(found) or not values_of(func.value):  # type: ignore[attr-defined]
                return
            remote = self._function_at(found)
            if remote is not None and remote.function.params:
                yield remote, remote.function.params[0], func.value  # type: ignore[attr-defined]
            return
        if not isinstance(func, (cst.Name, cst.Attribute)):
            return
        if isinstance(func, cst.Attribute) and not isinstance(func.value, (cst.Name, cst.Attribute)):
            return
        found = self._resolve(func, text_first=True)
        if not self._may_init(found) or not any(values_of(a.value) for a in call.args if not a.star):
            return
        remote = self._function_at(found)
        if remote is None:
            return
        for position, arg in enumerate(call.args):
            if arg.star:
                return
            if arg.keyword is not None:
                name = arg.keyword.value
                if name in remote.function.params:
                    yield remote, name, arg.value
            elif position < len(remote.function.params):
                yield remote, remote.function.params[position], arg.value

    # -- layers built in another file -------------------------------------------------------------------
    def receiver_classes(self, node: cst.BaseExpression, context: cst.CSTNode) -> list[RemoteClass]:
        """The classes of other files ``node`` is an instance of: ``Net(...)``, a name bound once to
        one (``net = Net().to(device)``)."""
        from initlint.semantic.instances import local_bindings

        model = self.model
        node = _strip_self_returning(node)
        if isinstance(node, cst.Call):
            remote = self.class_(node.func) if isinstance(node.func, (cst.Name, cst.Attribute)) else None
            return [remote] if remote is not None else []
        if not isinstance(node, cst.Name) or model.imports.resolve_name(node.value) is not None:
            return []
        scope = model.enclosing(context, cst.FunctionDef)
        for holder in (scope, model.module):
            if holder is None:
                continue
            values = local_bindings(model, holder, node.value)
            if values is None:
                return []
            if values:
                out: list[RemoteClass] = []
                for value in values:
                    value = _strip_self_returning(value)
                    if not isinstance(value, cst.Call) or not isinstance(value.func, (cst.Name, cst.Attribute)):
                        return []
                    remote = self.class_(value.func)
                    if remote is None:
                        return []
                    out.append(remote)
                return out
        return []

    def layers_of(self, remote: RemoteClass, prefix: str = "", hops: int = 0) -> list[RemoteLayer] | None:
        """Every layer an instance of ``remote`` holds, through custom submodules of the project;
        None when some submodule or base is not known (then a rule cannot claim "every")."""
        if hops > _MAX_HOPS or remote.cls.opaque:
            return None
        out: list[RemoteLayer] = []
        for base in remote.cls.bases:
            if base in ("nn.Module", "torch.nn.Module", "Module"):
                continue
            return None  # fields a base class builds are not in this summary
        for layer in remote.cls.layers:
            if layer.torch_layer:
                out.append(RemoteLayer(remote.path, layer, prefix))
                continue
            inner = self._class_in(remote, layer.type_name)
            if inner is None:
                return None
            nested = self.layers_of(inner, f"{prefix}.{layer.path}" if prefix else layer.path, hops + 1)
            if nested is None:
                return None
            out += nested
        return out

    def _class_in(self, remote: RemoteClass, written: str) -> RemoteClass | None:
        if written in remote.file.classes:
            return RemoteClass(remote.path, remote.file, remote.file.classes[written])
        head, _, rest = written.partition(".")
        target = remote.file.imports.get(head)
        if target is None:
            return None
        return self._class_at(self.lookup(f"{target}.{rest}" if rest else target, remote.path))

    def remote_receivers(self, site: InitSite) -> list[tuple[cst.Call, list[RemoteLayer]]] | None:
        """For an init site of this file reached through a module parameter (a function given to
        ``.apply``), the layers of other files it is applied to, per ``.apply`` call: None when
        some receiver's layers are not all known."""
        holder = site.function_node
        if holder is None or site.dispatch is None:
            return []
        out: list[tuple[cst.Call, list[RemoteLayer]]] = []
        for call in self.model.nodes(cst.Call):
            if not _is_apply(call):
                continue
            argument = call.args[0].value
            if not (isinstance(argument, cst.Name) and argument.value == holder.name.value):
                continue
            for remote in self.receiver_classes(call.func.value, call):  # type: ignore[attr-defined]
                layers = self.layers_of(remote)
                if layers is None:
                    return None
                out.append((call, layers))
        return out


def _meet(outer: tuple[str, ...] | None, inner: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if outer is None:
        return inner
    if inner is None:
        return outer
    return tuple(t for t in inner if t in outer)


def _is_apply(call: cst.Call) -> bool:
    func = call.func
    if not (isinstance(func, cst.Attribute) and func.attr.value == "apply"):
        return False
    return len(call.args) == 1 and not call.args[0].star


def _function_node(call: cst.Call) -> cst.BaseExpression:
    return call.args[0].value if _is_apply(call) else call.func


def _strip_self_returning(node: cst.BaseExpression) -> cst.BaseExpression:
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in _RETURNS_SELF:
        node = node.func.value
    return node
