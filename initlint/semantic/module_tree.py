"""The whole module tree of a class, when this file proves it: every submodule its instances hold
once ``__init__`` is done (each identified by the constructor call that builds it), which of them
are direct children (what ``.children()`` yields), and whether a module of one type is an
instance of another (what ``isinstance`` answers).

``ClassInstances`` (semantic/instances.py) answers with a subset of the truth; a rule that says
"nothing in this model is a Conv2d" needs the whole set. ``module_tree`` gives it only when every
way a module can reach ``self`` is accounted for: each ``self.X = ...`` is a constructor call,
container or factory this file resolves, or a value that is provably not a module (a number, a
string, a tensor, a list); the alternatives of ``if``/``else`` are all counted; no
``setattr``/``add_module``, no helper given ``self``, no base class from elsewhere. Otherwise it
answers None and rules stay silent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from initlint._lazy import cst
from initlint.semantic.catalog import LAYERS
from initlint.semantic.core import self_attribute
from initlint.semantic.instances import instance_type, local_bindings, local_list_contents
from initlint.semantic.structure import nodes_in

if TYPE_CHECKING:
    from initlint.semantic.instances import ClassInstances
    from initlint.semantic.model import SemanticModel
    from initlint.semantic.modules import ModuleClass

_MODULE_BASES = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module"})
_CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict"})
_APPENDS = frozenset({"append", "extend", "insert", "add_module", "register_module", "update"})
# Builtins whose result is never a module.
_PLAIN_BUILTINS = frozenset(
    {"int", "float", "str", "bool", "len", "list", "dict", "tuple", "set", "frozenset", "max", "min", "sum",
     "round", "abs", "range", "sorted", "reversed", "zip", "enumerate", "divmod", "pow", "isinstance",
     "hasattr", "any", "all", "map", "filter", "repr", "hash", "id", "complex", "bytes"}
)  # fmt: skip
# Scalar annotations: a parameter annotated so holds no module.
_SCALAR_ANNOTATIONS = frozenset(
    {"int", "float", "bool", "str", "tuple", "list", "dict", "set", "Tuple", "List", "Dict", "Sequence",
     "Optional", "Union", "Literal", "bytes"}
)  # fmt: skip
_MAX_DEPTH = 8


def _arithmetic() -> tuple[type, ...]:
    return (cst.Subtract, cst.Divide, cst.FloorDivide, cst.Power, cst.LeftShift, cst.RightShift)


def _order() -> tuple[type, ...]:
    return (cst.LessThan, cst.GreaterThan, cst.LessThanEqual, cst.GreaterThanEqual)


@dataclass(frozen=True, eq=False)
class TreeModule:
    """One submodule (a template, when its constructor runs in a loop)."""

    call: cst.Call  # its constructor call
    type_name: str  # "Conv2d" (torch.nn) or a class of this file
    direct: bool  # a direct child of the root: `.children()` yields it
    attribute: str  # the attribute of the root it hangs under


_cache: WeakKeyDictionary[SemanticModel, dict[str, list[TreeModule] | None]] = WeakKeyDictionary()


def module_tree(model: SemanticModel, cls: ModuleClass) -> list[TreeModule] | None:
    """Every submodule of an instance of ``cls`` (a superset when ``if``/``else`` builds one of
    two), or None when this file does not show them all."""
    cached = _cache.setdefault(model, {})
    if cls.name in cached:
        return cached[cls.name]
    cached[cls.name] = None  # a class that contains itself: unknown
    result = _Tree(model, cls).build()
    cached[cls.name] = result
    return result


def is_instance(model: SemanticModel, type_name: str, wanted: str) -> bool | None:
    """Whether a module of ``type_name`` (a torch.nn layer or a class of this file) passes
    ``isinstance(m, wanted)``; None when it cannot be told."""
    if wanted in ("Module", type_name):
        return True
    classes = model.module_classes
    if type_name in classes:
        return _class_is_instance(model, classes[type_name], wanted, frozenset())
    if type_name not in LAYERS:
        return None
    if wanted in classes:
        return False  # a class of this file is never a base of a torch.nn layer
    if type_name.startswith("Lazy") and type_name.removeprefix("Lazy") == wanted:
        return True  # LazyConv2d derives from Conv2d
    # Among the leaf layers we know, none derives from another.
    return False if wanted in LAYERS else None


def _class_is_instance(model: SemanticModel, cls: ModuleClass, wanted: str, seen: frozenset[str]) -> bool | None:
    answer: bool | None = False
    for base in cls.node.bases:
        if base.keyword is not None:
            return None
        qualified = model.qualified_name(base.value)
        if qualified in _MODULE_BASES:
            continue
        if qualified is not None and qualified.startswith("torch.nn."):
            verdict = is_instance(model, qualified.rsplit(".", 1)[1], wanted)
        elif isinstance(base.value, cst.Name) and base.value.value in model.module_classes:
            name = base.value.value
            if name == wanted:
                return True
            if name in seen:
                return None
            verdict = _class_is_instance(model, model.module_classes[name], wanted, seen | {cls.name})
        else:
            return None
        if verdict is True:
            return True
        if verdict is None:
            answer = None
    return answer


class _Tree:
    def __init__(self, model: SemanticModel, cls: ModuleClass) -> None:
        self.model = model
        self.cls = cls
        self.instances: ClassInstances | None = model.instances.of_class(cls)

    def build(self) -> list[TreeModule] | None:
        model, cls = self.model, self.cls
        if cls.opaque:
            return None
        out: list[TreeModule] = []
        for base in cls.node.bases:
            if base.keyword is not None:
                return None
            qualified = model.qualified_name(base.value)
            if qualified in _MODULE_BASES:
                continue
            if not (isinstance(base.value, cst.Name) and base.value.value in model.module_classes):
                return None  # nn.Sequential(*layers), a torch layer, a base from another file
            inherited = module_tree(model, model.module_classes[base.value.value])
            if inherited is None:
                return None
            out += inherited
        if not self._registrations_known():
            return None
        if self.instances is None:
            return out
        for name, bindings in self.instances.bindings.items():
            held = False
            for value, _ in bindings:
                if self._rewraps(value, name):
                    continue
                found = self._value(value, name, cls.init, 0)
                if found is None:
                    return None
                held = held or any(m.direct for m in found)
                out += found
            if not held:
                continue  # appends to a plain list (or `self.n += 1`) register nothing
            for value, sequence, _ in self.instances.appends.get(name, []):
                members = self._sequence(value, cls.init, 0) if sequence else self._module(value, cls.init, 0)
                if members is None:
                    return None
                for call in members:
                    expanded = self._expand(call, name, False, 0)
                    if expanded is None:
                        return None
                    out += expanded
        return out

    # -- every way a module reaches self is one we follow -------------------------------------------
    def _registrations_known(self) -> bool:
        """Every way ``__init__`` (and the methods it runs) can put a module on ``self`` is read
        through the bindings; other methods run after construction and are not judged."""
        model, cls = self.model, self.cls
        init = cls.init
        for method in constructor_methods(model, cls):
            for node_type in (cst.Assign, cst.AnnAssign, cst.AugAssign):
                for assign in model.nodes_within(method, node_type):
                    targets = [t.target for t in assign.targets] if isinstance(assign, cst.Assign) else [assign.target]
                    for target in targets:
                        if not _mentions_self(model, target):
                            continue
                        if isinstance(target, (cst.Tuple, cst.List)):
                            if not self._unpacks_no_module(target, assign.value, method):
                                return False
                            continue
                        simple = self_attribute(target) is not None
                        if method is init and isinstance(assign, cst.Assign) and simple:
                            continue  # read through the bindings
                        if method is init and isinstance(assign, cst.AugAssign) and simple:
                            continue  # `self.blocks += [...]`: read as an append
                        value = assign.value
                        if value is None or not self._not_module(value, method, 0):
                            return False
            for call in model.nodes_within(method, cst.Call):
                func = call.func
                if model.is_builtin(func, "setattr"):
                    return False
                if any(_is_self(a.value) for a in call.args):
                    if not _harmless_self_argument(model, call):
                        return False
                if isinstance(func, cst.Attribute) and func.attr.value in _APPENDS:
                    receiver = func.value
                    if not _mentions_self(model, receiver):
                        continue
                    # ClassInstances reads `self.X.append/extend/insert` in __init__; nothing else
                    followed = method is init and self_attribute(receiver) is not None
                    if not followed or func.attr.value not in ("append", "extend", "insert"):
                        return False
        return True

    def _unpacks_no_module(
        self, target: cst.BaseExpression, value: cst.BaseExpression | None, function: cst.CSTNode
    ) -> bool:
        """``self.a, self.b = x, y`` where each value put on self is not a module."""
        if not isinstance(value, (cst.Tuple, cst.List)) or not isinstance(target, (cst.Tuple, cst.List)):
            return False
        if len(value.elements) != len(target.elements):
            return False
        for left, right in zip(target.elements, value.elements, strict=True):
            if isinstance(left, cst.StarredElement) or isinstance(right, cst.StarredElement):
                return False
            if _mentions_self(self.model, left.value) and not self._not_module(right.value, function, 0):
                return False
        return True

    def _rewraps(self, value: cst.BaseExpression, name: str) -> bool:
        wrapped = self.model.reparametrizations.get(value) if isinstance(value, cst.Call) else None
        return wrapped is not None and wrapped.module is not None and self_attribute(wrapped.module) == name

    # -- what an expression puts on self ---------------------------------------------------------
    def _value(
        self, value: cst.BaseExpression, name: str, function: cst.CSTNode | None, depth: int
    ) -> list[TreeModule] | None:
        """The modules ``self.<name> = value`` registers ([] for a non-module value)."""
        if isinstance(value, cst.IfExp):
            body = self._value(value.body, name, function, depth + 1)
            orelse = self._value(value.orelse, name, function, depth + 1)
            return None if body is None or orelse is None else body + orelse
        calls = self._module(value, function, depth)
        if calls is None:
            return [] if self._not_module(value, function, depth) else None
        out: list[TreeModule] = []
        for call in calls:
            expanded = self._expand(call, name, True, depth)
            if expanded is None:
                return None
            out += expanded
        return out

    def _module(self, node: cst.BaseExpression, function: cst.CSTNode | None, depth: int) -> list[cst.Call] | None:
        """The one module ``node`` is (its constructor call; several for alternatives); None when
        it is not provably a module this file builds."""
        model = self.model
        if depth > _MAX_DEPTH:
            return None
        if isinstance(node, cst.IfExp):
            body = self._module(node.body, function, depth + 1)
            orelse = self._module(node.orelse, function, depth + 1)
            return None if body is None or orelse is None else body + orelse
        if isinstance(node, cst.Call):
            if instance_type(model, node) is not None:
                return [node]
            wrapped = model.reparametrizations.get(node)
            if wrapped is not None and wrapped.module is not None:
                return self._module(wrapped.module, function, depth + 1)
            return None
        attribute = self_attribute(node)
        if attribute is not None and self.instances is not None:
            bindings = self.instances.bindings.get(attribute, [])
            if len(bindings) != 1:
                return None
            return self._module(bindings[0][0], self.cls.init, depth + 1)
        if isinstance(node, cst.Name) and function is not None:
            values = local_bindings(model, function, node.value)
            if not values:
                return None
            out: list[cst.Call] = []
            for value in values:
                found = self._module(value, function, depth + 1)
                if found is None:
                    return None
                out += found
            return out
        return None

    def _sequence(self, node: cst.BaseExpression, function: cst.CSTNode | None, depth: int) -> list[cst.Call] | None:
        """The modules a list / tuple / comprehension / local list holds; None when one is unknown."""
        model = self.model
        if depth > _MAX_DEPTH:
            return None
        if isinstance(node, (cst.List, cst.Tuple)):
            out: list[cst.Call] = []
            for element in node.elements:
                if isinstance(element, cst.StarredElement):
                    found = self._sequence(element.value, function, depth + 1)
                else:
                    found = self._module(element.value, function, depth + 1)
                if found is None:
                    return None
                out += found
            return out
        if isinstance(node, (cst.ListComp, cst.GeneratorExp)):
            return self._module(node.elt, function, depth + 1)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            left = self._sequence(node.left, function, depth + 1)
            right = self._sequence(node.right, function, depth + 1)
            return None if left is None or right is None else left + right
        if isinstance(node, cst.Name) and function is not None:
            if _subscript_assigned(model, function, node.value):
                return None
            contents = local_list_contents(model, function, node.value)
            if not contents:
                return None
            out = []
            for value, is_sequence in contents:
                found = (
                    self._sequence(value, function, depth + 1)
                    if is_sequence
                    else self._module(value, function, depth + 1)
                )
                if found is None:
                    return None
                out += found
            return out
        return None

    def _expand(self, call: cst.Call, attribute: str, direct: bool, depth: int) -> list[TreeModule] | None:
        """``call``'s module and every module inside it."""
        model = self.model
        type_name = instance_type(model, call)
        if type_name is None or depth > _MAX_DEPTH:
            return None
        out = [TreeModule(call, type_name, direct, attribute)]
        if type_name in _CONTAINERS:
            members = self._members(call, depth)
            if members is None:
                return None
            for member in members:
                expanded = self._expand(member, attribute, False, depth + 1)
                if expanded is None:
                    return None
                out += expanded
        elif type_name in model.module_classes:
            inner = module_tree(model, model.module_classes[type_name])
            if inner is None:
                return None
            out += [TreeModule(m.call, m.type_name, False, attribute) for m in inner]
        return out

    def _members(self, call: cst.Call, depth: int) -> list[cst.Call] | None:
        model = self.model
        type_name = instance_type(model, call)
        function = model.enclosing(call, cst.FunctionDef)
        positional = [a for a in call.args if a.keyword is None]
        if type_name == "ModuleDict" and positional:
            return None  # its contents are not followed
        if any(a.keyword is not None for a in call.args):
            return None
        out: list[cst.Call] = []
        for arg in positional:
            if arg.star == "*" or type_name == "ModuleList":
                found = self._sequence(arg.value, function, depth + 1)
            elif arg.star:
                return None
            else:
                found = self._module(arg.value, function, depth + 1)
            if found is None:
                return None
            out += found
        # members appended to `self.X` (read with the bindings of self) are counted there
        return out

    # -- values that are never a module -----------------------------------------------------------
    def _not_module(self, value: cst.BaseExpression, function: cst.CSTNode | None, depth: int) -> bool:
        model = self.model
        if depth > _MAX_DEPTH:
            return False
        if isinstance(
            value,
            (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString, cst.FormattedString,
             cst.Ellipsis, cst.List, cst.Tuple, cst.Set, cst.Dict, cst.ListComp, cst.SetComp, cst.DictComp,
             cst.GeneratorExp, cst.Lambda, cst.Comparison),
        ):  # fmt: skip
            return True  # a plain list / tuple / dict is never registered, whatever it holds
        if isinstance(value, cst.Name) and value.value in ("True", "False", "None"):
            return True
        if isinstance(value, cst.UnaryOperation):
            return True
        if isinstance(value, cst.BinaryOperation):
            return self._not_module(value.left, function, depth + 1) or self._not_module(
                value.right, function, depth + 1
            )
        if isinstance(value, (cst.BooleanOperation,)):
            return self._not_module(value.left, function, depth + 1) and self._not_module(
                value.right, function, depth + 1
            )
        if isinstance(value, cst.IfExp):
            return self._not_module(value.body, function, depth + 1) and self._not_module(
                value.orelse, function, depth + 1
            )
        if isinstance(value, cst.Call):
            func = value.func
            if isinstance(func, cst.Name) and func.value in _PLAIN_BUILTINS and model.is_builtin(func, func.value):
                return True
            qualified = model.qualified_name(func)
            if qualified is None:
                return False
            if qualified.startswith("torch.nn."):
                tail = qualified.rsplit(".", 1)[1]
                return tail in ("Parameter", "ParameterList", "ParameterDict") or qualified.startswith(
                    ("torch.nn.functional.", "torch.nn.init.")
                )
            return qualified.startswith(("torch.", "math.", "numpy."))
        if isinstance(value, cst.Attribute) and model.qualified_name(value) is not None:
            return True  # `nn.ReLU` (a class), `F.relu`, `math.pi`: not a module instance
        if isinstance(value, cst.Name):
            if value.value in model.module_classes or model.qualified_name(value) is not None:
                return True  # a class or an imported function, not an instance
            if function is not None:
                if _parameter_is_scalar(model, function, value.value):
                    return True
                values = local_bindings(model, function, value.value)
                if values:
                    return all(self._not_module(v, function, depth + 1) for v in values)
        return function is not None and _used_as_number(model, function, value)


