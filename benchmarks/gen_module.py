"""A generated, realistic N-line module for scaling measurements and the pathological tests.

The module is a file of many small ``nn.Module`` classes, each with layers built in
``__init__``, a ``reset_parameters`` with ``nn.init`` calls and a ``forward``: the shape of
a real model zoo file. Every ``bug_every``-th class carries two known bugs, so a run has a
known answer: one IL101 (``nn.init.xavier_uniform`` without the underscore) and one IL104
(``bias.data.zero_()``); every other class is clean under the default rules::

    from benchmarks.gen_module import generate_module, write_module
    info = write_module(tmp_path / "big.py", 100_000)
    info.lines, info.classes, info.expected   # {"IL101": n, "IL104": n}

Run as a script to write one: ``python benchmarks/gen_module.py OUT.py 100000``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

HEADER = '''"""Generated model zoo: {classes} small blocks."""

from __future__ import annotations

import torch
import torch.nn as nn

'''

CLEAN_INIT = """\
        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")
        nn.init.zeros_(self.fc1.bias)
        nn.init.xavier_uniform_(self.fc2.weight)
        nn.init.zeros_(self.fc2.bias)
"""

BUGGY_INIT = """\
        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")
        self.fc1.bias.data.zero_()
        nn.init.xavier_uniform(self.fc2.weight)
        nn.init.zeros_(self.fc2.bias)
"""

BLOCK = '''

class Block{index}(nn.Module):
    """Block {index}: a residual MLP of width {dim}."""

    def __init__(self, dim: int = {dim}, hidden: int = {hidden}) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(hidden, dim)
        self.norm = nn.LayerNorm(dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
{init}
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x + self.fc2(self.act(self.fc1(x))))
'''

FOOTER = """

def build_all() -> list[nn.Module]:
    return [cls() for cls in BLOCKS]
"""


@dataclass
class ModuleInfo:
    text: str
    lines: int
    classes: int
    buggy: int
    expected: dict[str, int] = field(default_factory=dict)  # findings per code under the default rules


def _block(index: int, buggy: bool) -> str:
    dim = 32 * (1 + index % 4)
    return BLOCK.format(index=index, dim=dim, hidden=2 * dim, init=BUGGY_INIT if buggy else CLEAN_INIT)


def generate_module(lines: int, *, bug_every: int = 10) -> ModuleInfo:
    """A module of at least ``lines`` lines (whole classes, so it may run a few lines over)."""
    if lines < 1:
        raise ValueError("lines must be positive")
    per_block = _block(0, False).count("\n")
    fixed = HEADER.count("\n") + FOOTER.count("\n") + 2
    classes = max(1, -(-(lines - fixed) // per_block))
    buggy_indexes = [i for i in range(classes) if bug_every > 0 and i % bug_every == bug_every - 1]
    buggy = set(buggy_indexes)
    parts = [HEADER.format(classes=classes)]
    parts += [_block(i, i in buggy) for i in range(classes)]
    parts.append(FOOTER)
    parts.append(f"BLOCKS = [{', '.join(f'Block{i}' for i in range(min(classes, 8)))}]\n")
    text = "".join(parts)
    expected = {"IL101": len(buggy), "IL104": len(buggy)} if buggy else {}
    return ModuleInfo(text, text.count("\n"), classes, len(buggy), expected)


def write_module(path: str | Path, lines: int, *, bug_every: int = 10) -> ModuleInfo:
    info = generate_module(lines, bug_every=bug_every)
    Path(path).write_text(info.text, encoding="utf-8")
    return info


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python benchmarks/gen_module.py OUT.py LINES")
    result = write_module(sys.argv[1], int(sys.argv[2]))
    print(f"{sys.argv[1]}: {result.lines} lines, {result.classes} classes, expected {result.expected}")
