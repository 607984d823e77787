"""Crashes found by the fuzz campaign (benchmarks/fuzz_campaign.py, /work/notes/fuzz_failures.md),
each minimized to the program that reproduces it: the rule runs without IL999 and its finding
and fix are what the rule means."""

from __future__ import annotations

import textwrap

from initlint.testing import fix, lint


def _codes(code: str, select: set[str]) -> list[str]:
    return [f.code for f in lint(code, select)]


SELU_FROM_IMPORT = textwrap.dedent(
    """\
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.nn.init import kaiming_uniform_


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(64, 64)
            self.fc2 = nn.Linear(64, 64)
            kaiming_uniform_(self.fc1.weight, nonlinearity='tanh')

        def forward(self, x):
            return self.fc2(F.selu(self.fc1(x)))
    """
)


def test_il202_fix_of_a_from_imported_init_function() -> None:
    """IL202's fix read ``func.value`` of a bare ``kaiming_uniform_`` Name (a str, not a node):
    AttributeError, reported as IL999. The fix now names kaiming_normal_ through the imports."""
    assert _codes(SELU_FROM_IMPORT, {"IL202"}) == ["IL202"]
    fixed = fix(SELU_FROM_IMPORT, {"IL202"}, unsafe=True)
    assert '        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="linear")\n' in fixed
    assert _codes(fixed, {"IL202"}) == []
