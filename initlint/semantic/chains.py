"""Feed-forward chains: parametric layers connected in forward with nothing but activations,
dropout and pooling in between (no norm, no residual merge), which is where an init's scale
compounds layer after layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from initlint.semantic.dataflow import Edge
from initlint.semantic.modules import Layer

if TYPE_CHECKING:
    from initlint.semantic.inits import InitSite
    from initlint.semantic.model import SemanticModel


def plain_edges(model: SemanticModel, layer: Layer) -> list[Edge]:
    """Edges out of ``layer`` with no norm and no residual merge on the way."""
    return [e for e in model.dataflow.successors(layer) if not e.normed and not e.merged]


def is_hidden(model: SemanticModel, layer: Layer) -> bool:
    """The layer's output reaches another parametric layer without a norm in between."""
    return bool(plain_edges(model, layer))


def weight_sites(model: SemanticModel, layer: Layer) -> list[InitSite]:
    return [s for s in model.init_sites if s.param == "weight" and any(x is layer for x in s.layers)]


@dataclass(frozen=True)
class Step:
    """One hidden layer of a chain and the activation after it."""

    layer: Layer
    activation: str | None
    activation_param: float | None
    copies: int  # the layer repeated in series (a block built in a loop)


def chains(model: SemanticModel) -> list[list[Step]]:
    """Maximal feed-forward chains through the file's layers, as lists of hidden steps; the
    final layer (whose output leaves the chain) is not a step."""
    layers = [layer for cls in model.module_classes.values() for layer in cls.all_layers() if layer.parametric]
    unique: dict[int, Layer] = {id(layer): layer for layer in layers}
    has_input = {id(e.target) for layer in unique.values() for e in plain_edges(model, layer) if e.target is not layer}
    found: list[list[Step]] = []
    for start in unique.values():
        if id(start) in has_input or not is_hidden(model, start):
            continue
        _extend(model, start, [], set(), found)
    return found


def _extend(model: SemanticModel, layer: Layer, path: list[Step], seen: set[int], found: list[list[Step]]) -> None:
    edges = plain_edges(model, layer)
    onward = [e for e in edges if e.target is not layer]
    self_edge = next((e for e in edges if e.target is layer), None)
    copies = 1
    if self_edge is not None:
        copies = layer.repeat if isinstance(layer.repeat, int) and layer.repeat > 1 else 1
    if not onward and self_edge is None:
        if path:
            found.append(path)
        return
    if id(layer) in seen:
        found.append(path)
        return
    activations = {(e.activation, _param(e)) for e in edges}
    if len(activations) != 1:
        if path:
            found.append(path)
        return
    activation, param = next(iter(activations))
    step = Step(layer, activation, param, copies)
    if not onward:
        # A repeated block that ends the chain: its last copy is the final layer.
        if copies > 1:
            found.append([*path, Step(layer, activation, param, copies - 1)])
        elif path:
            found.append(path)
        return
    for edge in onward:
        _extend(model, edge.target, [*path, step], seen | {id(layer)}, found)


def _param(edge: Edge) -> float | None:
    return edge.activation_param
