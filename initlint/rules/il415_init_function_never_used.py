from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule, src
from initlint.rules.triggers import INIT_TRIGGER
from initlint.semantic import SemanticModel
from initlint.semantic.inits import InitSite
from initlint.semantic.values import string_value

_MODULE_BASES = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module"})
# Decorators that leave a function a plain function of this file (nothing registers it).
_PLAIN_DECORATORS = frozenset({"staticmethod", "classmethod", "torch.no_grad", "torch.inference_mode"})


class InitFunctionNeverUsed(Rule):
    code = "IL415"
    name = "init-function-never-used"
    summary = "A private init function (`_init_weights`) that nothing in the file calls, applies or references"
    severity = "error"
    # A private name: `def _init...`
    literals = ("def _",)
    triggers = (r"\bdef\s+_[A-Za-z0-9]", INIT_TRIGGER)
    uses_init_aliases = True

    VALID = (
        src("""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.Linear(4, 4)
                    self.apply(self._init_weights)
                def _init_weights(self, m):
                    if isinstance(m, nn.Linear):
                        nn.init.zeros_(m.bias)
        """),
        # a public helper: other files may call it
        src("""
            import torch.nn as nn
            def init_weights(m):
                if isinstance(m, nn.Linear):
                    nn.init.zeros_(m.bias)
        """),
        # a base class from another file may call it (transformers' post_init calls _init_weights)
        src("""
            import torch.nn as nn
            from mylib import PreTrainedModel
            class Net(PreTrainedModel):
                def _init_weights(self, m):
                    if isinstance(m, nn.Linear):
                        nn.init.zeros_(m.bias)
        """),
        # a torch base calls it: nn.MultiheadAttention's __init__ runs self._reset_parameters()
        src("""
            import torch.nn as nn
            class MHA(nn.MultiheadAttention):
                def _reset_parameters(self):
                    nn.init.xavier_uniform_(self.in_proj_weight)
        """),
        # exported
        src("""
            import torch.nn as nn
            __all__ = ['_init']
            def _init(m):
                nn.init.zeros_(m.weight)
        """),
        # named in a string: looked up by name
        src("""
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self, scheme='_init_normal'):
                    super().__init__()
                    self.fc = nn.Linear(4, 4)
                    getattr(self, scheme)()
                def _init_normal(self):
                    nn.init.normal_(self.fc.weight)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(4, 4)
                    def _init_weights(self, m):
                        if isinstance(m, nn.Linear):
                            nn.init.xavier_uniform_(m.weight)
                            nn.init.zeros_(m.bias)
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                class Attention(nn.Module):
                    def __init__(self, d):
                        super().__init__()
                        self.qkv = nn.Linear(d, 3 * d)
                        self.proj = nn.Linear(d, d)
                    def _reset_parameters(self):
                        nn.init.xavier_uniform_(self.qkv.weight)
                        nn.init.zeros_(self.proj.bias)
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                def _weights_init(m):
                    if isinstance(m, nn.Conv2d):
                        nn.init.kaiming_normal_(m.weight)
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.conv = nn.Conv2d(3, 8, 3)
            """)
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        candidates: dict[str, list[cst.FunctionDef]] = {}
        for function in model.nodes(cst.FunctionDef):
            name = function.name.value
            if not _eligible(name):
                continue
            candidates.setdefault(name, []).append(function)
        if not candidates:
            return
        sites = model.init_sites
        if not sites:
            return
        found = []
        for functions in candidates.values():
            for function in functions:
                site = _init_of_argument(model, function, sites)
                if site is not None and _plain(model, function) and _callers_visible(model, function):
                    found.append((function, site))
        if not found:
            return
        referenced = _referenced_names(model, {function.name.value for function, _ in found})
        for function, site in found:
            if function.name.value not in referenced:
                yield _report(model, function, site)


def _eligible(name: str) -> bool:
    """A private name (not a dunder, not name-mangled): no other file is meant to call it."""
    return name.startswith("_") and not name.startswith("__")


def _referenced_names(model: SemanticModel, names: set[str]) -> set[str]:
    """Which of ``names`` the file mentions outside their own definitions: a name, an attribute,
    a string (``getattr(self, "_init")``, ``__all__``)."""
    found: set[str] = set()
    for node in model.nodes(cst.Name):
        if node.value in names and not _is_definition_name(model, node):
            found.add(node.value)
    for node in model.nodes(cst.Attribute):
        if node.attr.value in names:
            found.add(node.attr.value)
    for node in model.nodes(cst.SimpleString):
        value = string_value(node)
        if isinstance(value, str):
            found.update(n for n in names if n in value)
    for node in model.nodes(cst.FormattedStringText):
        found.update(n for n in names if n in node.value)
    return found


def _is_definition_name(model: SemanticModel, node: cst.Name) -> bool:
    parent = model.parent.get(node)
    return isinstance(parent, cst.FunctionDef) and parent.name is node


def _init_of_argument(model: SemanticModel, function: cst.FunctionDef, sites: list[InitSite]) -> InitSite | None:
    """The first init the function makes on a tensor of the module it is given (``m.weight``,
    ``self.fc.weight``): what makes it an init function."""
    params = [p.name.value for p in (*function.params.posonly_params, *function.params.params)]
    if not params:
        return None
    module = params[1] if params[0] == "self" and len(params) > 1 else params[0]
    owners = {module, "self"} if params[0] == "self" else {module}
    for site in sites:
        if not any(a is function for a in model.ancestors(site.call)):
            continue
        root = site.target
        if not isinstance(root, cst.Attribute):
            continue
        while isinstance(root, (cst.Attribute, cst.Subscript)):
            root = root.value
        if isinstance(root, cst.Name) and root.value in owners:
            return site
    return None


def _plain(model: SemanticModel, function: cst.FunctionDef) -> bool:
    """No decorator registers or wraps it (a registry, a property, a hook)."""
    for decorator in function.decorators:
        node = decorator.decorator
        if isinstance(node, cst.Call):
            node = node.func
        qualified = model.qualified_name(node) or ""
        if qualified not in _PLAIN_DECORATORS:
            return False
    return True


def _callers_visible(model: SemanticModel, function: cst.FunctionDef) -> bool:
    """Nothing outside this file calls it by convention: a module-level function, or a method
    of a class whose bases are ``nn.Module`` or classes of this file with such bases (a torch
    layer's ``__init__`` runs ``self.reset_parameters()``, a library base may run
    ``self._init_weights``)."""
    owner = model.enclosing(function, cst.ClassDef)
    enclosing = model.enclosing(function, cst.FunctionDef)
    if enclosing is not None:
        return False  # a nested function: returned or stored, its uses are not names
    if owner is None:
        return True
    if model.enclosing(owner, cst.FunctionDef) is not None or model.enclosing(owner, cst.ClassDef) is not None:
        return False
    return _visible_bases(model, owner, frozenset())


def _visible_bases(model: SemanticModel, cls: cst.ClassDef, seen: frozenset[str]) -> bool:
    if not cls.bases:
        return False  # a mixin: the class that uses it may live anywhere
    defs = {c.name.value: c for c in model.nodes(cst.ClassDef) if model.enclosing(c, cst.FunctionDef) is None}
    for base in cls.bases:
        if base.keyword is not None:
            return False
        if model.qualified_name(base.value) in _MODULE_BASES:
            continue
        value = base.value
        if isinstance(value, cst.Name) and value.value in defs and value.value not in seen:
            if value.value in model.imports.bindings:
                return False
            if _visible_bases(model, defs[value.value], seen | {cls.name.value}):
                continue
        return False
    return True


def _report(model: SemanticModel, function: cst.FunctionDef, site: InitSite) -> Report:
    name = function.name.value
    owner = model.enclosing(function, cst.ClassDef)
    line = model.range_of(site.call).start.line
    target = model.code(site.target)
    if owner is not None:
        where = f"a method of `{owner.name.value}`, whose bases are all `nn.Module` or classes of this file"
        use = f"`self.apply(self.{name})`" if len(function.params.params) > 1 else f"`self.{name}()`"
    else:
        where = "a private module-level function"
        use = f"`self.apply({name})`"
    return Report(
        function.name,
        f"`{name}` initializes `{target}` (line {line}), but nothing calls it: this file never calls, applies or "
        f"names it, and it is {where}, so no other code calls it by convention; the layers it was written for "
        f"never get this init (they keep PyTorch's default, or whatever other init reaches them). Run it "
        f"(e.g. {use} at the end of `__init__`) or delete it",
        related=[(site.call, "the init that never runs")],
    )
