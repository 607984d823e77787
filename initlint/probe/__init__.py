"""The runtime probe: build a model, run one forward and backward pass with hooks, and judge the
scale of its weights, activations and gradients (rules IL601-IL607).

Only this package imports torch, and only when the probe runs: ``initlint check`` without
``--probe`` never imports it.
"""

from __future__ import annotations

from initlint.probe.errors import ProbeError
from initlint.probe.thresholds import Thresholds, parse_thresholds

__all__ = ["ProbeError", "Thresholds", "parse_thresholds"]