def container_members(model: SemanticModel, cls: ModuleClass, attribute: str) -> list[cst.Call] | None:
    """The direct members of the one ``nn.Sequential`` / ``nn.ModuleList`` ``self.<attribute>``
    holds (its constructor arguments and what ``__init__`` appends to it); None when this file
    does not show them all."""
    tree = module_tree(model, cls)
    holders = [m for m in tree or [] if m.direct and m.attribute == attribute]
    if len(holders) != 1 or holders[0].type_name not in ("Sequential", "ModuleList"):
        return None
    builder = _Tree(model, cls)
    members = builder._members(holders[0].call, 0)
    if members is None or builder.instances is None:
        return None
    for value, sequence, _ in builder.instances.appends.get(attribute, []):
        added = builder._sequence(value, cls.init, 0) if sequence else builder._module(value, cls.init, 0)
        if added is None:
            return None
        members += added
    return members


def constructor_methods(model: SemanticModel, cls: ModuleClass) -> list[cst.FunctionDef]:
    """``__init__`` and the methods of the class it runs through ``self.method()``, transitively."""
    init = cls.init
    if init is None:
        return []
    reached = [init]
    todo = [init]
    while todo:
        method = todo.pop()
        for call in model.nodes_within(method, cst.Call):
            func = call.func
            if isinstance(func, cst.Attribute) and _is_self(func.value):
                target = cls.methods.get(func.attr.value)
                if target is not None and all(target is not r for r in reached):
                    reached.append(target)
                    todo.append(target)
    return reached


