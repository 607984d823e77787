from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import FixSpec, Invalid, Report, Rule
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
        "import torch.nn as nn\ndef init(m):\n    nn.init.zeros_(m.weight)\nnet.apply(init)\n",
        # a factory that returns the function
        "import torch.nn as nn\ndef make(std):\n    def init(m):\n        nn.init.normal_(m.weight, 0, std)\n"
        "    return init\nnet.apply(make(0.02))\n",
        # defined elsewhere: we cannot see what it returns
        "import torch.nn as nn\nfrom mylib import make_init\nnet.apply(make_init())\n",
        # a partial is a function
        "import torch.nn as nn\nimport functools\ndef init(m, std):\n    nn.init.normal_(m.weight, 0, std)\n"
        "net.apply(functools.partial(init, std=0.1))\n",
        # a method meant to be overridden
        "import torch.nn as nn\nclass Net(nn.Module):\n    def make_init(self):\n        raise NotImplementedError\n"
        "    def setup(self):\n        self.apply(self.make_init())\n",
    )
    INVALID = (
        Invalid(
            "import torch.nn as nn\ndef init(m):\n    nn.init.zeros_(m.weight)\nnet.apply(init())\n",
            "import torch.nn as nn\ndef init(m):\n    nn.init.zeros_(m.weight)\nnet.apply(init)\n",
        ),
        Invalid(
            "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(2, 2)\n        self.apply(self._init())\n"
            "    def _init(self, m=None):\n        if isinstance(m, nn.Linear):\n            nn.init.zeros_(m.bias)\n",
            "import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(2, 2)\n        self.apply(self._init)\n"
            "    def _init(self, m=None):\n        if isinstance(m, nn.Linear):\n            nn.init.zeros_(m.bias)\n",
        ),
        # a factory that forgot to return its inner function; with arguments: no fix
        Invalid(
            "import torch.nn as nn\ndef make(std):\n    def init(m):\n        nn.init.normal_(m.weight, 0, std)\n"
            "net.apply(make(0.02))\n",
        ),
        Invalid(
            "import torch.nn as nn\ndef init(m=None):\n    return\nmodel.apply(init())\n",
            "import torch.nn as nn\ndef init(m=None):\n    return\nmodel.apply(init)\n",
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
