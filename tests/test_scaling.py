"""Work per file grows linearly with its size: structure queries (``nodes_in``) visit only the
nodes inside the class or function asked about, not every node of the file each time (which
made a 10k-line module take 48 s and a 100k-line one over an hour)."""

from __future__ import annotations

import libcst as cst

import initlint.semantic.model as model_module
from initlint.engine import lint_source
from initlint.semantic.model import SemanticModel
from initlint.semantic.structure import inside, nodes_in
from initlint.source import SourceFile
from initlint.testing import options_for

BLOCK = """
class Block{i}(nn.Module):
    def __init__(self, dim=8):
        super().__init__()
        self.fc = nn.Linear(dim, dim)
        self.head = nn.Linear(dim, dim, bias={bias})
        nn.init.xavier_uniform(self.fc.weight)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x):
        def helper(y):
            return torch.relu(self.head(y))
        return helper(torch.relu(self.fc(x)))
"""


def module(classes: int) -> SourceFile:
    text = "import torch\nimport torch.nn as nn\n" + "".join(BLOCK.format(i=i, bias=i % 2 == 0) for i in range(classes))
    return SourceFile(f"m{classes}.py", text, "utf-8")


def test_nodes_in_matches_the_brute_force_answer() -> None:
    source = module(6)
    model = SemanticModel(source, cst.parse_module(source.text))
    holders = [*model.nodes(cst.ClassDef), *model.nodes(cst.FunctionDef), *model.nodes(cst.For), model.module]
    for holder in holders:
        for node_type in (cst.Call, cst.Attribute, cst.Name, cst.FunctionDef, cst.Return):
            fast = list(nodes_in(model, holder, node_type))
            slow = [n for n in model.nodes(node_type) if inside(model, n, holder)]
            assert fast == slow, (holder, node_type)
            everything = [n for n in model.nodes(node_type) if any(a is holder for a in model.ancestors(n))]
            assert list(model.nodes_within(holder, node_type)) == everything
    assert list(model.nodes_within(cst.Name("elsewhere"), cst.Call)) == []


def test_lint_work_grows_linearly_with_the_file(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Counts parent steps (deterministic, unlike time): 4x the classes must cost about 4x."""
    steps = [0]
    original = model_module.SemanticModel.ancestors

    def counting(self, node):  # type: ignore[no-untyped-def]
        for ancestor in original(self, node):
            steps[0] += 1
            yield ancestor

    monkeypatch.setattr(model_module.SemanticModel, "ancestors", counting)
    from initlint.rules import ALL_RULES

    options = options_for([rule.code for rule in ALL_RULES])
    cost = {}
    for classes in (10, 40):
        steps[0] = 0
        findings = lint_source(module(classes), options)
        assert findings  # the rules really ran (IL101 on every class at least)
        cost[classes] = steps[0]
    assert cost[40] < 6 * cost[10], cost  # quadratic was ~16x
