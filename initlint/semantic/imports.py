"""Which qualified name each local name stands for, from the file's import statements.

Precision first: a name that is imported in two different ways, or imported and also bound by
an assignment, a definition, a parameter or a loop anywhere in the file, resolves to nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from initlint._lazy import cst
from initlint.semantic.core import dotted

__all__ = ["AMBIGUOUS", "ImportTable", "dotted"]  # dotted lives in core; rules import it from here

AMBIGUOUS = object()


@dataclass
class ImportTable:
    bindings: dict[str, object] = field(default_factory=dict)  # local name -> qualified name | AMBIGUOUS
    rebound: set[str] = field(default_factory=set)  # names bound by something other than an import
    import_nodes: list[cst.Import | cst.ImportFrom] = field(default_factory=list)
    star_import: bool = False  # `from m import *` somewhere: it may bind any name

    def bind(self, local: str, qualified: str) -> None:
        previous = self.bindings.get(local)
        if previous is None or previous == qualified:
            self.bindings[local] = qualified
        else:
            self.bindings[local] = AMBIGUOUS

    def add_import(self, node: cst.Import | cst.ImportFrom) -> None:
        self.import_nodes.append(node)
        if isinstance(node, cst.Import):
            for alias in node.names:
                name = dotted(alias.name)
                if name is None:
                    continue
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.bind(alias.asname.name.value, name)
                else:
                    # ``import torch.nn`` binds ``torch``.
                    top = name.split(".", 1)[0]
                    self.bind(top, top)
            return
        if isinstance(node.names, cst.ImportStar):
            self.star_import = True
            return
        module = dotted(node.module) if node.module is not None else ""
        if module is None:
            return
        prefix = "." * len(node.relative) + module
        for alias in node.names:
            if not isinstance(alias.name, cst.Name):
                continue
            local = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else None
            imported = alias.name.value
            qualified = f"{prefix}.{imported}" if prefix and not prefix.endswith(".") else prefix + imported
            self.bind(local or imported, qualified)

    def resolve_name(self, name: str) -> str | None:
        qualified = self.bindings.get(name)
        if qualified is None or qualified is AMBIGUOUS or name in self.rebound:
            return None
        return qualified  # type: ignore[return-value]

    def local_name_for(self, qualified: str) -> str | None:
        """A local name bound, unambiguously, to exactly ``qualified``."""
        for local, target in self.bindings.items():
            if target == qualified and local not in self.rebound:
                return local
        return None

    def is_free(self, name: str) -> bool:
        """True when nothing in the file binds ``name``."""
        return name not in self.bindings and name not in self.rebound
