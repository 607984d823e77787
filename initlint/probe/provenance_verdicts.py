"""Findings from init provenance (IL620-IL624): what only the record of who wrote each parameter
can prove. Each takes the Provenance of one build."""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from initlint.probe.provenance import Event, ParamProvenance, Provenance
from initlint.probe.verdicts import RuntimeFinding

PROVENANCE_INFO = {
    "IL620": ("parameter-never-written", "error"),
    "IL621": ("init-never-reached-parameter", "error"),
    "IL622": ("init-overwritten", "error"),
    "IL623": ("init-dispatch-missed-layer", "error"),
    "IL624": ("default-beside-custom-siblings", "warning"),
}
PROVENANCE_CODES = frozenset(PROVENANCE_INFO)


def _finding(code: str, message: str, layer: str, **kw: Any) -> RuntimeFinding:
    name, severity = PROVENANCE_INFO[code]
    return RuntimeFinding(code, name, severity, message, layer, **kw)


def judge_provenance(prov: Provenance, codes: set[str] | frozenset[str]) -> list[RuntimeFinding]:
    out: list[RuntimeFinding] = []
    if "IL620" in codes:
        out += _never_written(prov)
    if "IL621" in codes:
        out += _lost(prov)
    if "IL622" in codes:
        out += _overwritten(prov)
    if "IL623" in codes:
        out += _dispatch_missed(prov)
    if "IL624" in codes:
        # one root cause, one finding: a layer IL623 explains is not reported again
        explained = {f.layer for f in out if f.code == "IL623"}
        out += [f for f in _default_beside_custom(prov) if not set(f.extra["layers"]) <= explained]
    return out


