"""Forward dataflow: for each layer, what its output meets first in ``forward`` (an activation,
a norm, another layer, the output, something unknown), and the edges between parametric layers
with the activation and norms on the way. Sequential contents are run in order.

The abstract value of an expression is the set of layer outputs it still carries, each with
the activation applied since (if any) and whether a norm or a residual merge came in between.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from initlint._lazy import cst
from initlint.semantic.catalog import (
    FUNCTIONAL_ACTIVATIONS,
    FUNCTIONAL_DROPOUT,
    FUNCTIONAL_NORMS,
    FUNCTIONAL_POOLS,
    TENSOR_METHOD_ACTIVATIONS,
)
from initlint.semantic.modules import Layer, ModuleClass, indexed_items, sliced, subscript_index
from initlint.semantic.values import UNKNOWN, evaluate

if TYPE_CHECKING:
    from initlint.semantic.model import SemanticModel

_PASS_THROUGH_METHODS = frozenset(
    {"view", "reshape", "flatten", "permute", "transpose", "contiguous", "squeeze", "unsqueeze", "float", "to",
     "half", "type_as", "expand", "repeat", "chunk", "split", "mean", "sum"}
)  # fmt: skip
_MAX_UNROLLED = 32  # members of a container run one by one in a forward loop
_PASS_THROUGH_TORCH = frozenset(
    {"flatten", "cat", "concat", "stack", "reshape", "squeeze", "unsqueeze", "permute", "transpose"}
)


@dataclass(frozen=True)
class Carried:
    layer: Layer
    activation: str | None = None
    activation_param: float | None = None
    activation_node: cst.CSTNode | None = field(default=None, compare=False, repr=False)
    normed: bool = False
    merged: bool = False  # went through a residual add


@dataclass(frozen=True)
class Follower:
    """What a layer's output meets first."""

    kind: str  # activation | norm | layer | output | unknown
    activation: str | None = None
    activation_param: float | None = None
    node: cst.CSTNode | None = field(default=None, compare=False, repr=False)  # for messages


@dataclass(frozen=True)
class Edge:
    source: Layer
    target: Layer
    activation: str | None
    normed: bool
    merged: bool
    activation_param: float | None = None


@dataclass
class Dataflow:
    followers: dict[Layer, Follower] = field(default_factory=dict)
    conflicting: set[Layer] = field(default_factory=set)
    edges: list[Edge] = field(default_factory=list)
    # Indexes over `edges`: a list scan per added edge and per query was quadratic in the file.
    _edge_set: set[Edge] = field(default_factory=set, repr=False, compare=False)
    _by_source: dict[int, list[Edge]] = field(default_factory=dict, repr=False, compare=False)

    def follower(self, layer: Layer) -> Follower | None:
        """None when forward does not show it, or shows different things on different paths."""
        if layer in self.conflicting:
            return None
        return self.followers.get(layer)

    def record(self, layer: Layer, follower: Follower) -> None:
        previous = self.followers.get(layer)
        if previous is None:
            self.followers[layer] = follower
        elif (previous.kind, previous.activation, previous.activation_param) != (
            follower.kind, follower.activation, follower.activation_param,
        ):  # fmt: skip
            self.conflicting.add(layer)

    def add_edge(self, edge: Edge) -> None:
        if edge not in self._edge_set:
            self._edge_set.add(edge)
            self.edges.append(edge)
            self._by_source.setdefault(id(edge.source), []).append(edge)  # by identity, as before

    def successors(self, layer: Layer) -> list[Edge]:
        return [e for e in self._by_source.get(id(layer), ()) if e.source is layer]


Value = frozenset[Carried]
EMPTY: Value = frozenset()


def analyze_dataflow(model: SemanticModel) -> Dataflow:
    flow = Dataflow()
    for module_class in model.module_classes.values():
        if module_class.forward is not None:
            _ForwardInterpreter(model, module_class, flow).run(module_class.forward)
    return flow


