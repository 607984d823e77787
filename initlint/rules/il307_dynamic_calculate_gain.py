from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule, src
from initlint.rules.triggers import INIT_TRIGGER
from initlint.semantic import SemanticModel
from initlint.semantic.catalog import GAIN_NAMES
from initlint.semantic.scales import bound_value, parameter_default
from initlint.semantic.schemes import SIGNATURES, bind_arguments, canonical
from initlint.semantic.tensors import single_assignment
from initlint.semantic.values import evaluate

_SUPPORTED = ", ".join(sorted(GAIN_NAMES))
# String methods that change the case: kept in order, applied to each candidate name.
_CASE_METHODS = frozenset({"lower", "upper", "casefold"})
_MAX_DEPTH = 6


@dataclass(frozen=True)
class _Candidate:
    """A name that can reach calculate_gain, and where it comes from."""

    name: str
    origin: cst.CSTNode
    how: str  # "the class of", "the default of"


class DynamicCalculateGain(Rule):
    code = "IL307"
    name = "dynamic-calculate-gain"
    summary = "`calculate_gain(<class name or default string>)` that reaches a name torch rejects: it raises ValueError"
    severity = "error"
    # kaiming_*'s nonlinearity may be passed positionally: its name is not always in the text
    literals = ("calculate_gain", "kaiming")
    triggers = (r"calculate_gain|kaiming", INIT_TRIGGER)
    uses_init_aliases = True

    VALID = (
        # the class is ReLU: 'relu' is a supported name
        src("""
            import torch.nn as nn
            class M(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.Linear(4, 4)
                    self.act = nn.ReLU()
                    g = nn.init.calculate_gain(type(self.act).__name__.lower())
                    nn.init.xavier_uniform_(self.fc.weight, gain=g)
        """),
        # a default that torch supports; callers may pass anything, but nothing here proves a bad one
        src("""
            import torch.nn as nn
            def init(w, activation='relu'):
                nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain(activation))
        """),
        # guarded by a test of the name
        src("""
            import torch.nn as nn
            def init(w, activation='gelu'):
                if activation in ('relu', 'tanh'):
                    nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain(activation))
        """),
        # lower-cased class name of a module nothing here constructs: unknown
        src("""
            import torch.nn as nn
            def init(w, act):
                nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain(act.__class__.__name__.lower()))
        """),
        # a function's __name__ is a function name ('relu'), not a class name
        src("""
            import torch.nn as nn
            import torch.nn.functional as F
            def init(w, act=F.relu):
                nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain(act.__name__))
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                class M(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(4, 4)
                        self.act = nn.LeakyReLU(0.2)
                        g = nn.init.calculate_gain(type(self.act).__name__.lower())
                        nn.init.xavier_uniform_(self.fc.weight, gain=g)
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                def init(w, act):
                    nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain(act.__class__.__name__))
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                class Block(nn.Module):
                    def __init__(self, d, act_layer=nn.GELU):
                        super().__init__()
                        self.fc = nn.Linear(d, d)
                        self.act = act_layer()
                        nn.init.kaiming_normal_(self.fc.weight, nonlinearity=self.act.__class__.__name__.lower())
            """)
        ),
        Invalid(
            src("""
                from torch.nn.init import calculate_gain, xavier_uniform_
                class Layer:
                    def __init__(self, activation='gelu'):
                        self.activation = activation
                    def reset(self, w):
                        xavier_uniform_(w, gain=calculate_gain(self.activation))
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                def gain_for(act_cls=nn.SiLU):
                    return nn.init.calculate_gain(act_cls.__name__.lower())
            """)
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for call in model.nodes(cst.Call):
            name = model.init_function(call.func)
            if name is None:
                continue
            if name == "calculate_gain":
                arguments = bind_arguments(call, ("nonlinearity", "param"), tensor_first=False)
                where = "calculate_gain"
            elif canonical(name) in ("kaiming_uniform_", "kaiming_normal_"):
                arguments = bind_arguments(call, SIGNATURES[canonical(name)])
                where = f"{canonical(name)}(nonlinearity=...)"
            else:
                continue
            node = arguments.get("nonlinearity") if arguments else None
            if node is None or isinstance(evaluate(model, node), str):
                continue  # absent, or a literal: IL302 judges literals
            report = _judge(model, call, node, where)
            if report is not None:
                yield report


def _judge(model: SemanticModel, call: cst.Call, node: cst.BaseExpression, where: str) -> Report | None:
    source: cst.BaseExpression = node
    transforms: tuple[str, ...] = ()
    chain = [node]  # every spelling of the value on the way, for the guard test
    for _ in range(_MAX_DEPTH):  # `name = type(act).__name__`, then `calculate_gain(name.lower())`
        followed = _through_names(model, source)
        source, inner = _strip_case(followed)
        chain += [followed, source]
        transforms = inner + transforms
        if not inner:
            break
    if _guarded(model, call, chain):
        return None
    class_name = _class_name_source(model, source)
    if class_name is not None:
        candidates = _classes(model, *class_name)
        if not candidates:
            if transforms:
                return None  # a lower-cased class name of a class this file does not show: unknown
            # Unknown class, but class names keep their capitals ('ReLU'): no supported name has one.
            return _report(model, node, where, [], transforms, from_class=True)
    else:
        candidates = _default_strings(model, source) or []
    bad = [c for c in candidates if _apply(c.name, transforms) not in GAIN_NAMES]
    if not bad:
        return None
    return _report(model, node, where, bad, transforms, from_class=class_name is not None)


def _strip_case(node: cst.BaseExpression) -> tuple[cst.BaseExpression, tuple[str, ...]]:
    transforms: list[str] = []
    while (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in _CASE_METHODS
        and not node.args
    ):
        transforms.append(node.func.attr.value)
        node = node.func.value
    return node, tuple(reversed(transforms))


def _apply(name: str, transforms: tuple[str, ...]) -> str:
    for method in transforms:
        name = name.casefold() if method == "casefold" else name.lower() if method == "lower" else name.upper()
    return name


def _through_names(model: SemanticModel, node: cst.BaseExpression) -> cst.BaseExpression:
    """A local name assigned once, followed to its value (``name = type(act).__name__``)."""
    for _ in range(_MAX_DEPTH):
        if not isinstance(node, cst.Name):
            return node
        value = single_assignment(model, node)
        if value is None:
            return node
        node = value
    return node


def _class_name_source(model: SemanticModel, node: cst.BaseExpression) -> tuple[cst.BaseExpression, bool] | None:
    """For ``type(x).__name__`` / ``x.__class__.__name__``: (x, True), x an instance; for
    ``X.__name__`` with X provably a class: (X, False)."""
    if not (isinstance(node, cst.Attribute) and node.attr.value == "__name__"):
        return None
    inner = node.value
    if isinstance(inner, cst.Attribute) and inner.attr.value == "__class__":
        return inner.value, True
    if isinstance(inner, cst.Call) and model.is_builtin(inner.func, "type") and len(inner.args) == 1:
        return inner.args[0].value, True
    classes = _classes(model, inner, False)
    return (inner, False) if classes else None


def _class_named(model: SemanticModel, node: cst.BaseExpression) -> str | None:
    """The class name ``node`` refers to: a torch.nn class or a class of this file."""
    qualified = model.qualified_name(node)
    if qualified is not None and qualified.startswith("torch.nn."):
        last = qualified.rsplit(".", 1)[1]
        return last if last[:1].isupper() else None
    if isinstance(node, cst.Name) and any(c.name.value == node.value for c in model.nodes(cst.ClassDef)):
        return node.value if model.imports.resolve_name(node.value) is None else None
    return None


def _classes(model: SemanticModel, node: cst.BaseExpression, instance: bool, depth: int = 0) -> list[_Candidate]:
    """Classes ``node`` can be (instances of, when ``instance``) that this file shows: the
    constructors assigned to it, and the class defaults of the parameters they call."""
    if depth > _MAX_DEPTH:
        return []
    if not instance:
        named = _class_named(model, node)
        if named is not None:
            return [_Candidate(named, node, "the class")]
        if isinstance(node, cst.Name):
            default = parameter_default(model, node)
            if default is not None:
                return [
                    _Candidate(c.name, default, "the default class") for c in _classes(model, default, False, depth + 1)
                ]
        return []
    if isinstance(node, cst.Call):
        return [_Candidate(c.name, node, c.how) for c in _classes(model, node.func, False, depth + 1)]
    found: list[_Candidate] = []
    for value in _assigned_values(model, node):
        found += _classes(model, value, True, depth + 1)
    return found


def _assigned_values(model: SemanticModel, node: cst.BaseExpression) -> list[cst.BaseExpression]:
    """Every value this file assigns to ``self.x`` in the class (for ``self.x``), or a name's one
    value or parameter default."""
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        owner = model.enclosing(node, cst.ClassDef)
        if owner is None:
            return []
        values = []
        for assign in model.nodes_within(owner, cst.Assign):
            for target in assign.targets:
                t = target.target
                if (
                    isinstance(t, cst.Attribute)
                    and t.attr.value == node.attr.value
                    and isinstance(t.value, cst.Name)
                    and t.value.value == "self"
                ):
                    values.append(assign.value)
        return values
    bound = bound_value(model, node)
    return [bound] if bound is not None else []


def _default_strings(model: SemanticModel, node: cst.BaseExpression) -> list[_Candidate] | None:
    """A string that reaches ``node`` when the caller leaves a parameter out: the parameter's
    default, read directly or through ``self.x = <parameter>``."""
    name = node
    if isinstance(node, cst.Attribute):
        values = _assigned_values(model, node)
        if len(values) != 1 or not isinstance(values[0], cst.Name):
            return None
        name = values[0]
    if not isinstance(name, cst.Name):
        return None
    default = parameter_default(model, name)
    if default is None:
        return None
    value = evaluate(model, default)
    return [_Candidate(value, default, "the default")] if isinstance(value, str) else None


def _guarded(model: SemanticModel, call: cst.Call, chain: list[cst.BaseExpression]) -> bool:
    """The call runs under a test of the same expression (``if act in (...)``), or in a ``try``:
    the code already knows some names are not supported."""
    for ancestor in model.ancestors(call):
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
            break
        if isinstance(ancestor, cst.Try):
            return True
        test = ancestor.test if isinstance(ancestor, (cst.If, cst.IfExp, cst.While)) else None
        if test is not None and any(n.deep_equals(source) for n in _walk(test) for source in chain):
            return True
    return False


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _report(
    model: SemanticModel,
    node: cst.BaseExpression,
    where: str,
    candidates: list[_Candidate],
    transforms: tuple[str, ...],
    *,
    from_class: bool,
) -> Report:
    code = model.code(node)
    code = code if len(code) <= 60 else code[:57] + "..."
    related = [(c.origin, f"{c.how} here: {c.name!r}") for c in candidates[:3]]
    if not candidates:
        what = f"the class name `{code}`: class names keep their capitals ('ReLU', 'Tanh')"
    else:
        first = candidates[0]
        produced = _apply(first.name, transforms)
        line = model.range_of(first.origin).start.line
        if first.how == "the default":
            phrase = f"{produced!r} by default"
        elif first.how == "the default class":
            phrase = f"{produced!r} for the default class {first.name}"
        else:
            phrase = f"{produced!r} for {first.name}"
        what = f"`{code}`, which is {phrase} (line {line})"
    if from_class and transforms:
        advice = (
            "lower-cased class names fit only some activations ('leakyrelu' is not 'leaky_relu', GELU and SiLU "
            "have no entry): map the activation to a supported name explicitly, or pass a numeric gain"
        )
    elif from_class:
        advice = "map the class to a supported name explicitly (e.g. a dict from nn.ReLU to 'relu')"
    else:
        advice = "use a supported name as the default ('relu' for GELU/SiLU), or map names explicitly"
    return Report(
        node,
        f"{where} given {what}: torch's calculate_gain does not know it and raises ValueError (it supports only "
        f"{_SUPPORTED}); {advice}",
        related=related,
    )
