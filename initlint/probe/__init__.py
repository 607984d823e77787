"""The runtime probe: build a model, run one forward and backward pass with hooks, and judge the
scale of its weights, activations and gradients (rules IL601-IL612; init provenance IL620-IL624).

Only this package imports torch, and only when the probe runs: ``initlint check`` without
``--probe`` never imports it.
"""

from __future__ import annotations

from typing import Any

from initlint.probe.errors import ProbeError
from initlint.probe.thresholds import Thresholds, parse_thresholds

__all__ = ["ProbeError", "Thresholds", "parse_thresholds", "probe"]


def probe(model: Any, inputs: Any = None, **options: Any) -> Any:
    """Probe a model (or a function that builds it) in a test and return its report
    (``report.findings``, ``report.layers``, ``report.assert_healthy()``). See
    ``initlint.probe.api.probe`` for the options; torch is imported only here."""
    from initlint.probe.api import probe as run

    return run(model, inputs, **options)
