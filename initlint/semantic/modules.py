"""nn.Module classes of a file and the layers their ``__init__`` builds (including the order
of ``nn.Sequential`` contents, lists built in loops, ModuleList and ModuleDict)."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from initlint._lazy import cst
from initlint.semantic.catalog import ACTIVATION_MODULES, LAYERS, LayerKind
from initlint.semantic.sequences import Sequences, scalar_value, sequence_value
from initlint.semantic.values import UNKNOWN, evaluate

if TYPE_CHECKING:
    from initlint.semantic.model import SemanticModel

_MODULE_BASES = ("torch.nn.Module", "torch.nn.modules.module.Module")
_ORDERED_DICTS = ("collections.OrderedDict", "typing.OrderedDict")
_UNROLL_BUDGET = 128  # loop iterations unrolled per class


@dataclass(eq=False)
class Layer:
    """One constructor call of a module (a template when it is built in a loop)."""

    owner: ModuleClass
    path: str  # attribute path from the owner: "fc1", "net.0", "blocks.*"
    type_name: str  # "Linear", or a class of this file, or the callee's text
    call: cst.Call
    kind: LayerKind | None  # None: not a torch.nn layer we know
    custom: ModuleClass | None = None  # a module class of this file
    args: dict[str, object] = field(default_factory=dict)  # evaluated constructor arguments
    repeat: int | None = 1  # copies built from this call (None: unknown, e.g. a loop over n)
    items: list[Layer] = field(default_factory=list)  # container contents, in order
    # Every member is in `items`: False when an argument did not resolve to layers, or members are
    # added later (`self.blocks.append(...)`, `add_module`): forward then cannot run it in order.
    complete: bool = True
    # Built by a factory of another file: (its path, the constructor's Location there, whether that
    # constructor itself says there is no bias).
    factory: tuple[str, object, bool] | None = None

    @property
    def category(self) -> str:
        return self.kind.category if self.kind else ("custom" if self.custom else "other")

    @property
    def qualified_type(self) -> str:
        return f"torch.nn.{self.type_name}" if self.kind else self.type_name

    @property
    def parametric(self) -> bool:
        return self.category in ("linear", "conv", "embedding", "rnn")

    @property
    def bias_disabled(self) -> bool:
        return self.args.get("bias") is False

    @property
    def activation(self) -> str | None:
        return ACTIVATION_MODULES.get(self.type_name) if self.kind else None

    def _int(self, slot: tuple[int, str] | None) -> int | None:
        if slot is None:
            return None
        value = self.args.get(slot[1])
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

    def _receptive_field(self) -> int | None:
        if self.kind is None or self.kind.category != "conv":
            return 1
        kernel = self.args.get("kernel_size")
        if isinstance(kernel, int) and not isinstance(kernel, bool):
            return kernel**self.kind.spatial
        return None

    @property
    def fan_in(self) -> int | None:
        """fan_in as torch computes it for .weight; None when a size is not a known constant."""
        if self.kind is None:
            return None
        width = self._int(self.kind.out_arg if self.kind.transposed else self.kind.in_arg)
        field_size = self._receptive_field()
        groups = self.args.get("groups", 1)
        if width is None or field_size is None or not isinstance(groups, int) or groups < 1:
            return None
        return width // groups * field_size

    @property
    def fan_out(self) -> int | None:
        if self.kind is None:
            return None
        width = self._int(self.kind.in_arg if self.kind.transposed else self.kind.out_arg)
        field_size = self._receptive_field()
        if width is None or field_size is None:
            return None
        return width * field_size

    def param_rank(self, param: str) -> int | None:
        if self.kind is None:
            return None
        if param == "weight":
            return self.kind.weight_rank
        if param == "bias":
            return 1 if self.kind.has_bias else None
        return None

    def walk(self) -> Iterator[Layer]:
        """This layer, its container contents and the layers of a custom module, recursively."""
        yield self
        for item in self.items:
            yield from item.walk()
        if self.custom is not None:
            yield from self.custom.all_layers()


@dataclass(eq=False)
class ModuleClass:
    name: str
    node: cst.ClassDef
    methods: dict[str, cst.FunctionDef]
    layers: dict[str, Layer] = field(default_factory=dict)  # self.<name> = <layer>
    parameters: dict[str, cst.Call] = field(default_factory=dict)  # self.<name> = nn.Parameter(...)
    assignments: list[tuple[str, cst.CSTNode]] = field(default_factory=list)  # __init__ order
    opaque: bool = False  # builds submodules we cannot see (setattr, add_module, unknown helpers)
    _walking: bool = False

    @property
    def init(self) -> cst.FunctionDef | None:
        return self.methods.get("__init__")

    @property
    def forward(self) -> cst.FunctionDef | None:
        return self.methods.get("forward")

    def all_layers(self) -> Iterator[Layer]:
        if self._walking:  # a class that contains itself: stop
            return
        self._walking = True
        try:
            for layer in self.layers.values():
                yield from layer.walk()
        finally:
            self._walking = False


def find_module_classes(model: SemanticModel) -> dict[str, ModuleClass]:
    """Classes deriving from nn.Module directly or through a base class of this file."""
    defs = {c.name.value: c for c in model.nodes(cst.ClassDef) if model.enclosing(c, cst.FunctionDef) is None}
    is_module: dict[str, bool] = {}

    def check(name: str, seen: frozenset[str]) -> bool:
        if name in is_module:
            return is_module[name]
        result = False
        for base in defs[name].bases:
            qualified = model.qualified_name(base.value)
            if qualified and (qualified in _MODULE_BASES or qualified.startswith("torch.nn.")):
                result = True
            elif isinstance(base.value, cst.Name) and base.value.value in defs and base.value.value not in seen:
                result = check(base.value.value, seen | {name})
            elif _project_module_base(model, base.value):
                result = True
                inherits.add(name)
            if result:
                break
        is_module[name] = result
        return result

    inherits: set[str] = set()  # classes whose base is a module class of another file of the project

    classes: dict[str, ModuleClass] = {}
    for name, node in defs.items():
        if check(name, frozenset()):
            methods = (
                {s.name.value: s for s in node.body.body if isinstance(s, cst.FunctionDef)}
                if isinstance(node.body, cst.IndentedBlock)
                else {}
            )
            classes[name] = ModuleClass(name, node, methods)
    for module_class in classes.values():
        _LayerBuilder(model, module_class, classes).build()
        # The base's __init__ (another file) builds layers this file cannot see.
        module_class.opaque = module_class.opaque or _inherits_remote(module_class, classes, inherits)
    return classes


def _project_module_base(model: SemanticModel, base: cst.BaseExpression) -> bool:
    """A base that is an nn.Module class of another file of the project (through the index)."""
    view = model.project if model.project_index is not None else None
    if view is None or not isinstance(base, (cst.Name, cst.Attribute)):
        return False
    return view.is_module_class(base)


def _inherits_remote(cls: ModuleClass, classes: dict[str, ModuleClass], inherits: set[str]) -> bool:
    seen: set[str] = set()
    pending = [cls.name]
    while pending:
        name = pending.pop()
        if name in inherits:
            return True
        if name in seen or name not in classes:
            continue
        seen.add(name)
        pending += [b.value.value for b in classes[name].node.bases if isinstance(b.value, cst.Name)]
    return False


def _param_defaults(model: SemanticModel, function: cst.FunctionDef) -> dict[str, object]:
    values: dict[str, object] = {}
    for param in (*function.params.params, *function.params.kwonly_params):
        if param.default is not None:
            value = evaluate(model, param.default)
            if value is not UNKNOWN:
                values[param.name.value] = value
    return values


class _LayerBuilder:
    """Reads ``__init__`` statement by statement, tracking local lists of layers."""

    def __init__(self, model: SemanticModel, module_class: ModuleClass, classes: dict[str, ModuleClass]) -> None:
        self.model = model
        self.cls = module_class
        self.classes = classes
        self.names: dict[str, object] = {}
        self.lists: dict[str, list[Layer]] = {}
        self.loop_counts: list[int | None] = []
        self.sequences: Sequences = {}  # local names bound to constant sequences (layer sizes)
        self.layer_names: dict[str, cst.Call] = {}  # `fc = nn.Linear(...)`: local names of layers
        self.dicts: dict[str, list[tuple[str | None, list[Layer]]]] = {}  # local OrderedDicts of layers
        self.unrolled: list[set[str]] = []  # names bound by the loops being unrolled
        self.unroll_budget = _UNROLL_BUDGET
        self.unresolved = False  # something given as layers did not resolve (see Layer.complete)
        self.partial: set[str] = set()  # local lists / dicts holding something unresolved

    def build(self) -> None:
        init = self.cls.init
        if init is None:
            return
        self.names = _param_defaults(self.model, init)
        self.sequences = _sequence_defaults(self.model, init)
        self._block(init.body)

    def _value(self, node: cst.BaseExpression) -> object:
        return scalar_value(self.model, node, self.names, self.sequences)

    def _block(self, body: cst.BaseSuite) -> None:
        statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
        for statement in statements:
            self._statement(statement)

    def _statement(self, statement: cst.CSTNode) -> None:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                self._small(small)
        elif isinstance(statement, cst.For):
            iterations = self._unrollable(statement.target, statement.iter, statement.body)
            if iterations is not None:
                # `for a, b in zip(sizes[:-1], sizes[1:])`: one layer per iteration, each its own widths.
                self.unrolled.append(_bound_names(statement.target))
                for value in iterations:
                    self._bind(statement.target, value)
                    self._block(statement.body)
                self.unrolled.pop()
                return
            self.loop_counts.append(range_count(self.model, statement.iter, self.names))
            self._block(statement.body)
            self.loop_counts.pop()
        elif isinstance(statement, cst.If) and self._decided(statement.test) is not None:
            # In an unrolled loop, `if i < len(sizes) - 2:` is known per iteration.
            if self._decided(statement.test):
                self._block(statement.body)
            elif isinstance(statement.orelse, cst.If):
                self._statement(statement.orelse)
            elif isinstance(statement.orelse, cst.Else):
                self._block(statement.orelse.body)
        elif isinstance(statement, (cst.If, cst.With, cst.Try)):
            self._block(statement.body)
            orelse = getattr(statement, "orelse", None)
            if isinstance(orelse, cst.If):
                self._statement(orelse)
            elif isinstance(orelse, cst.Else):
                self._block(orelse.body)

    def _unrollable(
        self, target: cst.BaseExpression, iterable: cst.BaseExpression, body: cst.CSTNode
    ) -> tuple[object, ...] | None:
        """The iterations of a loop worth unrolling: its names are read in the body (each
        iteration builds something different) and the sequence it runs over is known."""
        names = _bound_names(target)
        if not names:
            return None
        iterations = sequence_value(self.model, iterable, self.names, self.sequences)
        if not iterations or not all(_fits(target, value) for value in iterations):
            return None
        if not any(name.value in names for name in self.model.nodes_within(body, cst.Name)):
            return None
        if len(iterations) > self.unroll_budget:
            return None  # nested loops in a large model: keep them templates
        self.unroll_budget -= len(iterations)
        return iterations

    def _bind(self, target: cst.BaseExpression, value: object) -> None:
        if isinstance(target, cst.Name):
            self.names.pop(target.value, None)
            self.sequences.pop(target.value, None)
            if isinstance(value, tuple):
                self.sequences[target.value] = value
            elif value is not UNKNOWN:
                self.names[target.value] = value
        elif isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, tuple):
            for element, part in zip(target.elements, value, strict=True):
                self._bind(element.value, part)

    def _decided(self, test: cst.BaseExpression) -> bool | None:
        """The value of an ``if`` test inside an unrolled loop that reads the loop's names."""
        if not self.unrolled:
            return None
        looped = set().union(*self.unrolled)
        if not any(name.value in looped for name in _names_in(test)):
            return None
        value = self._value(test)
        return value if isinstance(value, bool) else None

    def _small(self, small: cst.BaseSmallStatement) -> None:
        if isinstance(small, (cst.Assign, cst.AnnAssign)):
            targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
            if small.value is None:
                return
            for target in targets:
                self._assign(target, small.value, small)
        elif isinstance(small, cst.AugAssign) and isinstance(small.operator, cst.AddAssign):
            if isinstance(small.target, cst.Name) and small.target.value in self.lists:
                self.lists[small.target.value] += self._layers_of_sequence(small.value, "")
        elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
            self._call_statement(small.value)

    def _call_statement(self, call: cst.Call) -> None:
        func = call.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            owner, method = func.value.value, func.attr.value
            if owner in self.lists and method in ("append", "extend", "insert") and call.args:
                value = call.args[-1].value
                before, self.unresolved = self.unresolved, False
                items = self._layers_of_sequence(value, "") if method == "extend" else self._layer_list(value, "")
                if self.unresolved or method == "insert":
                    self.partial.add(owner)
                self.unresolved = before
                self.lists[owner] += items
            elif owner in self.dicts:
                self.dicts.pop(owner)  # `d.update(...)` and the like: its contents are no longer known
            elif owner in self.layer_names:
                # `extra.insert(0, ...)` on a local ModuleList: its members are no longer the literal ones
                self.layer_names.pop(owner)
            elif owner == "self" and method in ("add_module", "register_module", "register_parameter"):
                self.cls.opaque = True
        elif (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Attribute)
            and isinstance(func.value.value, cst.Name)
            and func.value.value.value == "self"
            and func.attr.value in ("append", "extend", "insert", "add_module", "register_module")
            and func.value.attr.value in self.cls.layers
        ):
            self.cls.layers[func.value.attr.value].complete = False  # `self.features.add_module(...)`
        elif self.model.is_builtin(func, "setattr"):
            self.cls.opaque = True

    def _assign(self, target: cst.BaseExpression, value: cst.BaseExpression, statement: cst.CSTNode) -> None:
        if isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List)):
            # `self.a, self.b = nn.Linear(...), nn.Linear(...)`
            if len(target.elements) == len(value.elements) and not any(
                isinstance(e, cst.StarredElement) for e in (*target.elements, *value.elements)
            ):
                for left, right in zip(target.elements, value.elements, strict=True):
                    self._assign(left.value, right.value, statement)
            return
        if (
            isinstance(target, cst.Subscript)
            and isinstance(target.value, cst.Name)
            and target.value.value in self.dicts
        ):
            # `layers["fc1"] = nn.Linear(...)` on a local OrderedDict
            index = subscript_index(target)
            key = self._value(index) if index is not None else UNKNOWN
            name = target.value.value
            before, self.unresolved = self.unresolved, False
            self.dicts[name].append((key if isinstance(key, str) else None, self._layer_list(value, "")))
            if self.unresolved:
                self.partial.add(name)
            self.unresolved = before
            return
        if isinstance(target, cst.Name):
            self.layer_names.pop(target.value, None)
            self.dicts.pop(target.value, None)
            self.partial.discard(target.value)
            sequence = sequence_value(self.model, value, self.names, self.sequences)
            if sequence is not None:
                self.sequences[target.value] = sequence
            else:
                self.sequences.pop(target.value, None)
            before, self.unresolved = self.unresolved, False
            entries = self._ordered_dict(value)
            held = (
                entries is not None
                or isinstance(value, (cst.List, cst.Tuple))
                or (isinstance(value, cst.Call) and self.model.is_builtin(value.func, "list") and not value.args)
            )
            if entries is not None:
                self.dicts[target.value] = entries
            elif held:
                self.lists[target.value] = self._layers_of_sequence(value, "")
            if held and self.unresolved:
                self.partial.add(target.value)
            self.unresolved = before
            if held:
                return
            if isinstance(value, cst.Call) and self._constructor(value):
                self.layer_names[target.value] = value
            constant = self._value(value)
            if constant is not UNKNOWN:
                self.names[target.value] = constant
            else:
                self.names.pop(target.value, None)
            return
        if not (
            isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self"
        ):
            return
        name = target.attr.value
        if isinstance(value, cst.Call) and self.model.qualified_name(value.func) in (
            "torch.nn.Parameter", "torch.nn.parameter.Parameter",
        ):  # fmt: skip
            self.cls.parameters[name] = value
            self.cls.assignments.append((name, statement))
            return
        layer = self._layer(value, name)
        if layer is not None:
            self.cls.layers[name] = layer
            self.cls.assignments.append((name, statement))

    def _layer_list(self, value: cst.BaseExpression, path: str) -> list[Layer]:
        layer = self._layer(value, path)
        if layer is None:
            self.unresolved = True
            return []
        if self.loop_counts:
            repeat: int | None = 1
            for count in self.loop_counts:
                repeat = None if repeat is None or count is None else repeat * count
            layer.repeat = repeat
        return [layer]

    def _layers_of_sequence(self, value: cst.BaseExpression, path: str) -> list[Layer]:
        if isinstance(value, (cst.List, cst.Tuple)):
            out: list[Layer] = []
            for element in value.elements:
                if isinstance(element, cst.StarredElement):
                    out += self._layers_of_sequence(element.value, path)
                else:
                    out += self._layer_list(element.value, path)
            return out
        if isinstance(value, cst.Name) and value.value in self.lists:
            if value.value in self.partial:
                self.unresolved = True
            return list(self.lists[value.value])
        if isinstance(value, cst.Subscript) and isinstance(value.value, cst.Name) and value.value.value in self.lists:
            # `nn.Sequential(*layers[:-1])`: drop the trailing activation
            part = sliced(self.lists[value.value.value], value, lambda node: self._value(node))
            if part is None or value.value.value in self.partial:
                self.unresolved = True
            return part or []
        if isinstance(value, (cst.ListComp, cst.GeneratorExp)):
            for_in = value.for_in
            iterations = None
            if for_in.inner_for_in is None and not for_in.ifs:
                iterations = self._unrollable(for_in.target, for_in.iter, value.elt)
            if iterations is not None:
                # `[nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]`
                saved = dict(self.names), dict(self.sequences)
                unrolled: list[Layer] = []
                for iteration in iterations:
                    self._bind(for_in.target, iteration)
                    unrolled += self._layer_list(value.elt, path)
                self.names, self.sequences = saved
                return unrolled
            layers = self._layer_list(value.elt, path)
            count = _loop_count(self.model, value.for_in, self.names)
            for layer in layers:
                layer.repeat = count
            return layers
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add):
            return self._layers_of_sequence(value.left, path) + self._layers_of_sequence(value.right, path)
        self.unresolved = True
        return []

    def _constructor(self, call: cst.Call) -> bool:
        qualified = self.model.qualified_name(call.func)
        if qualified and qualified.startswith("torch.nn.") and qualified.rsplit(".", 1)[1] in LAYERS:
            return True
        return isinstance(call.func, cst.Name) and call.func.value in self.classes

    def _ordered_dict(self, value: cst.BaseExpression) -> list[tuple[str | None, list[Layer]]] | None:
        """The named layers of ``OrderedDict([("fc1", nn.Linear(...)), ...])`` (or ``OrderedDict()``)."""
        if not isinstance(value, cst.Call) or self.model.qualified_name(value.func) not in _ORDERED_DICTS:
            return None
        if not value.args:
            return []
        if len(value.args) != 1 or value.args[0].keyword is not None or value.args[0].star:
            return None
        pairs = value.args[0].value
        if not isinstance(pairs, (cst.List, cst.Tuple)):
            return None
        entries: list[tuple[str | None, list[Layer]]] = []
        for element in pairs.elements:
            pair = element.value
            if not isinstance(pair, cst.Tuple) or len(pair.elements) != 2 or isinstance(element, cst.StarredElement):
                return None
            key = self._value(pair.elements[0].value)
            entries.append((key if isinstance(key, str) else None, self._layer_list(pair.elements[1].value, "")))
        return entries

    def _layer(self, value: cst.BaseExpression, path: str) -> Layer | None:
        if isinstance(value, cst.Name) and value.value in self.layer_names:
            value = self.layer_names[value.value]  # `fc = nn.Linear(...); layers.append(fc)`
        if not isinstance(value, cst.Call):
            return None
        qualified = self.model.qualified_name(value.func)
        type_name = None
        kind = None
        custom = None
        if qualified and qualified.startswith("torch.nn.") and qualified.rsplit(".", 1)[1] in LAYERS:
            type_name = qualified.rsplit(".", 1)[1]
            kind = LAYERS[type_name]
        elif isinstance(value.func, cst.Name) and value.func.value in self.classes:
            type_name = value.func.value
            custom = self.classes[type_name]
        else:
            return self._factory_layer(value, path)
        layer = Layer(self.cls, path, type_name, value, kind, custom)
        if kind is not None:
            layer.args = self._arguments(value, kind)
        if type_name in ("Sequential", "ModuleList"):
            before, self.unresolved = self.unresolved, False
            items: list[Layer] = []
            keys: list[str | None] = []
            arguments = [a for a in value.args if a.keyword is None]
            named = self._named_items(arguments) if type_name == "Sequential" else None
            if named is not None:
                for key, layers in named:
                    items += layers
                    keys += [key] * len(layers)
            elif type_name == "ModuleList" and arguments:
                items = self._layers_of_sequence(arguments[0].value, path)
            else:
                for arg in arguments:
                    items += (
                        self._layers_of_sequence(arg.value, path)
                        if arg.star == "*"
                        else self._layer_list(arg.value, path)
                    )
            for index, item in enumerate(items):
                key = keys[index] if index < len(keys) else None
                _rename(
                    item, f"{path}.{key}" if key is not None else f"{path}.{index}" if item.repeat == 1 else f"{path}.*"
                )
            layer.items = items
            layer.complete = not self.unresolved
            self.unresolved = before
        return layer

    def _factory_layer(self, call: cst.Call, path: str) -> Layer | None:
        """``self.norm = get_norm_layer(ch)`` with the factory in another file of the project that
        always returns one torch.nn layer type: that layer (its widths unknown here), without a
        bias when the factory's own constructor says so."""
        model = self.model
        if model.project_index is None or not isinstance(call.func, (cst.Name, cst.Attribute)):
            return None
        view = model.project
        remote = view.factory(call.func) if view is not None else None
        returned = remote.function.returns if remote is not None else None
        if returned is None or returned.type_name not in LAYERS:
            return None
        layer = Layer(self.cls, path, returned.type_name, call, LAYERS[returned.type_name])
        layer.factory = (str(remote.path), returned.where, returned.no_bias)  # type: ignore[union-attr]
        return layer

    def _named_items(self, arguments: list[cst.Arg]) -> list[tuple[str | None, list[Layer]]] | None:
        """``nn.Sequential(OrderedDict(...))``: its items with their names."""
        if len(arguments) != 1 or arguments[0].star:
            return None
        argument = arguments[0].value
        if isinstance(argument, cst.Name) and argument.value in self.dicts:
            if argument.value in self.partial:
                self.unresolved = True
            return self.dicts[argument.value]
        return self._ordered_dict(argument)

    def _arguments(self, call: cst.Call, kind: LayerKind) -> dict[str, object]:
        args: dict[str, object] = {}
        slots = {s[0]: s[1] for s in (kind.in_arg, kind.out_arg, kind.kernel_arg) if s is not None}
        if not slots:
            slots = dict(enumerate(kind.positional))
        position = 0
        for arg in call.args:
            if arg.star:
                return args
            if arg.keyword is None:
                name = slots.get(position)
                position += 1
            else:
                name = arg.keyword.value
            if name is None:
                continue
            value = self._value(arg.value)
            if value is not UNKNOWN:
                args[name] = value
        return args


