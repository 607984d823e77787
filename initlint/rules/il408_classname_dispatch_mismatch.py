from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule, src
from initlint.rules.triggers import INIT_TRIGGER
from initlint.semantic import SemanticModel
from initlint.semantic.inits import APPLIED_BY_CONVENTION, InitSite
from initlint.semantic.modules import Layer, ModuleClass
from initlint.semantic.structure import fully_known, referenced_function
from initlint.semantic.tensor_shapes import flatten_targets
from initlint.semantic.tensors import single_assignment
from initlint.semantic.values import integer_value, string_value

# torch.nn bases that add no parameter or attribute of their own: a class deriving from them has
# `.weight` only if it makes one.
_PLAIN_BASES = frozenset(
    {"torch.nn.Module", "torch.nn.modules.module.Module", "torch.nn.Sequential", "torch.nn.ModuleList",
     "torch.nn.ModuleDict"}
)  # fmt: skip
_ITERATORS = frozenset({"modules", "children", "named_modules", "named_children"})
_REGISTER = frozenset({"register_parameter", "register_buffer", "register_module", "add_module"})
_DYNAMIC = frozenset({"__getattr__", "__getattribute__", "__setattr__"})

# Three-valued verdicts of a condition for one class: holds, fails, unknown (depends on the
# module in a way we cannot read), free (does not depend on the module at all).
TRUE, FALSE, UNKNOWN, FREE = "true", "false", "unknown", "free"


