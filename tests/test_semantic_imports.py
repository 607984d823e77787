"""The import graph of initlint/semantic: model.py hangs its layers (modules, dataflow, inits, ...)
off itself with lazy imports, so none of them may import model.py back at run time; what they
share lives in semantic/core.py. Imports under ``if TYPE_CHECKING:`` do not run and do not count;
imports inside functions do (they run when the function is called)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "initlint.semantic"
ROOT = Path(__file__).resolve().parent.parent / "initlint" / "semantic"
MODEL = f"{PACKAGE}.model"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_names(node: ast.Import | ast.ImportFrom, submodules: set[str]) -> list[str]:
    """The modules of the package an import statement loads (``from initlint.semantic import x``
    loads the submodule x when there is one, else the package itself)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.startswith(PACKAGE)]
    if node.level or node.module is None or not node.module.startswith(PACKAGE):
        return []
    if node.module == PACKAGE:
        return [f"{PACKAGE}.{a.name}" if a.name in submodules else PACKAGE for a in node.names]
    return [node.module]


def runtime_imports(source: str, submodules: set[str]) -> set[str]:
    """The package's modules that ``source`` imports when it runs: at top level, in functions and
    in branches, but not in the body of ``if TYPE_CHECKING:``."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for statement in child.orelse:
                    visit_statement(statement)
                continue
            visit_statement(child)

    def visit_statement(node: ast.AST) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.update(_module_names(node, submodules))
        visit(node)

    visit(ast.parse(source))
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    submodules = {path.stem for path in root.glob("*.py") if path.stem != "__init__"}
    graph: dict[str, set[str]] = {}
    for path in sorted(root.glob("*.py")):
        name = PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"
        graph[name] = runtime_imports(path.read_text(encoding="utf-8"), submodules) - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in graph:
                continue
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_model_is_imported_at_run_time_only_by_the_package_init() -> None:
    graph = import_graph()
    importers = sorted(name for name, targets in graph.items() if MODEL in targets)
    assert importers == [PACKAGE], f"import SemanticModel under TYPE_CHECKING in {importers}"


def test_no_run_time_import_cycle_in_the_semantic_package() -> None:
    graph = import_graph()
    assert MODEL in graph[PACKAGE]
    assert cycles(graph) == []


def test_core_imports_nothing_of_the_package() -> None:
    assert import_graph()[f"{PACKAGE}.core"] == set()


def test_the_checks_see_what_runs(tmp_path: Path) -> None:
    """The graph reader counts function-level imports and skips TYPE_CHECKING ones; a cycle
    through a lazy import is found."""
    package = tmp_path / "semantic"
    package.mkdir()
    (package / "__init__.py").write_text("from initlint.semantic.model import SemanticModel\n")
    (package / "model.py").write_text("def layers():\n    from initlint.semantic.inits import find\n    return find\n")
    (package / "inits.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from initlint.semantic.model import SemanticModel\n"
        "else:\n    import initlint.semantic.values\n"
        "from initlint.semantic import values, core\n"
    )
    (package / "values.py").write_text("def f():\n    from initlint.semantic.model import SemanticModel\n")
    (package / "core.py").write_text("")
    graph = import_graph(package)
    assert graph[f"{PACKAGE}.inits"] == {f"{PACKAGE}.values", f"{PACKAGE}.core"}
    assert graph[MODEL] == {f"{PACKAGE}.inits"}
    assert cycles(graph) == [[f"{PACKAGE}.inits", MODEL, f"{PACKAGE}.values"]]
