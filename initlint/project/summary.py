"""What other files need to know about one file: its names, its init functions and its module
classes, as a small JSON-able summary built from the file's semantic model (no second analyzer).

A summary holds only facts of its own file; names are kept as written (an import's module with its
relative level), so it depends on the file's bytes alone and is cached by their hash. Following a
name into another file is the index's job (``initlint.project.index``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import libcst as cst

    from initlint.semantic.model import SemanticModel

SUMMARY_VERSION = 4
_TEXT_LIMIT = 120


@dataclass(frozen=True)
class Location:
    """A span in the summarized file (1-based lines and columns, end exclusive) and its code."""

    line: int
    column: int
    end_line: int
    end_column: int
    text: str = ""


@dataclass(frozen=True)
class Effect:
    """An init of ``<param>.<attr>`` (scope ``self``) or of ``<m>.<attr>`` for every ``m`` in
    ``<param>.modules()`` (scope ``modules``), under the dispatch that guards it."""

    param: str
    scope: str  # "self" | "modules"
    attr: str  # "weight", "bias", ...
    scheme: dict[str, Any]  # a semantic.schemes.Scheme as a dict
    types: tuple[str, ...] | None  # torch.nn class names it is narrowed to (None: any)
    name_contains: str | None
    guarded: bool  # inside `if m.bias is not None` (or hasattr / truthiness)
    where: Location


@dataclass(frozen=True)
class Forward:
    """A call that hands one of the function's parameters on: ``other(m)`` / ``m.apply(other)``
    (``kind`` "module") or ``wrapper(m.weight)`` (``kind`` "tensor", the tensor ``<m>.<attr>``)."""

    kind: str  # "module" | "apply" | "tensor"
    callee: str  # the name as written, resolved through this file's imports (see FileSummary.imports)
    param: str
    scope: str  # "self" | "modules"
    attr: str | None
    position: int  # argument position in the callee (0 for apply and tensor)
    types: tuple[str, ...] | None
    name_contains: str | None
    guarded: bool
    where: Location


@dataclass(frozen=True)
class FunctionSummary:
    name: str
    params: tuple[str, ...]
    where: Location
    effects: tuple[Effect, ...] = ()
    forwards: tuple[Forward, ...] = ()
    # The function initializes its first parameter (a tensor) with this scheme when called with
    # that tensor alone: `def lecun_normal_(t): t.normal_(0, 1 / math.sqrt(fan_in(t)))`.
    tensor_scheme: dict[str, Any] | None = None
    # `def trunc_normal_(tensor, mean=0., std=1., a=-2., b=2.): return nn.init.trunc_normal_(tensor,
    # mean, std, a, b)`: a call of it is a call of that nn.init function, argument for argument.
    alias_of: str | None = None
    # A layer factory: every `return` builds a torch.nn layer of this type (`get_norm_layer`).
    returns: Returned | None = None
    # Its text has a word of init code (`init`, `.apply(`, `normal_(`, `.weight`, ...): without one
    # it initializes nothing it is given, and a call of it is not followed.
    may_init: bool = True


@dataclass(frozen=True)
class Returned:
    type_name: str  # torch.nn class name
    no_bias: bool  # every return's constructor itself says so (bias=False, InstanceNorm's default)
    where: Location  # the first return's constructor


@dataclass(frozen=True)
class LayerSummary:
    path: str
    type_name: str  # torch.nn class name ("Linear") or the constructor as written
    torch_layer: bool
    no_bias: bool  # the constructor itself says so (bias=False, affine=False, InstanceNorm's default)
    activation: str | None  # the activation that follows it in forward (no norm between)
    hidden: bool  # its output reaches another parametric layer through nothing but activations
    where: Location


@dataclass(frozen=True)
class ClassSummary:
    name: str
    bases: tuple[str, ...]
    where: Location
    layers: tuple[LayerSummary, ...] = ()
    opaque: bool = False


@dataclass
class FileSummary:
    names: tuple[str, ...] = ()  # bound at module level (definitions, assignments, imports)
    exports: tuple[str, ...] | None = None  # a literal __all__
    imports: dict[str, str] = field(default_factory=dict)  # local name -> "<dots><module>[.<name>]"
    star_imports: tuple[str, ...] = ()  # "<dots><module>"
    dynamic: bool = False  # a module __getattr__ or globals() writes: any name may exist
    functions: dict[str, FunctionSummary] = field(default_factory=dict)
    classes: dict[str, ClassSummary] = field(default_factory=dict)
    # Top-level classes this file alone cannot tell to be nn.Modules, with their bases as written:
    # one may be, through a base of another file of the project.
    other_classes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # False: an outline, which leaves out what needs the analysis of the file's init code and layers
    # (functions' effects, forwards and tensor schemes; classes' layers): it costs a parse, and it
    # answers what following a name, an alias or a factory needs.
    detail: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"version": SUMMARY_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileSummary:
        if data.get("version") != SUMMARY_VERSION:
            raise ValueError("summary of another version")

        def where(raw: dict[str, Any]) -> Location:
            return Location(**raw)

        def types(raw: list[str] | None) -> tuple[str, ...] | None:
            return None if raw is None else tuple(raw)

        functions = {}
        for name, raw in data["functions"].items():
            effects = tuple(
                Effect(**{**e, "types": types(e["types"]), "where": where(e["where"])}) for e in raw["effects"]
            )
            forwards = tuple(
                Forward(**{**f, "types": types(f["types"]), "where": where(f["where"])}) for f in raw["forwards"]
            )
            returned = raw["returns"]
            if returned is not None:
                returned = Returned(returned["type_name"], returned["no_bias"], where(returned["where"]))
            functions[name] = FunctionSummary(
                raw["name"], tuple(raw["params"]), where(raw["where"]), effects, forwards,
                raw["tensor_scheme"], raw["alias_of"], returned, raw["may_init"],
            )  # fmt: skip
        classes = {}
        for name, raw in data["classes"].items():
            layers = tuple(LayerSummary(**{**layer, "where": where(layer["where"])}) for layer in raw["layers"])
            classes[name] = ClassSummary(raw["name"], tuple(raw["bases"]), where(raw["where"]), layers, raw["opaque"])
        return cls(
            names=tuple(data["names"]),
            exports=None if data["exports"] is None else tuple(data["exports"]),
            imports=dict(data["imports"]),
            star_imports=tuple(data["star_imports"]),
            dynamic=bool(data["dynamic"]),
            functions=functions,
            classes=classes,
            other_classes={name: tuple(bases) for name, bases in data["other_classes"].items()},
            detail=bool(data["detail"]),
        )


def summarize(model: SemanticModel, detail: bool = True) -> FileSummary:
    from initlint.project.extract import Extractor

    return Extractor(model).summary(detail)


def location(model: SemanticModel, node: cst.CSTNode) -> Location:
    span = model.range_of(node)
    text = model.code(node).strip().splitlines()[0] if node is not None else ""
    if len(text) > _TEXT_LIMIT:
        text = text[: _TEXT_LIMIT - 3] + "..."
    return Location(span.start.line, span.start.column + 1, span.end.line, span.end.column + 1, text)


__all__ = [
    "ClassSummary",
    "Effect",
    "FileSummary",
    "Forward",
    "FunctionSummary",
    "LayerSummary",
    "Location",
    "Returned",
    "summarize",
]
