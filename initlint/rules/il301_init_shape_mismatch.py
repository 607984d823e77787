from __future__ import annotations

import re
from collections.abc import Iterator

from initlint._lazy import cst
from initlint.rules.base import Invalid, Report, Rule, src
from initlint.rules.triggers import INIT_TRIGGER
from initlint.semantic import SemanticModel
from initlint.semantic.catalog import LAYERS
from initlint.semantic.inits import InitSite
from initlint.semantic.tensor_shapes import tensor_rank

# Which ranks each init function accepts, and why the others raise.
_MATRIX = ({2}, "works on 2-D matrices only and raises ValueError on a {rank}-D tensor")
_DIRAC = ({3, 4, 5}, "needs a 3, 4 or 5-D convolution weight and raises ValueError on a {rank}-D tensor")
_FANS = "computes fan-in and fan-out and raises ValueError on a tensor with fewer than 2 dimensions"
_ORTHOGONAL = "needs at least 2 dimensions and raises ValueError on a {rank}-D tensor"
ACCEPTED: dict[str, tuple[set[int] | None, str]] = {
    "eye_": _MATRIX,
    "sparse_": _MATRIX,
    "dirac_": _DIRAC,
    "xavier_uniform_": (None, _FANS),
    "xavier_normal_": (None, _FANS),
    "kaiming_uniform_": (None, _FANS),
    "kaiming_normal_": (None, _FANS),
    "orthogonal_": (None, _ORTHOGONAL),
}
_ADVICE = {
    "eye_": "use it on a 2-D weight (a Linear's), or fill this tensor another way",
    "sparse_": "use it on a 2-D weight (a Linear's), or fill this tensor another way",
    "dirac_": "use it on a convolution weight, or fill this tensor another way",
}
_BIAS_ADVICE = "init a bias with zeros_ or a uniform range"
_OTHER_ADVICE = "use normal_, uniform_ or constant_ on a tensor of this rank"
# A condition on the tensor's rank or shape around the call: the call may be guarded.
_RANK_GUARD = re.compile(r"\bdim\b|\bndim\b|ndimension|\bshape\b|\bsize\b|\blen\s*\(")


def _fits(function: str, rank: int) -> bool:
    accepted, _ = ACCEPTED[function]
    return rank in accepted if accepted is not None else rank >= 2


class InitShapeMismatch(Rule):
    code = "IL301"
    name = "init-shape-mismatch"
    summary = "An init function on a tensor of a rank it rejects (`eye_` on a conv weight, Xavier on a bias)"
    severity = "error"
    triggers = (
        r"\b(?:eye|sparse|dirac|xavier_uniform|xavier_normal|kaiming_uniform|kaiming_normal|orthogonal)_?\b",
        INIT_TRIGGER,
    )
    uses_init_aliases = True

    VALID = (
        src("""
            import torch.nn as nn
            class M(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = nn.Linear(4, 4)
                    nn.init.xavier_uniform_(self.fc.weight)
                    nn.init.zeros_(self.fc.bias)
        """),
        src("""
            import torch.nn as nn
            class M(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.conv = nn.Conv2d(3, 3, 3)
                    nn.init.dirac_(self.conv.weight)
        """),
        src("""
            import torch.nn as nn
            def init(m):
                for p in m.parameters():
                    if p.dim() > 1:
                        nn.init.xavier_uniform_(p)
        """),
        src("""
            import torch
            import torch.nn as nn
            w = torch.empty(3, 5)
            nn.init.eye_(w)
        """),
        src("""
            import torch
            import torch.nn as nn
            w = torch.empty(shape)
            nn.init.orthogonal_(w)
        """),
    )
    INVALID = (
        Invalid(
            src("""
                import torch.nn as nn
                class M(nn.Module):
                    def __init__(self):
                        super().__init__()
                        self.fc = nn.Linear(4, 4)
                        nn.init.xavier_uniform_(self.fc.bias)
            """)
        ),
        Invalid(
            src("""
                from torch.nn import init
                import torch.nn as nn
                def init_weights(m):
                    if isinstance(m, nn.Conv2d):
                        init.eye_(m.weight)
            """)
        ),
        Invalid(
            src("""
                import torch
                from torch.nn.init import dirac_
                w = torch.empty(8, 8)
                dirac_(w)
            """)
        ),
        Invalid(
            src("""
                import torch
                import torch.nn as nn
                class M(nn.Module):
                    def __init__(self, d):
                        super().__init__()
                        self.scale = nn.Parameter(torch.zeros(d))
                        nn.init.kaiming_normal_(self.scale)
            """)
        ),
    )

    def check(self, model: SemanticModel) -> Iterator[Report]:
        for site in model.init_sites:
            if site.function not in ACCEPTED:
                continue
            if _rank_guarded(model, site):
                continue
            found = _ranks(model, site)
            if found is None:
                continue
            ranks, what = found
            bad = sorted(r for r in ranks if not _fits(site.function, r))
            if not ranks or len(bad) != len(ranks):
                continue
            rank = bad[0] if len(bad) == 1 else "/".join(str(r) for r in bad)
            _, reason = ACCEPTED[site.function]
            target = model.code(site.target)
            target = target if len(target) <= 60 and "\n" not in target else "the tensor"
            if site.param == "bias" and site.function not in _ADVICE:
                advice = _BIAS_ADVICE
            else:
                advice = _ADVICE.get(site.function, _OTHER_ADVICE)
            yield Report(
                site.call,
                f"{site.function} on `{target}` ({rank}-D{what}): it {reason.format(rank=rank)}; {advice}",
            )


def _ranks(model: SemanticModel, site: InitSite) -> tuple[set[int], str] | None:
    """Every rank the target can have, with a note on where it comes from; None when any is
    unknown."""
    if site.param is not None and (site.layers or site.dispatch is not None):
        if site.dispatch is not None and site.dispatch.types is None and not _listed_loop(model, site):
            return None  # reached through every submodule of some module: the list may be partial
        if site.dispatch is not None and site.dispatch.name_contains is not None:
            return None
        ranks = site.param_ranks()
        if None in ranks:
            return None
        types = sorted({layer.type_name for layer in site.layers} or set(site.dispatch.types or ()))
        types = [t for t in types if t in LAYERS]
        what = f", a {'/'.join(types)} {site.param}" if types and len(types) <= 3 else ""
        return {r for r in ranks if r is not None}, what
    rank = tensor_rank(model, site.target)
    if rank is None:
        return None
    return {rank}, ""


def _listed_loop(model: SemanticModel, site: InitSite) -> bool:
    """The module variable is a loop over a literal list of layers (`for m in [self.a, self.b]`)."""
    loop = model.enclosing(site.call, cst.For)
    return loop is not None and isinstance(loop.iter, (cst.List, cst.Tuple)) and bool(site.layers)


def _rank_guarded(model: SemanticModel, site: InitSite) -> bool:
    child: cst.CSTNode = site.call
    for ancestor in model.ancestors(site.call):
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
            break
        if isinstance(ancestor, (cst.If, cst.IfExp, cst.While)) and _RANK_GUARD.search(model.code(ancestor.test)):
            return True
        if isinstance(ancestor, cst.BooleanOperation) and child is ancestor.right:
            if _RANK_GUARD.search(model.code(ancestor.left)):
                return True
        child = ancestor
    return False
