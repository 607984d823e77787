from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule, src
from initlint.rules.triggers import INIT_TRIGGER
from initlint.semantic import SemanticModel
from initlint.semantic.values import string_value

# Expressions that are a Python int whatever tensor they read: `w.shape[1]`, `w.size(1)`, `w.dim()`.
_INT_METHODS = frozenset({"dim", "ndimension", "numel", "nelement"})
_SIZE_ATTRIBUTES = frozenset({"shape"})


@dataclass(frozen=True)
class _Dead:
    """An atom of a condition whose value is known: ``value`` (False / True), or it raises."""

    node: cst.BaseExpression
    value: bool | None  # None: it raises TypeError when evaluated
    why: str


class InitConditionNeverTrue(Rule):
    code = "IL416"
    name = "init-condition-never-true"
    summary = (
        "An init branch's condition that can never hold (`w.shape[1] == torch.Size([1])`, "
        "`type(m) == 'Linear'`) or raises (`isinstance(m, 'Conv2d')`)"
    )
    severity = "error"
    literals = ("==", "!=", " is ", " in ", "isinstance")
    # A class or its name (`__class__`, `__name__`), `isinstance` with a string on its line, or a comparison on the same
    # line as an int/Size/type expression. A comparison split across lines from its int or type
    # operand is not seen (rare; gating on any `==` parsed a fifth more files for this rule alone).
    # A finding names an init site: an nn.init reference (or an in-place init) is in the text.
    triggers = (
        INIT_TRIGGER,
        r"__name__|__class__|isinstance\s*\([^\n]*['\"]"
        r"|(?:\bshape\b|\b(?:size|dim|ndimension|numel|nelement|type)\s*\()[^\n]*(?:[=!]=|\bis\b|\bin\b)"
        r"|(?:[=!]=|\bis\b|\bin\b)[^\n]*(?:\bshape\b|\b(?:size|dim|ndimension|numel|nelement|type)\s*\()",
    )
    uses_init_aliases = True

    VALID = (
        src("""
            import torch
            import torch.nn as nn
            def init(m):
                if m.weight.shape[1] == 1:
                    nn.init.ones_(m.weight)
        """),
        src("""
            import torch
            import torch.nn as nn
            def init(m):
                if m.weight.shape[1:] == torch.Size([1]):
                    nn.init.ones_(m.weight)
        """),
        src("""
            import torch.nn as nn
            def init(m):
                if type(m).__name__ == 'Linear':
                    nn.init.zeros_(m.bias)
        """),
        src("""
            import torch.nn as nn
            def init(m):
                if isinstance(m, (nn.Linear, nn.Conv2d)):
                    nn.init.zeros_(m.bias)
        """),
        # not init code
        src("""
            import torch.nn as nn
            def describe(m):
                if type(m) == 'Linear':
                    print(m)
        """),
        # a rebound name: `type` is not the builtin
        src("""
            import torch.nn as nn
            def init(m, type):
                if type(m) == 'Linear':
                    nn.init.zeros_(m.bias)
        """),
        # the dead comparison does not guard the init
        src("""
            import torch.nn as nn
            def init(m):
                if type(m) == 'Linear':
                    print('linear')
                nn.init.zeros_(m.bias)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch
                import torch.nn as nn
                def init(m):
                    if isinstance(m, nn.Conv2d) and m.weight.shape[1] == torch.Size([1]):
                        nn.init.dirac_(m.weight)
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                def init(m):
                    if isinstance(m, 'Conv2d'):
                        nn.init.kaiming_normal_(m.weight)
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                def init(m):
                    if type(m) == 'Linear':
                        nn.init.zeros_(m.bias)
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                def init(m):
                    classname = m.__class__.__name__
                    if classname == nn.Linear:
                        m.weight.data.normal_(0.0, 0.02)
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                def init(m):
                    if m.__class__.__name__ in ('nn.Linear', 'nn.Conv2d'):
                        m.weight.data.normal_(0.0, 0.02)
            """)
        ),
        # an early exit that always runs
        Invalid(
            src("""
                import torch.nn as nn
                def init(m):
                    if type(m) != 'Linear':
                        return
                    nn.init.zeros_(m.bias)
            """)
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        dead = [d for c in model.nodes(cst.Comparison) if (d := _dead_comparison(model, c)) is not None]
        dead += [d for c in model.nodes(cst.Call) if (d := _raising_isinstance(model, c)) is not None]
        if not dead:
            return
        sites = [site.call for site in model.init_sites]
        for item in dead:
            report = _report(model, item, sites)
            if report is not None:
                yield report


# -- which comparisons are decided ------------------------------------------------------------------


def _dead_comparison(model: SemanticModel, comparison: cst.Comparison) -> _Dead | None:
    if len(comparison.comparisons) != 1:
        return None
    target = comparison.comparisons[0]
    operator, left, right = target.operator, comparison.left, target.comparator
    equal = isinstance(operator, (cst.Equal, cst.Is))
    unequal = isinstance(operator, (cst.NotEqual, cst.IsNot))
    if isinstance(operator, (cst.In, cst.NotIn)):
        if not isinstance(right, (cst.Tuple, cst.List, cst.Set)) or not right.elements:
            return None
        if any(isinstance(e, cst.StarredElement) for e in right.elements):
            return None
        why = _never_equal(model, left, [e.value for e in right.elements])
        if why is None:
            return None
        return _Dead(comparison, isinstance(operator, cst.NotIn), why)
    if not (equal or unequal):
        return None
    why = _never_equal(model, left, [right]) or _never_equal(model, right, [left])
    if why is None:
        return None
    return _Dead(comparison, unequal, why)


def _never_equal(model: SemanticModel, left: cst.BaseExpression, others: list[cst.BaseExpression]) -> str | None:
    """Why ``left`` equals none of ``others`` whatever the values: their types never compare equal."""
    kind = _kind(model, left)
    kinds = [_kind(model, other) for other in others]
    if kind is None and isinstance(left, cst.Name) and all(k in ("class", "dotted", None) for k in kinds):
        # the costlier questions only where they can decide: `classname == nn.Linear`
        kinds = [k or ("class" if _is_class(model, o) else None) for k, o in zip(kinds, others, strict=True)]
        if all(k in ("class", "dotted") for k in kinds) and _classname_variable(model, left):
            kind = "classname"
    if kind is None:
        return None
    if kind in ("type", "classname"):
        kinds = [k or ("class" if _is_class(model, o) else None) for k, o in zip(kinds, others, strict=True)]
    if kind == "int" and all(k in ("sequence", "size") for k in kinds):
        what = "a `torch.Size`" if "size" in kinds else "a tuple/list"
        return f"`{model.code(left)}` is an int and {what} never equals an int"
    if kind == "size" and all(k == "number" for k in kinds):
        return f"`{model.code(left)}` is a `torch.Size` (a tuple), which never equals a number"
    if kind == "type" and all(k in ("string", "dotted") for k in kinds):
        return f"`{model.code(left)}` is a class, which never equals a string"
    if kind == "classname" and all(k in ("class", "dotted") for k in kinds):
        if all(k == "dotted" for k in kinds):
            return f"`{model.code(left)}` is a bare class name, which never contains a dot"
        return f"`{model.code(left)}` is a string, which never equals a class"
    return None


def _kind(model: SemanticModel, node: cst.BaseExpression) -> str | None:
    """int / size / sequence / number / type / classname / string / dotted, or None (the cheap
    questions; a class and a class-name variable are asked only where they decide)."""
    if isinstance(node, cst.Subscript) and _is_size(model, node.value) and _integer_index(node):
        return "int"
    if isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Attribute) and _tensor_like(model, func.value):
            method = func.attr.value
            if method == "size" and len(node.args) == 1 and _integer(node.args[0]):
                return "int"
            if method in _INT_METHODS and not node.args:
                return "int"
        if model.is_builtin(func, "len") and len(node.args) == 1 and not node.args[0].star:
            return "int"
        if model.qualified_name(func) == "torch.Size":
            return "size"
        if _is_type_call(model, node):
            return "type"
    if isinstance(node, cst.Attribute):
        if node.attr.value == "ndim" and _tensor_like(model, node.value):
            return "int"
        if node.attr.value == "__class__":
            return "type"
        if node.attr.value == "__name__" and _is_type_of(model, node.value):
            return "classname"
    if _is_size(model, node):
        return "size"
    if isinstance(node, (cst.Tuple, cst.List)):
        return "sequence"
    if isinstance(node, (cst.Integer, cst.Float)):
        return "number"
    if isinstance(node, cst.SimpleString):
        value = string_value(node)
        if not isinstance(value, str):
            return None
        return "dotted" if "." in value else "string"
    return None


