from __future__ import annotations

import re
from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule, src
from initlint.semantic import SemanticModel
from initlint.semantic.effects import only_reads_argument
from initlint.semantic.modules import ModuleClass, foreign_module_classes
from initlint.semantic.structure import referenced_function
from initlint.semantic.values import string_value

_UNINITIALIZED = frozenset({"torch.empty", "torch.Tensor", "torch.FloatTensor", "torch.cuda.FloatTensor"})
_SIZE_NAME = re.compile(r"dim|size|num|feat|chan|hidden|len|head|width|depth|^n_|_n$|^n$|^d_|out|in_|units", re.I)
# Reads of a tensor's metadata: they do not fill it.
_METADATA = frozenset({"shape", "size", "dtype", "device", "ndim", "dim", "numel", "requires_grad", "T", "is_cuda"})
_GENERIC = frozenset({"parameters", "named_parameters", "state_dict", "load_state_dict", "_load_from_state_dict"})
# nn.Module's own methods: calling one does not run code of an unknown base class.
_MODULE_METHODS = frozenset(
    {"register_buffer", "register_parameter", "add_module", "register_module", "modules", "children",
     "named_modules", "named_children", "parameters", "named_parameters", "buffers", "named_buffers", "apply",
     "to", "cuda", "cpu", "float", "double", "half", "bfloat16", "train", "eval", "requires_grad_", "zero_grad",
     "state_dict", "load_state_dict", "forward", "extra_repr", "get_submodule", "get_parameter", "get_buffer",
     "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook", "register_backward_hook",
     "register_load_state_dict_post_hook", "_register_load_state_dict_pre_hook", "_get_name", "type",
     "share_memory", "set_extra_state", "get_extra_state"}
)  # fmt: skip