def _never_written(prov: Provenance) -> list[RuntimeFinding]:
    """One finding per allocation that nothing wrote (one root cause, one finding): a model moved
    with to_empty() is one finding listing its parameters, not one per parameter."""
    groups: dict[tuple[bool, str, str], list[Any]] = {}
    for p in prov.params.values():
        if p.status != "uninitialized" or p.writer is None:
            continue
        e = p.writer
        groups.setdefault((bool(e.to_empty), e.op, e.location or ""), []).append(p)
    out = []
    for (to_empty, op, location), params in groups.items():
        first = params[0]
        how = "after `to_empty()`" if to_empty else f"since `{op}` allocated it"
        where = f" ({location})" if location else ""
        names = [p.name for p in params]
        if len(params) == 1:
            what = f"`{first.name}` was"
        else:
            shown = ", ".join(f"`{n}`" for n in names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
            what = f"{len(params)} parameters ({shown}) were"
        out.append(
            _finding(
                "IL620",
                f"{what} never written {how}{where}: {'it holds' if len(params) == 1 else 'they hold'} whatever "
                "was in memory",
                first.layer,
                cause="nothing filled the memory: no reset_parameters, nn.init call or copy reached it",
                suggestion="after to_empty(), call reset_parameters() of every module that has one (or your init) "
                "and fill the remaining parameters; fill a Parameter(torch.empty(...)) in reset_parameters",
                extra={"parameter": first.name, "parameters": names, "locations": [location] if location else []},
            )
        )
    return out


def _lost(prov: Provenance) -> list[RuntimeFinding]:
    """One finding per layer (every lost write to its computed weight), one per unnamed write."""
    groups: dict[str, list[Any]] = {}
    for w in prov.lost:
        key = w.layers[0] if len(w.layers) == 1 else f"?{w.event.seq}"
        groups.setdefault(key, []).append(w.event)
    out = []
    for key, events in groups.items():
        layer = "(model)" if key.startswith("?") else key
        target = "a computed weight" if key.startswith("?") else f"the computed weight of `{layer}`"
        writes = ", ".join(f"`{e.op}` at {e.location or 'an unknown place'}" for e in events)
        out.append(
            _finding(
                "IL621",
                f"{writes} wrote {target} (weight_norm or a parametrization recomputes it from its parameters): "
                f"the init never reached a parameter and is lost",
                layer,
                cause="`.weight` of a weight_norm/parametrized layer is recomputed from weight_g/weight_v "
                "(parametrizations.weight.original0/1) before each use",
                suggestion="init the layer before wrapping it, or init the original parameters "
                "(weight_v / parametrizations.weight.original1)",
                extra={"locations": [e.location for e in events if e.location]},
            )
        )
    return out


def _overwritten(prov: Provenance) -> list[RuntimeFinding]:
    out = []
    for p in prov.params.values():
        if p.status != "default" or p.writer is None:
            continue
        custom = [e for e in p.history if e.kind != "alloc" and not e.default]
        if not custom:
            continue
        lost, final = custom[-1], p.writer
        if lost.seq > final.seq:
            continue
        out.append(
            _finding(
                "IL622",
                f"the init of `{p.name}` by `{lost.op}` at {lost.location or '?'} is overwritten by PyTorch's "
                f"default `{final.op}` (reset_parameters) at {final.location or '?'}: the parameter trains from "
                "the default init",
                p.layer,
                cause="a reset_parameters() (or a module constructor) ran after the custom init",
                suggestion="run the custom init after every reset_parameters() call (or drop the reset)",
                extra={"parameter": p.name, "locations": [x for x in (lost.location, final.location) if x]},
            )
        )
    return out


# ---- type-dispatched init functions (IL623) -------------------------------------------
@dataclass(frozen=True)
class Branch:
    types: tuple[type, ...]
    attrs: frozenset[str]  # parameters the branch writes (m.weight, m.bias)
    line: int


def _unwrap(fn: Any) -> tuple[Callable[..., Any] | None, int]:
    """The Python function behind fn and how many leading arguments are bound already."""
    bound = 0
    while isinstance(fn, functools.partial):
        bound += len(fn.args)
        fn = fn.func
    if inspect.ismethod(fn):
        fn = fn.__func__
        bound += 1
    return (fn, bound) if inspect.isfunction(fn) else (None, 0)


def _resolve(node: ast.expr, scope: dict[str, Any]) -> tuple[type, ...] | None:
    if isinstance(node, ast.Tuple):
        parts = [_resolve(e, scope) for e in node.elts]
        return None if any(p is None for p in parts) else tuple(t for p in parts for t in p)  # type: ignore[union-attr]
    dotted = []
    while isinstance(node, ast.Attribute):
        dotted.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in scope:
        return None
    value = scope[node.id]
    for attr in reversed(dotted):
        value = getattr(value, attr, None)
    return (value,) if isinstance(value, type) else None


def _written_attrs(body: list[ast.stmt], var: str) -> set[str]:
    """Attributes X of `var` that statements of a branch write: `f(var.X, ...)`,
    `var.X.normal_()`, `var.X.data.fill_(...)`, `var.X.data = ...`; also under `if var.X is not
    None:` and `with` blocks, but not under other conditions."""

    def attr_of(node: ast.expr) -> str | None:
        while isinstance(node, ast.Attribute) and node.attr == "data":
            node = node.value
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == var:
            return node.attr
        return None

    found: set[str] = set()
    for stmt in body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            if call.args and (a := attr_of(call.args[0])):
                found.add(a)
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr.endswith("_") and (a := attr_of(func.value)):
                found.add(a)
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Attribute) and target.attr == "data" and (a := attr_of(target.value)):
                    found.add(a)
        elif isinstance(stmt, ast.With):
            found |= _written_attrs(stmt.body, var)
        elif isinstance(stmt, ast.If) and not stmt.orelse:
            test = stmt.test
            if (
                isinstance(test, ast.Compare)
                and len(test.ops) == 1
                and isinstance(test.ops[0], ast.IsNot)
                and isinstance(test.comparators[0], ast.Constant)
                and test.comparators[0].value is None
                and attr_of(test.left)
            ):
                found |= _written_attrs(stmt.body, var)
    return found


@functools.lru_cache(maxsize=256)
def _branches_of_code(code: Any, source: str, first: int, var_index: int) -> list[tuple[ast.expr, set[str], int]]:
    tree = ast.parse(textwrap.dedent(source))
    fn = next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)), None)
    if fn is None:
        return []
    params = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args)]
    if var_index >= len(params):
        return []
    var = params[var_index]
    out = []
    for node in ast.walk(fn):
        if not isinstance(node, ast.If):
            continue
        test = node.test
        if (
            isinstance(test, ast.Call)
            and isinstance(test.func, ast.Name)
            and test.func.id == "isinstance"
            and len(test.args) == 2
            and isinstance(test.args[0], ast.Name)
            and test.args[0].id == var
        ):
            attrs = _written_attrs(node.body, var)
            if attrs:
                out.append((test.args[1], attrs, first + node.lineno - 1))
    return out


