"""Init sites: every call that fills a parameter (nn.init functions, configured aliases, and
in-place tensor methods on parameters), the scheme it implies, and the layers it reaches:
directly (``self.fc.weight``), through loops over layers, ``self.modules()`` with isinstance
dispatch, and functions given to ``.apply`` (module-level functions, methods, lambdas)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from initlint._lazy import cst
from initlint.semantic.catalog import LAYERS
from initlint.semantic.core import has_parameter, is_none
from initlint.semantic.drawn import drawn
from initlint.semantic.modules import Layer, ModuleClass, indexed_items, subscript_index
from initlint.semantic.receivers import named_member, receivers, subtree
from initlint.semantic.schemes import SIGNATURES, TENSOR_METHODS, Scheme, bind_arguments, canonical, parse_scheme
from initlint.semantic.values import string_value

if TYPE_CHECKING:
    from initlint.semantic.model import SemanticModel

# Methods that libraries call on every submodule by convention (transformers' post_init, timm).
APPLIED_BY_CONVENTION = frozenset({"_init_weights", "_initialize_weights", "init_weights_fn"})
_MODULE_ITERATORS = frozenset({"modules", "children", "named_modules", "named_children"})


@dataclass(eq=False)
class Dispatch:
    """What is known about a module variable at an init site."""

    types: tuple[str, ...] | None = None  # torch.nn class names it is narrowed to (None: any)
    name_contains: str | None = None  # classname-string dispatch: matches names containing this
    bias_guarded: bool = False  # inside `if m.bias is not None` (or hasattr / truthiness)


@dataclass(eq=False)
class InitSite:
    call: cst.Call
    function: str  # nn.init name ("normal_"), tensor methods mapped ("fill_" -> "constant_")
    scheme: Scheme
    arguments: dict[str, cst.BaseExpression]
    target: cst.BaseExpression  # the tensor expression as written
    via_data: bool  # through `.data`
    tensor_method: bool  # `w.normal_()` rather than `nn.init.normal_(w)`
    param: str | None  # "weight", "bias", another attribute, or None
    layers: list[Layer] = field(default_factory=list)  # layers of this file it reaches
    dispatch: Dispatch | None = None  # set when reached through a module variable
    owner: ModuleClass | None = None  # class whose method holds the call
    function_node: cst.FunctionDef | None = None
    class_parameter: str | None = None  # `self.<name>` when the target is a parameter of the class
    # The random draw the tensor is assigned or copied (`m.weight.data = torch.randn(o, i) * 0.01`):
    # `call` is then the sampling call, the scheme that of the draw, and there is no call to rewrite.
    drawn: cst.BaseExpression | None = None

    @property
    def reaches_unknown(self) -> bool:
        """Reached through dispatch whose receivers we cannot enumerate."""
        return self.dispatch is not None and not self.layers

    def param_ranks(self) -> set[int | None]:
        """Possible ranks of the target tensor."""
        if self.param is None:
            return {None}
        ranks: set[int | None] = set()
        if self.layers:
            ranks |= {layer.param_rank(self.param) for layer in self.layers}
        elif self.dispatch is not None and self.dispatch.types:
            for type_name in self.dispatch.types:
                kind = LAYERS.get(type_name)
                if kind is None:
                    ranks.add(None)
                elif self.param == "weight":
                    ranks.add(kind.weight_rank)
                elif self.param == "bias":
                    ranks.add(1 if kind.has_bias else None)
                else:
                    ranks.add(None)
        else:
            ranks.add(None)
        return ranks


def find_init_sites(model: SemanticModel) -> list[InitSite]:
    finder = _InitFinder(model)
    sites = []
    for call in model.nodes(cst.Call):
        site = finder.site(call) or finder.copied(call)
        if site is not None:
            sites.append(site)
    for assign in model.nodes(cst.Assign):
        site = finder.assigned(assign)
        if site is not None:
            sites.append(site)
    return sites


def strip_data(node: cst.BaseExpression) -> tuple[cst.BaseExpression, bool]:
    if isinstance(node, cst.Attribute) and node.attr.value == "data":
        return node.value, True
    return node, False


class _InitFinder:
    def __init__(self, model: SemanticModel) -> None:
        self.model = model

    # -- which calls are init calls -------------------------------------------------------------
    def site(self, call: cst.Call) -> InitSite | None:
        model = self.model
        function = model.init_function(call.func)
        if function is not None and function != "calculate_gain":
            function = canonical(function)
            parameters = SIGNATURES.get(function)
            if parameters is None:
                return None
            arguments = bind_arguments(call, parameters)
            if arguments is None or "tensor" not in arguments:
                return None
            tensor_method = False
        elif isinstance(call.func, cst.Attribute) and call.func.attr.value in TENSOR_METHODS:
            function, parameters = TENSOR_METHODS[call.func.attr.value]
            arguments = bind_arguments(call, parameters, tensor_first=False)
            if arguments is None:
                return None
            arguments = {"tensor": call.func.value, **arguments}
            tensor_method = True
        else:
            return None
        target, via_data = strip_data(arguments["tensor"])
        if tensor_method and not via_data and not self._looks_like_parameter(target):
            return None  # `noise.normal_()` on a local tensor is not an init
        enclosing = model.enclosing(call, cst.FunctionDef)
        names = _defaults(model, enclosing)
        site = InitSite(
            call=call, function=function, scheme=parse_scheme(model, function, arguments, names),
            arguments=arguments, target=target, via_data=via_data, tensor_method=tensor_method,
            param=target.attr.value if isinstance(target, cst.Attribute) else None,
            owner=model.class_of(call), function_node=enclosing,
        )  # fmt: skip
        self._resolve_target(site)
        return site

    # -- random draws assigned or copied into a parameter ----------------------------------------
    def assigned(self, assign: cst.Assign) -> InitSite | None:
        """``X.weight.data = <draw>`` / ``X.weight = nn.Parameter(<draw>)``."""
        if len(assign.targets) != 1:
            return None
        return self._drawn_site(assign.targets[0].target, assign.value, None)

    def copied(self, call: cst.Call) -> InitSite | None:
        """``X.weight.data.copy_(<draw>)``."""
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "copy_" and len(call.args) == 1):
            return None
        if call.args[0].keyword is not None or call.args[0].star:
            return None
        return self._drawn_site(func.value, call.args[0].value, call)

    def _drawn_site(
        self, tensor: cst.BaseExpression, value: cst.BaseExpression, call: cst.Call | None
    ) -> InitSite | None:
        target, via_data = strip_data(tensor)
        if not isinstance(target, cst.Attribute) or not _parameter_name(target.attr.value):
            return None
        if isinstance(target.value, cst.Name) and target.value.value == "self":
            return None  # the class creating its own parameter, not an init of a layer's
        enclosing = self.model.enclosing(value, cst.FunctionDef)
        draw = drawn(self.model, value, _defaults(self.model, enclosing))
        if draw is None:
            return None
        scheme = draw.scheme()
        site = InitSite(
            call=call or draw.call, function=scheme.function, scheme=scheme, arguments={"tensor": tensor},
            target=target, via_data=via_data, tensor_method=True, param=target.attr.value,
            owner=self.model.class_of(value), function_node=enclosing, drawn=value,
        )  # fmt: skip
        self._resolve_target(site)
        return site

    def _looks_like_parameter(self, target: cst.BaseExpression) -> bool:
        if not isinstance(target, cst.Attribute):
            return False
        if target.attr.value in ("weight", "bias") or target.attr.value.startswith(("weight_", "bias_")):
            return True
        owner = self.model.class_of(target)
        return (
            owner is not None
            and isinstance(target.value, cst.Name)
            and target.value.value == "self"
            and target.attr.value in owner.parameters
        )

    # -- what the target reaches ---------------------------------------------------------------
    def _resolve_target(self, site: InitSite) -> None:
        target = site.target
        if not isinstance(target, cst.Attribute):
            return
        base = target.value
        owner = site.owner
        if isinstance(base, cst.Name) and base.value == "self" and owner is not None:
            if target.attr.value in owner.parameters:
                site.class_parameter = target.attr.value
            return
        layers = self._layers_of_expression(base, owner)
        if layers is not None:
            site.layers = layers
            return
        if isinstance(base, cst.Name):
            self._resolve_module_variable(site, base)

    def _layers_of_expression(self, node: cst.BaseExpression, owner: ModuleClass | None) -> list[Layer] | None:
        """``self.fc`` / ``self.net[0]`` inside a class."""
        if owner is None:
            return None
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
            layer = owner.layers.get(node.attr.value)
            return [layer] if layer is not None else None
        if isinstance(node, cst.Subscript):
            container = self._layers_of_expression(node.value, owner)
            if container and len(container) == 1:
                return indexed_items(self.model, container[0], subscript_index(node))
        if isinstance(node, cst.Attribute):
            # `self.net.fc1`: a named item of a Sequential(OrderedDict(...)), a layer of a submodule
            container = self._layers_of_expression(node.value, owner)
            if container and len(container) == 1:
                members = [m for m in named_member(container[0], node.attr.value) if isinstance(m, Layer)]
                return members or None
        return None

    def _resolve_module_variable(self, site: InitSite, name: cst.Name) -> None:
        model = self.model
        dispatch = _dispatch_at(model, site.call, name.value)
        function = site.function_node
        found = receivers(model)
        # A loop variable: over listed layers, or over self.modules().
        for ancestor in model.ancestors(site.call):
            if isinstance(ancestor, cst.For) and _binds(ancestor.target, name.value):
                iterable = ancestor.iter
                listed = _listed_layers(self, iterable, site.owner)
                if listed is not None:
                    site.layers = _narrow(listed, dispatch)
                    site.dispatch = dispatch
                    return
                receiver = _module_iterator_receiver(iterable)
                if receiver is None:
                    return
                site.dispatch = dispatch
                if isinstance(receiver, cst.Name) and receiver.value == "self":
                    if site.owner is not None:
                        site.layers = _narrow(list(site.owner.all_layers()), dispatch)
                    return
                if _iterator_method(iterable) in ("modules", "named_modules"):
                    # `for m in module.modules()` in a helper called as `init_weights(self)`.
                    layers = [x for value in found.values(receiver, site.call) for x in subtree(value)]
                    site.layers = _narrow(layers, dispatch)
                return
            if isinstance(ancestor, cst.FunctionDef):
                break
        # A parameter of a function given to .apply(), or of an _init_weights-style method.
        lambda_node = model.enclosing(site.call, cst.Lambda)
        holder: cst.CSTNode | None = lambda_node if lambda_node is not None else function
        if holder is None or not has_parameter(holder, name.value):
            # A name bound to a layer the class keeps: `fc = nn.Linear(...); init(fc.weight)`.
            values = found.values(name, site.call)
            site.layers = [v for v in values if isinstance(v, Layer) and v.category != "container"]
            return
        site.dispatch = dispatch
        applied = found.apply_receivers(holder)
        # Called directly with a layer: `init_layer(self.fc)` reaches fc itself.
        direct = [v for v in found.parameter_values(holder, name.value) if isinstance(v, Layer)]
        if applied is None and not direct:
            if isinstance(holder, cst.FunctionDef) and holder.name.value in APPLIED_BY_CONVENTION:
                applied = [list(cls.all_layers()) for cls in model.module_classes.values()]
            else:
                return
        layers: list[Layer] = []
        for receiver_layers in applied or []:
            layers += receiver_layers
        site.layers = _narrow(layers + direct, dispatch)

    def applied_to(self, holder: cst.CSTNode) -> list[list[Layer]] | None:
        """For each ``X.apply(fn)`` of this file whose ``fn`` is ``holder``, the layers ``X``
        holds; None when ``holder`` is never given to ``.apply`` here."""
        return receivers(self.model).apply_receivers(holder)

    def applied_to_unknown(self, holder: cst.CSTNode) -> bool:
        """The function is also given to ``.apply`` of a module this file does not resolve."""
        return any(not layers for layers in self.applied_to(holder) or [])


def _parameter_name(name: str) -> bool:
    return name in ("weight", "bias") or name.startswith(("weight_", "bias_"))


def _defaults(model: SemanticModel, function: cst.FunctionDef | None) -> dict[str, object]:
    if function is None:
        return {}
    from initlint.semantic.modules import _param_defaults

    return _param_defaults(model, function)


def _binds(target: cst.BaseExpression, name: str) -> bool:
    if isinstance(target, cst.Name):
        return target.value == name
    if isinstance(target, (cst.Tuple, cst.List)):
        return any(_binds(e.value, name) for e in target.elements)
    return False


def _listed_layers(finder: _InitFinder, iterable: cst.BaseExpression, owner: ModuleClass | None) -> list[Layer] | None:
    if isinstance(iterable, (cst.Tuple, cst.List)):
        layers: list[Layer] = []
        for element in iterable.elements:
            found = finder._layers_of_expression(element.value, owner)
            if found is None:
                return None
            layers += found
        return layers
    found = finder._layers_of_expression(iterable, owner)
    if found and len(found) == 1 and found[0].items:
        return list(found[0].items)
    return None


def _module_iterator_receiver(iterable: cst.BaseExpression) -> cst.BaseExpression | None:
    """``self`` for ``self.modules()``, ``module`` for ``module.modules()`` (any receiver)."""
    if _iterator_method(iterable) is not None:
        return iterable.func.value  # type: ignore[attr-defined]
    return None


def _iterator_method(iterable: cst.BaseExpression) -> str | None:
    if (
        isinstance(iterable, cst.Call)
        and isinstance(iterable.func, cst.Attribute)
        and iterable.func.attr.value in _MODULE_ITERATORS
    ):
        return iterable.func.attr.value
    return None


def _narrow(layers: list[Layer], dispatch: Dispatch) -> list[Layer]:
    out = []
    seen: set[int] = set()
    for layer in layers:
        if id(layer) in seen or layer.category == "container":
            continue
        if dispatch.types is not None and layer.type_name not in dispatch.types:
            continue
        if dispatch.name_contains is not None and dispatch.name_contains not in layer.type_name:
            continue
        seen.add(id(layer))
        out.append(layer)
    return out


def _dispatch_at(model: SemanticModel, node: cst.CSTNode, variable: str) -> Dispatch:
    """isinstance / type() / class-name conditions on ``variable`` that hold at ``node``."""
    dispatch = Dispatch()
    child: cst.CSTNode = node
    for ancestor in model.ancestors(node):
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
            break
        if isinstance(ancestor, (cst.If, cst.IfExp)) and child is ancestor.body:
            for condition in _conjuncts(ancestor.test):
                _apply_condition(model, condition, variable, dispatch)
        child = ancestor
    return dispatch


def conditions_at(model: SemanticModel, node: cst.CSTNode, variable: str) -> Dispatch:
    """What holds for ``variable`` at ``node``: the conditions of the ``if`` bodies around it
    (as for init sites) and the operands before it in an ``and`` chain (``isinstance(m, T) and
    <node>``)."""
    dispatch = _dispatch_at(model, node, variable)
    child: cst.CSTNode = node
    for ancestor in model.ancestors(node):
        if not isinstance(ancestor, cst.BooleanOperation):
            if isinstance(ancestor, (cst.If, cst.IfExp, cst.While, cst.FunctionDef, cst.Lambda)):
                break
            child = ancestor
            continue
        if isinstance(ancestor.operator, cst.And) and ancestor.right is child:
            for condition in _conjuncts(ancestor.left):
                _apply_condition(model, condition, variable, dispatch)
        child = ancestor
    return dispatch


def _conjuncts(test: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        return _conjuncts(test.left) + _conjuncts(test.right)
    return [test]


def _is_variable(node: cst.BaseExpression, variable: str) -> bool:
    return isinstance(node, cst.Name) and node.value == variable


def _apply_condition(model: SemanticModel, condition: cst.BaseExpression, variable: str, dispatch: Dispatch) -> None:
    # isinstance(m, A) or isinstance(m, B): the union, when every alternative names its types
    if isinstance(condition, cst.BooleanOperation) and isinstance(condition.operator, cst.Or):
        union: list[str] = []
        for alternative in (condition.left, condition.right):
            narrowed = Dispatch()
            _apply_condition(model, alternative, variable, narrowed)
            if narrowed.types is None or narrowed.name_contains is not None:
                return
            union += [t for t in narrowed.types if t not in union]
        dispatch.types = tuple(union) if dispatch.types is None else tuple(t for t in union if t in dispatch.types)
        return
    # isinstance(m, T) / isinstance(m, (A, B))
    if isinstance(condition, cst.Call) and model.is_builtin(condition.func, "isinstance") and len(condition.args) == 2:
        if _is_variable(condition.args[0].value, variable):
            types = _torch_types(model, condition.args[1].value)
            if types is not None:
                dispatch.types = types if dispatch.types is None else tuple(t for t in types if t in dispatch.types)
        return
    if isinstance(condition, cst.Comparison) and len(condition.comparisons) == 1:
        left = condition.left
        comparison = condition.comparisons[0]
        right = comparison.comparator
        operator = comparison.operator
        # m.bias is not None
        if isinstance(operator, cst.IsNot) and is_none(right) and _is_bias_of(left, variable, model):
            dispatch.bias_guarded = True
            return
        # type(m) == T / m.__class__ is T
        if isinstance(operator, (cst.Equal, cst.Is)) and _is_type_of(model, left, variable):
            types = _torch_types(model, right)
            if types is not None:
                dispatch.types = types
            return
        # classname.find('Conv') != -1  /  'Conv' in classname
        substring = _classname_substring(model, condition, variable)
        if substring is not None:
            dispatch.name_contains = substring
        return
    if _is_bias_of(condition, variable, model):  # `if m.bias:` truthiness guard
        dispatch.bias_guarded = True
        return
    if isinstance(condition, cst.Call) and model.is_builtin(condition.func, "hasattr") and len(condition.args) == 2:
        if _is_variable(condition.args[0].value, variable) and evaluate_string(condition.args[1].value) == "bias":
            dispatch.bias_guarded = True


def evaluate_string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = string_value(node)
        return value if isinstance(value, str) else None
    return None


def _is_bias_of(node: cst.BaseExpression, variable: str, model: SemanticModel) -> bool:
    if isinstance(node, cst.Attribute) and node.attr.value == "bias" and _is_variable(node.value, variable):
        return True
    # getattr(m, "bias", None)
    return (
        isinstance(node, cst.Call)
        and model.is_builtin(node.func, "getattr")
        and len(node.args) >= 2
        and _is_variable(node.args[0].value, variable)
        and evaluate_string(node.args[1].value) == "bias"
    )


def _is_type_of(model: SemanticModel, node: cst.BaseExpression, variable: str) -> bool:
    if isinstance(node, cst.Call) and model.is_builtin(node.func, "type") and len(node.args) == 1:
        return _is_variable(node.args[0].value, variable)
    return isinstance(node, cst.Attribute) and node.attr.value == "__class__" and _is_variable(node.value, variable)


def _torch_types(model: SemanticModel, node: cst.BaseExpression) -> tuple[str, ...] | None:
    """Class names from ``nn.Linear`` or a tuple of classes; a class of this file counts by name."""
    elements = [e.value for e in node.elements] if isinstance(node, cst.Tuple) else [node]
    names = []
    for element in elements:
        qualified = model.qualified_name(element)
        if qualified and qualified.startswith("torch.nn."):
            names.append(qualified.rsplit(".", 1)[1])
        elif isinstance(element, cst.Name) and element.value in model.module_classes:
            names.append(element.value)
        else:
            return None
    return tuple(names)


def _classname_of(model: SemanticModel, node: cst.BaseExpression, variable: str) -> bool:
    """``m.__class__.__name__`` or ``type(m).__name__``."""
    return (
        isinstance(node, cst.Attribute) and node.attr.value == "__name__" and _is_type_of(model, node.value, variable)
    )


def classname_variable(model: SemanticModel, name: str, context: cst.CSTNode, variable: str) -> bool:
    """``name`` is assigned ``variable.__class__.__name__`` in the function around ``context``."""
    function = model.enclosing(context, cst.FunctionDef)
    if function is None:
        return False
    for assign in model.nodes(cst.Assign):
        if model.enclosing(assign, cst.FunctionDef) is not function:
            continue
        for target in assign.targets:
            if isinstance(target.target, cst.Name) and target.target.value == name:
                return _classname_of(model, assign.value, variable)
    return False


def _classname_substring(model: SemanticModel, condition: cst.Comparison, variable: str) -> str | None:
    left = condition.left
    comparison = condition.comparisons[0]

    def is_classname(node: cst.BaseExpression) -> bool:
        if _classname_of(model, node, variable):
            return True
        return isinstance(node, cst.Name) and classname_variable(model, node.value, condition, variable)

    # 'Conv' in classname
    if isinstance(comparison.operator, cst.In) and is_classname(comparison.comparator):
        return evaluate_string(left)
    # classname.find('Conv') != -1 / >= 0 / > -1
    if (
        isinstance(left, cst.Call)
        and isinstance(left.func, cst.Attribute)
        and left.func.attr.value == "find"
        and is_classname(left.func.value)
        and len(left.args) == 1
        and isinstance(comparison.operator, (cst.NotEqual, cst.GreaterThanEqual, cst.GreaterThan))
    ):
        return evaluate_string(left.args[0].value)
    return None