def _parameter_is_scalar(model: SemanticModel, function: cst.CSTNode, name: str) -> bool:
    params = getattr(function, "params", None)
    if params is None:
        return False
    for param in (*params.params, *params.posonly_params, *params.kwonly_params):
        if param.name.value != name:
            continue
        annotation = param.annotation.annotation if param.annotation is not None else None
        if annotation is not None and _scalar_annotation(annotation):
            return True
        default = param.default
        if isinstance(default, (cst.Integer, cst.Float, cst.SimpleString, cst.Tuple, cst.List)):
            return True
        if isinstance(default, cst.Name) and default.value in ("True", "False"):
            return True
        if isinstance(default, cst.UnaryOperation) and isinstance(default.expression, (cst.Integer, cst.Float)):
            return True
        return _used_as_number(model, function, param.name)
    return False


def _scalar_annotation(node: cst.BaseExpression) -> bool:
    """``int``, ``Tuple[int, int]``, ``Optional[float]``, ``int | None``: no module instance."""
    if isinstance(node, cst.Name) and node.value == "None":
        return True
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        return _scalar_annotation(node.left) and _scalar_annotation(node.right)
    head = node.value if isinstance(node, cst.Subscript) else node
    if isinstance(head, cst.Attribute):
        head = head.attr
    if not isinstance(head, cst.Name) or head.value not in _SCALAR_ANNOTATIONS:
        return False
    if isinstance(node, cst.Subscript) and head.value in ("Optional", "Union"):
        return all(isinstance(e.slice, cst.Index) and _scalar_annotation(e.slice.value) for e in node.slice)
    return True  # a plain list / tuple / dict is never registered, whatever it holds


