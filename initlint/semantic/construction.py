"""What a class's ``__init__`` executes, in order: the calls in its body and, followed into,
``self.method(...)`` calls, functions given to ``<self or self.X>.apply(fn)``, module-level
functions of this file and constructors of module classes of this file. Each call carries the
call of ``__init__`` that led to it and the ``if`` branches on the way, so that a rule can
tell that one thing happens after another (and not in an exclusive branch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from initlint._lazy import cst
from initlint.semantic.catalog import LAYERS
from initlint.semantic.core import is_none, self_attribute
from initlint.semantic.inits import Dispatch, classname_variable
from initlint.semantic.inits import _apply_condition as apply_condition
from initlint.semantic.instances import ClassInstances, Registered, instance_kind, instance_type
from initlint.semantic.structure import module_function
from initlint.semantic.values import string_value

if TYPE_CHECKING:
    from initlint.semantic.model import SemanticModel
    from initlint.semantic.modules import ModuleClass

_MAX_DEPTH = 6
_MAX_STEPS = 20_000  # calls followed per trace: constructors nested in loops must not blow up


@dataclass(frozen=True, eq=False)
class Step:
    call: cst.Call
    order: int  # execution order within the trace
    anchor: cst.Call  # the call in the traced class's __init__ that leads here
    owner: ModuleClass  # whose ``self`` is current (the traced class, or one it constructs)
    trigger: cst.Call  # the call in ``owner.__init__`` that leads here
    holder: cst.CSTNode  # the function or lambda whose body holds ``call``
    applied_to: cst.BaseExpression | None  # receiver of the ``.apply`` that runs ``holder``
    branches: tuple[tuple[int, str], ...]  # (id of an If, "body" / "else") on the way

    def excludes(self, other: Step) -> bool:
        """The two steps lie in different branches of one ``if``: at most one of them runs."""
        mine = dict(self.branches)
        return any(mine.get(node, branch) != branch for node, branch in other.branches)


@dataclass(frozen=True)
class _Context:
    owner: ModuleClass
    holder: cst.CSTNode
    anchor: cst.Call | None
    trigger: cst.Call | None
    applied_to: cst.BaseExpression | None
    branches: tuple[tuple[int, str], ...]
    stack: tuple[cst.CSTNode, ...]


def trace_constructor(model: SemanticModel, cls: ModuleClass) -> list[Step]:
    init = cls.init
    if init is None:
        return []
    tracer = _Tracer(model)
    tracer.function(init, _Context(cls, init, None, None, None, (), (init,)))
    return tracer.steps


class _Tracer:
    def __init__(self, model: SemanticModel) -> None:
        self.model = model
        self.steps: list[Step] = []

    def function(self, holder: cst.CSTNode, context: _Context) -> None:
        body = holder.body  # type: ignore[attr-defined]
        if isinstance(holder, cst.Lambda):
            self.expression(body, context)
        else:
            self.block(body, context)

    def block(self, body: cst.BaseSuite, context: _Context) -> None:
        statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
        for statement in statements:
            self.statement(statement, context)

    def statement(self, statement: cst.CSTNode, context: _Context) -> None:
        if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            for small in statement.body:
                self.expression(small, context)
        elif isinstance(statement, cst.If):
            self.expression(statement.test, context)
            self.block(statement.body, _branch(context, statement, "body"))
            if statement.orelse is not None:
                inner = _branch(context, statement, "else")
                if isinstance(statement.orelse, cst.If):
                    self.statement(statement.orelse, inner)
                else:
                    self.block(statement.orelse.body, inner)
        elif isinstance(statement, (cst.For, cst.While)):
            self.expression(statement.iter if isinstance(statement, cst.For) else statement.test, context)
            self.block(statement.body, context)
            if statement.orelse is not None:
                self.block(statement.orelse.body, context)
        elif isinstance(statement, cst.With):
            for item in statement.items:
                self.expression(item.item, context)
            self.block(statement.body, context)
        elif isinstance(statement, cst.Try):
            # The handlers run instead of the rest of the body: left out, they prove no order.
            self.block(statement.body, context)
            if statement.orelse is not None:
                self.block(statement.orelse.body, context)
            if statement.finalbody is not None:
                self.block(statement.finalbody.body, context)

    def expression(self, node: cst.CSTNode, context: _Context) -> None:
        """Calls in ``node`` in execution order: arguments before the call (post-order)."""
        model = self.model
        calls = [node] if isinstance(node, cst.Call) else []
        calls += [c for c in model.nodes_within(node, cst.Call) if _runs_here(model, c, node)]
        pending: list[cst.Call] = []  # calls whose arguments are still being visited
        for call in calls:  # in source order (pre-order): a call comes before those inside it
            while pending and model.precedes(pending[-1], call):
                self.call(pending.pop(), context)
            pending.append(call)
        while pending:
            self.call(pending.pop(), context)

    def call(self, call: cst.Call, context: _Context) -> None:
        anchor = context.anchor or call
        trigger = context.trigger or call
        self.steps.append(
            Step(call, len(self.steps), anchor, context.owner, trigger, context.holder, context.applied_to,
                 context.branches)
        )  # fmt: skip
        if len(context.stack) > _MAX_DEPTH or len(self.steps) > _MAX_STEPS:
            return
        target, applied_to, owner = self._callee(call, context)
        if target is None or any(target is frame for frame in context.stack):
            return
        # In a constructor of another class, its own calls are the triggers of what it does.
        trigger_for = trigger if owner is context.owner else None
        self.function(
            target,
            _Context(owner, target, anchor, trigger_for, applied_to, context.branches, (*context.stack, target)),
        )

    def _callee(
        self, call: cst.Call, context: _Context
    ) -> tuple[cst.CSTNode | None, cst.BaseExpression | None, ModuleClass]:
        """The function a call runs that the trace follows, the receiver of ``.apply`` when it
        runs through one, and whose ``self`` is current inside."""
        model = self.model
        func = call.func
        owner = context.owner
        if isinstance(func, cst.Attribute):
            receiver = func.value
            if isinstance(receiver, cst.Name) and receiver.value == "self" and func.attr.value != "__init__":
                if func.attr.value == "apply":
                    return self._applied(call, context), receiver, owner
                return owner.methods.get(func.attr.value), None, owner
            if func.attr.value == "apply" and _on_self(receiver):
                return self._applied(call, context), receiver, owner
            return None, None, owner
        if isinstance(func, cst.Name):
            cls = model.module_classes.get(func.value)
            if cls is not None and func.value not in model.imports.bindings:
                return cls.init, None, cls
            return module_function(model, func.value), None, owner
        return None, None, owner

    def _applied(self, call: cst.Call, context: _Context) -> cst.CSTNode | None:
        if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
            return None
        return function_named(self.model, call.args[0].value, context.holder, context.owner)


def _runs_here(model: SemanticModel, call: cst.Call, holder: cst.CSTNode) -> bool:
    """``call`` runs when ``holder`` does: it is not in a lambda, function or class defined there."""
    for ancestor in model.ancestors(call):
        if ancestor is holder:
            return True
        if isinstance(ancestor, (cst.Lambda, cst.FunctionDef, cst.ClassDef)):
            return False
    return False


def function_named(
    model: SemanticModel, node: cst.BaseExpression, holder: cst.CSTNode, owner: ModuleClass
) -> cst.CSTNode | None:
    """The function ``node`` names where ``holder`` runs: a lambda, a ``def`` nested in
    ``holder`` (defined once there), ``self.method``, a module-level function, or any of those
    through ``functools.partial``."""
    if isinstance(node, cst.Lambda):
        return node
    if isinstance(node, cst.Call) and model.qualified_name(node.func) == "functools.partial" and node.args:
        return function_named(model, node.args[0].value, holder, owner)
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        return owner.methods.get(node.attr.value)
    if isinstance(node, cst.Name):
        nested = [
            d for d in model.nodes_within(holder, cst.FunctionDef)
            if d.name.value == node.value and model.enclosing(d, cst.FunctionDef) is holder
        ]  # fmt: skip
        if nested:
            return nested[0] if len(nested) == 1 else None
        return module_function(model, node.value)
    return None


def _on_self(node: cst.BaseExpression) -> bool:
    """``self.X``, ``self.X.Y``, ``self.X[i]``."""
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        node = node.value
    return isinstance(node, cst.Name) and node.value == "self"


def _branch(context: _Context, node: cst.If, branch: str) -> _Context:
    return _Context(
        context.owner, context.holder, context.anchor, context.trigger, context.applied_to,
        (*context.branches, (id(node), branch)), context.stack,
    )  # fmt: skip


# -- which module instances an expression at a step denotes ---------------------------------------
_MODULE_ITERATORS = frozenset({"modules", "named_modules"})


def modules_reached(model: SemanticModel, step: Step, module: cst.BaseExpression) -> list[cst.Call]:
    """The instances (constructor calls) ``module`` denotes when ``step`` runs: a name bound by
    ``for m in self.modules()`` / ``for c in self.convs`` or the module argument of a function
    given to ``.apply`` stands for each module registered by then that its ``isinstance`` /
    class-name dispatch admits; anything else for what it names (``self.conv``, a local)."""
    instances = model.instances.of_class(step.owner)
    if instances is None:
        return []
    binding = module_binding(model, step, module)
    if binding is None:
        return instances.of(module, step.holder)
    if binding.scope is None and not binding.candidates:
        return []
    if _exits_before(model, binding.binder, step.call):
        return []  # `if not isinstance(m, T): return` filters in a way not followed here
    out: list[cst.Call] = []
    for registered in binding.candidates:
        call = registered.call
        kind = instance_kind(model, call)
        if kind is None or kind.weight_rank is None or any(call is c for c in out):
            continue
        if not model.precedes(registered.statement, step.trigger):
            continue  # registered after the step runs: not reached
        if _admitted(model, step.call, binding.binder, binding.name, instance_type(model, call) or ""):
            out.append(call)
    return out


@dataclass(frozen=True, eq=False)
class Binding:
    """A module variable that stands for each module of a scope: the loop variable of
    ``for m in <scope>.modules()`` or the module parameter of a function given to
    ``<scope>.apply``."""

    name: str
    binder: cst.CSTNode  # the For, or the applied function
    scope: cst.BaseExpression | None  # `self` / `self.X` whose every submodule it visits; None: a member loop
    candidates: list[Registered]


def module_binding(model: SemanticModel, step: Step, module: cst.BaseExpression) -> Binding | None:
    """The binding of ``module`` at ``step`` when it is a module variable; None when it is not
    one (an unresolved one has no scope and no candidates)."""
    if not isinstance(module, cst.Name):
        return None
    name = module.value
    instances = model.instances.of_class(step.owner)
    for ancestor in model.ancestors(step.call):
        if ancestor is step.holder:
            break
        if isinstance(ancestor, cst.For) and _binds_name(ancestor.target, name):
            iterable = ancestor.iter
            scope = _iterated_scope(iterable)
            candidates = _iterated(model, instances, iterable) if instances is not None else []
            return Binding(name, ancestor, scope, candidates)
    params = getattr(step.holder, "params", None)
    names = [p.name.value for p in params.params] if params is not None else []
    if name not in names:
        return None
    if step.applied_to is None or names.index(name) != (1 if names[0] == "self" else 0):
        return Binding(name, step.holder, None, [])
    scope = step.applied_to if _is_scope(step.applied_to) else None
    candidates = _scope(instances, step.applied_to) if instances is not None else []
    return Binding(name, step.holder, scope, candidates)


def admitted_types(model: SemanticModel, step: Step, binding: Binding) -> frozenset[str] | None:
    """The torch.nn layer types (with a weight) a generic step acts on, when its dispatch is
    made of ``isinstance`` tests only (so that subclasses from other files behave like their
    base); None when it cannot be told."""
    if _exits_before(model, binding.binder, step.call):
        return None
    child: cst.CSTNode = step.call
    for ancestor in model.ancestors(step.call):
        if ancestor is binding.binder:
            break
        if isinstance(ancestor, (cst.If, cst.IfExp)) and child is not ancestor.test:
            if not _isinstance_only(model, ancestor.test, binding.name):
                return None
        child = ancestor
    admitted = set()
    for type_name, kind in LAYERS.items():
        if kind.weight_rank is None or type_name.startswith("Lazy"):
            continue
        verdict = _admitted_verdict(model, step.call, binding.binder, binding.name, type_name)
        if verdict is None:
            return None
        if verdict:
            admitted.add(type_name)
    return frozenset(admitted)


def registers_between(model: SemanticModel, owner: ModuleClass, first: cst.Call, second: cst.Call) -> bool:
    """Whether ``owner.__init__`` may register a module between its calls ``first`` and
    ``second``: any assignment to ``self.X`` or any other call in the statements between them."""
    init = owner.init
    if init is None or not isinstance(init.body, cst.IndentedBlock):
        return True
    statements = init.body.body
    indices = []
    for node in (first, second):
        index = next((i for i, s in enumerate(statements) if s is node or _contains(model, s, node)), None)
        if index is None:
            return True
        indices.append(index)
    if indices[0] >= indices[1]:
        return True  # in one statement (or out of order): not told apart here
    for statement in statements[indices[0] + 1 : indices[1]]:
        if any(True for _ in model.nodes_within(statement, cst.Call)):
            return True
        for assign_type in (cst.Assign, cst.AugAssign, cst.AnnAssign):
            if any(True for _ in model.nodes_within(statement, assign_type)):
                return True
    return False


def _contains(model: SemanticModel, holder: cst.CSTNode, node: cst.CSTNode) -> bool:
    return any(ancestor is holder for ancestor in model.ancestors(node))


def _iterated_scope(iterable: cst.BaseExpression) -> cst.BaseExpression | None:
    if (
        isinstance(iterable, cst.Call)
        and isinstance(iterable.func, cst.Attribute)
        and iterable.func.attr.value in _MODULE_ITERATORS
        and _is_scope(iterable.func.value)
    ):
        return iterable.func.value
    return None


def _is_scope(node: cst.BaseExpression) -> bool:
    return (isinstance(node, cst.Name) and node.value == "self") or self_attribute(node) is not None


def _isinstance_only(model: SemanticModel, test: cst.BaseExpression, name: str) -> bool:
    """Every part of ``test`` that mentions the module variable is an ``isinstance`` call."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return _isinstance_only(model, test.expression, name)
    if isinstance(test, cst.BooleanOperation):
        return _isinstance_only(model, test.left, name) and _isinstance_only(model, test.right, name)
    if not _mentions(model, test, name):
        return True
    return isinstance(test, cst.Call) and model.is_builtin(test.func, "isinstance")