def _rename(layer: Layer, path: str) -> None:
    """Give ``layer`` its path in its container, and its own members theirs below it."""
    old = layer.path
    layer.path = path
    for item in layer.items:
        if item.path.startswith(old + "."):
            _rename(item, path + item.path[len(old) :])


def _sequence_defaults(model: SemanticModel, function: cst.FunctionDef) -> Sequences:
    """Parameters whose default is a constant sequence (``sizes=(64, 64, 10)``)."""
    out: Sequences = {}
    for param in (*function.params.params, *function.params.kwonly_params):
        if param.default is not None:
            value = sequence_value(model, param.default, {}, {})
            if value is not None:
                out[param.name.value] = value
    return out


def _bound_names(target: cst.BaseExpression) -> set[str]:
    """The names a loop target binds; empty when it binds anything else (``self.x``, ``a[i]``)."""
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        out: set[str] = set()
        for element in target.elements:
            if isinstance(element, cst.StarredElement):
                return set()
            inner = _bound_names(element.value)
            if not inner:
                return set()
            out |= inner
        return out
    return set()


def _fits(target: cst.BaseExpression, value: object) -> bool:
    """``value`` unpacks into ``target`` (a name takes anything, a tuple the same length)."""
    if isinstance(target, cst.Name):
        return True
    if isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, tuple):
        return len(target.elements) == len(value) and all(
            _fits(e.value, v) for e, v in zip(target.elements, value, strict=True)
        )
    return False