class _ForwardInterpreter:
    def __init__(self, model: SemanticModel, module_class: ModuleClass, flow: Dataflow) -> None:
        self.model = model
        self.cls = module_class
        self.flow = flow
        self.env: dict[str, Value] = {}
        self.layer_vars: dict[str, list[Layer]] = {}  # loop variables bound to layers

    def run(self, function: cst.FunctionDef) -> None:
        self._block(function.body)

    # -- statements ---------------------------------------------------------------------------
    def _block(self, body: cst.BaseSuite) -> None:
        statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
        for statement in statements:
            self._statement(statement)

    def _statement(self, statement: cst.CSTNode) -> None:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                self._small(small)
        elif isinstance(statement, cst.If):
            self._value(statement.test)
            before = dict(self.env)
            self._block(statement.body)
            after_body = self.env
            self.env = dict(before)
            if isinstance(statement.orelse, cst.If):
                self._statement(statement.orelse)
            elif isinstance(statement.orelse, cst.Else):
                self._block(statement.orelse.body)
            self._merge(after_body)
        elif isinstance(statement, cst.For):
            bound = statement.target.value if isinstance(statement.target, cst.Name) else None
            members = self._members_in_order(statement.iter)
            if bound and members is not None and not _jumps(self.model, statement.body):
                # `for layer in self.layers[:-1]` over distinct layers: each one in turn, in order.
                for member in members:
                    self.layer_vars[bound] = [member]
                    self._block(statement.body)
                self.layer_vars.pop(bound, None)
                return
            layers = self._layers_of_iterable(statement.iter)
            if bound and layers:
                self.layer_vars[bound] = layers
            before = dict(self.env)
            for _ in range(2):  # twice: values carried from one iteration into the next
                self._block(statement.body)
                self._merge(before)
            if bound:
                self.layer_vars.pop(bound, None)
        elif isinstance(statement, (cst.With, cst.Try)):
            self._block(statement.body)
        elif isinstance(statement, cst.While):
            for _ in range(2):
                self._block(statement.body)

    def _merge(self, other: dict[str, Value]) -> None:
        for name, value in other.items():
            self.env[name] = self.env.get(name, EMPTY) | value

    def _small(self, small: cst.BaseSmallStatement) -> None:
        if isinstance(small, cst.Assign):
            value = self._value(small.value)
            for target in small.targets:
                self._bind(target.target, value)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            self._bind(small.target, self._value(small.value))
        elif isinstance(small, cst.AugAssign):
            value = self._value(small.value)
            if isinstance(small.target, cst.Name):
                current = self.env.get(small.target.value, EMPTY)
                if isinstance(small.operator, (cst.AddAssign, cst.SubtractAssign)):
                    self.env[small.target.value] = _merged(current | value)
                else:
                    self._unknown(current | value)
                    self.env[small.target.value] = EMPTY
        elif isinstance(small, cst.Return) and small.value is not None:
            self._output(self._value(small.value))
        elif isinstance(small, cst.Expr):
            self._unknown(self._value(small.value))

    def _bind(self, target: cst.BaseExpression, value: Value) -> None:
        if isinstance(target, cst.Name):
            self.env[target.value] = value
        elif isinstance(target, (cst.Tuple, cst.List)):
            # `x, h = self.rnn(x)`: we cannot tell which element carries what.
            self._unknown(value)
            for element in target.elements:
                self._bind(element.value, EMPTY)

    # -- expressions --------------------------------------------------------------------------
    def _value(self, node: cst.BaseExpression) -> Value:
        if isinstance(node, cst.Name):
            return self.env.get(node.value, EMPTY)
        if isinstance(node, cst.Call):
            return self._call(node)
        if isinstance(node, cst.BinaryOperation):
            left, right = self._value(node.left), self._value(node.right)
            if isinstance(node.operator, (cst.Add, cst.Subtract)):
                return _merged(left | right)
            self._unknown(left | right)
            return EMPTY
        if isinstance(node, cst.Subscript):
            return self._value(node.value)
        if isinstance(node, (cst.Tuple, cst.List)):
            for element in node.elements:
                self._output(self._value(element.value))
            return EMPTY
        if isinstance(node, cst.IfExp):
            self._value(node.test)
            return self._value(node.body) | self._value(node.orelse)
        for child in _expression_children(node):
            self._unknown(self._value(child))
        return EMPTY

    def _call(self, call: cst.Call) -> Value:
        func = call.func
        layers = self._called_layers(func)
        first = self._value(call.args[0].value) if call.args and call.args[0].keyword is None else EMPTY
        for arg in call.args[1:] if call.args and call.args[0].keyword is None else call.args:
            self._unknown(self._value(arg.value))
        if layers is not None:
            return self._apply_layers(layers, first, call)
        qualified = self.model.qualified_name(func)
        name = qualified.rsplit(".", 1)[1] if qualified else None
        if qualified and qualified.startswith(("torch.nn.functional.", "torch.")) and name:
            base = name.rstrip("_") if name.endswith("_") and name.rstrip("_") in FUNCTIONAL_ACTIVATIONS else name
            if base in FUNCTIONAL_ACTIVATIONS and (
                qualified.startswith("torch.nn.functional.")
                or base in ("relu", "tanh", "sigmoid", "selu", "celu", "rrelu", "prelu")
            ):
                return self._activate(first, base, self._slope(call, base), call)
            if qualified.startswith("torch.nn.functional.") and name in FUNCTIONAL_DROPOUT | FUNCTIONAL_POOLS:
                return first
            if qualified.startswith("torch.nn.functional.") and name in FUNCTIONAL_NORMS:
                return self._normalize(first)
            if qualified.startswith("torch.") and name in _PASS_THROUGH_TORCH:
                if name in ("cat", "concat", "stack") and call.args:
                    return _merged(self._value(call.args[0].value))
                return first
        if isinstance(func, cst.Attribute) and qualified is None:
            receiver = self._value(func.value)
            method = func.attr.value
            if method in TENSOR_METHOD_ACTIVATIONS:
                return self._activate(receiver, method.rstrip("_"), None, call)
            if method in _PASS_THROUGH_METHODS:
                return receiver
            self._unknown(receiver)
        self._unknown(first)
        return EMPTY

    def _slope(self, call: cst.Call, name: str) -> float | None:
        if name != "leaky_relu":
            return None
        for index, arg in enumerate(call.args):
            if (arg.keyword is not None and arg.keyword.value == "negative_slope") or (
                arg.keyword is None and index == 1
            ):
                value = evaluate(self.model, arg.value)
                return float(value) if isinstance(value, (int, float)) and value is not UNKNOWN else None
        return 0.01

    def _called_layers(self, func: cst.BaseExpression) -> list[Layer] | None:
        """The layers a callee stands for: ``self.fc``, ``self.blocks[0]``, a loop variable."""
        if isinstance(func, cst.Name) and func.value in self.layer_vars:
            return self.layer_vars[func.value]
        if isinstance(func, cst.Subscript):
            container = self._called_layers(func.value)
            if container and len(container) == 1:
                complete = container[0].complete
                part = sliced(container[0].items, func, lambda node: evaluate(self.model, node)) if complete else None
                if part is not None:
                    return part  # `for layer in self.layers[:-1]`
                return indexed_items(self.model, container[0], subscript_index(func))
            return None
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
            layer = self.cls.layers.get(func.attr.value)
            return [layer] if layer is not None else None
        return None

    def _members_in_order(self, node: cst.BaseExpression) -> list[Layer] | None:
        """The members of a container (or a slice of one) when each is one module, in order."""
        layers = self._called_layers(node)
        if not layers:
            return None
        if len(layers) == 1 and layers[0].type_name in ("ModuleList", "Sequential"):
            if not layers[0].complete:
                return None
            layers = layers[0].items
        elif not (isinstance(node, cst.Subscript) and isinstance(node.slice[0].slice, cst.Slice)):
            return None
        if not layers or len(layers) > _MAX_UNROLLED or any(layer.repeat != 1 for layer in layers):
            return None
        return layers

    def _layers_of_iterable(self, node: cst.BaseExpression) -> list[Layer]:
        layers = self._called_layers(node)
        if layers and len(layers) == 1 and layers[0].type_name in ("ModuleList", "Sequential"):
            items = layers[0].items
            return items if items and layers[0].complete and len({i.type_name for i in items}) == 1 else []
        if isinstance(node, cst.Subscript) and isinstance(node.slice[0].slice, cst.Slice):
            # `for layer in self.layers[:-1]`: the slice of a container of one layer type
            return layers if layers and len({i.type_name for i in layers}) == 1 else []
        return []

    def _apply_layers(self, layers: list[Layer], value: Value, call: cst.CSTNode) -> Value:
        results = EMPTY
        for layer in layers:
            results |= self._apply_layer(layer, value, call)
        return results

    def _apply_layer(self, layer: Layer, value: Value, call: cst.CSTNode) -> Value:
        if layer.type_name == "Sequential" and not layer.complete:
            self._unknown(value)  # members we do not see would run between the ones we do
            return EMPTY
        if layer.type_name == "Sequential":
            current = value
            items = layer.items
            for index, item in enumerate(items):
                current = self._apply_layer(item, current, item.call)
                if item.repeat != 1 and (index + 1 == len(items) or items[index + 1].repeat == 1):
                    # A block built in a loop: run it once more so its end meets its start.
                    start = index
                    while start > 0 and items[start - 1].repeat != 1:
                        start -= 1
                    for again in items[start : index + 1]:
                        current = self._apply_layer(again, current, again.call)
            return current
        if layer.activation is not None:
            slope = layer.args.get("negative_slope", 0.01) if layer.activation == "leaky_relu" else None
            return self._activate(
                value, layer.activation, slope if isinstance(slope, (int, float)) else None, layer.call
            )
        category = layer.category
        if category == "norm":
            return self._normalize(value)
        if category in ("dropout", "pool"):
            return value
        if layer.custom is not None and shape_only(self.model, layer.custom):
            return value  # a `Reshape` / `View` / `Flatten` module of this file: the signal passes as is
        if layer.parametric and layer.category != "rnn":
            for carried in value:
                if carried.activation is None and not carried.normed and not carried.merged:
                    self.flow.record(carried.layer, Follower("layer"))
                self.flow.add_edge(
                    Edge(
                        carried.layer,
                        layer,
                        carried.activation,
                        carried.normed,
                        carried.merged,
                        carried.activation_param,
                    )
                )
            return frozenset({Carried(layer)})
        self._unknown(value)
        return EMPTY

    def _activate(self, value: Value, name: str, param: float | None, node: cst.CSTNode) -> Value:
        out = set()
        for carried in value:
            if carried.activation is None:
                if not carried.merged and not carried.normed:
                    self.flow.record(carried.layer, Follower("activation", name, param, node))
                out.add(replace(carried, activation=name, activation_param=param, activation_node=node))
            else:
                out.add(carried)
        return frozenset(out)

    def _normalize(self, value: Value) -> Value:
        for carried in value:
            if carried.activation is None and not carried.normed and not carried.merged:
                self.flow.record(carried.layer, Follower("norm"))
        return frozenset(replace(c, normed=True) for c in value)

    def _output(self, value: Value) -> None:
        for carried in value:
            if carried.activation is None and not carried.normed and not carried.merged:
                self.flow.record(carried.layer, Follower("output"))

    def _unknown(self, value: Value) -> None:
        for carried in value:
            if carried.activation is None and not carried.normed and not carried.merged:
                self.flow.record(carried.layer, Follower("unknown"))