class UninitializedParameter(Rule):
    code = "IL404"
    name = "uninitialized-parameter"
    summary = "`nn.Parameter(torch.empty(...))` that nothing in the file ever fills: it trains from garbage memory"
    severity = "error"
    # nn.Parameter(torch.empty(...)) and the legacy constructors, written inside the call. The
    # spacing and comments before the constructor are matched possessively: `(?:\s|#.*)*` could
    # split a comment full of '#' in exponentially many ways (20 '#' took 15 s; a CR-only file is
    # one long "line" for `[^\n]`).
    literals = ("Parameter",)
    triggers = (r"Parameter\s*\((?:\s|#[^\r\n]*+)*+[\w.\s]*?\b(?:empty|Tensor|FloatTensor)\s*\(",)

    VALID = (
        src("""
            import torch
            import torch.nn as nn
            class Scale(nn.Module):
                def __init__(self, n):
                    super().__init__()
                    self.gamma = nn.Parameter(torch.empty(n))
                    nn.init.ones_(self.gamma)
                def forward(self, x):
                    return x * self.gamma
        """),
        # filled by another class, through module.<name> (transformers, timm)
        src("""
            import torch
            import torch.nn as nn
            class Scale(nn.Module):
                def __init__(self, n):
                    super().__init__()
                    self.gamma = nn.Parameter(torch.empty(n))
                def forward(self, x):
                    return x * self.gamma
            class Model(nn.Module):
                def _init_weights(self, module):
                    if isinstance(module, Scale):
                        module.gamma.data.fill_(1.0)
        """),
        # a generic parameter loop
        src("""
            import torch
            import torch.nn as nn
            class Scale(nn.Module):
                def __init__(self, n):
                    super().__init__()
                    self.gamma = nn.Parameter(torch.Tensor(n))
                    for p in self.parameters():
                        nn.init.normal_(p)
                def forward(self, x):
                    return x * self.gamma
        """),
        # a base class from another file may fill it: a method it defines runs after the parameter
        # is made, or its __init__ does
        src("""
            import torch
            from mylib import Base
            class Scale(Base):
                def __init__(self, n):
                    super().__init__()
                    self.gamma = torch.nn.Parameter(torch.empty(n))
                    self.post_init()
                def forward(self, x):
                    return x * self.gamma
        """),
        src("""
            import torch
            from mylib import Base
            class Scale(Base):
                def __init__(self, n):
                    self.gamma = torch.nn.Parameter(torch.empty(n))
                    super().__init__()
                def forward(self, x):
                    return x * self.gamma
        """),
        # torch.Tensor of data, not of a size
        src("""
            import torch
            import torch.nn as nn
            class Scale(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.gamma = nn.Parameter(torch.Tensor([1.0, 2.0]))
                def forward(self, x):
                    return x * self.gamma
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch
                import torch.nn as nn
                class Scale(nn.Module):
                    def __init__(self, n):
                        super().__init__()
                        self.gamma = nn.Parameter(torch.empty(n))
                    def forward(self, x):
                        return x * self.gamma
            """)
        ),
        Invalid(
            src("""
                import torch
                from torch import nn
                class Proj(nn.Module):
                    def __init__(self, in_dim, out_dim):
                        super().__init__()
                        self.weight = nn.Parameter(torch.Tensor(out_dim, in_dim))
                    def forward(self, x):
                        return x @ self.weight.t()
            """)
        ),
        # a base class from another file ran before the parameter existed: judged like nn.Module
        Invalid(
            src("""
                import torch
                from mylib import Base
                class Scale(Base):
                    def __init__(self, n):
                        super().__init__()
                        self.gamma = torch.nn.Parameter(torch.empty(n))
                    def forward(self, x):
                        return x * self.gamma
            """)
        ),
        Invalid(
            src("""
                import torch
                from torch.nn import Module, Parameter
                class Bias(Module):
                    def __init__(self):
                        super().__init__()
                        self.b = Parameter(torch.FloatTensor(16))
                    def forward(self, x):
                        return x + self.b
            """)
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        if _file_has_generic_fill(model):
            return
        # A class with a base from another file is judged like its twin deriving from nn.Module:
        # the base cannot fill a parameter made after it ran, unless the class calls it later.
        classes = [*model.module_classes.values(), *foreign_module_classes(model).values()]
        for cls in classes:
            if _class_has_apply(model, cls) or _calls_unknown_method(model, cls):
                continue
            for name, call in cls.parameters.items():
                constructor = _uninitialized_constructor(model, call)
                if constructor is None:
                    continue
                statement = model.enclosing(call, cst.SimpleStatementLine)
                if statement is None or _filled(model, name, statement):
                    continue
                if _base_init_after(model, cls, statement) or not _read(model, name, statement):
                    continue
                yield Report(
                    call,
                    f"`self.{name}` of `{cls.name}` is `nn.Parameter({constructor}(...))`: uninitialized memory "
                    f"(arbitrary values, possibly NaN or huge), and nothing in this file fills it (no init call, "
                    f"no `.{name}` copy or in-place fill, no parameter loop): it trains from garbage; "
                    f"initialize it (`nn.init.*` in `reset_parameters`) or build it with `torch.zeros`/`torch.randn`",
                )


def _uninitialized_constructor(model: SemanticModel, call: cst.Call) -> str | None:
    positional = [a for a in call.args if a.keyword is None]
    if not positional or positional[0].star:
        return None
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "requires_grad":
            return None  # a frozen tensor: usually loaded from a checkpoint
    inner = positional[0].value
    if not isinstance(inner, cst.Call):
        return None
    qualified = model.qualified_name(inner.func)
    if qualified not in _UNINITIALIZED or not inner.args:
        return None
    sizes = [a for a in inner.args if a.keyword is None]
    if not sizes:
        return None
    if qualified != "torch.empty":
        if any(a.star for a in sizes):
            return None
        if len(sizes) == 1 and not _size_like(sizes[0].value):
            return None
    if any(isinstance(a.value, cst.Integer) and a.value.value == "0" for a in sizes):
        return None
    return model.code(inner.func)


def _size_like(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Integer):
        return True
    if isinstance(node, cst.BinaryOperation):
        return True
    if isinstance(node, cst.Name):
        return bool(_SIZE_NAME.search(node.value))
    if isinstance(node, cst.Attribute):
        return bool(_SIZE_NAME.search(node.attr.value))
    return False


def _file_has_generic_fill(model: SemanticModel) -> bool:
    for call in model.nodes(cst.Call):
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in _GENERIC:
            return True
        if isinstance(func, cst.Name) and func.value in ("getattr", "setattr", "vars"):
            return True
    return False


def _class_has_apply(model: SemanticModel, cls: ModuleClass) -> bool:
    """An ``.apply(fn)`` whose function we cannot read may fill anything."""
    for call in model.nodes(cst.Call):
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "apply" and len(call.args) == 1:
            if referenced_function(model, call.args[0].value, call) is None:
                return True
    return False


def _chain(model: SemanticModel, cls: ModuleClass) -> tuple[list[ModuleClass], bool]:
    """``cls`` and its bases of this file, and whether some base comes from another file."""
    every = {**model.module_classes, **foreign_module_classes(model)}
    chain, todo, foreign = [cls], [cls], False
    while todo:
        current = todo.pop()
        for base in current.node.bases:
            if base.keyword is not None:
                continue
            qualified = model.qualified_name(base.value)
            if qualified and qualified.startswith("torch.nn."):
                continue
            found = every.get(base.value.value) if isinstance(base.value, cst.Name) else None
            if found is None:
                foreign = True
            elif all(found is not c for c in chain):
                chain.append(found)
                todo.append(found)
    return chain, foreign


def _calls_unknown_method(model: SemanticModel, cls: ModuleClass) -> bool:
    """``self.m(...)`` where ``m`` is neither defined in the class (or its bases in this file) nor
    an ``nn.Module`` method: a base from another file may define it to fill any parameter
    (``self.post_init()``, ``self.init_weights()``)."""
    chain, _ = _chain(model, cls)
    defined = {name for c in chain for name in c.methods}
    for c in chain:  # attributes hold submodules and callables: `self.proj(x)` runs no base code
        for target in model.nodes_within(c.node, cst.AssignTarget):
            value = target.target
            if isinstance(value, cst.Attribute) and isinstance(value.value, cst.Name) and value.value.value == "self":
                defined.add(value.attr.value)
    for c in chain:
        for call in model.nodes_within(c.node, cst.Call):
            func = call.func
            if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
                continue
            if func.value.value != "self" or func.attr.value in defined or func.attr.value in _MODULE_METHODS:
                continue
            if func.attr.value.startswith("__") and func.attr.value.endswith("__"):
                continue
            return True
    return False


def _base_init_after(model: SemanticModel, cls: ModuleClass, statement: cst.CSTNode) -> bool:
    """A base from another file is initialized after the parameter is made (its ``__init__``
    may fill the parameters it finds)."""
    _, foreign = _chain(model, cls)
    if not foreign or cls.init is None:
        return False
    for call in model.nodes_within(cls.init, cst.Call):
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "__init__" and model.precedes(statement, call):
            return True
    return False


def _read(model: SemanticModel, name: str, constructor: cst.CSTNode) -> bool:
    """Something in this file uses ``.name``: a parameter nothing here reads takes no part in
    what this file computes, and the code that uses it elsewhere may fill it too."""
    for attribute in model.nodes(cst.Attribute):
        if attribute.attr.value == name and not any(a is constructor for a in model.ancestors(attribute)):
            return True
    return False


def _filled(model: SemanticModel, name: str, constructor: cst.CSTNode) -> bool:
    """Whether any use of ``.name`` outside its constructor statement may fill it."""
    for node in model.nodes(cst.SimpleString):
        value = string_value(node)
        if value == name:
            return True  # getattr(self, "name") / named lookups
    for attribute in model.nodes(cst.Attribute):
        if attribute.attr.value != name:
            continue
        if any(a is constructor for a in model.ancestors(attribute)):
            continue
        if not _read_only(model, attribute):
            return True
    return False


def _read_only(model: SemanticModel, node: cst.Attribute) -> bool:
    top: cst.CSTNode = node
    while True:
        parent = model.parent.get(top)
        if isinstance(parent, cst.Attribute) and parent.value is top:
            attr = parent.attr.value
            if attr in _METADATA:
                return True  # `.size()`, `.shape`, also through `.data`: `p.data.size()`
            if attr.endswith("_") and not attr.startswith("__"):
                return False
            top = parent  # `.data` passes through: what is done with it decides
        elif (isinstance(parent, cst.Call) and parent.func is top) or (
            isinstance(parent, cst.Subscript) and parent.value is top
        ):
            top = parent
        elif isinstance(parent, (cst.SubscriptElement, cst.Index)):
            return True  # used as an index
        else:
            break
    parent = model.parent.get(top)
    if isinstance(parent, cst.Arg) and parent.value is top:
        return only_reads_argument(model, parent)  # `F.linear(x, self.weight)`, `len(self.w)`
    return isinstance(parent, (cst.BinaryOperation, cst.UnaryOperation, cst.Comparison, cst.ComparisonTarget))
