from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule, src
from initlint.semantic import SemanticModel
from initlint.semantic.catalog import LAYERS
from initlint.semantic.construction import function_named
from initlint.semantic.inits import Dispatch, InitSite
from initlint.semantic.inits import _apply_condition as apply_condition
from initlint.semantic.module_tree import TreeModule, is_instance, module_tree
from initlint.semantic.modules import Layer, ModuleClass
from initlint.semantic.structure import bias_state
from initlint.semantic.values import string_value

_RESETS = frozenset({"reset_parameters", "_reset_parameters"})
_ITERATORS = {"modules": False, "named_modules": False, "children": True, "named_children": True}
_ROOT = 0  # the key of the root module itself
_MAX_DEPTH = 6
# Calls on a module or a tensor that change nothing it holds.
_READS = frozenset(
    {"size", "dim", "numel", "parameters", "named_parameters", "buffers", "named_buffers", "modules",
     "named_modules", "children", "named_children", "extra_repr", "state_dict", "register_buffer"}
)  # fmt: skip


class _GiveUp(Exception):
    """The reset does something this rule does not follow: it stays silent."""


@dataclass(frozen=True)
class _Flow:
    variable: str
    cls: ModuleClass
    build: cst.CSTNode  # the `with torch.device("meta"):` statement
    to_empty: cst.Call
    reset: cst.Call
    method: cst.FunctionDef


@dataclass(eq=False)
class _Coverage:
    modules: set[int] = field(default_factory=set)  # ids of constructor calls reset as a whole
    tensors: set[tuple[int, str]] = field(default_factory=set)  # (module key, tensor name) filled


