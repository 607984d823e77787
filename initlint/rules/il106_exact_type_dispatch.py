from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import FixSpec, Invalid, Report, Rule, src
from initlint.rules.triggers import init_code_possible
from initlint.semantic import SemanticModel
from initlint.semantic.tensors import is_init_code


def _equal() -> tuple[type, ...]:
    return (cst.Equal, cst.Is)


def _not_equal() -> tuple[type, ...]:
    return (cst.NotEqual, cst.IsNot)


# Where ``not isinstance(...)`` can stand in for a comparison without parentheses.
def _not_safe_parents() -> tuple[type, ...]:
    return (
    cst.If, cst.While, cst.Assert, cst.BooleanOperation, cst.IfExp, cst.Return, cst.Assign, cst.Arg, cst.Expr,
)  # fmt: skip


class ExactTypeDispatch(Rule):
    code = "IL106"
    name = "exact-type-dispatch"
    summary = "`type(m) == nn.Linear` in init code misses subclasses of the layer; use `isinstance`"
    severity = "warning"
    tier = "legacy"  # off by default: `--extend-select legacy`
    default_enabled = False
    fix_applicability = "unsafe"
    literals = ("type", "__class__")
    triggers = (
        # A comparison with type(...) or .__class__ on either side ...
        r"(?:\btype\s*\(|__class__)[\s\S]{0,200}?(?:==|!=|\bis\b|\bin\b)|(?:==|!=|\bis\b|\bin\b)\s*(?:\btype\s*\(|[\w.]+\.__class__)",
        r"\bnn\b",
    )

    @classmethod
    def may_match(cls, text: str, memo: dict[object, bool] | None = None) -> bool:
        # The shared, memoized init check first: it rules out most files at once.
        return init_code_possible(text, memo) and super().may_match(text, memo)  # only init code is checked

    VALID = (
        src("""
            import torch.nn as nn
            def init(m):
                if isinstance(m, nn.Linear):
                    nn.init.zeros_(m.bias)
        """),
        src("""
            import torch.nn as nn
            def describe(m):
                return type(m) == nn.Linear
        """),
        src("""
            import torch.nn as nn
            def swap(m):
                if type(m) is nn.Linear:
                    return QLinear(m.weight, m.bias is not None)
        """),
        src("""
            import mylib.nn as nn
            def init(m):
                if type(m) == nn.Linear:
                    m.weight.fill_(0)
        """),
        src("""
            import torch.nn as nn
            def init(m):
                if type(m) == MyLayer:
                    m.weight.fill_(0)
        """),
        src("""
            import torch.nn as nn
            def init(m, type):
                if type(m) == nn.Linear:
                    m.weight.fill_(0)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                def init(m):
                    if type(m) == nn.Linear:
                        nn.init.zeros_(m.bias)
            """),
            src("""
                import torch.nn as nn
                def init(m):
                    if isinstance(m, nn.Linear):
                        nn.init.zeros_(m.bias)
            """),
            unsafe=True,
        ),
        Invalid(
            src("""
                from torch import nn
                def init(m):
                    if type(m) in (nn.Conv2d, nn.Linear):
                        m.weight.data.fill_(1)
            """),
            src("""
                from torch import nn
                def init(m):
                    if isinstance(m, (nn.Conv2d, nn.Linear)):
                        m.weight.data.fill_(1)
            """),
            unsafe=True,
        ),
        Invalid(
            src("""
                import torch
                def init(m):
                    if torch.nn.Embedding != m.__class__:
                        return
                    m.weight.data.zero_()
            """),
            src("""
                import torch
                def init(m):
                    if not isinstance(m, torch.nn.Embedding):
                        return
                    m.weight.data.zero_()
            """),
            unsafe=True,
        ),
        Invalid(
            src("""
                from torch.nn import LayerNorm, init
                def f(m):
                    init.zeros_(m.bias) if type(m) is not LayerNorm else None
            """),
            src("""
                from torch.nn import LayerNorm, init
                def f(m):
                    init.zeros_(m.bias) if not isinstance(m, LayerNorm) else None
            """),
            unsafe=True,
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for comparison in model.nodes(cst.Comparison):
            if len(comparison.comparisons) != 1:
                continue
            target = comparison.comparisons[0]
            operator, right = target.operator, target.comparator
            instance, classes = None, None
            if isinstance(operator, (*_equal(), *_not_equal())):
                instance = _instance_of(model, comparison.left)
                classes = [right]
                if instance is None:
                    instance, classes = _instance_of(model, right), [comparison.left]
            elif isinstance(operator, (cst.In, cst.NotIn)) and isinstance(right, (cst.Tuple, cst.List, cst.Set)):
                instance = _instance_of(model, comparison.left)
                classes = [e.value for e in right.elements]
                if any(isinstance(e, cst.StarredElement) for e in right.elements):
                    continue
            if instance is None or not classes or not all(_is_torch_layer(model, c) for c in classes):
                continue
            if not is_init_code(model, comparison):
                continue
            negated = isinstance(operator, (*_not_equal(), cst.NotIn))
            names = [model.code(c) for c in classes]
            spec = names[0] if len(names) == 1 else f"({', '.join(names)})"
            suggestion = f"{'not ' if negated else ''}isinstance({model.code(instance)}, {spec})"
            fix = None
            if model.imports.is_free("isinstance"):
                replacement = suggestion
                if (
                    negated
                    and not comparison.lpar
                    and not isinstance(model.parent.get(comparison), _not_safe_parents())
                ):
                    replacement = f"({suggestion})"
                fix = FixSpec("unsafe", "Use `isinstance`", [model.replace(comparison, replacement)])
            yield Report(
                comparison,
                f"Exact type comparison in init code skips subclasses of `{names[0]}` (and wrapped or "
                f"quantized variants), leaving them with default init; use `{suggestion}`",
                fix,
            )


def _instance_of(model: SemanticModel, node: cst.BaseExpression) -> cst.BaseExpression | None:
    """``m`` for ``type(m)`` or ``m.__class__``."""
    if isinstance(node, cst.Call) and model.is_builtin(node.func, "type"):
        if len(node.args) == 1 and node.args[0].keyword is None and not node.args[0].star:
            return node.args[0].value
        return None
    if isinstance(node, cst.Attribute) and node.attr.value == "__class__":
        return node.value
    return None


def _is_torch_layer(model: SemanticModel, node: cst.BaseExpression) -> bool:
    qualified = model.qualified_name(node)
    if qualified is None or not qualified.startswith("torch.nn."):
        return False
    last = qualified.rsplit(".", 1)[1]
    return last[:1].isupper() and not qualified.startswith("torch.nn.init.")
