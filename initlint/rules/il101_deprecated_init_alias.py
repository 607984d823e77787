from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import FixSpec, Invalid, Report, Rule
from initlint.semantic import SemanticModel
from initlint.semantic.imports import dotted
from initlint.semantic.schemes import DEPRECATED_ALIASES

DEPRECATED = DEPRECATED_ALIASES
_NAMES = "|".join(sorted(DEPRECATED))


class DeprecatedInitAlias(Rule):
    code = "IL101"
    name = "deprecated-init-alias"
    summary = "`nn.init.normal` and the other init functions without the trailing underscore are deprecated"
    severity = "warning"
    fix_applicability = "safe"
    literals = ("normal", "uniform", "constant", "eye", "dirac", "xavier", "kaiming", "orthogonal", "sparse")
    triggers = (rf"\.\s*(?:{_NAMES})\b|from\s+torch\s*\.\s*nn\s*\.\s*init\s+import",)

    VALID = (
        "import torch.nn as nn\nnn.init.normal_(w)\n",
        "from torch.nn.init import normal_\nnormal_(w)\n",
        "import numpy as np\nnp.random.normal(0, 1)\n",
        "import mylib.init as init\ninit.normal(w)\n",
    )
    INVALID = (
        Invalid(
            "import torch.nn as nn\nnn.init.normal(w, 0, 0.02)\n",
            "import torch.nn as nn\nnn.init.normal_(w, 0, 0.02)\n",
        ),
        Invalid(
            "from torch.nn import init\ninit.xavier_uniform(w)\n",
            "from torch.nn import init\ninit.xavier_uniform_(w)\n",
        ),
        Invalid("import torch\ntorch.nn.init.constant(b, 0)\n", "import torch\ntorch.nn.init.constant_(b, 0)\n"),
        Invalid(
            "from torch.nn.init import kaiming_normal\nkaiming_normal(w)\n",
            "from torch.nn.init import kaiming_normal_\nkaiming_normal_(w)\n",
        ),
        Invalid(
            "from torch.nn.init import orthogonal as ortho\northo(w)\n",
            "from torch.nn.init import orthogonal_ as ortho\northo(w)\n",
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for node in model.nodes(cst.Attribute):
            if node.attr.value not in DEPRECATED or model.init_function(node) != node.attr.value:
                continue
            if model.qualified_name(node) != f"torch.nn.init.{node.attr.value}":
                continue  # an init alias of the user's own, not torch's deprecated name
            if model.enclosing(node, cst.ImportFrom) or model.enclosing(node, cst.Import):
                continue
            yield Report(
                node.attr,
                _message(node.attr.value),
                FixSpec("safe", f"Use `{node.attr.value}_`", [model.replace(node.attr, node.attr.value + "_")]),
            )
        for import_from in model.nodes(cst.ImportFrom):
            if import_from.relative or import_from.module is None or dotted(import_from.module) != "torch.nn.init":
                continue
            if isinstance(import_from.names, cst.ImportStar):
                continue
            for alias in import_from.names:
                if isinstance(alias.name, cst.Name) and alias.name.value in DEPRECATED:
                    yield self._report_import(model, alias)

    def _report_import(self, model: SemanticModel, alias: cst.ImportAlias) -> Report:
        old = alias.name.value  # type: ignore[union-attr]
        new = old + "_"
        edits = [model.replace(alias.name, new)]
        if alias.asname is None:
            references = _references(model, old)
            if references is not None and model.imports.is_free(new):
                edits += [model.replace(ref, new) for ref in references]
            else:
                # The name is rebound somewhere: keep it, import the new function under it.
                edits = [model.replace(alias.name, f"{new} as {old}")]
        return Report(alias.name, _message(old), FixSpec("safe", f"Import `{new}`", edits))


def _message(name: str) -> str:
    return f"`torch.nn.init.{name}` is a deprecated alias of `{name}_` (it warns on every call); use `{name}_`"


def _references(model: SemanticModel, name: str) -> list[cst.Name] | None:
    """Every load of ``name`` in the file, or None when the name is not a plain import binding."""
    if model.imports.resolve_name(name) != f"torch.nn.init.{name}":
        return None
    references = []
    for node in model.nodes(cst.Name):
        if node.value != name:
            continue
        parent = model.parent.get(node)
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            continue
        if isinstance(parent, cst.Arg) and parent.keyword is node:
            continue
        if isinstance(parent, (cst.ImportAlias, cst.AsName)):
            continue
        references.append(node)
    return references
