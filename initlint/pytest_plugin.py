"""Test helpers for the runtime probe, and a pytest plugin (registered through the ``pytest11``
entry point, so installing initlint is enough).

    def test_init(initlint_probe):
        initlint_probe(MyNet, torch.randn(8, 3, 32, 32))   # fails the test on any finding

    from initlint.pytest_plugin import assert_init_healthy
    assert_init_healthy(MyNet, {"input_ids": ids}, fail_on="error")

Importing this module imports neither torch nor the probe; they load when a probe runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:
    import pytest
except ImportError:  # used outside pytest: the helper still works, the fixture is not defined
    pytest = None  # type: ignore[assignment]


def assert_init_healthy(model: Any, inputs: Any = None, *, fail_on: str = "warning", **options: Any) -> Any:
    """Probe ``model`` (a module, or a function/class building it: then with init provenance) on
    ``inputs`` and raise AssertionError listing the findings; returns the report otherwise."""
    from initlint.probe import probe

    report = probe(model, inputs, **options)
    report.assert_healthy(fail_on)
    return report


if pytest is not None:

    @pytest.fixture
    def initlint_probe() -> Callable[..., Any]:
        """``initlint_probe(model, inputs, fail_on="warning", **options)``: probe and assert healthy
        (the options of ``initlint.probe.probe``; device "auto" as on the command line)."""

        def run(model: Any, inputs: Any = None, *, fail_on: str = "warning", **options: Any) -> Any:
            return assert_init_healthy(model, inputs, fail_on=fail_on, **options)

        return run
