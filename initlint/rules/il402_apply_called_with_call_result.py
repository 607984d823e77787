from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import FixSpec, Invalid, Report, Rule, src
from initlint.semantic import SemanticModel
from initlint.semantic.structure import is_stub, referenced_function, returns_value


class ApplyCalledWithCallResult(Rule):
    code = "IL402"
    name = "apply-called-with-call-result"
    summary = "`.apply(init_fn())` passes the None that `init_fn` returns, not the function: apply raises"
    severity = "error"
    fix_applicability = "safe"
    literals = ("apply",)
    triggers = (r"\.\s*apply\s*\(\s*[\w.]+\s*\(",)

    VALID = (
        # the function itself
        src("""
            import torch.nn as nn
            def init(m):
                nn.init.zeros_(m.weight)
            net.apply(init)
        """),
        # a factory that returns the function
        src("""
            import torch.nn as nn
            def make(std):
                def init(m):
                    nn.init.normal_(m.weight, 0, std)
                return init
            net.apply(make(0.02))
        """),
        # defined elsewhere: we cannot see what it returns
        src("""
            import torch.nn as nn
            from mylib import make_init
            net.apply(make_init())
        """),
        # a partial is a function
        src("""
            import torch.nn as nn
            import functools
            def init(m, std):
                nn.init.normal_(m.weight, 0, std)
            net.apply(functools.partial(init, std=0.1))
        """),
        # a method meant to be overridden
        src("""
            import torch.nn as nn
            class Net(nn.Module):
                def make_init(self):
                    raise NotImplementedError
                def setup(self):
                    self.apply(self.make_init())
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                def init(m):
                    nn.init.zeros_(m.weight)
                net.apply(init())
            """),
            src("""
                import torch.nn as nn
                def init(m):
                    nn.init.zeros_(m.weight)
                net.apply(init)
            """),
        ),
        Invalid(
            src("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(2, 2)
                        self.apply(self._init())
                    def _init(self, m=None):
                        if isinstance(m, nn.Linear):
                            nn.init.zeros_(m.bias)
            """),
            src("""
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(2, 2)
                        self.apply(self._init)
                    def _init(self, m=None):
                        if isinstance(m, nn.Linear):
                            nn.init.zeros_(m.bias)
            """),
        ),
        # a factory that forgot to return its inner function; with arguments: no fix
        Invalid(
            src("""
                import torch.nn as nn
                def make(std):
                    def init(m):
                        nn.init.normal_(m.weight, 0, std)
                net.apply(make(0.02))
            """),
        ),
        Invalid(
            src("""
                import torch.nn as nn
                def init(m=None):
                    return
                model.apply(init())
            """),
            src("""
                import torch.nn as nn
                def init(m=None):
                    return
                model.apply(init)
            """),
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for call in model.nodes(cst.Call):
            func = call.func
            if not (isinstance(func, cst.Attribute) and func.attr.value == "apply" and len(call.args) == 1):
                continue
            arg = call.args[0]
            inner = arg.value
            if arg.keyword is not None or arg.star or not isinstance(inner, cst.Call):
                continue
            if not isinstance(inner.func, (cst.Name, cst.Attribute)):
                continue
            function = referenced_function(model, inner.func, call)
            if not isinstance(function, cst.FunctionDef) or function.decorators or function.asynchronous:
                continue
            if returns_value(model, function) or is_stub(function):
                continue
            name = model.code(inner.func)
            fix = None
            if not inner.args:
                fix = FixSpec("safe", f"Pass `{name}` itself", [model.replace(inner, name)])
            yield Report(
                inner,
                f"`{model.code(func)}({name}(...))` calls `{name}` first and passes its result, but "
                f"`{function.name.value}` (line {model.range_of(function).start.line}) returns nothing: "
                f"apply receives None and raises TypeError ('NoneType' object is not callable), "
                f"and no module is initialized; pass the function itself: `.apply({name})`",
                fix,
                related=[(function.name, f"`{function.name.value}` is defined here and returns None")],
            )