def _iterated(model: SemanticModel, instances: ClassInstances, iterable: cst.BaseExpression) -> list[Registered]:
    if (
        isinstance(iterable, cst.Call)
        and isinstance(iterable.func, cst.Attribute)
        and iterable.func.attr.value in _MODULE_ITERATORS
    ):
        return _scope(instances, iterable.func.value)
    attribute = self_attribute(iterable)
    if attribute is not None:
        holders = instances.attribute(attribute)
        if len(holders) == 1:
            members = instances.members(holders[0])
            return [r for r in instances.registered() if any(r.call is m for m in members)]
    return []


def _scope(instances: ClassInstances, receiver: cst.BaseExpression) -> list[Registered]:
    """What ``receiver.apply`` / ``receiver.modules()`` visits: ``self`` or ``self.X``."""
    if isinstance(receiver, cst.Name) and receiver.value == "self":
        return instances.registered()
    attribute = self_attribute(receiver)
    if attribute is not None:
        return [r for r in instances.registered() if r.attribute == attribute]
    return []


def _exits_before(model: SemanticModel, binder: cst.CSTNode, call: cst.Call) -> bool:
    for exit_type in (cst.Return, cst.Raise, cst.Continue, cst.Break):  # libcst loads on first use
        for node in model.nodes_within(binder, exit_type):
            if model.precedes(node, call) and model.enclosing(node, cst.FunctionDef) is model.enclosing(
                call, cst.FunctionDef
            ):
                return True
    return False