def _names_in(node: cst.CSTNode) -> list[cst.Name]:
    out: list[cst.Name] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            out.append(current)
        stack.extend(current.children)
    return out


def _loop_count(model: SemanticModel, for_in: cst.CompFor, names: dict[str, object]) -> int | None:
    count = range_count(model, for_in.iter, names)
    if for_in.inner_for_in is not None:
        return None
    return count


def range_count(model: SemanticModel, node: cst.BaseExpression, names: dict[str, object]) -> int | None:
    """The number of iterations of ``range(n)`` / ``range(a, b)`` with known bounds."""
    if not (isinstance(node, cst.Call) and model.is_builtin(node.func, "range")):
        return None
    values = [evaluate(model, a.value, names) for a in node.args if a.keyword is None]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return None
    if len(values) == 1:
        return max(values[0], 0)  # type: ignore[arg-type]
    if len(values) == 2:
        return max(values[1] - values[0], 0)  # type: ignore[operator]
    return None


def sliced(
    items: list[Layer], node: cst.Subscript, value: Callable[[cst.BaseExpression], object]
) -> list[Layer] | None:
    """``items[a:b]`` for a subscript with a constant slice, when every item is one module
    (no template of a loop that ran an unknown number of times)."""
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Slice):
        return None
    if any(item.repeat != 1 for item in items):
        return None
    part = node.slice[0].slice
    bounds: list[int | None] = []
    for bound in (part.lower, part.upper, part.step):
        number = None if bound is None else value(bound)
        if bound is not None and not (isinstance(number, int) and not isinstance(number, bool)):
            return None
        bounds.append(number)  # type: ignore[arg-type]
    if bounds[2] == 0:
        return None
    return items[slice(*bounds)]