class ToEmptyPartialReset(Rule):
    code = "IL414"
    name = "to-empty-partial-reset"
    summary = (
        "After `to_empty()` on a meta-built model, the reset that is called leaves some tensors in uninitialized memory"
    )
    severity = "error"
    literals = ("to_empty",)
    triggers = (r"\bmeta\b",)

    VALID = (
        src("""
            import torch
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc1 = nn.Linear(4, 4)
                    self.fc2 = nn.Linear(4, 2)
                def reset_parameters(self):
                    self.fc1.reset_parameters()
                    self.fc2.reset_parameters()
            with torch.device('meta'):
                model = Net()
            model.to_empty(device='cpu')
            model.reset_parameters()
        """),
        # a generic reset over every submodule
        src("""
            import torch
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.Linear(4, 4)
                    self.norm = nn.LayerNorm(4)
                def reset_parameters(self):
                    for m in self.modules():
                        if isinstance(m, (nn.Linear, nn.LayerNorm)):
                            m.reset_parameters()
            with torch.device('meta'):
                model = Net()
            model.to_empty(device='cpu')
            model.reset_parameters()
        """),
        # the weights are loaded afterwards
        src("""
            import torch
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.Linear(4, 4)
                    self.norm = nn.LayerNorm(4)
                def reset_parameters(self):
                    self.fc.reset_parameters()
            def load(path):
                with torch.device('meta'):
                    model = Net()
                model.to_empty(device='cpu')
                model.reset_parameters()
                model.load_state_dict(torch.load(path))
                return model
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc1 = nn.Linear(4, 4)
                        self.norm = nn.LayerNorm(4)
                        self.fc2 = nn.Linear(4, 2)
                    def reset_parameters(self):
                        self.fc1.reset_parameters()
                        self.fc2.reset_parameters()
                with torch.device('meta'):
                    model = Net()
                model.to_empty(device='cpu')
                model.reset_parameters()
            """)
        ),
        # an init of the weight leaves the bias, and a Parameter of the class, empty
        Invalid(
            src("""
                import torch
                import torch.nn as nn
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.proj = nn.Linear(8, 8)
                        self.scale = nn.Parameter(torch.ones(8))
                    def init_weights(self):
                        nn.init.xavier_uniform_(self.proj.weight)
                def build(device):
                    with torch.device('meta'):
                        net = Net()
                    net.to_empty(device=device)
                    net.init_weights()
                    return net
            """)
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for flow in _flows(model):
            try:
                missing = _missing(model, flow)
            except _GiveUp:
                continue
            if missing:
                yield _report(model, flow, missing)


# -- the meta-device flow -----------------------------------------------------------------------------


def _flows(model: SemanticModel) -> Iterator[_Flow]:
    for statement in model.nodes(cst.With):
        if not any(_is_meta(model, item.item) for item in statement.items):
            continue
        block = model.parent.get(statement)
        body = getattr(block, "body", None)
        if not isinstance(body, (list, tuple)):
            continue
        built = _built_instance(model, statement)
        if built is None:
            continue
        variable, cls = built
        position = next((i for i, line in enumerate(body) if line is statement), None)
        if position is None:
            continue
        after = list(body[position + 1 :])
        to_empty = None
        for index, line in enumerate(after):
            call = _method_call(line, variable)
            if call is None:
                if _mentions(model, line, variable):
                    break  # something else uses the model first
                continue
            method = call.func.attr.value  # type: ignore[attr-defined]
            if to_empty is None:
                if method != "to_empty":
                    break
                to_empty = call
                continue
            target = _method(model, cls, method)
            if target is None:
                break
            if _reloaded(model, variable, after[index + 1 :]):
                break
            yield _Flow(variable, cls, statement, to_empty, call, target)
            break


def _is_meta(model: SemanticModel, node: cst.BaseExpression) -> bool:
    if not (isinstance(node, cst.Call) and model.qualified_name(node.func) == "torch.device" and node.args):
        return False
    value = node.args[0].value
    return isinstance(value, cst.SimpleString) and string_value(value) == "meta"


def _built_instance(model: SemanticModel, statement: cst.With) -> tuple[str, ModuleClass] | None:
    """``name = Net(...)``, the one statement of the ``with`` body."""
    body = statement.body
    lines = body.body if isinstance(body, cst.IndentedBlock) else [body]
    if len(lines) != 1 or not isinstance(lines[0], (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
        return None
    smalls = lines[0].body
    if len(smalls) != 1 or not isinstance(smalls[0], cst.Assign) or len(smalls[0].targets) != 1:
        return None
    assign = smalls[0]
    target, value = assign.targets[0].target, assign.value
    if not (isinstance(target, cst.Name) and isinstance(value, cst.Call) and isinstance(value.func, cst.Name)):
        return None
    if value.func.value in model.imports.bindings:
        return None
    cls = model.module_classes.get(value.func.value)
    return (target.value, cls) if cls is not None else None


def _method_call(line: cst.CSTNode, variable: str) -> cst.Call | None:
    """``variable.method(...)`` as an expression statement."""
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return None
    small = line.body[0]
    if not isinstance(small, cst.Expr) or not isinstance(small.value, cst.Call):
        return None
    call = small.value
    func = call.func
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == variable:
        return call
    return None


def _mentions(model: SemanticModel, node: cst.CSTNode, variable: str) -> bool:
    return any(n.value == variable for n in model.nodes_within(node, cst.Name))


def _reloaded(model: SemanticModel, variable: str, rest: list[cst.CSTNode]) -> bool:
    """The model is given to other code (a checkpoint loader) or loads a state dict later."""
    for line in rest:
        for call in model.nodes_within(line, cst.Call):
            func = call.func
            if any(isinstance(a.value, cst.Name) and a.value.value == variable for a in call.args):
                return True
            if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == variable:
                if func.attr.value.startswith("load") or func.attr.value in ("to_empty", "apply"):
                    return True
    return False


def _method(model: SemanticModel, cls: ModuleClass, name: str) -> cst.FunctionDef | None:
    current: ModuleClass | None = cls
    seen: set[str] = set()
    while current is not None and current.name not in seen:
        seen.add(current.name)
        if name in current.methods:
            return current.methods[name]
        bases = [b.value for b in current.node.bases if isinstance(b.value, cst.Name)]
        current = model.module_classes.get(bases[0].value) if len(bases) == 1 else None
    return None


# -- what the reset fills ---------------------------------------------------------------------------


def _missing(model: SemanticModel, flow: _Flow) -> list[tuple[str, cst.CSTNode]]:
    tree = module_tree(model, flow.cls)
    if tree is None:
        raise _GiveUp
    sites = {s.call: s for s in model.init_sites}
    coverage = _Coverage()
    _Walker(model, sites, coverage).method(flow.method, flow.cls, _ROOT, tree, 0)
    missing: list[tuple[str, cst.CSTNode]] = []
    for name, call in flow.cls.parameters.items():
        if (_ROOT, name) not in coverage.tensors:
            missing.append((f"`self.{name}` (a Parameter of `{flow.cls.name}`)", call))
    for module in tree:
        if id(module.call) in coverage.modules:
            continue
        custom = model.module_classes.get(module.type_name)
        tensors = list(custom.parameters) if custom is not None else _tensors(model, module)
        for tensor in tensors:
            if (id(module.call), tensor) in coverage.tensors:
                continue
            if module.direct:
                label = f"`self.{module.attribute}.{tensor}` ({module.type_name})"
            else:
                label = f"`.{tensor}` of a {module.type_name} in `self.{module.attribute}`"
            node = custom.parameters[tensor] if custom is not None else module.call
            missing.append((label, node))
    return missing


def _tensors(model: SemanticModel, module: TreeModule) -> list[str]:
    """What ``to_empty`` leaves uninitialized in a torch.nn layer, by name (only what its
    constructor provably creates)."""
    kind = LAYERS.get(module.type_name)
    if kind is None or kind.category == "container":
        return []
    if kind.category == "rnn":
        return ["weights"]  # weight_ih_l0, ...: only its reset_parameters() fills them all
    layer = _layers(model).get(id(module.call))
    if layer is None:
        return []
    tensors = []
    state = bias_state(layer)
    if kind.weight_rank is not None and (kind.category != "norm" or state is True):
        tensors.append("weight")
    if kind.has_bias and state is True:
        tensors.append("bias")
    if module.type_name.startswith("BatchNorm") or module.type_name == "SyncBatchNorm":
        if layer.args.get("track_running_stats", True) is True and not any(
            a.keyword is not None
            and a.keyword.value == "track_running_stats"
            and "track_running_stats" not in layer.args
            for a in module.call.args
        ):
            tensors.append("running_mean")
    return tensors


def _layers(model: SemanticModel) -> dict[int, Layer]:
    """Every layer the module classes of the file build, by the id of its constructor call."""
    found: dict[int, Layer] = {}
    for cls in model.module_classes.values():
        for layer in cls.all_layers():
            found.setdefault(id(layer.call), layer)
    return found


class _Walker:
    """Follows the reset method (and what it calls) and records what it fills. ``key`` is the
    module whose ``self`` is current (_ROOT, or the constructor call of a child of this file);
    ``tree`` is that module's own module tree."""

    def __init__(self, model: SemanticModel, sites: dict[cst.Call, InitSite], coverage: _Coverage) -> None:
        self.model = model
        self.sites = sites
        self.coverage = coverage
        self.active: set[int] = set()

    def method(self, function: cst.CSTNode, cls: ModuleClass, key: int, tree: list[TreeModule], depth: int) -> None:
        if depth > _MAX_DEPTH or id(function) in self.active:
            raise _GiveUp
        self.active.add(id(function))
        model = self.model
        for node in model.nodes_within(function, cst.Assign):
            for target in node.targets:
                self._assigned(target.target, tree, key)
        for node_type in (cst.AugAssign, cst.AnnAssign):
            for node in model.nodes_within(function, node_type):
                if _roots_at_self(node.target):
                    raise _GiveUp
        for call in model.nodes_within(function, cst.Call):
            self._call(call, function, cls, key, tree, depth)
        self.active.discard(id(function))

    def _assigned(self, target: cst.BaseExpression, tree: list[TreeModule], key: int) -> None:
        """``self.X.weight = nn.Parameter(...)`` / ``self.w.data = ...``: a fresh tensor."""
        if not _roots_at_self(target):
            return
        node = target
        if isinstance(node, cst.Attribute) and node.attr.value == "data":
            node = node.value
        if not isinstance(node, cst.Attribute):
            raise _GiveUp
        owner = node.value
        if isinstance(owner, cst.Name):
            self.coverage.tensors.add((key, node.attr.value))
            return
        for module in _modules_of(owner, tree):
            self.coverage.tensors.add((id(module.call), node.attr.value))

    def _call(
        self, call: cst.Call, function: cst.CSTNode, cls: ModuleClass, key: int, tree: list[TreeModule], depth: int
    ) -> None:
        model = self.model
        site = self.sites.get(call)
        if site is not None:
            self._site(site, key, tree)
            return
        func = call.func
        if isinstance(func, cst.Attribute):
            receiver, name = func.value, func.attr.value
            if name in _READS:
                return
            if isinstance(receiver, cst.Call) and model.is_builtin(receiver.func, "super"):
                raise _GiveUp  # the base's method: nn.Module has no reset_parameters
            if isinstance(receiver, cst.Name) and receiver.value == "self":
                if name == "apply":
                    self._apply(call, function, cls, key, depth)
                    return
                target = _method(model, cls, name)
                if target is None:
                    raise _GiveUp
                self.method(target, cls, key, tree, depth + 1)
                return
            if isinstance(receiver, cst.Name) and _loop_over_self(model, call, receiver.value) is not None:
                if name not in _RESETS:
                    raise _GiveUp
                self._loop_reset(call, receiver.value, name, tree, depth)
                return
            if _roots_at_self(receiver):
                for module in _modules_of(receiver, tree):
                    self._reset(module, name, depth, guarded=False)
                return
        if any(_roots_at_self(a.value) for a in call.args) and not _harmless(model, call):
            raise _GiveUp  # `helper(self)`, `load(self.fc, ...)`: not followed

    def _site(self, site: InitSite, key: int, tree: list[TreeModule]) -> None:
        if site.class_parameter is not None:
            self.coverage.tensors.add((key, site.class_parameter))
            return
        if site.param is None:
            raise _GiveUp
        target = site.target
        if isinstance(target, cst.Attribute) and _roots_at_self(target.value):
            # `self.norm.weight`: every module `self.norm` may hold (both sides of an if/else)
            for module in _modules_of(target.value, tree):
                self.coverage.tensors.add((id(module.call), site.param))
            return
        if not site.layers:
            raise _GiveUp
        for layer in site.layers:
            self.coverage.tensors.add((id(layer.call), site.param))

    def _loop_reset(self, call: cst.Call, variable: str, name: str, tree: list[TreeModule], depth: int) -> None:
        """``for m in self.modules(): if isinstance(m, T): m.reset_parameters()``."""
        model = self.model
        direct_only = _loop_over_self(model, call, variable)
        types, guarded = _dispatch(model, call, variable)
        for module in tree:
            if direct_only and not module.direct:
                continue
            if types is not None:
                verdicts = [is_instance(model, module.type_name, t) for t in types]
                if None in verdicts:
                    raise _GiveUp
                if not any(verdicts):
                    continue
            self._reset(module, name, depth, guarded=guarded)

    def _reset(self, module: TreeModule, name: str, depth: int, *, guarded: bool) -> None:
        model = self.model
        custom = model.module_classes.get(module.type_name)
        if custom is not None:
            target = _method(model, custom, name)
            if target is None:
                if guarded:
                    return
                raise _GiveUp
            inner = module_tree(model, custom)
            if inner is None:
                raise _GiveUp
            self.method(target, custom, id(module.call), inner, depth + 1)
        elif name in _RESETS and module.type_name in LAYERS and LAYERS[module.type_name].category != "container":
            self.coverage.modules.add(id(module.call))
        elif not guarded:
            raise _GiveUp  # Sequential has no reset_parameters: it raises; other methods unknown

    def _apply(self, call: cst.Call, function: cst.CSTNode, cls: ModuleClass, key: int, depth: int) -> None:
        if key != _ROOT or len(call.args) != 1:
            raise _GiveUp
        target = function_named(self.model, call.args[0].value, function, cls)
        if target is None:
            raise _GiveUp
        # Its init sites know their layers (semantic/inits.py follows `.apply`); anything else
        # it calls (a reset of the module argument, a helper) is not followed.
        for inner in self.model.nodes_within(target, cst.Call):
            site = self.sites.get(inner)
            if site is None:
                if not _harmless(self.model, inner):
                    raise _GiveUp
                continue
            if not site.layers or site.param is None:
                raise _GiveUp
            for layer in site.layers:
                self.coverage.tensors.add((id(layer.call), site.param))


def _modules_of(node: cst.BaseExpression, tree: list[TreeModule]) -> list[TreeModule]:
    """The modules ``self.X`` (or each ``self.X[i]``) names in ``tree``."""
    base = node.value if isinstance(node, cst.Subscript) else node
    if not (isinstance(base, cst.Attribute) and isinstance(base.value, cst.Name) and base.value.value == "self"):
        raise _GiveUp
    attribute = base.attr.value
    holders = [m for m in tree if m.direct and m.attribute == attribute]
    if not holders:
        raise _GiveUp
    if isinstance(node, cst.Subscript):
        members = [m for m in tree if not m.direct and m.attribute == attribute]
        if not members:
            raise _GiveUp
        return members  # each member may be the one indexed: a reset of one covers them all, as ids are shared
    return holders


def _touches_module(call: cst.Call) -> bool:
    func = call.func
    return isinstance(func, cst.Attribute) and func.attr.value.endswith("_")


def _roots_at_self(node: cst.BaseExpression) -> bool:
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        node = node.value
    return isinstance(node, cst.Name) and node.value == "self"


def _harmless(model: SemanticModel, call: cst.Call) -> bool:
    func = call.func
    if isinstance(func, cst.Name) and func.value in ("isinstance", "hasattr", "getattr", "len", "print", "type"):
        return model.is_builtin(func, func.value)
    qualified = model.qualified_name(func) or ""
    return qualified.startswith(("math.", "torch.nn.init.calculate_gain")) or qualified in ("torch.no_grad",)


def _loop_over_self(model: SemanticModel, node: cst.CSTNode, variable: str) -> bool | None:
    """For a name bound by ``for m in self.modules()`` (``children()``): whether it sees only
    the direct children; None when the name is bound otherwise."""
    for ancestor in model.ancestors(node):
        if (
            isinstance(ancestor, cst.For)
            and isinstance(ancestor.target, cst.Name)
            and ancestor.target.value == variable
        ):
            iterable = ancestor.iter
            if (
                isinstance(iterable, cst.Call)
                and isinstance(iterable.func, cst.Attribute)
                and iterable.func.attr.value in _ITERATORS
                and not iterable.args
                and isinstance(iterable.func.value, cst.Name)
                and iterable.func.value.value == "self"
            ):
                return _ITERATORS[iterable.func.attr.value]
            return None
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
            return None
    return None


def _dispatch(model: SemanticModel, node: cst.CSTNode, variable: str) -> tuple[tuple[str, ...] | None, bool]:
    """The types the ``isinstance`` tests around ``node`` admit (None: every module), and
    whether a ``hasattr(m, ...)`` test guards it; any other test makes it unknown."""
    types: tuple[str, ...] | None = None
    guarded = False
    child: cst.CSTNode = node
    for ancestor in model.ancestors(node):
        if isinstance(ancestor, cst.For):
            break
        if isinstance(ancestor, cst.If):
            if child is not ancestor.body:
                raise _GiveUp
            for condition in _conjuncts(ancestor.test):
                if _is_hasattr(model, condition, variable):
                    guarded = True
                    continue
                if _is_not_self(condition, variable):
                    continue
                dispatch = Dispatch()
                apply_condition(model, condition, variable, dispatch)
                if dispatch.types is None:
                    raise _GiveUp
                types = dispatch.types if types is None else tuple(t for t in types if t in dispatch.types)
        elif isinstance(ancestor, (cst.FunctionDef, cst.Lambda, cst.IfExp, cst.BooleanOperation)):
            raise _GiveUp
        child = ancestor
    return types, guarded


def _conjuncts(test: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        return _conjuncts(test.left) + _conjuncts(test.right)
    return [test]


def _is_hasattr(model: SemanticModel, node: cst.BaseExpression, variable: str) -> bool:
    return (
        isinstance(node, cst.Call)
        and model.is_builtin(node.func, "hasattr")
        and len(node.args) == 2
        and isinstance(node.args[0].value, cst.Name)
        and node.args[0].value.value == variable
    )


def _is_not_self(node: cst.BaseExpression, variable: str) -> bool:
    """``m is not self`` / ``m != self``."""
    if not (isinstance(node, cst.Comparison) and len(node.comparisons) == 1):
        return False
    target = node.comparisons[0]
    names = {n.value for n in (node.left, target.comparator) if isinstance(n, cst.Name)}
    return isinstance(target.operator, (cst.IsNot, cst.NotEqual)) and names == {variable, "self"}


def _report(model: SemanticModel, flow: _Flow, missing: list[tuple[str, cst.CSTNode]]) -> Report:
    method = flow.method.name.value
    line = model.range_of(flow.to_empty).start.line
    shown = [label for label, _ in missing[:4]]
    more = f" and {len(missing) - 4} more" if len(missing) > 4 else ""
    related: list[tuple[cst.CSTNode, str]] = [
        (flow.to_empty, "`to_empty` allocates uninitialized memory"),
        (flow.method.name, f"`{method}` fills only part of the model"),
    ]
    for _, node in missing[:4]:
        if all(node is not seen for seen, _ in related):
            related.append((node, "left uninitialized"))
    return Report(
        flow.reset,
        f"`{flow.variable}` is built on the meta device and materialized with `to_empty()` (line {line}), which "
        f"allocates uninitialized memory; `{flow.cls.name}.{method}()` then fills only part of it: "
        f"{', '.join(shown)}{more} keep whatever was in memory (possibly NaN or huge) and train from it; "
        f"reset every submodule (`for m in self.modules(): m.reset_parameters()` where defined)",
        related=related[:6],
    )