_SHAPE_METHODS = frozenset(
    {"view", "reshape", "flatten", "unflatten", "permute", "transpose", "contiguous", "squeeze", "unsqueeze",
     "movedim", "swapaxes", "view_as", "reshape_as", "t"}
)  # fmt: skip
_SHAPE_FUNCTIONS = frozenset(
    {"torch.flatten", "torch.reshape", "torch.squeeze", "torch.unsqueeze", "torch.permute", "torch.transpose",
     "torch.movedim", "torch.swapaxes", "einops.rearrange"}
)  # fmt: skip
_shape_cache: WeakKeyDictionary[SemanticModel, dict[str, bool]] = WeakKeyDictionary()


def shape_only(model: SemanticModel, cls: ModuleClass) -> bool:
    """The class's ``forward(self, x)`` only reshapes its input (``return x.view(x.size(0), -1)``,
    ``x = x.permute(0, 2, 1); return x``): as a layer it is transparent, like ``nn.Flatten``."""
    cached = _shape_cache.setdefault(model, {})
    if cls.name not in cached:
        cached[cls.name] = _shape_only(model, cls)
    return cached[cls.name]


def _shape_only(model: SemanticModel, cls: ModuleClass) -> bool:
    forward = cls.forward
    if forward is None or not isinstance(forward.body, cst.IndentedBlock):
        return False
    params = forward.params
    if isinstance(params.star_arg, cst.Param) or params.star_kwarg or params.kwonly_params or params.posonly_params:
        return False
    if len(params.params) != 2 or any(p.default is not None for p in params.params):
        return False
    shaped = {params.params[1].name.value}
    statements = list(forward.body.body)
    for index, statement in enumerate(statements):
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return False
        small = statement.body[0]
        if index == 0 and isinstance(small, cst.Expr) and isinstance(small.value, cst.SimpleString):
            continue  # the docstring
        if isinstance(small, cst.Return):
            return index == len(statements) - 1 and small.value is not None and _reshaped(model, small.value, shaped)
        if not (
            isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)
        ):
            return False
        if not _reshaped(model, small.value, shaped):
            return False
        shaped.add(small.targets[0].target.value)
    return False


