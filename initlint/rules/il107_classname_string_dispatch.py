from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule, src
from initlint.rules.triggers import init_code_possible
from initlint.semantic import SemanticModel
from initlint.semantic.tensors import is_init_code, single_assignment
from initlint.semantic.values import integer_value, string_value

_DIMS = ("1d", "2d", "3d")
# A word matched in a class name -> the torch.nn classes it is meant to select. Only layer words:
# norm layers ("BatchNorm", "LayerNorm", "RMSNorm") are matched by name on purpose, since models
# define their own (FrozenBatchNorm2d, LlamaRMSNorm) that isinstance would miss.
FAMILIES: dict[str, tuple[str, ...]] = {
    "Conv": tuple(f"Conv{d}" for d in _DIMS),
    "ConvTranspose": tuple(f"ConvTranspose{d}" for d in _DIMS),
}
EXACT = frozenset(
    {
        *FAMILIES["Conv"],
        *FAMILIES["ConvTranspose"],
        "Linear",
        "Bilinear",
        "Embedding",
        "EmbeddingBag",
        "LSTM",
        "GRU",
        "RNN",
        "LSTMCell",
        "GRUCell",
        "RNNCell",
        "MultiheadAttention",
        "PReLU",
    }
)


class ClassnameStringDispatch(Rule):
    code = "IL107"
    name = "classname-string-dispatch"
    summary = "Init code that matches `'Conv'` in a class name also catches unintended classes; use `isinstance`"
    severity = "warning"
    tier = "legacy"  # off by default: `--extend-select legacy`
    default_enabled = False
    fix_applicability = None
    literals = ("__name__",)
    literals = ("__name__",)  # in both alternatives below
    triggers = (r"__class__\s*\.\s*__name__|\btype\s*\([\s\S]{0,200}?\)\s*\.\s*__name__",)

    @classmethod
    def may_match(cls, text: str, memo: dict[object, bool] | None = None) -> bool:
        # The shared, memoized init check first: it rules out most files at once.
        return init_code_possible(text, memo) and super().may_match(text, memo)  # only init code is checked

    VALID = (
        src("""
            import torch.nn as nn
            def init(m):
                if isinstance(m, nn.Conv2d):
                    nn.init.zeros_(m.bias)
        """),
        src("""
            import torch.nn as nn
            def log(m):
                if 'Conv' in m.__class__.__name__:
                    print(m)
        """),
        src("""
            import torch.nn as nn
            def init(m, classname):
                if classname.find('Conv') != -1:
                    m.weight.data.fill_(0)
        """),
        src("""
            import torch.nn as nn
            def init(m):
                name = m.__class__.__name__
                name = name.lower()
                if 'conv' in name:
                    m.weight.data.fill_(0)
        """),
        src("""
            import torch.nn as nn
            def init(m):
                if 'BatchNorm' in m.__class__.__name__:
                    m.weight.data.fill_(1)
        """),
        src("""
            import torch.nn as nn
            def init(m):
                if m.__class__.__name__.find('Conv') > 0:
                    m.weight.data.fill_(0)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                def init(m):
                    classname = m.__class__.__name__
                    if classname.find('Conv') != -1:
                        nn.init.normal_(m.weight, 0.0, 0.02)
            """)
        ),
        Invalid(
            src("""
                import torch.nn as nn
                def init(m):
                    if 'Embedding' in type(m).__name__:
                        m.weight.data.fill_(1)
            """)
        ),
        Invalid(
            src("""
                from torch.nn import init
                def weights_init(m):
                    if m.__class__.__name__.startswith('Linear'):
                        init.zeros_(m.bias)
            """)
        ),
        Invalid(
            src("""
                import torch
                def init(m):
                    if m.__class__.__name__.find('Linear') == -1:
                        return
                    m.bias.data.zero_()
            """)
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for comparison in model.nodes(cst.Comparison):
            found = _comparison_match(model, comparison)
            if found is not None and is_init_code(model, comparison):
                yield _report(model, comparison, *found)
        for call in model.nodes(cst.Call):
            func = call.func
            if not (isinstance(func, cst.Attribute) and func.attr.value in ("startswith", "endswith")):
                continue
            word = _string_argument(call)
            instance = _classname_of(model, func.value)
            if word is not None and instance is not None and is_init_code(model, call):
                verb = "starts with" if func.attr.value == "startswith" else "ends with"
                yield _report(model, call, instance, word, verb)


def _comparison_match(model: SemanticModel, comparison: cst.Comparison) -> tuple[cst.BaseExpression, str, str] | None:
    if len(comparison.comparisons) != 1:
        return None
    target = comparison.comparisons[0]
    operator, right, left = target.operator, target.comparator, comparison.left
    if isinstance(operator, (cst.In, cst.NotIn)):
        word = _string(left)
        instance = _classname_of(model, right)
        return (instance, word, "contains") if word is not None and instance is not None else None
    if not (isinstance(left, cst.Call) and isinstance(left.func, cst.Attribute) and left.func.attr.value == "find"):
        return None
    word = _string_argument(left)
    instance = _classname_of(model, left.func.value)
    if word is None or instance is None or integer_value(right) is None:
        return None
    bound = integer_value(right)
    if (isinstance(operator, (cst.NotEqual, cst.Equal)) and bound == -1) or (
        (isinstance(operator, cst.GreaterThanEqual) and bound == 0)
        or (isinstance(operator, cst.GreaterThan) and bound == -1)
        or (isinstance(operator, cst.LessThan) and bound == 0)
    ):
        return instance, word, "contains"
    return None


def _string(node: cst.BaseExpression) -> str | None:
    """The literal, when it is a word naming torch layers (see FAMILIES)."""
    if isinstance(node, cst.SimpleString):
        value = string_value(node)
        return value if isinstance(value, str) and (value in FAMILIES or value in EXACT) else None
    return None


def _string_argument(call: cst.Call) -> str | None:
    if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
        return None
    return _string(call.args[0].value)


def _classname_of(model: SemanticModel, node: cst.BaseExpression, follow: bool = True) -> cst.BaseExpression | None:
    """``m`` for ``m.__class__.__name__``, ``type(m).__name__``, or a local name bound once to one."""
    if isinstance(node, cst.Attribute) and node.attr.value == "__name__":
        owner = node.value
        if isinstance(owner, cst.Attribute) and owner.attr.value == "__class__":
            return owner.value
        if (
            isinstance(owner, cst.Call)
            and model.is_builtin(owner.func, "type")
            and len(owner.args) == 1
            and owner.args[0].keyword is None
            and not owner.args[0].star
        ):
            return owner.args[0].value
        return None
    if follow and isinstance(node, cst.Name) and model.enclosing(node, cst.FunctionDef) is not None:
        value = single_assignment(model, node)
        if value is not None:
            return _classname_of(model, value, follow=False)
    return None


def _report(model: SemanticModel, node: cst.CSTNode, instance: cst.BaseExpression, word: str, verb: str) -> Report:
    nn = model.imports.local_name_for("torch.nn") or "nn"
    spec = f"({', '.join(f'{nn}.{c}' for c in FAMILIES[word])})" if word in FAMILIES else f"{nn}.{word}"
    target = model.code(instance)
    target = target if len(target) <= 40 and "\n" not in target else "m"
    also = "`ConvTranspose*` layers and " if word == "Conv" else ""
    return Report(
        node,
        f"Dispatching on whether the class name {verb} {word!r} also matches {also}any custom class whose "
        f"name {verb} it, including ones without `.weight`; use `isinstance({target}, {spec})`",
    )