def indexed_items(model: SemanticModel, container: Layer, index: cst.BaseExpression | None) -> list[Layer] | None:
    """The layer(s) ``container[index]`` can be: exact for a literal index into a Sequential /
    ModuleList built without loops or from one loop of known count; the single template of a
    homogeneous container otherwise; None when it cannot be told."""
    items = container.items
    if not items or not container.complete:
        return None
    value = evaluate(model, index) if index is not None else UNKNOWN
    if isinstance(value, int) and not isinstance(value, bool):
        repeats = {item.repeat for item in items}
        if repeats == {1}:
            if -len(items) <= value < len(items):
                return [items[value]]
            return None
        if len(repeats) == 1:
            count = repeats.pop()
            if isinstance(count, int) and count > 0:
                total = len(items) * count
                if -total <= value < total:
                    return [items[value % len(items)]]
                return None
    templates = {id(item) for item in items}
    if len(templates) == 1:
        return [items[0]]
    return None


def subscript_index(node: cst.Subscript) -> cst.BaseExpression | None:
    if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        return node.slice[0].slice.value
    return None


# -- classes whose base comes from another file ------------------------------------------------------

# Bases that are provably not nn.Module: the class is a plain object, whatever it holds.
_NOT_MODULE_ROOTS = ("abc.", "typing.", "enum.", "collections.", "dataclasses.", "numbers.", "builtins.")
# What only a module does with `self`: its evidence when the base is unknown.
_MODULE_SELF_CALLS = frozenset({"register_buffer", "register_parameter", "add_module", "register_module"})