def dispatch_branches(fn: Any) -> tuple[Any, list[Branch]]:
    """The code object of fn and its `if isinstance(m, T):` branches with the parameters they write."""
    func, bound = _unwrap(fn)
    if func is None:
        return None, []
    try:
        lines, first = inspect.getsourcelines(func)
    except (OSError, TypeError):
        return None, []
    scope = dict(vars(builtins))
    scope.update(func.__globals__)
    if func.__closure__:
        for name, cell in zip(func.__code__.co_freevars, func.__closure__, strict=False):
            with_value = getattr(cell, "cell_contents", None)
            if with_value is not None:
                scope[name] = with_value
    try:
        raw = _branches_of_code(func.__code__, "".join(lines), first, bound)
    except (SyntaxError, ValueError):
        return func.__code__, []
    branches = []
    for node, attrs, line in raw:
        types = _resolve(node, scope)
        if types:
            branches.append(Branch(types, frozenset(attrs), line))
    return func.__code__, branches


def _written_by(p: ParamProvenance, code: Any) -> bool:
    return any(code in e.chain for e in p.history if e.kind != "alloc")


def _dispatch_missed(prov: Provenance) -> list[RuntimeFinding]:
    out: list[RuntimeFinding] = []
    model = prov.model
    if model is None:
        return out
    names = {id(m): n or "(model)" for n, m in model.named_modules()}
    reported: set[str] = set()
    for call in prov.applies:
        if id(call.root) not in names:
            continue  # applied to a module that is not part of the final model
        code, branches = dispatch_branches(call.fn)
        if code is None or not branches:
            continue
        fname = code.co_name
        where = f"{_short(code.co_filename)}:{code.co_firstlineno}"
        for module in call.root.modules():
            branch = next((b for b in branches if isinstance(module, b.types)), None)
            if branch is None:
                continue
            layer = names.get(id(module))
            if layer is None:
                continue
            missed: list[tuple[str, ParamProvenance]] = []
            for attr in sorted(branch.attrs, key=lambda a: (a != "weight", a)):
                qname = attr if layer == "(model)" else f"{layer}.{attr}"
                p = prov.params.get(qname)
                if p is None or qname in reported or p.status in ("lazy", "meta", "unknown"):
                    continue
                if not _written_by(p, code):
                    missed.append((qname, p))
            if missed:  # one finding per layer, naming every parameter the function missed
                reported.update(q for q, _ in missed)
                attrs = ", ".join(f"`.{q.rsplit('.', 1)[-1]}`" for q, _ in missed)
                params = ", ".join(f"`{q}`" for q, _ in missed)
                keeps = "; ".join(f"`{q}` keeps {p.source()}" for q, p in missed)
                late = id(module) not in call.before
                why = (
                    f"`{layer}` did not exist yet when `.apply({fname})` ran"
                    if late
                    else "the function ran on it but the branch did not write it"
                )
                out.append(
                    _finding(
                        "IL623",
                        f"`{fname}` ({where}) initializes {attrs} of every `{_type_names(branch.types)}` "
                        f"(line {branch.line}), but it never wrote {params} ({type(module).__name__}): {why}; "
                        f"{keeps}",
                        layer,
                        cause=why,
                        suggestion=f"apply `{fname}` after every layer is built (at the end of __init__)"
                        if late
                        else f"check the branch conditions of `{fname}`",
                        extra={
                            "parameter": missed[0][0],
                            "parameters": [q for q, _ in missed],
                            "locations": [x for x in (where, call.location) if x],
                        },
                    )
                )
    return out


def _type_names(types: tuple[type, ...]) -> str:
    return "/".join(t.__name__ for t in types)


def _short(path: str) -> str:
    from initlint.probe.provenance import _short as short

    return short(path)