# A condition that does not mention the module variable: the step is conditional, not filtered.
_FREE = "free"


def _admitted(model: SemanticModel, call: cst.Call, binder: cst.CSTNode, name: str, type_name: str) -> bool:
    """Every ``if`` between ``call`` and ``binder`` provably lets a module of ``type_name`` through."""
    return _admitted_verdict(model, call, binder, name, type_name) is True


def _admitted_verdict(
    model: SemanticModel, call: cst.Call, binder: cst.CSTNode, name: str, type_name: str
) -> bool | None:
    """True: every ``if`` between ``call`` and ``binder`` lets a module of ``type_name`` through;
    False: one provably stops it; None: cannot tell."""
    child: cst.CSTNode = call
    for ancestor in model.ancestors(call):
        if ancestor is binder:
            return True
        if isinstance(ancestor, (cst.If, cst.IfExp)) and child is not ancestor.test:
            value = _holds(model, ancestor.test, name, type_name)
            wanted = child is ancestor.body
            if value is None:
                return None
            if value != _FREE and value is not wanted:
                return False
        elif isinstance(ancestor, cst.BooleanOperation):
            return None  # `isinstance(m, T) and init(m)`: not followed
        child = ancestor
    return None


def _holds(model: SemanticModel, test: cst.BaseExpression, name: str, type_name: str) -> bool | str | None:
    """Whether ``test`` holds for a module of ``type_name``: True, False, None (cannot tell), or
    _FREE (it does not depend on the module)."""
    if not _mentions(model, test, name):
        return _FREE
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = _holds(model, test.expression, name, type_name)
        return inner if inner is None or inner == _FREE else not inner
    if isinstance(test, cst.BooleanOperation):
        left = _holds(model, test.left, name, type_name)
        right = _holds(model, test.right, name, type_name)
        if _FREE in (left, right):
            return None  # `flag or isinstance(m, T)`: depends on the flag
        if isinstance(test.operator, cst.And):
            return False if False in (left, right) else (True if left is True and right is True else None)
        return True if True in (left, right) else (False if left is False and right is False else None)
    dispatch = Dispatch()
    apply_condition(model, test, name, dispatch)
    if dispatch.types is not None:
        return _instance_of(type_name, dispatch.types)
    if dispatch.name_contains is not None:
        return dispatch.name_contains in type_name
    if _has_weight_test(model, test, name):
        return True
    return None


