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
        x = self.head(torch.relu(self.fc(x)))
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


def test_edge_and_init_site_scans_grow_linearly(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Two more quadratic scans, found by the 100k-line benchmark row: every new dataflow edge
    compared with every edge so far, and IL403 walking every init site of the file per class."""
    from functools import cached_property

    from initlint.rules import ALL_RULES
    from initlint.semantic.dataflow import Edge
    from initlint.semantic.inits import find_init_sites

    counts = {"eq": 0, "sites": 0}
    edge_eq = Edge.__eq__

    def counting_eq(self, other):  # type: ignore[no-untyped-def]
        counts["eq"] += 1
        return edge_eq(self, other)

    class CountingList(list):  # type: ignore[type-arg]
        def __iter__(self):  # type: ignore[no-untyped-def]
            for item in super().__iter__():
                counts["sites"] += 1
                yield item

    def init_sites(self):  # type: ignore[no-untyped-def]
        return CountingList(find_init_sites(self))

    monkeypatch.setattr(Edge, "__eq__", counting_eq)
    prop = cached_property(init_sites)
    prop.__set_name__(SemanticModel, "init_sites")
    monkeypatch.setattr(SemanticModel, "init_sites", prop)
    options = options_for([rule.code for rule in ALL_RULES])
    cost = {}
    for classes in (10, 40):
        counts.update(eq=0, sites=0)
        lint_source(module(classes), options)
        cost[classes] = dict(counts)
    assert cost[40]["sites"] < 6 * cost[10]["sites"], cost
    assert cost[40]["eq"] <= 6 * cost[10]["eq"] + 40, cost