def _is_size(model: SemanticModel, node: cst.BaseExpression) -> bool:
    """``w.shape`` / ``w.size()`` of a tensor: a torch.Size."""
    if isinstance(node, cst.Attribute) and node.attr.value in _SIZE_ATTRIBUTES:
        return _tensor_like(model, node.value)
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "size"
        and not node.args
        and _tensor_like(model, node.func.value)
    )


def _tensor_like(model: SemanticModel, node: cst.BaseExpression) -> bool:
    """A parameter of a module (``m.weight``, ``m.bias.data``, ``self.<Parameter>``) or a
    tensor an init call of the same function fills: its ``shape`` is a torch.Size of ints (an
    object of another library could give ``shape`` any meaning)."""
    if isinstance(node, cst.Attribute):
        if node.attr.value == "data":
            return _tensor_like(model, node.value)
        attr = node.attr.value
        if attr in ("weight", "bias") or attr.startswith(("weight_", "bias_")):
            return True
        owner = model.class_of(node)
        if owner is not None and isinstance(node.value, cst.Name) and node.value.value == "self":
            return attr in owner.parameters
        return False
    if isinstance(node, cst.Name):
        function = model.enclosing(node, cst.FunctionDef)
        return function is not None and any(
            isinstance(site.target, cst.Name)
            and site.target.value == node.value
            and model.enclosing(site.call, cst.FunctionDef) is function
            for site in model.init_sites
        )
    return False