# ---- siblings left at the default (IL624) ----------------------------------------------
def _default_beside_custom(prov: Provenance) -> list[RuntimeFinding]:
    out: list[RuntimeFinding] = []
    model = prov.model
    if model is None:
        return out
    import torch.nn as nn

    for parent_name, parent in model.named_modules():
        if not isinstance(parent, nn.ModuleList | nn.Sequential | nn.ModuleDict):
            continue  # a stack of like layers; named children of a block often differ on purpose
        # like layers: same type and same weight shape (an output head of another width is not a
        # sibling of the hidden layers, and is often left at the default on purpose)
        groups: dict[tuple[type, tuple[int, ...]], list[tuple[str, Any]]] = {}
        for child_name, child in parent.named_children():
            weight = child._parameters.get("weight")
            if weight is not None:
                groups.setdefault((type(child), tuple(weight.shape)), []).append((child_name, child))
        for (kind, _), members in groups.items():
            if len(members) < 2:
                continue
            custom, default = [], []
            for child_name, _ in members:
                qname = f"{parent_name}.{child_name}" if parent_name else child_name
                p = prov.params.get(f"{qname}.weight")
                if p is None:
                    continue
                if p.status == "custom":
                    custom.append((qname, p))
                elif p.status == "default":
                    default.append((qname, p))
            # the default ones are the exception: a lone zero-init last layer (a zero_module
            # head) among default siblings is deliberate, not this
            if not custom or not default or len(custom) <= len(default):
                continue
            example = custom[0][1].writer
            container = parent_name or "the model"
            left = ", ".join(f"`{q}`" for q, _ in default)
            out.append(
                _finding(
                    "IL624",
                    f"{left} ({kind.__name__}) in `{container}` keep PyTorch's default init while "
                    f"{len(custom)} sibling {kind.__name__} layer(s) were initialized by "
                    f"`{example.op if example else '?'}` at {example.location if example else '?'}",
                    default[0][0],
                    cause="the custom init skipped these layers (a loop over part of the container, a name "
                    "or index filter, layers added after the init ran)",
                    suggestion="initialize every layer of the container the same way, or say why not",
                    extra={
                        "layers": [q for q, _ in default],
                        "initialized": [q for q, _ in custom],
                        "locations": [example.location] if example and example.location else [],
                    },
                )
            )
    return out


__all__ = ["PROVENANCE_CODES", "PROVENANCE_INFO", "Event", "judge_provenance"]


# ---- static findings the provenance confirms --------------------------------------------
# runtime code -> the static rules that predict it
STATIC_PREDICTS = {
    "IL620": ("IL404", "IL414"),
    "IL621": ("IL410",),
    "IL623": ("IL406", "IL413"),
    "IL624": ("IL406", "IL413"),
}


def confirm_static(findings: list[RuntimeFinding], path: str) -> list[dict[str, Any]]:
    """Run the static rules that predict IL620-IL624 on the model's file; a static finding on a
    line the runtime finding names is confirmed at runtime (both findings say so)."""
    wanted = [f for f in findings if f.code in STATIC_PREDICTS and f.extra.get("locations")]
    if not wanted:
        return []
    from pathlib import Path

    from initlint.engine import LintOptions, lint_source
    from initlint.source import SourceFile, UnreadableSource

    try:
        source = SourceFile.from_bytes(path, Path(path).read_bytes())
    except (OSError, UnreadableSource):
        return []
    codes = frozenset(c for f in wanted for c in STATIC_PREDICTS[f.code])
    static = lint_source(source, LintOptions(codes))
    here = Path(path).resolve()
    confirmed = []
    seen: set[tuple[str, int]] = set()  # a static finding is confirmed once
    for finding in wanted:
        lines = set()
        for loc in finding.extra["locations"]:
            file, _, line = loc.rpartition(":")
            try:
                if Path(file).resolve() == here:
                    lines.add(int(line))
            except (OSError, ValueError):
                continue
        for s in static:
            if s.code in STATIC_PREDICTS[finding.code] and s.line in lines and (s.code, s.line) not in seen:
                seen.add((s.code, s.line))
                confirmed.append(
                    {"static": s.code, "name": s.name, "path": path, "line": s.line, "column": s.column,
                     "message": s.message, "runtime": finding.code, "layer": finding.layer}
                )  # fmt: skip
                finding.message += f" (confirmed at runtime: static {s.code} at {path}:{s.line} predicted it)"
                finding.extra.setdefault("confirms", []).append(f"{s.code} at {path}:{s.line}")
    return confirmed
