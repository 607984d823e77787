from __future__ import annotations

import re
from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import FixSpec, Invalid, Report, Rule, src
from initlint.semantic import SemanticModel
from initlint.semantic.effects import parameter_tensor, self_parameter, under_no_grad
from initlint.semantic.tensors import PARAMETER_CLASSES

# torch functions that build a new tensor shaped after their argument (`torch.full(p.size(), v)`,
# `torch.zeros_like(p)`): as a statement they fill nothing.
_CREATION = frozenset(
    {"full", "zeros", "ones", "empty", "rand", "randn", "randint", "normal", "full_like", "zeros_like",
     "ones_like", "empty_like", "rand_like", "randn_like", "randint_like"}
)  # fmt: skip
# torch functions computing a new tensor from their first argument (`torch.clamp(w, -1, 1)`).
# Names that are also common methods of other objects (`x.add`, `logger.log`) are left out:
# the trigger could not tell `torch.add(...)` from `seen.add(...)` on a line.
_MATH = frozenset(
    {"clamp", "clip", "clamp_min", "clamp_max", "renorm", "masked_fill", "tril", "triu", "sigmoid", "tanh"}
)
# Tensor methods that return a new tensor and have an in-place twin with the same signature
# (`clamp` / `clamp_`): as a statement they change nothing.
_OUT_OF_PLACE = frozenset(
    {"clamp", "clip", "clamp_min", "clamp_max", "mul", "multiply", "div", "divide", "true_divide", "sub",
     "subtract", "add", "abs", "sign", "neg", "sqrt", "rsqrt", "exp", "log", "pow", "square", "reciprocal",
     "sigmoid", "tanh", "relu", "floor", "ceil", "round", "trunc", "frac", "fmod", "remainder", "renorm", "lerp",
     "addcmul", "addcdiv", "masked_fill", "index_fill", "index_add", "index_copy", "masked_scatter", "tril",
     "triu", "detach"}
)  # fmt: skip
# Names also common on other objects (`set.add`, `logger.log`): only on `.data` / `.weight` /
# `.bias` of a tensor we can prove.
_AMBIGUOUS = frozenset({"add", "log"})
# Conversions that return a copy and have no in-place form (a module's `.cuda()` is in place).
_CONVERSIONS = frozenset({"to", "cuda", "cpu", "float", "half", "double", "bfloat16"})
_AUGMENTABLE = {"+": "+=", "-": "-=", "*": "*=", "/": "/="}

_NAMES = "|".join(sorted(_CREATION | _MATH | {"Parameter"}))
_VALUE_METHODS = "|".join(sorted(_OUT_OF_PLACE - _AMBIGUOUS))
_STRICT_METHODS = "|".join(sorted(_AMBIGUOUS | _CONVERSIONS))
# A finding's statement starts a line whose first line matches one of these, and the line
# before it does not leave a bracket open (its last character is not `([{,\` nor other
# whitespace). The rule checks both on the text, so that the trigger (some line meeting them)
# is a necessary condition of a finding. Lines are split at "\n" only, as the regex does.
_CHAIN = r"[\w.]+(?:\[[^\n\]]*\][\w.]*)*"
_CALL = rf"[ \t]*(?:\w+[ \t]*\.[ \t]*)+(?:{_NAMES})[ \t]*\("
_METHOD = rf"[ \t]*{_CHAIN}[ \t]*\.[ \t]*(?:{_VALUE_METHODS})[ \t]*\("
# `add`, `log` and the conversions only on a `.data` / `.weight` / `.bias`.
_STRICT = rf"[ \t]*{_CHAIN}\.(?:data|weight\w*|bias\w*)[ \t]*\.[ \t]*(?:{_STRICT_METHODS})[ \t]*\("
_PARAMETER_END = r"\.(?:weight\w*|bias\w*|data)[ \t]*(?:[-+/@%]|\*\*?)(?!=)"
# Not a statement whose value is something else: `return`/`yield`/`del`... or an assignment
# (`x = self.weight * h`, the forward of every RMSNorm), whose target is made of names, dots,
# commas and simple indexes.
_NOT_AN_OPERATION = (
    r"(?!(?:return|yield|raise|assert|del|lambda|await|not)\b)(?![\w.\[\] ,]*(?:[-+*/%@&|^]|//|\*\*|>>|<<)?=(?!=))"
)
_OPERATION = rf"[ \t]*{_NOT_AN_OPERATION}\w[^\n]*?{_PARAMETER_END}"
_LINES = tuple(re.compile(pattern) for pattern in (_CALL, _METHOD, _STRICT, _OPERATION))
_CALL_LINE, _METHOD_LINE, _STRICT_LINE, _OPERATION_LINE = _LINES
_CLOSED = r"(?:\A|[^([{,\\\s]|\n)[ \t\r]*\n"  # the line before ends a statement
# Every matching line holds one of these, which begin with a literal `.` (fast to find): the
# trigger finds them, then tries the patterns on their line only.
_ANCHORS = (
    re.compile(rf"\.[ \t]*(?:{_VALUE_METHODS}|{_STRICT_METHODS}|{_NAMES})[ \t]*\("),
    re.compile(_PARAMETER_END),
)