def _integer(arg: cst.Arg) -> bool:
    if arg.keyword is not None or arg.star:
        return False
    value = arg.value
    if isinstance(value, cst.UnaryOperation) and isinstance(value.operator, cst.Minus):
        value = value.expression
    return isinstance(value, cst.Integer)


def _integer_index(node: cst.Subscript) -> bool:
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return False
    index = node.slice[0].slice
    return index.star is None and _integer(cst.Arg(index.value))


def _is_type_call(model: SemanticModel, node: cst.BaseExpression) -> bool:
    return (
        isinstance(node, cst.Call)
        and model.is_builtin(node.func, "type")
        and len(node.args) == 1
        and node.args[0].keyword is None
        and not node.args[0].star
    )


def _is_type_of(model: SemanticModel, node: cst.BaseExpression) -> bool:
    return _is_type_call(model, node) or (isinstance(node, cst.Attribute) and node.attr.value == "__class__")


def _classname_variable(model: SemanticModel, name: cst.Name) -> bool:
    """A local assigned once, from ``m.__class__.__name__`` / ``type(m).__name__``."""
    function = model.enclosing(name, cst.FunctionDef)
    if function is None:
        return False
    values = []
    for assign in model.nodes_within(function, cst.Assign):
        for target in assign.targets:
            if isinstance(target.target, cst.Name) and target.target.value == name.value:
                values.append(assign.value)
    for node_type in (cst.AugAssign, cst.AnnAssign, cst.For, cst.NamedExpr):
        for node in model.nodes_within(function, node_type):
            if isinstance(node.target, cst.Name) and node.target.value == name.value:
                return False
    if any(p.name.value == name.value for p in model.nodes_within(function, cst.Param)):
        return False
    if len(values) != 1:
        return False
    value = values[0]
    return isinstance(value, cst.Attribute) and value.attr.value == "__name__" and _is_type_of(model, value.value)


def _is_class(model: SemanticModel, node: cst.BaseExpression) -> bool:
    """A torch.nn class (``nn.Linear``) or a class defined at the top of this file."""
    qualified = model.qualified_name(node)
    if qualified is not None and qualified.startswith("torch.nn.") and not qualified.startswith("torch.nn.init."):
        return qualified.rsplit(".", 1)[1][:1].isupper()
    if isinstance(node, cst.Name) and node.value not in model.imports.bindings:
        definitions = [c for c in model.nodes(cst.ClassDef) if c.name.value == node.value]
        if len(definitions) == 1 and model.enclosing(definitions[0], cst.FunctionDef) is None:
            return not any(
                isinstance(t.target, cst.Name) and t.target.value == node.value
                for a in model.nodes(cst.Assign)
                for t in a.targets
            )
    return False


def _raising_isinstance(model: SemanticModel, call: cst.Call) -> _Dead | None:
    """``isinstance(m, "Conv2d")`` / ``isinstance(m, (nn.Linear, "Conv2d"))``: TypeError."""
    if not model.is_builtin(call.func, "isinstance") or len(call.args) != 2:
        return None
    if any(a.keyword is not None or a.star for a in call.args):
        return None
    spec = call.args[1].value
    elements = [e for e in spec.elements] if isinstance(spec, cst.Tuple) else None
    if elements is None:
        if not _is_string(spec):
            return None
        return _Dead(call, None, f"`{model.code(spec)}` is a string, not a class")
    before: list[str] = []
    for element in elements:
        if isinstance(element, cst.StarredElement):
            return None
        if _is_string(element.value):
            if before:
                why = (
                    f"`{model.code(element.value)}` in the tuple is a string, not a class: "
                    f"every module that is not a {' or '.join(f'`{b}`' for b in before)} reaches it"
                )
            else:
                why = f"`{model.code(element.value)}` is a string, not a class"
            return _Dead(call, None, why)
        before.append(model.code(element.value))
    return None


def _is_string(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString))


# -- does it decide an init branch ----------------------------------------------------------------


