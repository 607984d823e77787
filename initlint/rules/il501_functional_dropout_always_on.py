from __future__ import annotations

import re
from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import FixSpec, Invalid, Report, Rule, src
from initlint.rules.triggers import call_arguments_text, word_matches
from initlint.semantic import SemanticModel
from initlint.semantic.catalog import FUNCTIONAL_DROPOUT
from initlint.semantic.modules import foreign_module_classes

_FUNCTIONAL = "torch.nn.functional."
# `self.dropout(x)` calls a module, never torch.nn.functional.
_CALL = re.compile(r"(?<!self\.)\b(?:" + "|".join(sorted(FUNCTIONAL_DROPOUT, key=len, reverse=True)) + r")\s*\(")
_ALIAS = re.compile(r"\b(?:" + "|".join(sorted(FUNCTIONAL_DROPOUT)) + r")\s+as\b")
_ANCHOR = ("dropout",)  # in every name above: where a match can start (word_matches)
_TRAINING = re.compile(r"\btraining\b")
_TRUE = re.compile(r"\bTrue\b")
_TRAINING_POSITION = 2  # dropout(input, p, training, inplace)


class FunctionalDropoutAlwaysOn(Rule):
    code = "IL501"
    name = "functional-dropout-always-on"
    summary = "`F.dropout(x)` in a module without `training=self.training` stays on in eval mode"
    severity = "warning"
    fix_applicability = "unsafe"

    VALID = (
        src("""
            import torch.nn as nn
            import torch.nn.functional as F
            class M(nn.Module):
                def forward(self, x):
                    return F.dropout(x, 0.1, training=self.training)
        """),
        src("""
            import torch.nn as nn
            import torch.nn.functional as F
            class M(nn.Module):
                def forward(self, x):
                    return F.dropout(x, 0.1, self.training)
        """),
        src("""
            import torch.nn.functional as F
            def augment(x):
                return F.dropout(x, 0.1)
        """),
        src("""
            import torch.nn as nn
            class M(nn.Module):
                def forward(self, x):
                    return self.dropout(x)
        """),
        src("""
            import torch.nn as nn
            import torch.nn.functional as F
            class M(nn.Module):
                def forward(self, x):
                    if self.training:
                        x = F.dropout(x, 0.1)
                    return x
        """),
        src("""
            import torch.nn as nn
            import torch.nn.functional as F
            class M(nn.Module):
                def forward(self, x):
                    if self.training:
                        x = F.dropout(x, 0.1, training=True)
                    return x
        """),
        # a base from another file and nothing that makes the class a module: an augmentation
        src("""
            import torch.nn.functional as F
            from mylib import Transform
            class Drop(Transform):
                def __call__(self, x):
                    return F.dropout(x, 0.1)
        """),
        # a deliberate always-on dropout says so
        src("""
            import torch.nn as nn
            import torch.nn.functional as F
            class M(nn.Module):
                def forward(self, x):
                    return F.dropout(x, 0.1, training=True)  # noqa: IL501 (MC dropout)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                import torch.nn.functional as F
                class M(nn.Module):
                    def forward(self, x):
                        return F.dropout(x, p=0.1)
            """),
            src("""
                import torch.nn as nn
                import torch.nn.functional as F
                class M(nn.Module):
                    def forward(self, x):
                        return F.dropout(x, p=0.1, training=self.training)
            """),
            unsafe=True,
        ),
        Invalid(
            src("""
                from torch import nn
                class M(nn.Module):
                    def forward(me, x):
                        return nn.functional.dropout2d(x, 0.2)
            """),
            src("""
                from torch import nn
                class M(nn.Module):
                    def forward(me, x):
                        return nn.functional.dropout2d(x, 0.2, training=me.training)
            """),
            unsafe=True,
        ),
        Invalid(
            src("""
                import torch
                from torch.nn.functional import alpha_dropout as drop
                class M(torch.nn.Module):
                    def forward(self, x):
                        return drop(x)
            """),
            src("""
                import torch
                from torch.nn.functional import alpha_dropout as drop
                class M(torch.nn.Module):
                    def forward(self, x):
                        return drop(x, training=self.training)
            """),
            unsafe=True,
        ),
        Invalid(
            src("""
                import torch.nn as nn
                import torch.nn.functional as F
                class M(nn.Module):
                    @staticmethod
                    def f(x):
                        return F.dropout(x)
            """)
        ),
        # the same bug spelled out
        Invalid(
            src("""
                import torch.nn as nn
                import torch.nn.functional as F
                class M(nn.Module):
                    def forward(self, x):
                        return F.dropout(x, 0.1, training=True)
            """),
            src("""
                import torch.nn as nn
                import torch.nn.functional as F
                class M(nn.Module):
                    def forward(self, x):
                        return F.dropout(x, 0.1, training=self.training)
            """),
            unsafe=True,
        ),
        # a base class from another file: the class is a module all the same (it has forward)
        Invalid(
            src("""
                import torch
                from mylib.base import AbsModel
                class M(AbsModel):
                    def forward(self, x):
                        return self.loss(x)
                    def loss(self, x):
                        return torch.nn.functional.dropout(x, p=0.1).sum()
            """),
            src("""
                import torch
                from mylib.base import AbsModel
                class M(AbsModel):
                    def forward(self, x):
                        return self.loss(x)
                    def loss(self, x):
                        return torch.nn.functional.dropout(x, p=0.1, training=self.training).sum()
            """),
            unsafe=True,
        ),
    )

    @classmethod
    def may_match(cls, text: str, memo: dict[object, bool] | None = None) -> bool:
        if "dropout" not in text:
            return False
        if any(word_matches(text, _ANCHOR, _ALIAS)):
            return True  # imported under another name: its calls do not spell `dropout(`
        for match in word_matches(text, _ANCHOR, _CALL):
            arguments = call_arguments_text(text, match.end())
            if arguments is None or not _TRAINING.search(arguments) or _TRUE.search(arguments):
                return True
        return False  # no call, or every call passes a `training` other than True: none can fire

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for call in model.nodes(cst.Call):
            qualified = model.qualified_name(call.func)
            if qualified is None or not qualified.startswith(_FUNCTIONAL):
                continue
            name = qualified[len(_FUNCTIONAL) :]
            if name not in FUNCTIONAL_DROPOUT or not _in_module_class(model, call):
                continue
            if any(arg.star for arg in call.args):
                continue
            training = _training_argument(call)
            if training is not None and not _literal_true(training):
                continue
            if training is None and _TRAINING.search(model.code(call)):
                continue  # `p=0.1 if self.training else 0.0`
            if _training_guarded(model, call):
                continue
            receiver = _self_name(model, call)
            flag = f"training={receiver or 'self'}.training"
            if training is None:
                message = (
                    f"`{name}` without `training=` defaults to training=True: this dropout stays on after "
                    f"`model.eval()`, so evaluation and inference are noisy and scaled; pass `{flag}` "
                    f"(or use an `nn.{_module_name(name)}` submodule)"
                )
                fixed = _fix(model, call, receiver) if receiver is not None else None
            else:
                message = (
                    f"`{name}` with `training=True` in a module stays on after `model.eval()`, so evaluation and "
                    f"inference are noisy and scaled; pass `{flag}` (an always-on dropout, as in Monte Carlo "
                    "dropout, says so with `# noqa: IL501`)"
                )
                fixed = _fix_literal(model, training, receiver) if receiver is not None else None
            yield Report(call, message, fixed)


