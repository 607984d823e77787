from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst
from initlint.finding import Edit
from initlint.rules.base import FixSpec, Invalid, Report, Rule, src
from initlint.semantic import SemanticModel

# Legacy type constructor -> the dtype of the tensor it creates (None: the default dtype).
DTYPES: dict[str, str | None] = {
    "Tensor": None,
    "FloatTensor": "float32",
    "DoubleTensor": "float64",
    "HalfTensor": "float16",
    "BFloat16Tensor": "bfloat16",
    "LongTensor": "int64",
    "IntTensor": "int32",
    "ShortTensor": "int16",
    "CharTensor": "int8",
    "ByteTensor": "uint8",
    "BoolTensor": "bool",
}


class LegacyTensorConstructor(Rule):
    code = "IL103"
    name = "legacy-tensor-constructor"
    summary = "`torch.Tensor(3, 3)` and `torch.FloatTensor(n)` create uninitialized tensors; use `torch.empty`"
    severity = "warning"
    tier = "legacy"  # off by default: `--extend-select legacy`
    default_enabled = False
    fix_applicability = "safe"
    literals = ("Tensor",)
    triggers = (r"Tensor\s*\(",)

    VALID = (
        src("""
            import torch
            w = torch.Tensor([1.0, 2.0])
        """),
        src("""
            import torch
            w = torch.FloatTensor(data)
        """),
        src("""
            import torch
            w = torch.empty(3, 3)
        """),
        src("""
            import mylib as torch
            w = torch.Tensor(3, 3)
        """),
        src("""
            import torch
            w = torch.Tensor()
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch
                w = torch.Tensor(3, 3)
            """),
            src("""
                import torch
                w = torch.empty(3, 3)
            """),
        ),
        Invalid(
            src("""
                import torch
                w = torch.FloatTensor(16)
            """),
            src("""
                import torch
                w = torch.empty(16, dtype=torch.float32)
            """),
        ),
        Invalid(
            src("""
                import torch
                w = torch.cuda.LongTensor(*shape)
            """),
            src("""
                import torch
                w = torch.empty(*shape, dtype=torch.int64, device="cuda")
            """),
        ),
        Invalid(
            src("""
                from torch import Tensor
                w = Tensor(n, m)
            """),
            src("""
                from torch import Tensor
                import torch
                w = torch.empty(n, m)
            """),
        ),
        Invalid(
            src("""
                import torch
                w = torch.Tensor(3, 3, device=dev)
            """),
            None,
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for call in model.nodes(cst.Call):
            qualified = model.qualified_name(call.func)
            if qualified is None:
                continue
            head, _, last = qualified.rpartition(".")
            if last not in DTYPES or head not in ("torch", "torch.cuda") or (head, last) == ("torch.cuda", "Tensor"):
                continue
            if not _size_arguments(call):
                continue
            cuda = head == "torch.cuda"
            dtype = DTYPES[last]
            extras = ([f"dtype=torch.{dtype}"] if dtype else []) + (['device="cuda"'] if cuda else [])
            yield Report(
                call,
                f"`{model.code(call.func)}(...)` with sizes is a legacy constructor that returns uninitialized "
                f"memory; use `torch.empty(..., {', '.join(extras)})` and initialize it explicitly"
                if extras
                else f"`{model.code(call.func)}(...)` with sizes is a legacy constructor that returns uninitialized "
                "memory; use `torch.empty(...)` and initialize it explicitly",
                _fix(model, call, dtype, cuda),
            )


def _size_arguments(call: cst.Call) -> bool:
    positional = [a for a in call.args if a.keyword is None]
    if any(a.star == "**" for a in call.args):
        return False
    if len(positional) >= 2:
        return True
    if len(positional) != 1:
        return False
    only = positional[0]
    return only.star == "*" or (isinstance(only.value, cst.Integer) and not only.value.lpar)


def _fix(model: SemanticModel, call: cst.Call, dtype: str | None, cuda: bool) -> FixSpec | None:
    if any(a.keyword is not None for a in call.args):
        return None
    empty = model.reference_to("torch.empty")
    if empty is None:
        return None
    reference, edits = empty
    extras: list[str] = []
    if dtype is not None:
        dtype_ref = model.reference_to(f"torch.{dtype}")
        if dtype_ref is None:
            return None
        extras.append(f"dtype={dtype_ref[0]}")
        edits = edits + [e for e in dtype_ref[1] if e not in edits]
    if cuda:
        quote = _free_quote(model, call)
        if quote is None:
            return None
        extras.append(f"device={quote}cuda{quote}")
    edits = [*edits, model.replace(call.func, reference)]
    if extras:
        end = model.range_of(call.args[-1]).end  # the argument with its parentheses
        edits.append(Edit(end.line, end.column + 1, end.line, end.column + 1, "".join(f", {e}" for e in extras)))
    return FixSpec("safe", "Use `torch.empty`", edits)


def _free_quote(model: SemanticModel, node: cst.CSTNode) -> str | None:
    """A quote that may open a string at ``node``: before Python 3.12 an f-string's replacement
    field cannot hold the quote character that delimits the f-string (nor an enclosing one's)."""
    taken = {f.quote[0] for f in model.ancestors(node) if isinstance(f, cst.FormattedString)}
    return next((q for q in ('"', "'") if q not in taken), None)