class ClassnameDispatchMismatch(Rule):
    code = "IL408"
    name = "classname-dispatch-mismatch"
    summary = "A class-name match (`'Conv' in classname`) reaches a class of this file without the attribute it inits"
    severity = "error"
    literals = ("__name__",)
    literals = ("__name__",)  # in both alternatives below
    # A finding names an init site (model.init_sites): an nn.init reference or in-place init.
    triggers = (INIT_TRIGGER, r"__class__\s*\.\s*__name__|\btype\s*\([\s\S]{0,200}?\)\s*\.\s*__name__")
    uses_init_aliases = True

    VALID = (
        # DCGAN: 'Conv' also matches ConvTranspose2d, which has the weight the branch inits
        src("""
            import torch.nn as nn
            def weights_init(m):
                classname = m.__class__.__name__
                if classname.find('Conv') != -1:
                    nn.init.normal_(m.weight, 0.0, 0.02)
            class G(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.up = nn.ConvTranspose2d(8, 3, 4)
            net = G()
            net.apply(weights_init)
        """),
        # the matching class has its own weight
        src("""
            import torch
            import torch.nn as nn
            class ConvLayer(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.weight = nn.Parameter(torch.empty(8, 3, 3, 3))
            def init(m):
                if 'Conv' in type(m).__name__:
                    nn.init.kaiming_normal_(m.weight)
        """),
        # guarded by hasattr
        src("""
            import torch.nn as nn
            class ConvBlock(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 8, 3)
            def init(m):
                if 'Conv' in m.__class__.__name__ and hasattr(m, 'weight'):
                    nn.init.kaiming_normal_(m.weight)
        """),
        src("""
            import torch.nn as nn
            class ConvBlock(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 8, 3)
            def init(m):
                name = m.__class__.__name__
                if name.find('Conv') != -1 and getattr(m, 'weight', None) is not None:
                    nn.init.kaiming_normal_(m.weight)
        """),
        # applied only to a model that does not contain the container class
        src("""
            import torch.nn as nn
            class ConvBlock(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 8, 3)
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 8, 3)
                    self.apply(self._init)
                def _init(self, m):
                    if 'Conv' in m.__class__.__name__:
                        nn.init.zeros_(m.weight)
        """),
        # a base class from another file may give it a weight
        src("""
            import torch.nn as nn
            from mylib import Base
            class ConvBlock(Base):
                pass
            def init(m):
                if 'Conv' in m.__class__.__name__:
                    nn.init.zeros_(m.weight)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                class ConvBlock(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.conv = nn.Conv2d(3, 8, 3)
                        self.bn = nn.BatchNorm2d(8)
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.block = ConvBlock()
                        self.head = nn.Linear(8, 2)
                def weights_init(m):
                    classname = m.__class__.__name__
                    if classname.find('Conv') != -1:
                        nn.init.normal_(m.weight, 0.0, 0.02)
                net = Net()
                net.apply(weights_init)
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                class LinearAttention(nn.Module):
                    def __init__(self, d):
                        super().__init__()
                        self.to_qkv = nn.Linear(d, 3 * d)
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.attn = LinearAttention(16)
                        self.apply(self._init_weights)
                    def _init_weights(self, m):
                        if 'Linear' in type(m).__name__:
                            nn.init.xavier_uniform_(m.weight)
                            nn.init.zeros_(m.bias)
            """)
        ),
        # defined in the file, receivers unknown: applied by other files
        Invalid(
            src("""
                import torch
                import torch.nn as nn
                class ConvNorm(nn.Sequential):
                    def __init__(self, c):
                        super().__init__(nn.Conv2d(c, c, 3), nn.BatchNorm2d(c))
                def init_weights(m):
                    if m.__class__.__name__.startswith('Conv'):
                        torch.nn.init.kaiming_normal_(m.weight)
            """)
        ),
        # the `.bias` a class has not
        Invalid(
            src("""
                import torch
                import torch.nn as nn
                class ConvScale(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.weight = nn.Parameter(torch.ones(8, 1, 1))
                def init(m):
                    if 'Conv' not in m.__class__.__name__:
                        return
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
            """)
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        candidates = [cls for cls in model.module_classes.values()]
        if not candidates:
            return
        reported: set[tuple[int, str]] = set()
        for site in model.init_sites:
            found = _site_variable(model, site)
            if found is None:
                continue
            variable, holder = found
            attribute = site.param
            assert attribute is not None
            path = _path_conditions(model, site.call, holder)
            if path is None:
                continue
            for cls in candidates:
                matched = _reaches(model, path, variable, cls)
                if matched is None or _lacks(model, cls, attribute, frozenset()) is not True:
                    continue
                key = (id(matched), cls.name)
                if key in reported:
                    continue
                reach = _reach(model, site, holder, cls)
                if reach is None:
                    continue
                reported.add(key)
                yield _report(model, site, matched, cls, attribute, reach)


# -- which module variable and which function ------------------------------------------------------


def _site_variable(model: SemanticModel, site: InitSite) -> tuple[str, cst.CSTNode] | None:
    """``m`` of an init of ``m.weight``, and what binds it: the function given ``m`` (a def or a
    lambda) or the loop over ``.modules()``."""
    target = site.target
    if site.dispatch is None or site.param is None or not isinstance(target, cst.Attribute):
        return None
    if not isinstance(target.value, cst.Name):
        return None
    variable = target.value.value
    for ancestor in model.ancestors(site.call):
        if isinstance(ancestor, cst.For) and _binds(ancestor.target, variable):
            return variable, ancestor
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
            params = ancestor.params
            names = {p.name.value for p in (*params.params, *params.posonly_params, *params.kwonly_params)}
            return (variable, ancestor) if variable in names else None
    return None


def _binds(target: cst.BaseExpression, name: str) -> bool:
    if isinstance(target, cst.Name):
        return target.value == name
    if isinstance(target, (cst.Tuple, cst.List)):
        return any(_binds(e.value, name) for e in target.elements)
    return False


# -- the conditions that hold at the init ------------------------------------------------------------


@dataclass(frozen=True)
class _Condition:
    test: cst.BaseExpression
    holds: bool  # False: the test is known false there (an `else`, an early exit)


def _path_conditions(model: SemanticModel, node: cst.CSTNode, holder: cst.CSTNode) -> list[_Condition] | None:
    """Every test that holds at ``node`` inside ``holder``; None under a ``try`` (an
    AttributeError may be caught)."""
    out: list[_Condition] = []
    child: cst.CSTNode = node
    for ancestor in model.ancestors(node):
        if ancestor is holder:
            return out
        if isinstance(ancestor, (cst.Try, cst.TryStar)) and child is ancestor.body:
            return None
        if isinstance(ancestor, (cst.If, cst.IfExp)):
            if child is ancestor.body:
                out.append(_Condition(ancestor.test, True))
            elif child is ancestor.orelse:
                out.append(_Condition(ancestor.test, False))
        elif isinstance(ancestor, cst.BooleanOperation) and isinstance(ancestor.operator, cst.And):
            if child is ancestor.right:
                out.append(_Condition(ancestor.left, True))
        elif isinstance(ancestor, cst.IndentedBlock):
            for statement in ancestor.body:
                if statement is child:
                    break
                if _exits(statement):
                    out.append(_Condition(statement.test, False))  # type: ignore[attr-defined]
        child = ancestor
    return out


def _exits(statement: cst.CSTNode) -> bool:
    """``if <test>: return`` (or continue / raise) with no else."""
    if not isinstance(statement, cst.If) or statement.orelse is not None:
        return False
    body = statement.body
    lines = body.body if isinstance(body, cst.IndentedBlock) else [body]
    if len(lines) != 1 or not isinstance(lines[0], (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
        return False
    smalls = lines[0].body
    return len(smalls) == 1 and isinstance(smalls[0], (cst.Return, cst.Continue, cst.Raise))


def _reaches(
    model: SemanticModel, path: list[_Condition], variable: str, cls: ModuleClass
) -> cst.BaseExpression | None:
    """The class-name test that lets ``cls`` through when every condition can hold for it;
    None when one fails or cannot be read, or when no class-name test is involved."""
    matched: cst.BaseExpression | None = None
    for condition in path:
        verdict, passing, failing = _evaluate(model, condition.test, variable, cls)
        if not condition.holds:
            verdict, passing = _negate(verdict), failing
        if verdict in (FALSE, UNKNOWN):
            return None
        matched = matched or passing
    return matched


def _negate(verdict: str) -> str:
    return {TRUE: FALSE, FALSE: TRUE}.get(verdict, verdict)


_Verdict = tuple[str, "cst.BaseExpression | None", "cst.BaseExpression | None"]


def _evaluate(model: SemanticModel, test: cst.BaseExpression, variable: str, cls: ModuleClass) -> _Verdict:
    """The verdict of ``test`` for a module of class ``cls``, with a class-name test in it that
    is true for the class and one that is false (None when there is none)."""
    if isinstance(test, cst.BooleanOperation):
        left, left_true, left_false = _evaluate(model, test.left, variable, cls)
        right, right_true, right_false = _evaluate(model, test.right, variable, cls)
        verdicts = {left, right}
        passing, failing = left_true or right_true, left_false or right_false
        if isinstance(test.operator, cst.And):
            if FALSE in verdicts:
                return FALSE, None, failing
            return (UNKNOWN if UNKNOWN in verdicts else (FREE if FREE in verdicts else TRUE)), passing, failing
        if TRUE in verdicts:
            return TRUE, passing, None
        return (UNKNOWN if UNKNOWN in verdicts else (FREE if FREE in verdicts else FALSE)), passing, failing
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        verdict, passing, failing = _evaluate(model, test.expression, variable, cls)
        return _negate(verdict), failing, passing
    name_verdict = _name_test(model, test, variable, cls.name)
    if name_verdict is not None:
        return (TRUE, test, None) if name_verdict else (FALSE, None, test)
    verdict = _module_test(model, test, variable, cls)
    if verdict is not None:
        return verdict, None, None
    return (UNKNOWN if _mentions(model, test, variable) else FREE), None, None


def _mentions(model: SemanticModel, node: cst.CSTNode, variable: str) -> bool:
    """``node`` reads the module variable, or a name bound to its class name."""
    for name in model.nodes_within(node, cst.Name):
        if name.value == variable or _classname_source(model, name, variable) is not None:
            return True
    return isinstance(node, cst.Name) and (
        node.value == variable or _classname_source(model, node, variable) is not None
    )


# -- class-name tests -------------------------------------------------------------------------------


def _classname_source(model: SemanticModel, node: cst.BaseExpression, variable: str) -> str | None:
    """For an expression whose value is the variable's class name (possibly lower- or
    upper-cased), the case transform: "" / "lower" / "upper"; None otherwise."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and not node.args:
        if node.func.attr.value in ("lower", "upper"):
            inner = _classname_source(model, node.func.value, variable)
            return node.func.attr.value if inner is not None else None
        return None
    if isinstance(node, cst.Attribute) and node.attr.value == "__name__":
        owner = node.value
        if isinstance(owner, cst.Attribute) and owner.attr.value == "__class__" and _is_variable(owner.value, variable):
            return ""
        if (
            isinstance(owner, cst.Call)
            and model.is_builtin(owner.func, "type")
            and len(owner.args) == 1
            and _is_variable(owner.args[0].value, variable)
        ):
            return ""
        return None
    if isinstance(node, cst.Name) and model.enclosing(node, cst.FunctionDef) is not None and node.value != variable:
        value = single_assignment(model, node)
        if value is not None and not isinstance(value, cst.Name):
            return _classname_source(model, value, variable)
    return None


def _is_variable(node: cst.BaseExpression, variable: str) -> bool:
    return isinstance(node, cst.Name) and node.value == variable


def _transform(name: str, how: str) -> str:
    return name.lower() if how == "lower" else name.upper() if how == "upper" else name


def _strings(node: cst.BaseExpression) -> list[str] | None:
    """A string literal, or a tuple/list/set of them."""
    if isinstance(node, cst.SimpleString):
        value = string_value(node)
        return [value] if isinstance(value, str) else None
    if isinstance(node, (cst.Tuple, cst.List, cst.Set)):
        out: list[str] = []
        for element in node.elements:
            found = _strings(element.value) if not isinstance(element, cst.StarredElement) else None
            if found is None or len(found) != 1:
                return None
            out += found
        return out
    return None


def _name_test(model: SemanticModel, test: cst.BaseExpression, variable: str, name: str) -> bool | None:
    """The value of a test on the class name, for a class called ``name``; None when ``test``
    is not one we can read."""
    if isinstance(test, cst.Call) and isinstance(test.func, cst.Attribute):
        method = test.func.attr.value
        if method in ("startswith", "endswith") and len(test.args) == 1 and test.args[0].keyword is None:
            how = _classname_source(model, test.func.value, variable)
            words = _strings(test.args[0].value)
            if how is None or words is None:
                return None
            text = _transform(name, how)
            return any(text.startswith(w) if method == "startswith" else text.endswith(w) for w in words)
        return None
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    left, target = test.left, test.comparisons[0]
    operator, right = target.operator, target.comparator
    if isinstance(operator, (cst.In, cst.NotIn)):
        how = _classname_source(model, right, variable)
        words = _strings(left)
        if how is not None and words is not None and len(words) == 1:
            found = words[0] in _transform(name, how)
            return found if isinstance(operator, cst.In) else not found
        how = _classname_source(model, left, variable)
        words = _strings(right)
        if how is not None and words is not None and not isinstance(right, cst.SimpleString):
            found = _transform(name, how) in words
            return found if isinstance(operator, cst.In) else not found
        return None
    if isinstance(operator, (cst.Equal, cst.NotEqual)):
        for side, other in ((left, right), (right, left)):
            how = _classname_source(model, side, variable)
            words = _strings(other)
            if how is not None and words is not None and isinstance(other, cst.SimpleString):
                same = _transform(name, how) == words[0]
                if isinstance(operator, cst.Equal):
                    return same
                return not same
    # classname.find('Conv') != -1 and the other spellings
    if (
        isinstance(left, cst.Call)
        and isinstance(left.func, cst.Attribute)
        and left.func.attr.value in ("find", "rfind")
    ):
        how = _classname_source(model, left.func.value, variable)
        bound = integer_value(right)
        if how is None or bound is None or len(left.args) != 1:
            return None
        words = _strings(left.args[0].value)
        if words is None or len(words) != 1 or not isinstance(left.args[0].value, cst.SimpleString):
            return None
        index = _transform(name, how).find(words[0])
        compare = {
            cst.Equal: index == bound, cst.NotEqual: index != bound, cst.GreaterThan: index > bound,
            cst.GreaterThanEqual: index >= bound, cst.LessThan: index < bound, cst.LessThanEqual: index <= bound,
        }  # fmt: skip
        return compare.get(type(operator))
    return None


# -- tests on the module itself ---------------------------------------------------------------------


def _module_test(model: SemanticModel, test: cst.BaseExpression, variable: str, cls: ModuleClass) -> str | None:
    """isinstance / hasattr / getattr tests on the variable, for a module of class ``cls``."""
    if isinstance(test, cst.Call) and len(test.args) >= 2 and _is_variable(test.args[0].value, variable):
        if model.is_builtin(test.func, "isinstance"):
            return _isinstance(model, test.args[1].value, cls)
        if model.is_builtin(test.func, "hasattr") and isinstance(test.args[1].value, cst.SimpleString):
            attribute = string_value(test.args[1].value)
            lacks = _lacks(model, cls, attribute, frozenset()) if isinstance(attribute, str) else None
            return UNKNOWN if lacks is None else (FALSE if lacks else UNKNOWN)
    # getattr(m, 'weight', None) is not None
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        left, target = test.left, test.comparisons[0]
        if (
            isinstance(target.operator, cst.IsNot)
            and isinstance(target.comparator, cst.Name)
            and target.comparator.value == "None"
            and isinstance(left, cst.Call)
            and model.is_builtin(left.func, "getattr")
            and len(left.args) == 3
            and _is_variable(left.args[0].value, variable)
            and isinstance(left.args[1].value, cst.SimpleString)
        ):
            attribute = string_value(left.args[1].value)
            lacks = _lacks(model, cls, attribute, frozenset()) if isinstance(attribute, str) else None
            return FALSE if lacks else UNKNOWN
    return None


def _isinstance(model: SemanticModel, types: cst.BaseExpression, cls: ModuleClass) -> str:
    elements = [e.value for e in types.elements] if isinstance(types, cst.Tuple) else [types]
    verdict = FALSE
    for element in elements:
        qualified = model.qualified_name(element)
        if isinstance(element, cst.Name) and element.value in model.module_classes:
            if element.value in _ancestry(model, cls):
                return TRUE
        elif qualified in ("torch.nn.Module", "torch.nn.modules.module.Module"):
            return TRUE
        elif qualified and qualified.startswith("torch.nn."):
            if qualified in _torch_bases(model, cls):
                return TRUE
        else:
            verdict = UNKNOWN
    return verdict


def _ancestry(model: SemanticModel, cls: ModuleClass) -> set[str]:
    names = {cls.name}
    todo = [cls]
    while todo:
        current = todo.pop()
        for base in current.node.bases:
            if isinstance(base.value, cst.Name) and base.value.value in model.module_classes:
                if base.value.value not in names:
                    names.add(base.value.value)
                    todo.append(model.module_classes[base.value.value])
    return names


def _torch_bases(model: SemanticModel, cls: ModuleClass) -> set[str]:
    out: set[str] = set()
    for name in _ancestry(model, cls):
        for base in model.module_classes[name].node.bases:
            qualified = model.qualified_name(base.value)
            if qualified:
                out.add(qualified)
    return out


# -- whether the class has the attribute ------------------------------------------------------------


def _lacks(model: SemanticModel, cls: ModuleClass, attribute: str, seen: frozenset[str]) -> bool | None:
    """True when neither ``cls`` nor a base of it can have ``attribute``; None when unknown (a
    base from another file or a torch layer, dynamic attributes, a name built at run time)."""
    if cls.name in seen:
        return True
    for base in cls.node.bases:
        if base.keyword is not None:
            continue
        if isinstance(base.value, cst.Name) and base.value.value in model.module_classes:
            inherited = _lacks(model, model.module_classes[base.value.value], attribute, seen | {cls.name})
            if inherited is not True:
                return inherited
            continue
        if model.qualified_name(base.value) not in _PLAIN_BASES:
            return None
    body = cls.node.body
    if not isinstance(body, cst.IndentedBlock):
        return None
    for statement in body.body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value in (attribute, *_DYNAMIC):
            return False if statement.name.value == attribute else None
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                targets = _targets(small)
                if any(isinstance(t, cst.Name) and t.value == attribute for t in targets):
                    return False  # a class attribute
    for node in model.nodes_within(cls.node, cst.Attribute):
        if node.attr.value == "__dict__":
            return None
        if node.attr.value == attribute and _is_variable(node.value, "self") and _assigned(model, node):
            return False
    for call in model.nodes_within(cls.node, cst.Call):
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in _REGISTER and _is_variable(func.value, "self"):
            key = call.args[0].value if call.args else None
        elif model.is_builtin(func, "setattr") and call.args and _is_variable(call.args[0].value, "self"):
            key = call.args[1].value if len(call.args) > 1 else None
        else:
            continue
        if not isinstance(key, cst.SimpleString):
            return None  # a name built at run time may be the attribute
        if string_value(key) == attribute:
            return False
    return True


def _targets(small: cst.BaseSmallStatement) -> list[cst.BaseExpression]:
    if isinstance(small, cst.Assign):
        out: list[cst.BaseExpression] = []
        for target in small.targets:
            out += flatten_targets(target.target)
        return out
    if isinstance(small, (cst.AnnAssign, cst.AugAssign)):
        return flatten_targets(small.target)
    return []


def _assigned(model: SemanticModel, node: cst.Attribute) -> bool:
    """``self.<attr> = ...`` (also in a tuple target, annotated or augmented)."""
    probe: cst.CSTNode = node
    while True:
        parent = model.parent.get(probe)
        if isinstance(parent, (cst.Element, cst.Tuple, cst.List, cst.StarredElement)):
            probe = parent
            continue
        if isinstance(parent, cst.AssignTarget):
            return True
        if isinstance(parent, (cst.AnnAssign, cst.AugAssign)) and parent.target is probe:
            return True
        return isinstance(parent, (cst.For, cst.CompFor)) and parent.target is probe


# -- whether the init reaches the class -------------------------------------------------------------


@dataclass
class _Reach:
    via: cst.CSTNode | None  # the `.apply` call or loop that reaches it; None: only defined here
    receiver: str | None  # the model whose tree contains it


def _reach(model: SemanticModel, site: InitSite, holder: cst.CSTNode, cls: ModuleClass) -> _Reach | None:
    """How the init reaches ``cls``: through a model of this file whose tree contains it; else,
    when the models it is applied to are not all known, through the class being defined here.
    None when every model it reaches is fully known and none contains the class."""
    receivers, complete = _receivers(model, holder)
    for via, receiver in receivers:
        if receiver is not None and cls.name in _tree(receiver):
            return _Reach(via, _receiver_name(receiver))
    if complete and all(receiver is not None and _known(model, receiver) for _, receiver in receivers):
        return None
    return _Reach(None, None)


def _receiver_name(receiver: ModuleClass | Layer) -> str:
    return receiver.name if isinstance(receiver, ModuleClass) else f"self.{receiver.path}"


def _tree(receiver: ModuleClass | Layer) -> set[str]:
    layers = receiver.all_layers() if isinstance(receiver, ModuleClass) else receiver.walk()
    names = {receiver.name} if isinstance(receiver, ModuleClass) else set()
    for layer in layers:
        if layer.custom is not None:
            names.add(layer.custom.name)
    return names


def _known(model: SemanticModel, receiver: ModuleClass | Layer) -> bool:
    if isinstance(receiver, ModuleClass):
        return fully_known(model, receiver)
    if receiver.custom is not None:
        return fully_known(model, receiver.custom)
    return receiver.kind is not None and receiver.kind.category != "container"


def _receivers(
    model: SemanticModel, holder: cst.CSTNode
) -> tuple[list[tuple[cst.CSTNode, ModuleClass | Layer | None]], bool]:
    """The models the function or loop reaches, each with the call that reaches it (None for
    one we cannot name), and whether that list is complete."""
    if isinstance(holder, cst.For):
        iterable = holder.iter
        if (
            isinstance(iterable, cst.Call)
            and isinstance(iterable.func, cst.Attribute)
            and iterable.func.attr.value in _ITERATORS
        ):
            return [(holder, _receiver(model, iterable.func.value, holder))], True
        return [], False
    out: list[tuple[cst.CSTNode, ModuleClass | Layer | None]] = []
    for call in model.nodes(cst.Call):
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "apply" and len(call.args) == 1):
            continue
        if referenced_function(model, call.args[0].value, call) is holder:
            out.append((call, _receiver(model, func.value, call)))
    complete = bool(out) and not _escapes(model, holder)
    return out, complete


def _receiver(model: SemanticModel, node: cst.BaseExpression, context: cst.CSTNode) -> ModuleClass | Layer | None:
    if isinstance(node, cst.Name) and node.value == "self":
        return model.class_of(context)
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        owner = model.class_of(context)
        return owner.layers.get(node.attr.value) if owner is not None else None
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
        return model.module_classes.get(node.func.value)
    if isinstance(node, cst.Name):
        value = single_assignment(model, node)
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
            return model.module_classes.get(value.func.value)
    return None


def _escapes(model: SemanticModel, holder: cst.CSTNode) -> bool:
    """Other code may apply the function too: a public module-level function, a method that
    libraries call on every submodule, or a function named anywhere but in `.apply(...)`."""
    if not isinstance(holder, cst.FunctionDef):
        return False
    name = holder.name.value
    if name in APPLIED_BY_CONVENTION:
        return True
    if model.enclosing(holder, cst.ClassDef) is None and not name.startswith("_"):
        return True
    for node in model.nodes(cst.Name):
        if node.value != name or node is holder.name:
            continue
        parent = model.parent.get(node)
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            parent = model.parent.get(parent)
        call = model.parent.get(parent) if isinstance(parent, cst.Arg) else None
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == "apply":
            continue
        return True
    return False


# -- the report -------------------------------------------------------------------------------------


def _report(
    model: SemanticModel, site: InitSite, test: cst.BaseExpression, cls: ModuleClass, attribute: str, reach: _Reach
) -> Report:
    line = model.range_of(cls.node).start.line
    init = model.code(site.call)
    init = init if len(init) <= 60 and "\n" not in init else init[:57] + "..."
    test_code = model.code(test)
    test_code = test_code if len(test_code) <= 60 and "\n" not in test_code else test_code[:57] + "..."
    related: list[tuple[cst.CSTNode, str]] = [(cls.node.name, f"`{cls.name}` has no `.{attribute}`")]
    if reach.via is not None:
        via_line = model.range_of(reach.via).start.line
        how = f"it reaches `{cls.name}` inside `{reach.receiver}` (line {via_line})"
        related.append((reach.via, f"reaches `{cls.name}` here"))
    else:
        how = (
            f"it reaches one whenever it is applied to a model containing a `{cls.name}` "
            "(this file does not show every model it is applied to)"
        )
    related.append((site.call, f"the init of `.{attribute}`"))
    return Report(
        test,
        f"`{test_code}` lets `{cls.name}` (defined at line {line}) through, but it has no `.{attribute}`: "
        f"`{init}` raises AttributeError there; {how}. Match the intended layers with `isinstance`, "
        f"or guard the init with `hasattr({model.code(site.target.value)}, {attribute!r})`",  # type: ignore[attr-defined]
        related=related,
    )