def _instance_of(type_name: str, types: tuple[str, ...]) -> bool | None:
    base = type_name.removeprefix("Lazy")  # LazyConv1d derives from Conv1d
    if type_name in types or base in types:
        return True
    # False only when every class is a torch.nn layer we know (none is a base of another) or a
    # class of this file (never a base of a torch.nn layer).
    if all(t in LAYERS and not t.startswith("Lazy") for t in types):
        return False
    return None


def _has_weight_test(model: SemanticModel, test: cst.BaseExpression, name: str) -> bool:
    """``hasattr(m, "weight")``, ``m.weight is not None``, ``getattr(m, "weight", None) is not None``."""
    if isinstance(test, cst.Call) and model.is_builtin(test.func, "hasattr") and len(test.args) == 2:
        first, second = test.args[0].value, test.args[1].value
        return (
            isinstance(first, cst.Name) and first.value == name
            and isinstance(second, cst.SimpleString) and string_value(second) == "weight"
        )  # fmt: skip
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        comparison = test.comparisons[0]
        left = test.left
        if not (isinstance(comparison.operator, cst.IsNot) and is_none(comparison.comparator)):
            return False
        if isinstance(left, cst.Attribute) and left.attr.value == "weight":
            return isinstance(left.value, cst.Name) and left.value.value == name
        if isinstance(left, cst.Call) and model.is_builtin(left.func, "getattr") and len(left.args) >= 2:
            first, second = left.args[0].value, left.args[1].value
            return (
                isinstance(first, cst.Name) and first.value == name
                and isinstance(second, cst.SimpleString) and string_value(second) == "weight"
            )  # fmt: skip
    return False


def _mentions(model: SemanticModel, test: cst.BaseExpression, name: str) -> bool:
    """``test`` reads the module variable, directly or through ``classname = m.__class__.__name__``."""
    return any(n.value == name or classname_variable(model, n.value, test, name) for n in _names(model, test))


def _names(model: SemanticModel, node: cst.CSTNode) -> list[cst.Name]:
    return [node] if isinstance(node, cst.Name) else list(model.nodes_within(node, cst.Name))


def _binds_name(target: cst.BaseExpression, name: str) -> bool:
    if isinstance(target, cst.Name):
        return target.value == name
    if isinstance(target, (cst.Tuple, cst.List)):
        return any(_binds_name(e.value, name) for e in target.elements)
    return False