_foreign_cache: WeakKeyDictionary[SemanticModel, dict[str, ModuleClass]] = WeakKeyDictionary()


def foreign_module_classes(model: SemanticModel) -> dict[str, ModuleClass]:
    """Classes that derive from a base of another file (which may be ``nn.Module``) and behave
    as modules: they define ``forward``, read ``self.training``, register buffers or
    submodules, or assign ``self.x = nn.Parameter(...)`` / a torch.nn layer. Rules that judge
    the code of a module's methods treat them like ``model.module_classes``, so that the same
    code gets the same verdict whether the class derives from ``nn.Module`` directly or
    through a base class in another file. Their layers are read as for module classes."""
    cached = _foreign_cache.get(model)
    if cached is not None:
        return cached
    known = model.module_classes
    defs = {
        c.name.value: c
        for c in model.nodes(cst.ClassDef)
        if model.enclosing(c, cst.FunctionDef) is None and c.name.value not in known
    }
    verdicts: dict[str, bool] = {}

    def foreign(name: str, seen: frozenset[str]) -> bool:
        """Some base, through this file's classes, is a class of another file."""
        if name in verdicts:
            return verdicts[name]
        result = False
        for base in defs[name].bases:
            if base.keyword is not None:
                continue
            value = base.value
            if isinstance(value, cst.Name) and value.value in defs:
                if value.value not in seen and foreign(value.value, seen | {name}):
                    result = True
                continue
            if _maybe_module_base(model, value):
                result = True
        verdicts[name] = result
        return result

    classes: dict[str, ModuleClass] = {}
    for name, node in defs.items():
        if foreign(name, frozenset()) and _module_evidence(model, node):
            methods = (
                {s.name.value: s for s in node.body.body if isinstance(s, cst.FunctionDef)}
                if isinstance(node.body, cst.IndentedBlock)
                else {}
            )
            classes[name] = ModuleClass(name, node, methods)
    every = {**known, **classes}
    for module_class in classes.values():
        _LayerBuilder(model, module_class, every).build()
    _foreign_cache[model] = classes
    return classes


