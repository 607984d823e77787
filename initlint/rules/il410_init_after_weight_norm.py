from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule, src
from initlint.rules.triggers import INIT_TRIGGER
from initlint.semantic import SemanticModel
from initlint.semantic.construction import (
    Binding,
    Step,
    admitted_types,
    module_binding,
    modules_reached,
    registers_between,
    trace_constructor,
)
from initlint.semantic.inits import InitSite
from initlint.semantic.instances import instance_type
from initlint.semantic.modules import ModuleClass
from initlint.semantic.reparam import Reparametrization, is_remover


@dataclass(frozen=True)
class _Lost:
    init: Step
    site: InitSite
    wrap: Step
    reparametrization: Reparametrization
    modules: tuple[cst.Call, ...]  # the wrapped instances the init reaches
    types: frozenset[str] = frozenset()  # or: every module of these types it reaches is wrapped


class InitAfterWeightNorm(Rule):
    code = "IL410"
    name = "init-after-weight-norm"
    summary = (
        "An init of `.weight` after `weight_norm` / a parametrization wrapped the layer: "
        "`.weight` is recomputed, the init is lost"
    )
    severity = "error"
    literals = ("weight_norm", "spectral_norm", "orthogonal", "register_parametrization")
    triggers = (INIT_TRIGGER,)
    uses_init_aliases = True

    VALID = (
        # init first, then wrap: weight_norm starts from the initialized weight
        src("""
            import torch
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    conv = nn.Conv1d(4, 4, 3)
                    nn.init.normal_(conv.weight, 0.0, 0.01)
                    self.conv = nn.utils.weight_norm(conv)
        """),
        # the legacy hook spectral_norm: until the first forward `.weight` shares weight_orig's storage
        src("""
            import torch
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.utils.spectral_norm(nn.Conv2d(3, 8, 3))
                    nn.init.normal_(self.conv.weight, 0.0, 0.02)
        """),
        # the init writes the underlying parameter, not `.weight`
        src("""
            import torch
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.utils.weight_norm(nn.Linear(4, 4))
                    self.fc.weight_g.data.fill_(1)
        """),
        # the wrapped layer is not of the type the init dispatches on
        src("""
            import torch
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.utils.weight_norm(nn.Conv1d(4, 4, 3))
                    self.fc = nn.Linear(4, 4)
                    self.apply(self._init)
                def _init(self, m):
                    if isinstance(m, nn.Linear):
                        nn.init.xavier_uniform_(m.weight)
        """),
        # the weight norm is removed before the init
        src("""
            import torch
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.utils.weight_norm(nn.Conv1d(4, 4, 3))
                    nn.utils.remove_weight_norm(self.conv)
                    nn.init.normal_(self.conv.weight)
        """),
        # wrap and init in exclusive branches
        src("""
            import torch
            import torch.nn as nn
            class Net(nn.Module):
                def __init__(self, wn=True):
                    super().__init__()
                    self.conv = nn.Conv1d(4, 4, 3)
                    if wn:
                        nn.utils.weight_norm(self.conv)
                    else:
                        nn.init.normal_(self.conv.weight)
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
                        self.conv = nn.utils.weight_norm(nn.Conv1d(4, 4, 3))
                        nn.init.normal_(self.conv.weight, 0.0, 0.01)
            """)
        ),
        # the HiFi-GAN pattern: apply_weight_norm() then reset_parameters(), both through apply
        Invalid(
            src("""
                import torch
                import torch.nn as nn
                class Generator(nn.Module):
                    def __init__(self, use_weight_norm=True):
                        super().__init__()
                        self.conv = nn.Conv1d(80, 512, 7)
                        self.up = nn.ConvTranspose1d(512, 256, 16, 8)
                        if use_weight_norm:
                            self.apply_weight_norm()
                        self.reset_parameters()
                    def reset_parameters(self):
                        def _reset(m):
                            if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)):
                                m.weight.data.normal_(0.0, 0.01)
                        self.apply(_reset)
                    def apply_weight_norm(self):
                        def _wn(m):
                            if isinstance(m, nn.Conv1d) or isinstance(m, nn.ConvTranspose1d):
                                torch.nn.utils.weight_norm(m)
                        self.apply(_wn)
            """)
        ),
        # a ModuleList of weight-normed convs, then .apply of a class-name dispatching init
        Invalid(
            src("""
                import torch
                import torch.nn as nn
                from torch.nn.utils import weight_norm
                def init_weights(m, mean=0.0, std=0.01):
                    classname = m.__class__.__name__
                    if classname.find('Conv') != -1:
                        m.weight.data.normal_(mean, std)
                class ResBlock(nn.Module):
                    def __init__(self, channels):
                        super().__init__()
                        self.convs = nn.ModuleList([weight_norm(nn.Conv1d(channels, channels, 3)) for _ in range(3)])
                        self.convs.apply(init_weights)
            """)
        ),
        # the parametrization form
        Invalid(
            src("""
                import torch
                import torch.nn as nn
                from torch.nn.utils.parametrizations import spectral_norm
                class Net(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = spectral_norm(nn.Linear(4, 4))
                        for m in self.modules():
                            if isinstance(m, nn.Linear):
                                nn.init.orthogonal_(m.weight)
            """)
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        if not any(r.discards and r.tensor for r in model.reparametrizations.values()):
            return
        sites = {s.call: s for s in model.init_sites if s.param is not None and isinstance(s.target, cst.Attribute)}
        if not sites:
            return
        for cls in model.module_classes.values():
            lost = _lost_inits(model, cls, sites)
            by_anchor: dict[cst.Call, list[_Lost]] = {}
            for item in lost:
                by_anchor.setdefault(item.init.anchor, []).append(item)
            for anchor, items in by_anchor.items():
                yield self._report(model, cls, anchor, items)

    def _report(self, model: SemanticModel, cls: ModuleClass, anchor: cst.Call, items: list[_Lost]) -> Report:
        first = items[0]
        wrap = first.reparametrization
        modules: list[cst.Call] = []
        for item in items:
            modules += [m for m in item.modules if not any(m is seen for seen in modules)]
        tensor = wrap.tensor or "weight"
        wrap_line = model.range_of(wrap.call).start.line
        reached_from = ""
        if first.wrap.anchor is not wrap.call:
            reached_from = f", run from line {model.range_of(first.wrap.anchor).start.line}"
        condition = _condition(model, cls, first.wrap.anchor)
        if condition:
            reached_from += f" when `{condition}`"
        source = wrap.wrapper.source.format(t=tensor)
        data = (
            "; writing it with `nn.init` instead of through `.data` does not help: it is lost either way"
            if any(item.site.via_data for item in items)
            else ""
        )
        if modules:
            described, plural = _describe(model, cls, modules)
            what = f"{described} after `{_short(model.code(wrap.call.func))}` wrapped {'them' if plural else 'it'}"
        else:
            types = sorted(set().union(*(item.types for item in items)))
            what = (
                f"every {' or '.join(types)} it reaches, after `{_short(model.code(wrap.call.func))}` "
                f"wrapped each of them"
            )
        message = (
            f"`{_short(model.code(anchor))}` initializes `.{tensor}` of {what} "
            f"(line {wrap_line}{reached_from}): `.{tensor}` is then recomputed from {source}, so this init "
            f"is discarded{data}; initialize before wrapping"
        )
        related: list[tuple[cst.CSTNode, str]] = []
        for item in items:
            if item.site.call is not anchor and not any(item.site.call is node for node, _ in related):
                related.append((item.site.call, "the init that is discarded"))
        seen_wraps: list[cst.CSTNode] = []
        for item in items:
            call = item.reparametrization.call
            if any(call is node for node in seen_wraps):
                continue
            seen_wraps.append(call)
            related.append((call, f"`{_short(model.code(call.func))}` wraps the layer here"))
            if item.wrap.anchor is not call and item.wrap.anchor is not anchor:
                related.append((item.wrap.anchor, "the wrapping runs from here"))
        return Report(anchor, message, related=related[:6])


def _lost_inits(model: SemanticModel, cls: ModuleClass, sites: dict[cst.Call, InitSite]) -> list[_Lost]:
    steps = trace_constructor(model, cls)
    wraps: list[tuple[Step, Reparametrization, list[cst.Call]]] = []
    for step in steps:
        reparametrization = model.reparametrizations.get(step.call)
        if reparametrization is None or not reparametrization.discards or reparametrization.tensor is None:
            continue
        if reparametrization.module is not None:
            wraps.append((step, reparametrization, modules_reached(model, step, reparametrization.module)))
    if not wraps:
        return []
    removals = [s.order for s in steps if is_remover(model, s.call)]
    lost: list[_Lost] = []
    for step in steps:
        site = sites.get(step.call)
        if site is None:
            continue
        reached: list[cst.Call] | None = None
        for wrap_step, reparametrization, wrapped in wraps:
            if wrap_step.order >= step.order or reparametrization.tensor != site.param:
                continue
            if wrap_step.owner is not cls and step.owner is not cls:
                continue  # both inside a class this one constructs: reported for that class
            if wrap_step.excludes(step) or any(wrap_step.order < r < step.order for r in removals):
                continue
            if reached is None:
                reached = modules_reached(model, step, site.target.value)  # type: ignore[attr-defined]
            common = tuple(m for m in reached if any(m is w for w in wrapped))
            types = frozenset() if common else _wrapped_types(model, wrap_step, reparametrization, step, site)
            if common or types:
                lost.append(_Lost(step, site, wrap_step, reparametrization, common, types))
                break
    return lost


def _wrapped_types(
    model: SemanticModel, wrap: Step, reparametrization: Reparametrization, init: Step, site: InitSite
) -> frozenset[str]:
    """When both the wrap and the init visit every submodule of the same scope with
    ``isinstance`` dispatch, and nothing is registered in between: the layer types the init
    acts on, if the wrap covers them all (whatever layers the scope holds, even from other
    files: every one the init reaches was wrapped)."""
    if wrap.owner is not init.owner or reparametrization.module is None:
        return frozenset()
    wrap_binding = module_binding(model, wrap, reparametrization.module)
    init_binding = module_binding(model, init, site.target.value)  # type: ignore[attr-defined]
    if not _covers(model, wrap_binding, init_binding):
        return frozenset()
    if registers_between(model, init.owner, wrap.trigger, init.trigger):
        return frozenset()
    wrapped = admitted_types(model, wrap, wrap_binding)  # type: ignore[arg-type]
    initialized = admitted_types(model, init, init_binding)  # type: ignore[arg-type]
    if not wrapped or not initialized or not initialized <= wrapped:
        return frozenset()
    return initialized


def _covers(model: SemanticModel, wrap: Binding | None, init: Binding | None) -> bool:
    """The wrap's scope holds every module the init's scope holds."""
    if wrap is None or init is None or wrap.scope is None or init.scope is None:
        return False
    if isinstance(wrap.scope, cst.Name):
        return True  # `self`
    return model.code(wrap.scope) == model.code(init.scope)


def _describe(model: SemanticModel, cls: ModuleClass, modules: list[cst.Call]) -> tuple[str, bool]:
    instances = model.instances.of_class(cls)
    registered = instances.registered() if instances is not None else []
    labels = []
    for call in modules:
        type_name = instance_type(model, call) or "module"
        entry = next((r for r in registered if r.call is call), None)
        if entry is None:
            labels.append(f"a {type_name} (line {model.range_of(call).start.line})")
        elif entry.direct:
            labels.append(f"`self.{entry.attribute}` ({type_name})")
        else:
            labels.append(f"a {type_name} in `self.{entry.attribute}`")
    labels = list(dict.fromkeys(labels))
    if len(labels) <= 2:
        return " and ".join(labels), len(labels) > 1
    return f"{labels[0]}, {labels[1]} and {len(labels) - 2} more", True


def _condition(model: SemanticModel, cls: ModuleClass, anchor: cst.CSTNode) -> str:
    """The ``if`` tests in ``__init__`` under which ``anchor`` runs."""
    tests = []
    child: cst.CSTNode = anchor
    for ancestor in model.ancestors(anchor):
        if ancestor is cls.init:
            break
        if isinstance(ancestor, cst.If) and child is ancestor.body:
            tests.append(_short(model.code(ancestor.test)))
        child = ancestor
    return " and ".join(reversed(tests))


def _short(code: str) -> str:
    code = " ".join(code.split())
    return code if len(code) <= 60 else code[:57] + "..."
