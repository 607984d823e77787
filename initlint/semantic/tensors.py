"""Generic queries about values, for rules that need to know what an expression is.

Precision first: ``known_tensor`` answers True only when the expression is provably a
``torch.Tensor``; anything it cannot prove (an unknown name, a numpy array, a list, an
attribute of an unknown object) is False.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from initlint._lazy import cst

if TYPE_CHECKING:
    from initlint.semantic.model import SemanticModel

# torch.<name>(...) always returns a tensor.
TENSOR_FUNCTIONS = frozenset(
    [
        "randn",
        "rand",
        "randint",
        "randperm",
        "randn_like",
        "rand_like",
        "randint_like",
        "normal",
        "zeros",
        "ones",
        "empty",
        "full",
        "zeros_like",
        "ones_like",
        "empty_like",
        "full_like",
        "arange",
        "linspace",
        "logspace",
        "eye",
        "tensor",
        "as_tensor",
        "from_numpy",
        "cat",
        "concat",
        "concatenate",
        "stack",
        "hstack",
        "vstack",
        "dstack",
        "bernoulli",
        "multinomial",
        "empty_strided",
        "clone",
        "detach",
        "matmul",
        "mm",
        "bmm",
        "outer",
    ]
)
# <tensor>.<name>(...) returns a tensor.
TENSOR_METHODS = frozenset(
    [
        "clone",
        "detach",
        "float",
        "double",
        "half",
        "bfloat16",
        "int",
        "long",
        "short",
        "bool",
        "byte",
        "char",
        "to",
        "cuda",
        "cpu",
        "contiguous",
        "view",
        "view_as",
        "reshape",
        "reshape_as",
        "t",
        "transpose",
        "permute",
        "flatten",
        "squeeze",
        "unsqueeze",
        "expand",
        "expand_as",
        "repeat",
        "type_as",
        "abs",
        "sqrt",
        "exp",
        "log",
        "neg",
        "sign",
        "mul",
        "add",
        "sub",
        "div",
        "pow",
        "normal_",
        "uniform_",
        "fill_",
        "zero_",
        "copy_",
        "mul_",
        "add_",
        "sub_",
        "div_",
        "clamp",
        "clamp_",
        "requires_grad_",
        "detach_",
        "sum",
        "mean",
        "std",
        "var",
        "norm",
        "softmax",
    ]
)
# Factories that return a fresh tensor that does not require grad (unless told to).
FRESH_FACTORIES = frozenset(
    TENSOR_FUNCTIONS
    - {
        "clone",
        "detach",
        "matmul",
        "mm",
        "bmm",
        "outer",
        "cat",
        "concat",
        "concatenate",
        "stack",
        "hstack",
        "vstack",
        "dstack",
        "as_tensor",
    }
)
PARAMETER_CLASSES = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter"})
# Legacy constructors: `torch.Tensor(3, 3)`, `torch.FloatTensor(data)` return a tensor whatever the arguments.
LEGACY_CONSTRUCTORS = frozenset(
    {"Tensor", "FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor",
     "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"}
)  # fmt: skip
# Layer categories whose `.weight` always exists, and those whose `.bias` may.
_WEIGHTED = frozenset({"linear", "conv", "embedding"})
_BIASED = frozenset({"linear", "conv"})
_MAX_DEPTH = 8


def _scopes() -> tuple[type, ...]:
    return (cst.FunctionDef, cst.Lambda, cst.ClassDef)


_bindings_cache: WeakKeyDictionary[SemanticModel, dict[str, dict[cst.CSTNode, list[cst.CSTNode]]]] = WeakKeyDictionary()
_declared_cache: WeakKeyDictionary[SemanticModel, frozenset[str]] = WeakKeyDictionary()


def scope_of(model: SemanticModel, node: cst.CSTNode) -> cst.CSTNode:
    """The function, lambda or class body ``node`` is evaluated in (the module when none)."""
    for ancestor in model.ancestors(node):
        if isinstance(ancestor, _scopes()):
            return ancestor
    return model.module


def _binding_statement(model: SemanticModel, name: cst.Name) -> cst.CSTNode | None:
    """The node that binds ``name`` when it is in a binding position, else None."""
    node: cst.CSTNode = name
    parent = model.parent.get(node)
    while isinstance(parent, (cst.Element, cst.StarredElement, cst.Tuple, cst.List)):
        node, parent = parent, model.parent.get(parent)
    if isinstance(parent, cst.AssignTarget):
        return model.parent.get(parent)
    if isinstance(parent, (cst.AnnAssign, cst.AugAssign, cst.NamedExpr, cst.For, cst.CompFor)):
        return parent if parent.target is node else None
    if isinstance(parent, (cst.AsName, cst.Param, cst.Del, cst.ImportAlias)):
        return parent
    if isinstance(parent, (cst.FunctionDef, cst.ClassDef)) and parent.name is node:
        return parent
    return None


def _bindings(model: SemanticModel, value: str) -> dict[cst.CSTNode, list[cst.CSTNode]]:
    """Binding statements of the name ``value``, by scope (computed per name: most files ask
    about a handful of names)."""
    per_name = _bindings_cache.get(model)
    if per_name is None:
        per_name = _bindings_cache[model] = {}
    cached = per_name.get(value)
    if cached is not None:
        return cached
    table: dict[cst.CSTNode, list[cst.CSTNode]] = {}
    for name in model.nodes(cst.Name):
        if name.value != value:
            continue
        statement = _binding_statement(model, name)
        if statement is None:
            continue
        # A definition's name binds in the scope around the definition.
        anchor = model.parent.get(statement, statement) if isinstance(statement, _scopes()) else name
        table.setdefault(scope_of(model, anchor), []).append(statement)
    per_name[value] = table
    return table


def _declared(model: SemanticModel) -> frozenset[str]:
    """Names declared ``global`` or ``nonlocal`` anywhere: their scope is not local."""
    cached = _declared_cache.get(model)
    if cached is None:
        cached = frozenset(
            item.name.value for node in (*model.nodes(cst.Global), *model.nodes(cst.Nonlocal)) for item in node.names
        )
        _declared_cache[model] = cached
    return cached


def single_assignment(model: SemanticModel, name: cst.Name) -> cst.BaseExpression | None:
    """The value of ``name`` when the scope it is read in binds it exactly once, with a plain
    ``name = value`` (or ``name: T = value``) written before the read; else None."""
    if name.value in _declared(model):
        return None
    bindings = _bindings(model, name.value).get(scope_of(model, name), [])
    if len(bindings) != 1:
        return None
    statement = bindings[0]
    if isinstance(statement, cst.Assign):
        if len(statement.targets) != 1 or not isinstance(statement.targets[0].target, cst.Name):
            return None
        value = statement.value
    elif isinstance(statement, cst.AnnAssign) and isinstance(statement.target, cst.Name) and statement.value:
        value = statement.value
    else:
        return None
    if not model.precedes(statement, name):
        return None
    return value


def is_weight_or_bias(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Attribute) and node.attr.value in ("weight", "bias")


def known_tensor(model: SemanticModel, node: cst.BaseExpression, depth: int = 0) -> bool:
    """``node`` is provably a ``torch.Tensor``: a tensor factory call, a tensor method on a known
    tensor, ``nn.Parameter(...)``, ``.data``/``.grad`` of a known tensor or of ``X.weight`` /
    ``X.bias``, an index into a known tensor, or a name bound once in its scope to one of these."""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(node, cst.Call):
        qualified = model.qualified_name(node.func)
        if qualified is not None:
            head, _, last = qualified.rpartition(".")
            if head in ("torch", "torch.cuda") and last in LEGACY_CONSTRUCTORS and qualified != "torch.cuda.Tensor":
                return True
            return (head == "torch" and last in TENSOR_FUNCTIONS) or qualified in PARAMETER_CLASSES
        func = node.func
        return (
            isinstance(func, cst.Attribute)
            and func.attr.value in TENSOR_METHODS
            and known_tensor(model, func.value, depth + 1)
        )
    if isinstance(node, cst.Attribute):
        if node.attr.value in ("data", "grad"):
            return is_weight_or_bias(node.value) or known_tensor(model, node.value, depth + 1)
        if node.attr.value == "T":
            return known_tensor(model, node.value, depth + 1)
        if node.attr.value in ("weight", "bias"):
            return _layer_parameter(model, node.value, node.attr.value, depth + 1)
        return False
    if isinstance(node, cst.Subscript):
        return known_tensor(model, node.value, depth + 1)
    if isinstance(node, cst.Name):
        if model.imports.resolve_name(node.value) is not None:
            return False
        value = single_assignment(model, node)
        if value is not None:
            return known_tensor(model, value, depth + 1)
        return _every_binding_a_tensor(model, node, depth + 1)
    return False


def _every_binding_a_tensor(model: SemanticModel, name: cst.Name, depth: int) -> bool:
    """Every binding of ``name`` in the scope it is read in is ``name = <tensor>`` (``a`` bound
    twice to ``torch.Tensor(3, 3).normal_(0, 1)``), one of them before the read. A value that
    reads ``name`` itself (``a = a.float()``) counts as a tensor: the first binding to run
    cannot read it, so by induction every value it holds is a tensor."""
    if name.value in _declared(model) or depth > _MAX_DEPTH:
        return False
    bindings = _bindings(model, name.value).get(scope_of(model, name), [])
    if len(bindings) < 2 or not any(model.precedes(b, name) for b in bindings):
        return False
    grounded = False
    for statement in bindings:
        if not (
            isinstance(statement, cst.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0].target, cst.Name)
        ):
            return False
        value = statement.value
        if known_tensor(model, value, depth + 1):
            grounded = True
        elif not _tensor_if(model, value, name.value, depth + 1):
            return False
    return grounded


def _tensor_if(model: SemanticModel, node: cst.BaseExpression, name: str, depth: int) -> bool:
    """``node`` is a tensor method chain on ``name`` (``a.float()``, ``a.t()``), given that
    ``name`` holds a tensor."""
    methods = 0
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and depth <= _MAX_DEPTH:
        if node.func.attr.value not in TENSOR_METHODS:
            return False
        node = node.func.value
        depth += 1
        methods += 1
    return methods > 0 and isinstance(node, cst.Name) and node.value == name


def _layer_parameter(model: SemanticModel, node: cst.BaseExpression, param: str, depth: int) -> bool:
    """``node.weight`` / ``node.bias`` is a tensor: ``node`` is a torch.nn layer that has one
    (``layer = nn.Linear(3, 3)``, ``self.fc`` of a class of this file)."""
    if depth > _MAX_DEPTH:
        return False
    while (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in ("to", "cuda", "cpu", "float", "double", "half")
    ):
        node = node.func.value
    if isinstance(node, cst.Call):
        return _constructed_with(model, node, param)
    if isinstance(node, cst.Name) and model.imports.resolve_name(node.value) is None:
        value = single_assignment(model, node)
        if value is not None:
            return _layer_parameter(model, value, param, depth + 1)
    if not isinstance(node, (cst.Attribute, cst.Subscript)):
        return False
    from initlint.semantic.modules import Layer
    from initlint.semantic.receivers import receivers
    from initlint.semantic.structure import bias_state

    values = receivers(model).values(node, node)
    if not values or not all(
        isinstance(v, Layer) and v.category in (_WEIGHTED if param == "weight" else _BIASED) for v in values
    ):
        return False
    return param == "weight" or all(bias_state(v) is True for v in values)  # type: ignore[arg-type]


def _constructed_with(model: SemanticModel, call: cst.Call, param: str) -> bool:
    """``call`` builds a torch.nn layer that has ``param`` (a bias only when no argument could
    turn it off)."""
    from initlint.semantic.catalog import LAYERS

    qualified = model.qualified_name(call.func)
    if qualified is None or not qualified.startswith("torch.nn."):
        return False
    kind = LAYERS.get(qualified.rsplit(".", 1)[1])
    if kind is None:
        return False
    if param == "weight":
        return kind.category in _WEIGHTED
    if kind.category not in _BIASED or any(a.star for a in call.args):
        return False
    positional = sum(1 for a in call.args if a.keyword is None)
    keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    bias = keywords.get("bias")
    if bias is not None and not (isinstance(bias, cst.Name) and bias.value == "True"):
        return False
    return positional <= (2 if kind.category == "linear" else 3)


def is_fresh_tensor(model: SemanticModel, node: cst.BaseExpression) -> bool:
    """``node`` is a call of a torch factory that returns a new tensor without grad."""
    if not isinstance(node, cst.Call):
        return False
    qualified = model.qualified_name(node.func)
    if qualified is None:
        return False
    head, _, last = qualified.rpartition(".")
    if head != "torch" or last not in FRESH_FACTORIES:
        return False
    return not any(arg.keyword is not None and arg.keyword.value == "requires_grad" for arg in node.args)


def needs_parens(node: cst.BaseExpression) -> bool:
    """Whether ``node`` must be parenthesized to take an attribute (``node.x``)."""
    if getattr(node, "lpar", None):
        return False
    if isinstance(node, cst.Integer | cst.Float):
        return True
    return not isinstance(
        node,
        (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.List, cst.Tuple, cst.Dict, cst.Set,
         cst.SimpleString, cst.ListComp, cst.SetComp, cst.DictComp),
    )  # fmt: skip


def receiver_code(model: SemanticModel, node: cst.BaseExpression) -> str:
    code = model.code(node)
    return f"({code})" if needs_parens(node) else code


def _mentions_weight_or_bias(node: cst.BaseExpression) -> bool:
    """``m.weight``, ``m.bias.data``, ``m.weight[0]``: an attribute chain through a weight or bias."""
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        if is_weight_or_bias(node):
            return True
        node = node.value
    return False


def _is_init_call(model: SemanticModel, call: cst.Call) -> bool:
    if model.init_function(call.func) is not None:
        return True
    func = call.func
    name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
    if not name.endswith("_") or name.startswith("_"):
        return False
    if isinstance(func, cst.Attribute) and _mentions_weight_or_bias(func.value):
        return True  # m.weight.data.normal_(...), m.bias.zero_()
    first = call.args[0] if call.args else None
    return first is not None and first.keyword is None and _mentions_weight_or_bias(first.value)


def is_init_code(model: SemanticModel, node: cst.CSTNode) -> bool:
    """``node`` is inside a function that initializes weights: it calls an ``nn.init`` function,
    an in-place method on a ``.weight``/``.bias`` (``m.weight.data.normal_()``), or an in-place
    style helper on one (``trunc_normal_(m.weight)``)."""
    function = model.enclosing(node, cst.FunctionDef)
    if function is None:
        return False
    functions = _init_code_cache.get(model)
    if functions is None:
        found: set[cst.CSTNode] = set()
        for call in model.nodes(cst.Call):
            if _is_init_call(model, call):
                enclosing = model.enclosing(call, cst.FunctionDef)
                if enclosing is not None:
                    found.add(enclosing)
        functions = _init_code_cache[model] = frozenset(found)
    return function in functions


_init_code_cache: WeakKeyDictionary[SemanticModel, frozenset[cst.CSTNode]] = WeakKeyDictionary()


def is_detached(model: SemanticModel, node: cst.BaseExpression) -> bool:
    """``node`` has no autograd history: a fresh factory call, ``x.detach()`` or ``x.detach().clone()``."""
    if is_fresh_tensor(model, node):
        return True
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and not node.args:
        if node.func.attr.value == "detach":
            return True
        if node.func.attr.value == "clone":
            inner = node.func.value
            return (
                isinstance(inner, cst.Call)
                and isinstance(inner.func, cst.Attribute)
                and inner.func.attr.value == "detach"
            )
    return False
