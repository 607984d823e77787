from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst
from initlint.finding import Edit
from initlint.rules.base import FixSpec, Invalid, Report, Rule, src
from initlint.semantic import SemanticModel
from initlint.semantic.schemes import DEPRECATED_ALIASES

# In-place tensor method -> (the nn.init function, its parameters after the tensor, keyword renames).
METHODS: dict[str, tuple[str, tuple[str, ...], dict[str, str]]] = {
    "normal_": ("normal_", ("mean", "std"), {"mean": "mean", "std": "std", "generator": "generator"}),
    "uniform_": ("uniform_", ("a", "b"), {"to": "b", "generator": "generator"}),
    "fill_": ("constant_", ("val",), {"value": "val"}),
    "zero_": ("zeros_", (), {}),
}


class DataAttributeInit(Rule):
    code = "IL104"
    name = "data-attribute-init"
    summary = "Initializing through `.data` bypasses autograd's checks; use the `nn.init` functions"
    severity = "warning"
    tier = "legacy"  # off by default: `--extend-select legacy`
    default_enabled = False
    fix_applicability = "safe"
    # `.data.normal_(`-style statements, or `.data` as an argument (`init.zeros_(m.bias.data)`).
    literals = ("data",)
    triggers = (r"\.data\s*\.\s*(?:normal_|uniform_|fill_|zero_)\s*\(|\.data\s*[,)]",)

    VALID = (
        src("""
            import torch.nn as nn
            nn.init.normal_(m.weight, 0, 0.02)
        """),
        src("""
            import torch
            x = m.weight.data.normal_(0, 1)
        """),
        src("""
            import torch
            m.weight.data[0].fill_(1)
        """),
        src("""
            import torch
            p.grad.data.zero_()
        """),
        src("""
            import mylib.init as init
            init.normal_(m.weight.data)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                m.weight.data.normal_(0.0, 0.02)
            """),
            src("""
                import torch.nn as nn
                nn.init.normal_(m.weight, 0.0, 0.02)
            """),
        ),
        Invalid(
            src("""
                from torch.nn import init
                m.bias.data.fill_(value=0)
            """),
            src("""
                from torch.nn import init
                init.constant_(m.bias, val=0)
            """),
        ),
        Invalid(
            src("""
                from torch import optim
                m.bias.data.zero_()
            """),
            src("""
                from torch import optim
                import torch
                torch.nn.init.zeros_(m.bias)
            """),
        ),
        Invalid(
            src("""
                import torch.nn.init as I
                I.xavier_uniform_(m.weight.data, gain=2)
            """),
            src("""
                import torch.nn.init as I
                I.xavier_uniform_(m.weight, gain=2)
            """),
        ),
        Invalid(
            src("""
                import torch
                m.weight.data.uniform_(*bounds)
            """),
            None,
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for call in model.nodes(cst.Call):
            func = call.func
            if isinstance(func, cst.Attribute) and func.attr.value in METHODS:
                report = self._method(model, call, func)
                if report is not None:
                    yield report
                    continue
            name = model.init_function(func)
            # The deprecated aliases (`init.normal(m.weight.data)`) take the tensor the same way.
            if name is None or not (name.endswith("_") or name in DEPRECATED_ALIASES) or name.startswith("_"):
                continue
            if not call.args:
                continue
            first = call.args[0]
            if first.star or (first.keyword is not None and first.keyword.value != "tensor"):
                continue
            target = first.value
            if isinstance(target, cst.Attribute) and target.attr.value == "data" and not target.lpar:
                kept = model.code(target.value)
                yield Report(
                    target,
                    f"`nn.init.{name}` already runs without autograd; pass `{_short(kept)}` rather than its `.data`",
                    FixSpec("safe", "Drop `.data`", [model.replace(target, kept)])
                    if model.keeps_comments(target, kept)
                    else None,
                )

    def _method(self, model: SemanticModel, call: cst.Call, func: cst.Attribute) -> Report | None:
        data = func.value
        if not (isinstance(data, cst.Attribute) and data.attr.value == "data"):
            return None
        if not isinstance(model.parent.get(call), cst.Expr) or call.lpar:
            return None  # the result is used: a chain, not an init statement
        tensor = data.value
        if isinstance(tensor, cst.Attribute) and tensor.attr.value == "grad":
            return None  # zeroing a gradient, not initializing a weight
        init_name, _, _ = METHODS[func.attr.value]
        tensor_code = _short(model.code(tensor))
        return Report(
            call,
            f"`.data.{func.attr.value}()` initializes behind autograd's back (no version-counter checks); "
            f"use `nn.init.{init_name}({tensor_code}, ...)`",
            _fix(model, call, func.attr.value, tensor),
        )


def _short(code: str) -> str:
    return code if len(code) <= 60 and "\n" not in code else "tensor"


def _fix(model: SemanticModel, call: cst.Call, method: str, tensor: cst.BaseExpression) -> FixSpec | None:
    """``t.data.normal_(args)`` -> ``init.normal_(t, args)`` by small edits: the callee is
    replaced, the tensor inserted before the first argument and renamed keywords renamed; the
    arguments, and the comments between them, stay as written."""
    init_name, params, renames = METHODS[method]
    positional = True
    renamed: dict[int, str] = {}
    for index, arg in enumerate(call.args):
        if arg.star:
            return None
        if arg.keyword is None:
            if not positional or index >= len(params):
                return None
        else:
            positional = False
            keyword = renames.get(arg.keyword.value)
            if keyword is None:
                return None
            if keyword != arg.keyword.value:
                renamed[index] = keyword
    reference = model.reference_to(f"torch.nn.init.{init_name}")
    if reference is None:
        return None
    code, edits = reference
    tensor_code = model.code(tensor)
    if not model.keeps_comments(call.func, code, tensor_code):
        return None  # a comment inside `t.data.normal_` itself: rare, not worth reflowing
    edits = [*edits, model.replace(call.func, code)]
    inserted = _tensor_text(model, call, tensor_code)
    if not call.args:
        end = model.range_of(call).end  # just after the closing parenthesis
        edits.append(Edit(end.line, end.column, end.line, end.column, tensor_code))
    elif 0 in renamed:
        # One edit: an insertion at the start of a replaced keyword would be applied in either order.
        edits.append(model.replace(call.args[0].keyword, inserted + renamed.pop(0)))  # type: ignore[arg-type]
    else:
        first = model.range_of(call.args[0]).start
        edits.append(Edit(first.line, first.column + 1, first.line, first.column + 1, inserted))
    edits += [model.replace(call.args[i].keyword, keyword) for i, keyword in renamed.items()]  # type: ignore[arg-type]
    return FixSpec("safe", f"Use `nn.init.{init_name}`", edits)


def _tensor_text(model: SemanticModel, call: cst.Call, tensor_code: str) -> str:
    """The tensor as a first argument, laid out like the arguments: on the first argument's line,
    or on a line of its own when the arguments start on a new line."""
    if not call.args:
        return tensor_code
    first = model.range_of(call.args[0]).start
    indent = model.source.line_text(first.line)[: first.column]
    if first.line != model.range_of(call.func).end.line and not indent.strip():
        return f"{tensor_code},{model.source.newline}{indent}"
    return f"{tensor_code}, "
