"""The probe's thresholds, configurable under ``[tool.initlint.probe]`` (documented in
rules/IL601.md ... IL612.md)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Thresholds:
    # IL601: a judged activation's std below this fraction of the reference (input) std.
    vanishing_ratio: float = 1e-2
    # IL602: a judged activation's std above this multiple of the reference std.
    exploding_ratio: float = 1e2
    # IL603: weight-gradient std of the first and last weight layers differ by more than this factor.
    gradient_ratio: float = 1e2
    # IL604: more than this fraction of a ReLU-family layer's units never active over the batch.
    dead_fraction: float = 0.5
    # IL607: parameter values larger than this in magnitude look like raw memory.
    huge_value: float = 1e10
    # IL608: the model output's std at init above this (logits: a softmax starts saturated).
    logit_scale: float = 5.0
    # IL609: the last SELU output's std more than this factor away from the input's (either way).
    selu_drift: float = 2.0
    # IL610: a weight right before a norm with a std this many times the largest init scheme's.
    weight_scale_ratio: float = 10.0
    # IL612: more than this fraction of a tanh/sigmoid's outputs in its flat tails (98% of the range).
    saturated_fraction: float = 0.5
    # Init guess: a weight std within this relative distance of a scheme's std matches it.
    scheme_tolerance: float = 0.10
    # Default batch size when the input is inferred (dead-unit statistics need a real batch).
    batch: int = 64

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name.replace("_", "-") for f in fields(cls)]


def parse_thresholds(table: dict[str, Any] | None) -> Thresholds:
    """Validate a ``[tool.initlint.probe]`` table; ConfigError names an unknown key or bad value."""
    from initlint.config import ConfigError

    table = table or {}
    known = {f.name.replace("_", "-"): f for f in fields(Thresholds)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        field = known.get(key)
        if field is None:
            raise ConfigError(f"unknown key `{key}` in [tool.initlint.probe] (known: {', '.join(sorted(known))})")
        if field.type in ("int", int):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"[tool.initlint.probe] `{key}` must be a positive integer")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(f"[tool.initlint.probe] `{key}` must be a positive number")
        values[field.name] = value
    return Thresholds(**values)
