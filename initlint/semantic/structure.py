"""Structural queries shared by the IL4xx rules: which function a reference names, whether a
function returns a value, the top-level statement of a body holding a node, whether the
submodules of a class are all known, and whether a layer's bias can be absent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from initlint._lazy import cst
from initlint.semantic.modules import Layer, ModuleClass
from initlint.semantic.values import evaluate

if TYPE_CHECKING:
    from initlint.semantic.model import SemanticModel

# Layer types whose bias is an optional constructor argument (bias=False leaves `.bias` None).
OPTIONAL_BIAS = frozenset(
    {"Linear", "LazyLinear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
     "ConvTranspose3d", "LazyConv1d", "LazyConv2d", "LazyConv3d"}
)  # fmt: skip
# Norms whose bias exists only when affine / elementwise_affine (and, for LayerNorm, bias) hold.
AFFINE_NORMS = {
    "LayerNorm": "elementwise_affine",
    "RMSNorm": "elementwise_affine",
    "GroupNorm": "affine",
    "BatchNorm1d": "affine",
    "BatchNorm2d": "affine",
    "BatchNorm3d": "affine",
    "SyncBatchNorm": "affine",
}
_BUILTIN_CALLS = frozenset(
    {"range", "len", "int", "float", "str", "bool", "list", "dict", "tuple", "set", "min", "max", "sum",
     "isinstance", "getattr", "hasattr", "setattr", "zip", "enumerate", "print", "super", "round", "abs",
     "sorted", "reversed", "any", "all", "map", "filter", "frozenset", "divmod", "pow", "type", "iter", "next"}
)  # fmt: skip
_HARMLESS_SELF_METHODS = frozenset(
    {"register_buffer", "modules", "children", "named_modules", "named_children", "parameters",
     "named_parameters", "buffers", "apply", "reset_parameters", "_reset_parameters", "init_weights",
     "_init_weights", "_initialize_weights", "initialize_weights", "to", "cuda", "float"}
)  # fmt: skip


def module_function(model: SemanticModel, name: str) -> cst.FunctionDef | None:
    """The one module-level ``def name`` of the file (None when absent, repeated or rebound)."""
    found = None
    for definition in model.nodes(cst.FunctionDef):
        if definition.name.value != name:
            continue
        if model.enclosing(definition, cst.FunctionDef) or model.enclosing(definition, cst.ClassDef):
            continue
        if found is not None:
            return None
        found = definition
    if found is None or name in model.imports.bindings:
        return None
    for assign in model.nodes(cst.Assign):
        for target in assign.targets:
            if isinstance(target.target, cst.Name) and target.target.value == name:
                return None
    return found


def referenced_function(
    model: SemanticModel, node: cst.BaseExpression, context: cst.CSTNode
) -> cst.FunctionDef | cst.Lambda | None:
    """The function ``node`` names: a lambda, a module-level function, or ``self.method`` of the
    class around ``context`` (through ``functools.partial`` too)."""
    if isinstance(node, cst.Lambda):
        return node
    if isinstance(node, cst.Call) and model.qualified_name(node.func) == "functools.partial" and node.args:
        return referenced_function(model, node.args[0].value, context)
    if isinstance(node, cst.Name):
        return module_function(model, node.value)
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        owner = model.class_of(context)
        if owner is not None:
            return owner.methods.get(node.attr.value)
    return None


def inside(model: SemanticModel, node: cst.CSTNode, holder: cst.CSTNode) -> bool:
    """``node`` lies in ``holder`` and not in a function or class nested in it."""
    for ancestor in model.ancestors(node):
        if ancestor is holder:
            return True
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
    return False


def nodes_in(model: SemanticModel, holder: cst.CSTNode, node_type: type) -> Iterator[cst.CSTNode]:
    # Only the nodes within ``holder``: testing every node of the file was quadratic.
    for node in model.nodes_within(holder, node_type):
        if inside(model, node, holder):
            yield node


def returns_value(model: SemanticModel, function: cst.FunctionDef) -> bool:
    """Whether ``function`` can return something other than None (a value, a yield)."""
    for ret in nodes_in(model, function, cst.Return):
        if ret.value is not None and not (isinstance(ret.value, cst.Name) and ret.value.value == "None"):
            return True
    return any(True for _ in nodes_in(model, function, cst.Yield))


def is_stub(function: cst.FunctionDef) -> bool:
    """A body of only a docstring, ``pass``, ``...`` or ``raise``: meant to be overridden."""
    body = function.body
    statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
    for statement in statements:
        smalls = statement.body if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) else None
        if smalls is None:
            return False
        for small in smalls:
            if isinstance(small, (cst.Pass, cst.Raise)):
                continue
            if isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.Ellipsis)):
                continue
            return False
    return True


def top_statement(model: SemanticModel, node: cst.CSTNode, function: cst.FunctionDef) -> int | None:
    """Index in ``function``'s body of the top-level statement holding ``node``."""
    body = function.body
    if not isinstance(body, cst.IndentedBlock):
        return None
    child: cst.CSTNode = node
    for ancestor in model.ancestors(node):
        if ancestor is body:
            for index, statement in enumerate(body.body):
                if statement is child:
                    return index
            return None
        child = ancestor
    return None