def _report(model: SemanticModel, dead: _Dead, sites: list[cst.Call]) -> Report | None:
    guarded = _guarded(model, dead.node)
    if guarded is None:
        return None
    branch, test = guarded
    value = _value(test, dead)
    runs = [s for s in sites if _inside(model, s, branch)]
    if isinstance(branch, cst.If) and _exits(branch):
        # `if <test>: return` before the init: the init runs only when the test is false
        function = model.enclosing(branch, cst.FunctionDef)
        after = [s for s in sites if model.enclosing(s, cst.FunctionDef) is function and model.precedes(branch, s)]
        if not after:
            return None
        init_line = model.range_of(after[0]).start.line
        if dead.value is None:
            consequence = f"the init at line {init_line} is never reached"
        elif value is True:
            consequence = f"the function always exits here: the init at line {init_line} never runs"
        elif value is False:
            consequence = "the exit never happens: the init runs for every module"
        else:
            consequence = "this part of the exit condition never decides anything"
        return _make(model, dead, consequence, after[0])
    body, orelse = _branches(branch)
    in_body = [s for s in runs if _inside(model, s, body)]
    in_else = [s for s in runs if orelse is not None and _inside(model, s, orelse)]
    if not in_body and not in_else:
        return None
    if dead.value is None:
        site = (in_body or in_else)[0]
        return _make(model, dead, f"the init at line {model.range_of(site).start.line} is never reached", site)
    if value is False and in_body:
        consequence = f"the branch never runs: the init at line {model.range_of(in_body[0]).start.line} is dead code"
        return _make(model, dead, consequence, in_body[0])
    if value is True and in_else:
        consequence = (
            f"the `else` branch never runs: the init at line {model.range_of(in_else[0]).start.line} is dead code"
        )
        return _make(model, dead, consequence, in_else[0])
    if value is True and in_body:
        consequence = "the condition is always true: the init runs for every module it sees, unguarded"
        return _make(model, dead, consequence, in_body[0])
    if value is None and in_body and dead.value is False:
        consequence = (
            "this alternative never holds: the modules it was written for never reach the init at "
            f"line {model.range_of(in_body[0]).start.line}"
        )
        return _make(model, dead, consequence, in_body[0])
    return None


def _make(model: SemanticModel, dead: _Dead, consequence: str, site: cst.Call) -> Report:
    code = model.code(dead.node)
    if dead.value is None:
        message = (
            f"`{code}` raises TypeError (isinstance() arg 2 must be a type, a tuple of types, or a union): "
            f"{dead.why}; this is not a skipped branch but a crash the first time it runs, and {consequence}"
        )
    else:
        message = f"`{code}` is always {dead.value}: {dead.why}; {consequence}"
    return Report(dead.node, message, related=[(site, "the init it guards")])


def _guarded(model: SemanticModel, node: cst.CSTNode) -> tuple[cst.CSTNode, cst.BaseExpression] | None:
    """The ``if`` (statement or expression) whose test holds ``node`` through ``and`` / ``or`` /
    ``not``, with that test."""
    child: cst.CSTNode = node
    for ancestor in model.ancestors(node):
        if isinstance(ancestor, (cst.If, cst.IfExp)):
            return (ancestor, ancestor.test) if child is ancestor.test else None
        if isinstance(ancestor, cst.BooleanOperation) or (
            isinstance(ancestor, cst.UnaryOperation) and isinstance(ancestor.operator, cst.Not)
        ):
            child = ancestor
            continue
        return None
    return None


def _value(test: cst.BaseExpression, dead: _Dead) -> bool | None:
    """The test's value when ``dead`` decides it (None: it does not, or it raises)."""
    if test is dead.node:
        return dead.value
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = _value(test.expression, dead)
        return None if inner is None else not inner
    if isinstance(test, cst.BooleanOperation):
        left, right = _value(test.left, dead), _value(test.right, dead)
        if isinstance(test.operator, cst.And):
            return False if False in (left, right) else None
        return True if True in (left, right) else None
    return None


def _branches(node: cst.CSTNode) -> tuple[cst.CSTNode, cst.CSTNode | None]:
    if isinstance(node, cst.IfExp):
        return node.body, node.orelse
    assert isinstance(node, cst.If)
    return node.body, node.orelse


def _inside(model: SemanticModel, node: cst.CSTNode, holder: cst.CSTNode) -> bool:
    return any(ancestor is holder for ancestor in model.ancestors(node))


def _exits(statement: cst.If) -> bool:
    """``if <test>: return`` (or continue / raise / break) with no else."""
    if statement.orelse is not None:
        return False
    body = statement.body
    lines = body.body if isinstance(body, cst.IndentedBlock) else [body]
    if len(lines) != 1 or not isinstance(lines[0], (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
        return False
    smalls = lines[0].body
    return len(smalls) == 1 and isinstance(smalls[0], (cst.Return, cst.Continue, cst.Raise, cst.Break))
