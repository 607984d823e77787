"""The semantic model of a file, built once per file and shared by every rule.

It answers: what does this expression name (``qualified_name``), where is this node
(``range_of``), what encloses it (``ancestors``), and how can a fix refer to a torch name
(``reference_to``). Later layers (modules, forward dataflow, init sites) hang off it lazily.
"""

from __future__ import annotations

import bisect
import io
import re
import tokenize
from collections import Counter
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from initlint._lazy import cst
from initlint.finding import Edit

if TYPE_CHECKING:
    from libcst.metadata import CodeRange

    from initlint.project.index import ProjectIndex
    from initlint.semantic.dataflow import Dataflow
    from initlint.semantic.inits import InitSite
    from initlint.semantic.instances import InstanceIndex
    from initlint.semantic.modules import ModuleClass
    from initlint.semantic.remote import ProjectView, RemoteSite
    from initlint.semantic.reparam import Reparametrization
from initlint.semantic.core import is_string, module_assignments, target_names
from initlint.semantic.imports import ImportTable, dotted
from initlint.semantic.positions import Positions
from initlint.semantic.walk import index_tree
from initlint.source import SourceFile

N = TypeVar("N", bound="cst.CSTNode")

INIT_MODULE = "torch.nn.init"
_INIT_WORD = re.compile(r"\binit\b")


def _comments(code: str) -> list[str] | None:
    """The comments in a piece of code (an expression, or several on their own lines); None when
    it does not tokenize."""
    if "#" not in code:
        return []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(f"(\n{code}\n)").readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    return [token.string for token in tokens if token.type == tokenize.COMMENT]


