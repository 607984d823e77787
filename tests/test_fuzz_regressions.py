"""Crashes found by the fuzz campaign (benchmarks/fuzz_campaign.py, /work/notes/fuzz_failures.md),
each minimized to the program that reproduces it: the rule runs without IL999 and its finding
and fix are what the rule means."""

from __future__ import annotations

import signal
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


FORM_FEED_FIRST_BLOCK = (
    "if True:\n"
    "\f  pass\n"  # the first indented block: libcst's default indent becomes "\f  "
    "import torch.nn as nn\n"
    "class Net(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.fc = nn.Linear(4, 4, bias=False)\n"
    "        for m in self.modules():\n"
    "            if isinstance(m, nn.Linear):\n"
    "                nn.init.zeros_(m.bias)\n"
)


def test_il401_guard_indents_by_its_own_block_not_the_module_default() -> None:
    """IL401's guard indented its body by libcst's default indent, taken from the file's first
    block: a form feed there resets the column to 0, the guarded line dedented below its `if`
    and the fix was refused as unparseable. It now steps by the enclosing block's indent."""
    assert _codes(FORM_FEED_FIRST_BLOCK, {"IL401"}) == ["IL401"]
    fixed = fix(FORM_FEED_FIRST_BLOCK, {"IL401"})  # asserts the engine refused nothing
    assert fixed.endswith(
        "            if isinstance(m, nn.Linear):\n"
        "                if m.bias is not None:\n"
        "                    nn.init.zeros_(m.bias)\n"
    )
    compile(fixed, "fixed.py", "exec")


SELU_KAIMING = textwrap.dedent(
    """\
    import torch
    import torch.nn.functional as F


    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(128, 64), torch.nn.Linear(64, 64))
            for m in self.net:
                torch.nn.init.kaiming_normal_(m.weight, {arguments})

        def forward(self, x):
            return self.net[1](F.selu(self.net[0](x)))
    """
)


def test_il202_kaiming_gain_that_cannot_be_evaluated() -> None:
    """The message formatted a '?' placeholder with :.3g when the gain was unknown (a=-1e400,
    an unsupported nonlinearity name): ValueError, reported as IL999. A gain that does not
    depend on `a` is now computed from the name; an unknown one leaves the rule silent."""
    findings = lint(SELU_KAIMING.format(arguments="a=-1e400, nonlinearity='relu'"), {"IL202"})
    assert [f.code for f in findings] == ["IL202"]
    assert "nonlinearity='relu' gives Var(w) = 2/fan_in" in findings[0].message
    assert _codes(SELU_KAIMING.format(arguments="nonlinearity='gelu'"), {"IL202"}) == []
    assert _codes(SELU_KAIMING.format(arguments="a=float('nan'), nonlinearity='leaky_relu'"), {"IL202"}) == []


def test_il202_kaiming_with_a_unit_gain_is_lecun() -> None:
    """kaiming_normal_(w, nonlinearity='sigmoid') draws N(0, 1/fan_in), LeCun normal itself
    (found while fixing the crash above: it was reported as 'Var(w) = 1/fan_in')."""
    assert _codes(SELU_KAIMING.format(arguments="nonlinearity='sigmoid'"), {"IL202"}) == []
    findings = lint(SELU_KAIMING.format(arguments="mode='fan_out', nonlinearity='linear'"), {"IL202"})
    assert [f.code for f in findings] == ["IL202"]  # 1/fan_out = 1/64 on a 128 -> 64 layer
    assert "gives Var(w) = 1/fan_out" in findings[0].message


class _Timeout(Exception):
    pass


def _within(seconds: int, function, *args):  # type: ignore[no-untyped-def]
    """``function(*args)``, failing the test when it runs longer than ``seconds`` (SIGALRM)."""

    def expire(*_: object) -> None:
        raise _Timeout(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        return function(*args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_il404_prefilter_is_linear_on_comments_full_of_hashes() -> None:
    """IL404's trigger `(?:\\s|#[^\\n]*)*` split a comment of k '#' in 2^k ways before failing:
    20 took 15 s. The fuzz campaign met it as a hang on a CR-only file, which is one long line for
    `[^\\n]`. Spacing and comments are now matched possessively."""
    from initlint.rules.il404_uninitialized_parameter import UninitializedParameter

    hashes = "nn.Parameter(  # " + "#" * 40 + "\n    torch.zeros(3))\n"
    assert _within(5, UninitializedParameter.may_match, hashes) is False
    cr_only = (
        "import torch\rimport torch.nn as nn\rclass M(nn.Module):\r    def __init__(self):\r"
        "        super().__init__()\r"
        + "        self.a = nn.Parameter(  # a # b # c\r            torch.zeros(3))\r" * 30
        + "        self.w = nn.Parameter(  # ### shape ###\r            torch.empty(3))\r"
        + "    def forward(self, x):\r        return x * self.w\r"
    )
    assert [f.code for f in _within(10, lint, cr_only, {"IL404"})] == ["IL404"]


ADVERSARIAL = {
    "hashes after a call": "nn.Parameter(  # " + "#" * 3000 + "\n torch.zeros(3))\n",
    "CR-only comments": "import torch\r" + "x = nn.Parameter(  # a # b # c\r" * 300,
    "spaces": "type(" + " " * 20000 + "\n",
    "open parentheses": "self.apply(" + "(" * 3000 + "\n",
    "arguments": "import torch\nF.dropout(" + "x, " * 5000 + "\n",
    "attribute chain": "import torch\nm.weight.data" + ".x" * 20000 + "\n",
    "init words": "nn.init" * 5000 + " init " * 5000,
    "from import": "from torch.nn import (" + "a, " * 10000,
    "comparisons": "type(m) " + "== " * 5000,
    "tabs and spaces": "\t" * 30000 + "Parameter(" + " " * 30000,
}


def test_every_prefilter_is_fast_on_adversarial_text() -> None:
    """Every rule's prefilter runs on every file before anything is parsed: a regex that
    backtracks exponentially hangs the whole run (the IL404 class above, kept covered for new
    rules)."""
    from initlint.rules import ALL_RULES

    for name, text in ADVERSARIAL.items():
        for rule in ALL_RULES:
            try:
                _within(5, rule.may_match, text)
            except _Timeout:
                raise AssertionError(f"{rule.code}'s prefilter on {name}: more than 5 s") from None