def _reshaped(model: SemanticModel, node: cst.BaseExpression, shaped: set[str]) -> bool:
    """``node`` is one of the ``shaped`` names, reshaped (its arguments only give sizes)."""
    if isinstance(node, cst.Name):
        return node.value in shaped
    if not isinstance(node, cst.Call):
        return False
    func = node.func
    if isinstance(func, cst.Attribute) and func.attr.value in _SHAPE_METHODS and model.qualified_name(func) is None:
        return _reshaped(model, func.value, shaped)
    if model.qualified_name(func) in _SHAPE_FUNCTIONS and node.args and node.args[0].keyword is None:
        return not node.args[0].star and _reshaped(model, node.args[0].value, shaped)
    return False


def _jumps(model: SemanticModel, body: cst.CSTNode) -> bool:
    """A ``break`` / ``continue`` in a loop body: its iterations do not simply run in turn."""
    return any(True for _ in model.nodes_within(body, cst.Break)) or any(
        True for _ in model.nodes_within(body, cst.Continue)
    )


def _merged(value: Iterable[Carried]) -> Value:
    return frozenset(replace(c, merged=True) for c in value)


def _expression_children(node: cst.CSTNode) -> list[cst.BaseExpression]:
    children = []
    for child in node.children:
        if isinstance(child, cst.BaseExpression):
            children.append(child)
        elif isinstance(child, (cst.Arg, cst.Element)):
            children.append(child.value)
    return children