_numbers_cache: WeakKeyDictionary[SemanticModel, dict[cst.CSTNode, frozenset[str]]] = WeakKeyDictionary()


def _used_as_number(model: SemanticModel, function: cst.CSTNode, value: cst.BaseExpression) -> bool:
    """``value``'s code is given somewhere in ``function`` as a size of a torch.nn layer
    (``nn.Linear(dim, ...)``), a ``range`` bound or an arithmetic operand: a number, not a module."""
    per_model = _numbers_cache.setdefault(model, {})
    numbers = per_model.get(function)
    if numbers is None:
        found: set[str] = set()
        for call in nodes_in(model, function, cst.Call):
            qualified = model.qualified_name(call.func) or ""  # type: ignore[attr-defined]
            tail = qualified.rsplit(".", 1)[-1]
            sized = tail in LAYERS and tail not in _CONTAINERS and tail != "Identity"  # Identity takes anything
            if (qualified.startswith("torch.nn.") and sized) or model.is_builtin(call.func, "range"):  # type: ignore[attr-defined]
                found.update(model.code(a.value) for a in call.args if not a.star)  # type: ignore[attr-defined]
        for operation in nodes_in(model, function, cst.BinaryOperation):
            # `+` and `*` also add and repeat sequences (nn.Sequential too), `%` formats strings
            if isinstance(operation.operator, _arithmetic()):  # type: ignore[attr-defined]
                found.add(model.code(operation.left))  # type: ignore[attr-defined]
                found.add(model.code(operation.right))  # type: ignore[attr-defined]
        for comparison in nodes_in(model, function, cst.Comparison):
            targets = comparison.comparisons  # type: ignore[attr-defined]
            if all(isinstance(t.operator, _order()) for t in targets):
                found.add(model.code(comparison.left))  # type: ignore[attr-defined]
                found.update(model.code(t.comparator) for t in targets)
        numbers = per_model[function] = frozenset(found)
    return model.code(value) in numbers


def _subscript_assigned(model: SemanticModel, function: cst.CSTNode, name: str) -> bool:
    for assign in nodes_in(model, function, cst.Assign):
        for target in assign.targets:  # type: ignore[attr-defined]
            node = target.target
            if isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name) and node.value.value == name:
                return True
    return False


def _harmless_self_argument(model: SemanticModel, call: cst.Call) -> bool:
    """A call given ``self`` that registers nothing: ``super().__init__``, ``isinstance``, ..."""
    func = call.func
    if isinstance(func, cst.Name) and func.value in ("isinstance", "hasattr", "getattr", "super", "id", "type"):
        return model.is_builtin(func, func.value)
    qualified = model.qualified_name(func)
    return qualified is not None and qualified.startswith(("torch.nn.init.", "torch.nn.functional."))


def _is_self(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "self"


def _mentions_self(model: SemanticModel, node: cst.CSTNode) -> bool:
    if isinstance(node, cst.Name):
        return node.value == "self"
    return any(n.value == "self" for n in model.nodes_within(node, cst.Name))