def _training_argument(call: cst.Call) -> cst.BaseExpression | None:
    """The value given for `training`, by keyword or as the third positional argument."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "training":
            return arg.value
    positional = [arg for arg in call.args if arg.keyword is None]
    return positional[_TRAINING_POSITION].value if len(positional) > _TRAINING_POSITION else None


def _literal_true(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "True"


def _in_module_class(model: SemanticModel, call: cst.Call) -> bool:
    """The call is in a class that is an nn.Module: through this file's classes, or through a
    base from another file when the class behaves as a module (see foreign_module_classes), so
    that the verdict does not depend on where the base class is defined."""
    cls = model.enclosing(call, cst.ClassDef)
    if cls is None:
        return False
    name = cls.name.value
    for classes in (model.module_classes, foreign_module_classes(model)):
        found = classes.get(name)
        if found is not None and found.node is cls:
            return True
    return False


def _module_name(name: str) -> str:
    return {
        "dropout": "Dropout", "dropout1d": "Dropout1d", "dropout2d": "Dropout2d", "dropout3d": "Dropout3d",
        "alpha_dropout": "AlphaDropout", "feature_alpha_dropout": "FeatureAlphaDropout",
    }[name]  # fmt: skip


def _training_guarded(model: SemanticModel, call: cst.Call) -> bool:
    """Inside ``if self.training:`` (or any condition on `training`)."""
    for ancestor in model.ancestors(call):
        if isinstance(ancestor, cst.ClassDef):
            break
        if isinstance(ancestor, (cst.If, cst.IfExp, cst.While)) and _TRAINING.search(model.code(ancestor.test)):
            return True
        if isinstance(ancestor, cst.BooleanOperation) and _TRAINING.search(model.code(ancestor)):
            return True
    return False


def _self_name(model: SemanticModel, call: cst.Call) -> str | None:
    """The name of the instance parameter of the method that holds ``call`` directly."""
    function = model.enclosing(call, cst.FunctionDef)
    if function is None or model.enclosing(call, cst.Lambda) is not None:
        return None
    block = model.parent.get(function)
    if not isinstance(model.parent.get(block), cst.ClassDef):
        return None
    for decorator in function.decorators:
        if isinstance(decorator.decorator, cst.Name) and decorator.decorator.value in ("staticmethod", "classmethod"):
            return None
    params = [*function.params.posonly_params, *function.params.params]
    if not params:
        return None
    name = params[0].name.value
    # A local rebinding of the name would change what it means.
    for assign in model.nodes(cst.Name):
        if assign.value == name and model.enclosing(assign, cst.FunctionDef) is function:
            parent = model.parent.get(assign)
            if isinstance(parent, cst.AssignTarget):
                return None
    return name


def _fix_literal(model: SemanticModel, value: cst.BaseExpression, receiver: str) -> FixSpec:
    flag = f"{receiver}.training"
    return FixSpec("unsafe", f"Pass `training={flag}`", [model.replace(value, flag)])


def _fix(model: SemanticModel, call: cst.Call, receiver: str) -> FixSpec:
    args = list(call.args)
    new_arg = cst.Arg(
        value=cst.Attribute(cst.Name(receiver), cst.Name("training")),
        keyword=cst.Name("training"),
        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
    )
    if args:
        last = args[-1]
        if isinstance(last.comma, cst.Comma):
            new_arg = new_arg.with_changes(comma=last.comma)
            args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        else:
            args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    new_call = call.with_changes(args=[*args, new_arg])
    return FixSpec("unsafe", f"Pass `training={receiver}.training`", [model.replace(call, new_call)])