def _previous_closed(text: str, newline: int) -> bool:
    """The line that ends at ``newline`` (an index of "\\n") is blank or ends with a character
    that leaves no bracket open: what ``_CLOSED`` says."""
    previous = text[text.rfind("\n", 0, newline) + 1 : newline].rstrip(" \t\r")
    return not previous or not (previous[-1] in "([{,\\" or previous[-1].isspace())


class _StatementTrigger:
    """``InitResultDiscarded.triggers[0]``, searched fast: the regex answered from the lines
    that hold an anchor (tests check the two agree)."""

    pattern = rf"{_CLOSED}(?:{_CALL}|{_METHOD}|{_STRICT}|{_OPERATION})"

    def search(self, text: str) -> bool | None:
        checked = -1
        for anchor in _ANCHORS:
            for match in anchor.finditer(text):
                newline = text.rfind("\n", 0, match.start())
                if newline < 0 or newline == checked:
                    continue  # line 1 holds no finding; a line is tried once
                checked = newline
                if not _previous_closed(text, newline):
                    continue
                end = text.find("\n", match.end())
                line = text[newline + 1 : end if end >= 0 else len(text)]
                if any(pattern.match(line) for pattern in _LINES):
                    return True
        return None


_TRIGGER = _StatementTrigger()


class InitResultDiscarded(Rule):
    code = "IL412"
    name = "init-result-discarded"
    summary = "An out-of-place fill or op on a parameter as a statement (`torch.full(p.size(), v)`, `w.clamp(-1, 1)`)"
    severity = "error"
    fix_applicability = "unsafe"
    literals = ("weight", "bias", "data", "Parameter", "parameters")
    triggers = (_TRIGGER.pattern,)

    @classmethod
    def compiled_triggers(cls) -> tuple[_StatementTrigger]:  # type: ignore[override]
        return (_TRIGGER,)

    VALID = (
        src("""
            import torch
            import torch.nn as nn
            class Gate(nn.Module):
                def __init__(self, n):
                    super().__init__()
                    self.l2 = nn.Parameter(torch.empty(n, n))
                    nn.init.constant_(self.l2, 1 / n)
        """),
        # the result is used
        src("""
            import torch
            for p in model.parameters():
                p.data = p.data.clamp(-0.01, 0.01)
        """),
        src("""
            import torch
            for p in model.parameters():
                p.data.clamp_(-0.01, 0.01)
        """),
        # a module's .cuda() moves it in place
        src("""
            import torch
            class Net(torch.nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = torch.nn.Linear(2, 2)
                    self.fc.cuda()
        """),
        # nothing shaped after a parameter: no evidence of what it was meant to fill
        src("""
            import torch
            def warm_up():
                torch.randn(1024, 1024)
        """),
        # `add` on something that may not be a tensor (a set)
        src("""
            import torch
            def track(m):
                m.weight.add(3)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch
                import torch.nn as nn
                class Gate(nn.Module):
                    def __init__(self, n):
                        super().__init__()
                        self.l2 = nn.Parameter(torch.zeros(n, n))
                        torch.full(self.l2.size(), 1 / n)
            """),
            src("""
                import torch
                import torch.nn as nn
                class Gate(nn.Module):
                    def __init__(self, n):
                        super().__init__()
                        self.l2 = nn.Parameter(torch.zeros(n, n))
                        nn.init.constant_(self.l2, 1 / n)
            """),
            unsafe=True,
        ),
        Invalid(
            src("""
                import torch
                for p in critic.parameters():
                    p.data.clamp(-0.01, 0.01)
            """),
            src("""
                import torch
                for p in critic.parameters():
                    p.data.clamp_(-0.01, 0.01)
            """),
            unsafe=True,
        ),
        # not under no_grad: the in-place form would raise on a leaf that requires grad: no fix
        Invalid(
            src("""
                import torch
                def shrink(m):
                    m.weight.mul(0.1)
            """)
        ),
        Invalid(
            src("""
                import torch
                def init(m):
                    torch.zeros_like(m.bias)
            """),
            src("""
                import torch
                def init(m):
                    torch.nn.init.zeros_(m.bias)
            """),
            unsafe=True,
        ),
        Invalid(
            src("""
                import torch
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(2, 2)
                        self.fc.weight.data * 0.1
            """),
            src("""
                import torch
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(2, 2)
                        self.fc.weight.data *= 0.1
            """),
            unsafe=True,
        ),
        Invalid(
            src("""
                import torch
                import torch.nn as nn
                def build(n):
                    nn.Parameter(torch.zeros(n))
            """)
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for expression in model.nodes(cst.Expr):
            line = model.parent.get(expression)
            value = expression.value
            if not (isinstance(line, cst.SimpleStatementLine) and line.body[0] is expression) or _parenthesized(value):
                continue
            if isinstance(value, cst.Call):
                report = self._call(model, expression, value)
            elif isinstance(value, cst.BinaryOperation):
                report = self._operation(model, expression, value)
            else:
                continue
            if report is not None:
                yield report

    # -- torch.full(p.size(), v) / p.data.clamp(-1, 1) / nn.Parameter(...) ---------------------------
    def _call(self, model: SemanticModel, statement: cst.Expr, call: cst.Call) -> Report | None:
        if any(arg.keyword is not None and arg.keyword.value == "out" for arg in call.args):
            return None
        qualified = model.qualified_name(call.func)
        if qualified in PARAMETER_CLASSES:
            if not isinstance(call.func, cst.Attribute) or not _starts_line(model, call, _CALL_LINE):
                return None
            return Report(
                call,
                f"`{_short(model.code(call))}` builds a parameter and the statement drops it: it is registered "
                f"on no module and never trained; assign it (`self.<name> = {_short(model.code(call))}`)",
            )
        if qualified is not None:
            if not isinstance(call.func, cst.Attribute):
                return None  # `from torch import full; full(...)`: not in the trigger's shape
            head, _, name = qualified.rpartition(".")
            if head != "torch" or not _starts_line(model, call, _CALL_LINE):
                return None
            if name in _CREATION:
                return self._creation(model, call, name)
            if name in _MATH:
                return self._math(model, call, name)
            return None
        func = call.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in (_OUT_OF_PLACE | _CONVERSIONS):
            return None
        method = func.attr.value
        strict = method in _AMBIGUOUS or method in _CONVERSIONS
        shape = _STRICT_LINE if strict else _METHOD_LINE
        if not parameter_tensor(model, func.value, strict=strict) or not _starts_line(model, call, shape):
            return None
        receiver = _short(model.code(func.value))
        if method in _CONVERSIONS:
            message = (
                f"`{_short(model.code(call))}` returns a converted copy of `{receiver}` and the statement drops it: "
                f"`{receiver}` keeps its device and dtype (tensor conversions are not in place, unlike a module's); "
                f"convert the module (`module.{method}(...)`) or assign the result"
            )
            return Report(call, message)
        if method == "detach":
            message = (
                f"`{_short(model.code(call))}` returns a detached copy and the statement drops it: `{receiver}` "
                f"still requires grad and keeps training; use `{receiver}.requires_grad_(False)`"
            )
            return Report(call, message)
        allowed = _in_place_allowed(model, func.value, call)
        message = (
            f"`{_short(model.code(call))}` returns a new tensor and the statement drops it: `{receiver}` is "
            f"unchanged (`{method}` is not in place); use `{method}_`"
            + ("" if allowed else " under `torch.no_grad()` (in place on a parameter that requires grad, it raises)")
        )
        fix = FixSpec("unsafe", f"Use `{method}_`", [model.replace(func.attr, method + "_")]) if allowed else None
        return Report(call, message, fix)

    def _creation(self, model: SemanticModel, call: cst.Call, name: str) -> Report | None:
        positional = [a for a in call.args if a.keyword is None]
        if not positional or positional[0].star:
            return None
        first = positional[0].value
        shaped = first if name.endswith("_like") else _shape_source(first)
        if shaped is None or not parameter_tensor(model, shaped):
            return None
        target = _short(model.code(shaped))
        replacement = _init_replacement(model, call, name, shaped)
        suggestion = f"`{replacement[0]}`" if replacement else f"an in-place fill of `{target}` (`nn.init.*`)"
        message = (
            f"`{_short(model.code(call))}` builds a new tensor shaped like `{target}` and the statement drops it: "
            f"`{target}` is not filled (`torch.{name}` is not in place){_uninitialized(model, shaped)}; "
            f"use {suggestion}"
        )
        related = _constructor(model, shaped)
        fix = FixSpec("unsafe", f"Use `{replacement[0]}`", replacement[1]) if replacement else None
        return Report(call, message, fix, related=related)

    def _math(self, model: SemanticModel, call: cst.Call, name: str) -> Report | None:
        positional = [a for a in call.args if a.keyword is None]
        if not positional or positional[0].star or not parameter_tensor(model, positional[0].value):
            return None
        target = _short(model.code(positional[0].value))
        return Report(
            call,
            f"`{_short(model.code(call))}` returns a new tensor and the statement drops it: `{target}` is unchanged "
            f"(`torch.{name}` is not in place); use the in-place method `{target}.{name}_(...)` or assign the result",
        )

    # -- w.data * 0.1 ----------------------------------------------------------------------------------
    def _operation(self, model: SemanticModel, statement: cst.Expr, operation: cst.BinaryOperation) -> Report | None:
        operand = _parameter_operand(model, operation)
        if operand is None or not _starts_line(model, operation, _OPERATION_LINE):
            return None
        target = _short(model.code(operand))
        symbol = model.code(operation.operator).strip()
        message = (
            f"`{_short(model.code(operation))}` computes a new tensor and the statement drops it: `{target}` is "
            f"unchanged; write the in-place form (`{target} {_AUGMENTABLE.get(symbol, symbol + '=')} ...`)"
        )
        fix = None
        if operand is operation.left and symbol in _AUGMENTABLE and _in_place_allowed(model, operand, operation):
            code = f"{model.code(operand)} {_AUGMENTABLE[symbol]} {model.code(operation.right)}"
            if "\n" not in code:
                fix = FixSpec("unsafe", f"Use `{_AUGMENTABLE[symbol]}`", [model.replace(statement, code)])
        return Report(operation, message, fix)


def _parenthesized(node: cst.BaseExpression) -> bool:
    return bool(getattr(node, "lpar", None))


def _starts_line(model: SemanticModel, node: cst.CSTNode, pattern: re.Pattern[str]) -> bool:
    """The statement's line has the shape the trigger looks for: it follows a "\\n" and a line
    that leaves no bracket open, and matches ``pattern``."""
    text = model.source.text
    start = model.source.line_starts[model.range_of(node).start.line - 1]
    if start == 0 or text[start - 1] != "\n" or not _previous_closed(text, start - 1):
        return False
    end = text.find("\n", start)
    return pattern.match(text[start : end if end >= 0 else len(text)]) is not None


def _shape_source(node: cst.BaseExpression) -> cst.BaseExpression | None:
    """``p`` of ``p.size()`` / ``p.shape`` (also ``p.data.size()``)."""
    if isinstance(node, cst.Call) and not node.args and isinstance(node.func, cst.Attribute):
        if node.func.attr.value == "size":
            return node.func.value
    if isinstance(node, cst.Attribute) and node.attr.value == "shape":
        return node.value
    return None


def _parameter_operand(model: SemanticModel, operation: cst.BinaryOperation) -> cst.BaseExpression | None:
    """The leftmost operand, when it is a parameter written as ``X.weight``/``X.bias`` (or a
    variant) or ``X.data``: the statement then starts with it."""
    operand: cst.BaseExpression = operation.left
    while isinstance(operand, cst.BinaryOperation) and not _parenthesized(operand):
        operand = operand.left
    if _parenthesized(operand) or not isinstance(operand, cst.Attribute):
        return None
    attr = operand.attr.value
    if not (attr == "data" or attr.startswith(("weight", "bias"))):
        return None
    return operand if parameter_tensor(model, operand) else None


def _in_place_allowed(model: SemanticModel, receiver: cst.BaseExpression, node: cst.CSTNode) -> bool:
    """An in-place op on a parameter that requires grad raises outside ``no_grad``; on ``.data``
    it does not."""
    return (isinstance(receiver, cst.Attribute) and receiver.attr.value == "data") or under_no_grad(model, node)


def _init_replacement(
    model: SemanticModel, call: cst.Call, name: str, target: cst.BaseExpression
) -> tuple[str, list] | None:
    """``nn.init.constant_(p, v)`` for ``torch.full(p.size(), v)`` / ``full_like(p, v)``;
    ``zeros_``/``ones_`` for ``zeros_like(p)`` / ``ones_like(p)``; nothing when other
    arguments (dtype, device) would be dropped."""
    if any(arg.keyword is not None or arg.star for arg in call.args):
        return None
    if name in ("full", "full_like") and len(call.args) == 2:
        function, extra = "constant_", [call.args[1].value]
    elif name in ("zeros_like", "ones_like") and len(call.args) == 1:
        function, extra = name.replace("_like", "_"), []
    else:
        return None
    reference = model.reference_to(f"torch.nn.init.{function}")
    if reference is None:
        return None
    code, edits = reference
    arguments = ", ".join(model.code(node) for node in (target, *extra))
    replacement = f"{code}({arguments})"
    if "\n" in replacement:
        return None
    return replacement, [model.replace(call, replacement), *edits]


def _uninitialized(model: SemanticModel, node: cst.BaseExpression) -> str:
    call = self_parameter(model, node)
    if call is None or not call.args or not isinstance(call.args[0].value, cst.Call):
        return ""
    if model.qualified_name(call.args[0].value.func) not in ("torch.empty", "torch.Tensor", "torch.FloatTensor"):
        return ""
    line = model.range_of(call).start.line
    return f"; it is built from `{model.code(call.args[0].value.func)}(...)` (line {line}): uninitialized memory"


def _constructor(model: SemanticModel, node: cst.BaseExpression) -> list[tuple[cst.CSTNode, str]]:
    call = self_parameter(model, node)
    return [(call, "the parameter is built here")] if call is not None else []


def _short(code: str) -> str:
    code = " ".join(code.split())
    return code if len(code) <= 70 else code[:67] + "..."