def _maybe_module_base(model: SemanticModel, base: cst.BaseExpression) -> bool:
    """A base this file cannot see into: imported from another package or module, not a
    builtin, the standard library or torch (whose non-``nn`` classes are not modules)."""
    if isinstance(base, cst.Subscript):
        return False  # Generic[T], Protocol[T]
    qualified = model.qualified_name(base)
    if isinstance(base, cst.Name) and qualified is None:
        if model.imports.is_free(base.value):  # a builtin (object, dict), or a star import's name
            return model.imports.star_import and not hasattr(builtins, base.value)
        return True  # bound by something we cannot read
    if qualified is None:
        return False
    if qualified.startswith("torch."):
        return False  # torch.nn.* makes a module class; torch.autograd.Function and the rest do not
    return not qualified.startswith(_NOT_MODULE_ROOTS)


def _module_evidence(model: SemanticModel, node: cst.ClassDef) -> bool:
    from initlint.semantic.catalog import LAYERS

    for function in model.nodes_within(node, cst.FunctionDef):
        if function.name.value == "forward" and model.enclosing(function, cst.ClassDef) is node:
            return True
    for attribute in model.nodes_within(node, cst.Attribute):
        if not (isinstance(attribute.value, cst.Name) and attribute.value.value == "self"):
            continue
        name = attribute.attr.value
        if name == "training":
            return True
        parent = model.parent.get(attribute)
        if name in _MODULE_SELF_CALLS and isinstance(parent, cst.Call) and parent.func is attribute:
            return True
        if isinstance(parent, cst.AssignTarget):
            assign = model.parent.get(parent)
            value = assign.value if isinstance(assign, cst.Assign) else None
            if isinstance(value, cst.Call):
                qualified = model.qualified_name(value.func) or ""
                tail = qualified.rsplit(".", 1)[-1]
                if qualified.startswith("torch.nn.") and (tail in LAYERS or tail == "Parameter"):
                    return True
    return False