def self_call(node: cst.CSTNode) -> tuple[str, cst.Call] | None:
    """``self.method(...)`` as an expression statement: (method, call)."""
    if not (isinstance(node, cst.SimpleStatementLine) and len(node.body) == 1):
        return None
    small = node.body[0]
    if not (isinstance(small, cst.Expr) and isinstance(small.value, cst.Call)):
        return None
    call = small.value
    func = call.func
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
        return func.attr.value, call
    return None


# -- what a class builds ------------------------------------------------------------------------
def fully_known(model: SemanticModel, cls: ModuleClass, seen: frozenset[str] = frozenset()) -> bool:
    """Every submodule ``cls`` builds (recursively) is a torch.nn layer or a class of this file
    that is fully known: no setattr/add_module, no calls to helpers that may build modules."""
    if cls.opaque or cls.name in seen:
        return not cls.opaque
    init = cls.init
    if init is None:
        return _bases_in_torch(model, cls)
    if not _bases_in_torch(model, cls):
        return False
    for call in nodes_in(model, init, cst.Call):
        if not _known_call(model, call, cls):
            return False
    for layer in cls.all_layers():
        if layer.custom is not None and layer.custom is not cls:
            if not fully_known(model, layer.custom, seen | {cls.name}):
                return False
    return True


def _bases_in_torch(model: SemanticModel, cls: ModuleClass) -> bool:
    for base in cls.node.bases:
        qualified = model.qualified_name(base.value)
        if qualified and qualified.startswith("torch.nn."):
            continue
        if isinstance(base.value, cst.Name) and base.value.value in model.module_classes:
            continue
        return False
    return True


def _known_call(model: SemanticModel, call: cst.Call, cls: ModuleClass) -> bool:
    func = call.func
    if isinstance(func, cst.Name):
        if model.is_builtin(func, func.value) and func.value in _BUILTIN_CALLS:
            return True
        if func.value in model.module_classes:
            return True
    qualified = model.qualified_name(func)
    if qualified is not None:
        if qualified.startswith("torch.nn."):
            from initlint.semantic.catalog import LAYERS

            tail = qualified.rsplit(".", 1)[1]
            return (
                tail in LAYERS
                or qualified.startswith(("torch.nn.init.", "torch.nn.functional."))
                or tail in ("Parameter", "ParameterList")
            )
        return bool(qualified.startswith(("torch.", "math.", "numpy.")))
    if isinstance(func, cst.Attribute):
        receiver = func.value
        if isinstance(receiver, cst.Call) and model.is_builtin(receiver.func, "super"):
            return True  # super().__init__(...)
        if isinstance(receiver, cst.Name) and receiver.value == "self":
            return func.attr.value in _HARMLESS_SELF_METHODS
        if func.attr.value.endswith("_") and not func.attr.value.startswith("_"):
            return True  # an in-place tensor method
        if func.attr.value in ("append", "extend", "insert", "size", "dim", "format", "items", "keys", "values"):
            return True
    return False


def bias_state(layer: Layer) -> bool | None:
    """True: the layer has a bias; False: it has none; None: it depends on an unknown value."""
    if layer.factory is not None:  # built by a factory of another file: decided there
        return False if layer.factory[2] else None
    name = layer.type_name
    if name in OPTIONAL_BIAS:
        return _flag(layer, "bias", default=True)
    affine = AFFINE_NORMS.get(name)
    if affine is not None:
        flag = _flag(layer, affine, default=True)
        if flag is not True:
            return flag
        return _flag(layer, "bias", default=True) if name == "LayerNorm" else True
    if name.startswith("InstanceNorm"):
        return _flag(layer, "affine", default=False)
    return True


def _flag(layer: Layer, name: str, *, default: bool) -> bool | None:
    if name in layer.args:
        value = layer.args[name]
        return bool(value) if isinstance(value, (bool, int)) else None
    for arg in layer.call.args:
        if arg.star:
            return None
        if arg.keyword is not None and arg.keyword.value == name:
            return None  # given, but not a constant
    if name == "bias" and layer.type_name in ("Linear", "Bilinear"):
        positional = [a for a in layer.call.args if a.keyword is None]
        if len(positional) >= (3 if layer.type_name == "Linear" else 4):
            return None  # passed positionally, not a constant
    return default


INSTANCE_NORMS = frozenset({"InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"})
_AFFINE_POSITION = 3  # InstanceNorm2d(num_features, eps, momentum, affine, ...)
_DISABLING_ARGUMENTS = frozenset({"bias", "affine", "elementwise_affine"})


def constructor_disables_bias(model: SemanticModel, type_name: str, call: cst.Call) -> bool:
    """The constructor call itself says there is no bias: a literal False, or an InstanceNorm
    that leaves affine at its default of False."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in _DISABLING_ARGUMENTS:
            if evaluate(model, arg.value) is False:
                return True
    if type_name in INSTANCE_NORMS:
        if any(arg.star for arg in call.args):
            return False
        positional = [arg for arg in call.args if arg.keyword is None]
        named = {arg.keyword.value for arg in call.args if arg.keyword is not None}
        return len(positional) <= _AFFINE_POSITION and "affine" not in named
    return False
