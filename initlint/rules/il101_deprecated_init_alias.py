from __future__ import annotations

from collections.abc import Iterator

from initlint._lazy import cst
from initlint.finding import Edit
from initlint.rules.base import FixSpec, Invalid, Report, Rule, src
from initlint.rules.triggers import INIT_TRIGGER
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
    # torch.nn.init is referenced (INIT: every import style) and a deprecated name is used.
    triggers = (INIT_TRIGGER, rf"\.\s*(?:{_NAMES})\b|from\s+torch\s*\.\s*nn\s*\.\s*init\s+import")

    VALID = (
        src("""
            import torch.nn as nn
            nn.init.normal_(w)
        """),
        src("""
            from torch.nn.init import normal_
            normal_(w)
        """),
        src("""
            import numpy as np
            np.random.normal(0, 1)
        """),
        src("""
            import mylib.init as init
            init.normal(w)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                nn.init.normal(w, 0, 0.02)
            """),
            src("""
                import torch.nn as nn
                nn.init.normal_(w, 0, 0.02)
            """),
        ),
        Invalid(
            src("""
                from torch.nn import init
                init.xavier_uniform(w)
            """),
            src("""
                from torch.nn import init
                init.xavier_uniform_(w)
            """),
        ),
        Invalid(
            src("""
                import torch
                torch.nn.init.constant(b, 0)
            """),
            src("""
                import torch
                torch.nn.init.constant_(b, 0)
            """),
        ),
        # The use is fixed, not the import: other modules may import the name from this one.
        Invalid(
            src("""
                from torch.nn.init import kaiming_normal
                kaiming_normal(w)
            """),
            src("""
                from torch.nn.init import kaiming_normal
                from torch.nn.init import kaiming_normal_
                kaiming_normal_(w)
            """),
        ),
        Invalid(
            src("""
                import torch.nn as nn
                from torch.nn.init import orthogonal as ortho
                ortho(w)
            """),
            src("""
                import torch.nn as nn
                from torch.nn.init import orthogonal as ortho
                from torch.nn.init import orthogonal_
                orthogonal_(w)
            """),
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
        # A deprecated name imported by name (`from torch.nn.init import normal [as n]`): the
        # uses are reported and fixed, never the import. Renaming what the module binds would
        # break `__all__`, `from this_module import normal` elsewhere and any other use of it.
        for local in _imported_aliases(model):
            old = model.imports.resolve_name(local).rsplit(".", 1)[1]  # type: ignore[union-attr]
            new = old + "_"
            replacement = _reference(model, new)
            for reference in _references(model, local):
                fix = None
                if replacement is not None:
                    code, edits = replacement
                    fix = FixSpec("safe", f"Use `{new}`", [*edits, model.replace(reference, code)])
                yield Report(reference, _message(old), fix)


def _message(name: str) -> str:
    return f"`torch.nn.init.{name}` is a deprecated alias of `{name}_` (it warns on every call); use `{name}_`"


def _imported_aliases(model: SemanticModel) -> list[str]:
    """Local names that a from-import binds to a deprecated torch.nn.init alias, and that
    nothing else in the file binds."""
    names: list[str] = []
    for import_from in model.nodes(cst.ImportFrom):
        if import_from.relative or import_from.module is None or dotted(import_from.module) != "torch.nn.init":
            continue
        if isinstance(import_from.names, cst.ImportStar):
            continue
        for alias in import_from.names:
            if not isinstance(alias.name, cst.Name) or alias.name.value not in DEPRECATED:
                continue
            local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else None
            local = local or alias.name.value
            if model.imports.resolve_name(local) == f"torch.nn.init.{alias.name.value}" and local not in names:
                names.append(local)
    return names


def _reference(model: SemanticModel, new: str) -> tuple[str, list[Edit]] | None:
    """Code naming ``torch.nn.init.<new>`` and the edits it needs: an import the file has, else a
    new ``from torch.nn.init import <new>`` (when the name is free and no star import could
    bind it), else ``torch.nn.init.<new>`` with ``import torch``; None when none is safe."""
    qualified = f"torch.nn.init.{new}"
    local = model.imports.local_name_for(qualified)
    if local is not None:
        return local, []
    if model.imports.is_free(new) and not model.imports.star_import:
        return new, [model.import_insertion(f"from torch.nn.init import {new}")]
    return model.reference_to(qualified)


def _references(model: SemanticModel, name: str) -> list[cst.Name]:
    """Every use of ``name`` as a value in the file (the caller made sure it only ever stands
    for the import)."""
    references = []
    for node in model.nodes(cst.Name):
        if node.value != name:
            continue
        parent = model.parent.get(node)
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            continue
        if isinstance(parent, cst.Arg) and parent.keyword is node:
            continue
        if isinstance(parent, (cst.ImportAlias, cst.AsName, cst.NameItem)):
            continue
        if isinstance(parent, cst.MatchKeywordElement) and parent.key is node:
            continue
        references.append(node)
    return references
