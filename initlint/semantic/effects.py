"""Whether init code takes effect: functions run once per module and the parameter that
receives the module (IL411), expressions that are provably a module's parameter tensor
(IL412), and calls that only read a tensor passed to them (IL404)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from initlint._lazy import cst
from initlint.semantic.structure import referenced_function
from initlint.semantic.tensors import PARAMETER_CLASSES

if TYPE_CHECKING:
    from initlint.semantic.model import SemanticModel

MODULE_ITERATORS = frozenset({"modules", "children", "named_modules", "named_children"})
PARAMETER_ITERATORS = frozenset({"parameters", "named_parameters"})
_NAMED = frozenset({"named_modules", "named_children", "named_parameters"})

# torch functions that return a new tensor computed from their arguments and keep no reference
# to them (no views, no in-place forms, nothing stored): passing a parameter only reads it.
# An allow-list: an unknown function may fill what it is given.
_READING_FUNCTIONS = frozenset(
    {"matmul", "mm", "bmm", "einsum", "addmm", "baddbmm", "outer", "kron", "tensordot", "cat", "concat", "stack",
     "mul", "add", "sub", "div", "exp", "log", "sigmoid", "tanh", "softmax", "log_softmax", "sum", "mean", "norm",
     "abs", "sqrt", "pow", "clamp", "where", "cdist", "cosine_similarity", "sign", "max", "min", "cumsum",
     "zeros_like", "ones_like", "full_like", "empty_like", "randn_like", "rand_like", "numel", "is_tensor",
     "isnan", "isinf", "isfinite", "allclose", "equal", "linear", "bilinear", "conv1d", "conv2d", "conv3d",
     "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "embedding", "layer_norm", "group_norm",
     "normalize", "softplus", "gelu", "silu", "prelu", "pad", "scaled_dot_product_attention"}
)  # fmt: skip
_READING_MODULES = ("torch", "torch.nn.functional")
# Tensor methods that read their tensor argument and return a new tensor (`x.matmul(w)`).
_READING_METHODS = frozenset({"matmul", "mm", "bmm", "mul", "type_as", "view_as", "expand_as", "reshape_as"})
# Builtins that only look at their argument.
_READING_BUILTINS = frozenset({"len", "print", "repr", "str", "isinstance", "id", "type", "bool", "hash"})


@dataclass(frozen=True, eq=False)
class PerModuleUse:
    """A function the file runs on each module of a model, and the parameter receiving it."""

    function: cst.FunctionDef | cst.Lambda
    parameter: cst.Param
    call: cst.Call  # `x.apply(fn)`, or the call of fn inside the loop
    loop: cst.For | None  # the loop over `.modules()` / `.children()`; None for `.apply`


_uses_cache: WeakKeyDictionary[SemanticModel, list[PerModuleUse]] = WeakKeyDictionary()


def per_module_uses(model: SemanticModel) -> list[PerModuleUse]:
    """``x.apply(fn)`` (torch calls ``fn(m)`` on every submodule) and ``fn(m)`` / ``self.fn(m)``
    called with the variable of a ``for m in x.modules()`` loop (or ``children()``, and their
    ``named_`` forms), where ``fn`` is a function of this file we can read."""
    cached = _uses_cache.get(model)
    if cached is not None:
        return cached
    uses: list[PerModuleUse] = []
    for call in model.nodes(cst.Call):
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "apply" and len(call.args) == 1):
            continue
        arg = call.args[0]
        if arg.keyword is not None or arg.star:
            continue
        use = _bind(model, arg.value, call, 0, frozenset(), call, None)
        if use is not None:
            uses.append(use)
    for loop in model.nodes(cst.For):
        variable = _module_loop_variable(loop)
        if variable is None:
            continue
        for call in model.nodes_within(loop.body, cst.Call):
            for position, arg in enumerate(call.args):
                if arg.keyword is not None or arg.star:
                    break
                if isinstance(arg.value, cst.Name) and arg.value.value == variable:
                    use = _bind(model, call.func, call, position, frozenset(), call, loop)
                    if use is not None:
                        uses.append(use)
    _uses_cache[model] = uses
    return uses


def _bind(
    model: SemanticModel,
    node: cst.BaseExpression,
    context: cst.CSTNode,
    position: int,
    keywords: frozenset[str],
    call: cst.Call,
    loop: cst.For | None,
) -> PerModuleUse | None:
    """The parameter of the function ``node`` names that receives the ``position``-th
    positional argument of a call of it (after what a ``functools.partial`` binds)."""
    if isinstance(node, cst.Call) and model.qualified_name(node.func) == "functools.partial" and node.args:
        bound = node.args[1:]
        if any(a.star for a in bound):
            return None
        positional = sum(1 for a in bound if a.keyword is None)
        named = frozenset(a.keyword.value for a in bound if a.keyword is not None)
        return _bind(model, node.args[0].value, context, position + positional, keywords | named, call, loop)
    function = referenced_function(model, node, context) or _own_method(model, node, context)
    if function is None:
        return None
    params = [*function.params.posonly_params, *function.params.params]
    if isinstance(function, cst.FunctionDef) and _bound_method(model, function):
        position += 1  # self (or cls) takes the first slot
    if position >= len(params):
        return None  # the module lands in *args: we do not follow it
    parameter = params[position]
    if parameter.name.value in keywords:
        return None
    return PerModuleUse(function, parameter, call, loop)


def _own_method(model: SemanticModel, node: cst.BaseExpression, context: cst.CSTNode) -> cst.FunctionDef | None:
    """``self.method`` defined in the class around ``context``, whatever that class derives
    from (``referenced_function`` only knows nn.Module classes of this file)."""
    if not (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self"):
        return None
    owner = model.enclosing(context, cst.ClassDef)
    if owner is None or not isinstance(owner.body, cst.IndentedBlock):
        return None
    found = [s for s in owner.body.body if isinstance(s, cst.FunctionDef) and s.name.value == node.attr.value]
    return found[0] if len(found) == 1 else None


def _bound_method(model: SemanticModel, function: cst.FunctionDef) -> bool:
    block = model.parent.get(function)
    if not isinstance(model.parent.get(block), cst.ClassDef):
        return False
    return not any(_decorator_name(d) == "staticmethod" for d in function.decorators)


def _decorator_name(decorator: cst.Decorator) -> str | None:
    node = decorator.decorator
    if isinstance(node, cst.Call):
        node = node.func
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None


def _module_loop_variable(loop: cst.For) -> str | None:
    """``m`` of ``for m in x.modules()`` / ``for name, m in x.named_modules()``."""
    return _iterated_variable(loop, MODULE_ITERATORS)


def _iterated_variable(loop: cst.For, methods: frozenset[str]) -> str | None:
    iterable = loop.iter
    if not (
        isinstance(iterable, cst.Call)
        and isinstance(iterable.func, cst.Attribute)
        and iterable.func.attr.value in methods
    ):
        return None
    target = loop.target
    if iterable.func.attr.value in _NAMED:
        if not (isinstance(target, (cst.Tuple, cst.List)) and len(target.elements) == 2):
            return None
        target = target.elements[1].value
    return target.value if isinstance(target, cst.Name) else None


def walks_every_module(model: SemanticModel, node: cst.CSTNode, holder: cst.CSTNode) -> bool:
    """``node`` sits, inside ``holder``, in a loop over ``.modules()``/``.children()``/
    ``.parameters()`` (or their ``named_`` forms): it visits every module or parameter itself."""
    for ancestor in model.ancestors(node):
        if ancestor is holder:
            return False
        if isinstance(ancestor, cst.For) and _iterated_variable(ancestor, MODULE_ITERATORS | PARAMETER_ITERATORS):
            return True
    return False


# -- parameter tensors ----------------------------------------------------------------------------
def is_parameter_name(attr: str) -> bool:
    """``weight``, ``bias`` and the names torch gives their variants (``weight_g``, ``bias_ih_l0``)."""
    return attr in ("weight", "bias") or attr.startswith(("weight_", "bias_"))


def parameter_tensor(model: SemanticModel, node: cst.BaseExpression, *, strict: bool = False) -> bool:
    """``node`` is a parameter of a module: ``self.<p>`` of a class that assigns it an
    ``nn.Parameter``, the variable of a loop over ``.parameters()``, ``.data`` of one of these,
    ``self.<layer>.weight`` of a torch.nn layer, or (unless ``strict``) ``<anything>.weight`` /
    ``.bias`` and their variants. ``strict`` leaves out attributes of objects we cannot see,
    which in principle may be something other than a tensor."""
    if isinstance(node, cst.Attribute):
        attr = node.attr.value
        if attr == "data":
            return parameter_tensor(model, node.value)
        receiver = node.value
        if isinstance(receiver, cst.Name) and receiver.value == "self":
            return self_parameter(model, node) is not None
        if not is_parameter_name(attr):
            return False
        if not strict:
            return True
        owner = model.class_of(node)
        if (
            owner is not None
            and isinstance(receiver, cst.Attribute)
            and isinstance(receiver.value, cst.Name)
            and receiver.value.value == "self"
        ):
            layer = owner.layers.get(receiver.attr.value)
            return layer is not None and layer.kind is not None and attr in ("weight", "bias")
        return False
    if isinstance(node, cst.Name):
        return parameter_loop(model, node) is not None
    return False


def self_parameter(model: SemanticModel, node: cst.BaseExpression) -> cst.Call | None:
    """The ``nn.Parameter(...)`` call that ``self.<p>`` (or ``self.<p>.data``) is built with,
    in a class whose methods assign ``self.<p>`` only parameters (or None). Any class counts,
    whatever it derives from: the base may live in another file."""
    if isinstance(node, cst.Attribute) and node.attr.value == "data":
        node = node.value
    if not (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self"):
        return None
    owner = model.enclosing(node, cst.ClassDef)
    if owner is None:
        return None
    return _assigned_parameters(model, owner).get(node.attr.value)


_parameters_cache: WeakKeyDictionary[SemanticModel, dict[cst.ClassDef, dict[str, cst.Call]]] = WeakKeyDictionary()


def _assigned_parameters(model: SemanticModel, owner: cst.ClassDef) -> dict[str, cst.Call]:
    per_class = _parameters_cache.get(model)
    if per_class is None:
        per_class = _parameters_cache[model] = {}
    found = per_class.get(owner)
    if found is not None:
        return found
    found: dict[str, cst.Call] = {}
    other: set[str] = set()
    for target in model.nodes_within(owner, cst.AssignTarget):
        node = target.target
        if not (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self"):
            continue
        if model.enclosing(target, cst.ClassDef) is not owner:
            continue
        value = model.parent.get(target).value  # type: ignore[union-attr]
        name = node.attr.value
        if isinstance(value, cst.Call) and model.qualified_name(value.func) in PARAMETER_CLASSES:
            found.setdefault(name, value)
        elif not (isinstance(value, cst.Name) and value.value == "None"):
            other.add(name)
    for name in other:
        found.pop(name, None)
    per_class[owner] = found
    return found


def parameter_loop(model: SemanticModel, name: cst.Name) -> cst.For | None:
    """The enclosing ``for p in x.parameters()`` (or ``for n, p in x.named_parameters()``) that
    binds ``name``, when nothing in its body rebinds it."""
    for ancestor in model.ancestors(name):
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return None
        if isinstance(ancestor, cst.For) and _iterated_variable(ancestor, PARAMETER_ITERATORS) == name.value:
            for assign in model.nodes_within(ancestor.body, cst.AssignTarget):
                if isinstance(assign.target, cst.Name) and assign.target.value == name.value:
                    return None
            return ancestor
    return None


def under_no_grad(model: SemanticModel, node: cst.CSTNode) -> bool:
    """``node`` runs with autograd off: in ``with torch.no_grad():`` or a function decorated
    with ``@torch.no_grad()`` (``inference_mode`` likewise)."""
    for ancestor in model.ancestors(node):
        if isinstance(ancestor, cst.With):
            for item in ancestor.items:
                expression = item.item.func if isinstance(item.item, cst.Call) else item.item
                if model.qualified_name(expression) in ("torch.no_grad", "torch.inference_mode"):
                    return True
        if isinstance(ancestor, cst.FunctionDef):
            for decorator in ancestor.decorators:
                expression = decorator.decorator
                if isinstance(expression, cst.Call):
                    expression = expression.func
                if model.qualified_name(expression) in ("torch.no_grad", "torch.inference_mode"):
                    return True
            return False
    return False


# -- reads ------------------------------------------------------------------------------------------
def only_reads_argument(model: SemanticModel, arg: cst.Arg) -> bool:
    """``arg`` is passed to a call that reads it and keeps nothing of it: a torch function of the
    allow-list (no ``out=``, no ``inplace=``), a reading tensor method, or a reading builtin."""
    call = model.parent.get(arg)
    if not isinstance(call, cst.Call):
        return False
    for other in call.args:
        if other.keyword is not None and other.keyword.value in ("out", "inplace"):
            return False
    func = call.func
    if isinstance(func, cst.Name) and func.value in _READING_BUILTINS and model.is_builtin(func, func.value):
        return True
    qualified = model.qualified_name(func)
    if qualified is not None:
        head, _, last = qualified.rpartition(".")
        return head in _READING_MODULES and last in _READING_FUNCTIONS
    return isinstance(func, cst.Attribute) and func.attr.value in _READING_METHODS