class SemanticModel:
    def __init__(
        self,
        source: SourceFile,
        module: cst.Module,
        init_aliases: dict[str, str] | None = None,
        project: ProjectIndex | None = None,
    ) -> None:
        self.source = source
        self.module = module
        self.init_aliases = init_aliases or {}
        self.project_index = project  # the other files of the project, read through `project`
        self._by_type, self.parent, self._order = index_tree(module)
        self.imports = self._build_imports()

    # -- indexing ---------------------------------------------------------------------------
    def nodes(self, node_type: type[N]) -> Sequence[N]:
        """Every node of exactly this type, outermost first."""
        return self._by_type.get(node_type, ())  # type: ignore[return-value]

    def nodes_within(self, holder: cst.CSTNode, node_type: type[N]) -> Iterator[N]:
        """Every node of exactly this type inside ``holder`` (at any depth), in source order.

        In pre-order, ``holder``'s subtree is one run of the per-type list right after
        ``holder``: bisect to it and stop at the first node outside, so that asking this of
        every class or function costs what they contain, not the whole file each time."""
        candidates = self.nodes(node_type)
        order = self._order
        start = order.get(holder)
        if start is None:
            return
        index = bisect.bisect_right(candidates, start, key=order.__getitem__)
        for position in range(index, len(candidates)):
            node = candidates[position]
            if not any(ancestor is holder for ancestor in self.ancestors(node)):
                return
            yield node

    def precedes(self, first: cst.CSTNode, second: cst.CSTNode) -> bool:
        """``first`` (and all it contains) comes before ``second`` in the source."""
        if self._order[first] >= self._order[second]:
            return False
        return not any(ancestor is first for ancestor in self.ancestors(second))

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        parent = self.parent.get(node)
        while parent is not None:
            yield parent
            parent = self.parent.get(parent)

    def enclosing(self, node: cst.CSTNode, node_type: type[N]) -> N | None:
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, node_type):
                return ancestor
        return None

    def _build_imports(self) -> ImportTable:
        table = ImportTable()
        for node in (*self.nodes(cst.Import), *self.nodes(cst.ImportFrom)):
            table.add_import(node)
        rebound = table.rebound
        for assign in self.nodes(cst.Assign):
            for target in assign.targets:
                rebound.update(target_names(target.target))
        for node in (*self.nodes(cst.AnnAssign), *self.nodes(cst.AugAssign), *self.nodes(cst.NamedExpr)):
            rebound.update(target_names(node.target))
        for node in (*self.nodes(cst.For), *self.nodes(cst.CompFor)):
            rebound.update(target_names(node.target))
        for item in self.nodes(cst.WithItem):
            if item.asname is not None:
                rebound.update(target_names(item.asname.name))
        for handler in (*self.nodes(cst.ExceptHandler), *self.nodes(cst.ExceptStarHandler)):
            if handler.name is not None:
                rebound.update(target_names(handler.name.name))
        # `del torch` unbinds the name: a use after it (or an import a fix adds) is not the import.
        for deletion in self.nodes(cst.Del):
            rebound.update(target_names(deletion.target))
        # Capture patterns of `match` bind names too (`case torch:`, `case [*torch]`, `case {**torch}`).
        for capture in (*self.nodes(cst.MatchAs), *self.nodes(cst.MatchStar)):
            if capture.name is not None:
                rebound.add(capture.name.value)
        for mapping in self.nodes(cst.MatchMapping):
            if mapping.rest is not None:
                rebound.add(mapping.rest.value)
        # Definitions: functions, classes, `type X = ...` aliases and PEP 695 type parameters.
        for definition in (
            *self.nodes(cst.FunctionDef),
            *self.nodes(cst.ClassDef),
            *self.nodes(cst.TypeAlias),
            *self.nodes(cst.TypeVar),
            *self.nodes(cst.TypeVarTuple),
            *self.nodes(cst.ParamSpec),
        ):
            rebound.add(definition.name.value)
        for param in self.nodes(cst.Param):
            rebound.add(param.name.value)
        return table

    # -- layers built on demand: modules, forward dataflow, init sites ------------------------------
    @cached_property
    def module_classes(self) -> dict[str, ModuleClass]:
        """nn.Module subclasses of this file, by name, with the layers their __init__ builds."""
        from initlint.semantic.modules import find_module_classes

        return find_module_classes(self)

    @cached_property
    def dataflow(self) -> Dataflow:
        """What follows each layer's output in forward (activations, norms, other layers)."""
        from initlint.semantic.dataflow import analyze_dataflow

        return analyze_dataflow(self)

    @cached_property
    def init_sites(self) -> list[InitSite]:
        """Every init call of the file, with the scheme it implies and the layers it reaches."""
        from initlint.semantic.inits import find_init_sites

        return find_init_sites(self)

    @cached_property
    def reparametrizations(self) -> dict[cst.Call, Reparametrization]:
        """weight_norm / spectral_norm / parametrization calls, by call (see semantic/reparam.py)."""
        from initlint.semantic.reparam import find_reparametrizations

        return find_reparametrizations(self)

    @cached_property
    def instances(self) -> InstanceIndex:
        """The module instances each class's constructor builds (see semantic/instances.py)."""
        from initlint.semantic.instances import InstanceIndex

        return InstanceIndex(self)

    @cached_property
    def project(self) -> ProjectView | None:
        """This file's view of the other files of its project; None when checked on its own."""
        if self.project_index is None:
            return None
        from initlint.semantic.remote import ProjectView

        return ProjectView(self, self.project_index)

    @cached_property
    def remote_init_sites(self) -> list[RemoteSite]:
        """Inits written in other files of the project that reach this file's layers."""
        view = self.project
        return [] if view is None else view.remote_sites()

    @cached_property
    def _wrapper_aliases(self) -> dict[str, str]:
        """This file's functions that call one nn.init function with their own parameters, in
        its order (``def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0)``)."""
        from initlint.project.wrappers import passthrough_alias

        aliases = {}
        for statement in self.module.body:
            if isinstance(statement, cst.FunctionDef):
                alias = passthrough_alias(self, statement)
                if alias is not None:
                    aliases[statement.name.value] = alias
        return aliases

    def class_of(self, node: cst.CSTNode) -> ModuleClass | None:
        """The nn.Module class whose body holds ``node``."""
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, cst.ClassDef):
                return self.module_classes.get(ancestor.name.value)
        return None

    @cached_property
    def _module_constants(self) -> dict[str, object]:
        from initlint.semantic.values import UNKNOWN, evaluate

        counts: dict[str, int] = {}
        for node in (*self.nodes(cst.Assign), *self.nodes(cst.AnnAssign), *self.nodes(cst.AugAssign)):
            targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
            for target in targets:
                for name in target_names(target):
                    counts[name] = counts.get(name, 0) + 1
        constants: dict[str, object] = {}
        for name, assigned in module_assignments(self.module):
            if counts.get(name) == 1 and name not in self.imports.bindings:
                constants[name] = UNKNOWN  # placeholder while evaluating (no self-reference)
                constants[name] = evaluate(self, assigned)
        return constants

    def module_constant(self, name: str) -> object:
        from initlint.semantic.values import UNKNOWN

        constants = self.__dict__.get("_module_constants")
        if constants is None:
            if self.__dict__.get("_computing_constants"):
                return UNKNOWN
            self.__dict__["_computing_constants"] = True
            constants = self._module_constants
        return constants.get(name, UNKNOWN)

    # -- names ------------------------------------------------------------------------------
    def qualified_name(self, node: cst.BaseExpression) -> str | None:
        """The fully qualified name a Name/Attribute chain refers to, through the imports."""
        name = dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        resolved = self.imports.resolve_name(head)
        if resolved is None:
            return None
        return f"{resolved}.{rest}" if rest else resolved

    def is_builtin(self, node: cst.BaseExpression, name: str) -> bool:
        """``node`` is the builtin ``name`` (a bare Name nothing in the file rebinds)."""
        return isinstance(node, cst.Name) and node.value == name and self.imports.is_free(name)

    def init_function(self, func: cst.BaseExpression) -> str | None:
        """For a callee that is a ``torch.nn.init`` function (or a configured alias of one), its
        name in ``torch.nn.init`` (``"normal_"``); else None."""
        qualified = self.qualified_name(func)
        if qualified is None:
            return self._assigned_init_function(func) or self._wrapper_alias(func)
        return self._imported_init_function(qualified) or self._remote_alias(func, qualified)

    def _wrapper_alias(self, func: cst.BaseExpression) -> str | None:
        if not isinstance(func, cst.Name) or not self._mentions_init:
            return None
        alias = self._wrapper_aliases.get(func.value)
        if alias is None or self.imports.bindings.get(func.value) is not None:
            return None
        definitions = [d for d in self.nodes(cst.FunctionDef) if d.name.value == func.value]
        return alias if len(definitions) == 1 else None

    def _remote_alias(self, func: cst.BaseExpression, qualified: str) -> str | None:
        if self.project_index is None or qualified.startswith(("torch.", "numpy.", "math.")):
            return None
        view = self.project
        return view.alias_of(func) if view is not None else None

    def _imported_init_function(self, qualified: str | None) -> str | None:
        if qualified is None:
            return None
        if qualified.startswith(INIT_MODULE + ".") and qualified.count(".") == 3:
            return qualified.rsplit(".", 1)[1]
        return self.init_aliases.get(qualified)

    @cached_property
    def _mentions_init(self) -> bool:
        """The word ``init`` occurs in the file (a torch.nn.init reference may); searched once."""
        return "init" in self.source.text and bool(_INIT_WORD.search(self.source.text))

    @cached_property
    def _init_function_names(self) -> frozenset[str]:
        """Names assigned an imported init function somewhere (``xu = nn.init.xavier_uniform_``)."""
        from initlint.semantic.schemes import INIT_FUNCTIONS

        if not self.init_aliases and not self._mentions_init:
            return frozenset()  # no torch.nn.init reference to bind (`__init__` does not count)
        # Last parts an init function can have: a cheap test before resolving the name.
        tails = INIT_FUNCTIONS | {qualified.rsplit(".", 1)[-1] for qualified in self.init_aliases}
        names = set()
        for assign in self.nodes(cst.Assign):
            value = assign.value
            tail = value.attr.value if isinstance(value, cst.Attribute) else getattr(value, "value", None)
            if not isinstance(value, (cst.Name, cst.Attribute)) or tail not in tails:
                continue
            if self._imported_init_function(self.qualified_name(value)):
                names.update(t.target.value for t in assign.targets if isinstance(t.target, cst.Name))
        return frozenset(names)

    def _assigned_init_function(self, func: cst.BaseExpression) -> str | None:
        """``xu(w)`` after ``xu = xavier_uniform_``: the init function a name is bound to, when
        the scope it is read in (or the module, when no enclosing function binds it) binds it
        once, by that assignment, before the read."""
        names = self._init_function_names
        if not names or not isinstance(func, cst.Name) or func.value not in names:
            return None
        from initlint.semantic.instances import local_bindings

        name = func.value
        scopes = [a for a in self.ancestors(func) if isinstance(a, (cst.FunctionDef, cst.Lambda))]
        for scope in (*scopes, self.module):
            values = local_bindings(self, scope, name)
            if values is None or len(values) > 1:
                return None
            if not values:
                continue
            value = values[0]
            if isinstance(value, cst.Name) and value.value == name:
                return None
            if scope is not self.module and not self.precedes(value, func):
                return None
            if any(d.name.value == name for d in (*self.nodes(cst.FunctionDef), *self.nodes(cst.ClassDef))):
                return None
            return self._imported_init_function(self.qualified_name(value))
        return None

    def reference_to(self, qualified: str) -> tuple[str, list[Edit]] | None:
        """Code that names ``qualified`` from this file, reusing its imports; when no import
        reaches it, ``torch.…`` plus the edit adding ``import torch``. None when even that
        would be ambiguous."""
        parts = qualified.split(".")
        for cut in range(len(parts), 0, -1):
            local = self.imports.local_name_for(".".join(parts[:cut]))
            if local is not None:
                return ".".join([local, *parts[cut:]]), []
        if parts[0] != "torch" or not self.imports.is_free("torch"):
            return None
        return qualified, [self.import_insertion("import torch")]

    def import_insertion(self, statement: str) -> Edit:
        """An edit adding ``statement`` on its own line after the last import of the file's
        leading imports, which may follow the module docstring and ``from __future__`` imports.
        With no leading import and no docstring it goes just before the first statement: below
        a shebang, a PEP 263 coding line and other header comments, which must stay on top."""
        anchor_line = 0
        for index, stmt in enumerate(self.module.body):
            if isinstance(stmt, cst.SimpleStatementLine) and stmt.body:
                first = stmt.body[0]
                if isinstance(first, (cst.Import, cst.ImportFrom)):
                    anchor_line = self.range_of(stmt).end.line
                    continue
                if index == 0 and isinstance(first, cst.Expr) and is_string(first.value):
                    anchor_line = self.range_of(stmt).end.line  # the docstring, however it is written
                    continue
            break
        newline = self.source.newline
        if anchor_line == 0:
            if not self.module.body:  # only comments: at the end, below them all
                last = len(self.source.line_starts)
                end = len(self.source.line_text(last)) + 1
                text = statement + newline if end == 1 else newline + statement
                return Edit(last, end, last, end, text)
            first_line = self.range_of(self.module.body[0]).start.line
            first_line = min(first_line, self._first_decorator_line(self.module.body[0]))
            return Edit(first_line, 1, first_line, 1, statement + newline)
        end_column = len(self.source.line_text(anchor_line)) + 1
        return Edit(anchor_line, end_column, anchor_line, end_column, newline + statement)

    def _first_decorator_line(self, statement: cst.CSTNode) -> int:
        decorators = getattr(statement, "decorators", ())
        return min((self.range_of(d).start.line for d in decorators), default=self.range_of(statement).start.line)

    # -- positions and code -------------------------------------------------------------------
    @cached_property
    def _positions(self) -> Positions:
        # Computed only when a rule reports, and only for the statements it reports on.
        return Positions(self.module, self.source, self.parent)

    def statement_text(self, statement: cst.CSTNode) -> str | None:
        """The source text of a top-level statement, cut from the file (no code generation)."""
        return self._positions.statement_text(statement)

    def range_of(self, node: cst.CSTNode) -> CodeRange:
        return self._positions.range_of(node)

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def keeps_comments(self, node: cst.CSTNode, *kept: str) -> bool:
        """Every comment in ``node``'s text is also in the code ``kept`` puts back: a fix that
        rewrites a call must not delete the comments between its arguments."""
        span = self.range_of(node)
        start = self.source.offset(span.start.line, span.start.column + 1)
        end = self.source.offset(span.end.line, span.end.column + 1)
        original = _comments(self.source.text[start:end])
        if original is None:
            return False
        if not original:
            return True
        remaining = _comments("\n".join(kept))
        return remaining is not None and not (Counter(original) - Counter(remaining))

    def replace(self, node: cst.CSTNode, new: cst.CSTNode | str) -> Edit:
        """The edit that replaces ``node`` with ``new`` (a node or code)."""
        span = self.range_of(node)
        if not isinstance(new, str) and getattr(node, "lpar", None) and getattr(new, "lpar", None):
            # The node's range excludes its parentheses, which stay in the text.
            new = new.with_changes(lpar=[], rpar=[])  # type: ignore[attr-defined]
        content = new if isinstance(new, str) else self.code(new)
        return Edit(span.start.line, span.start.column + 1, span.end.line, span.end.column + 1, content)
