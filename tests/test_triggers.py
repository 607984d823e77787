"""The fast trigger tests must agree with the regexes they stand for: INIT, line-local triggers,
word-anchored matches, the import words; and IL102's reading of a `tensor(` argument."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from initlint.rules import ALL_RULES, BY_CODE
from initlint.rules.il409_bias_truth_test import BiasTruthTest
from initlint.rules.il501_functional_dropout_always_on import _ALIAS as _DROPOUT_ALIAS
from initlint.rules.il501_functional_dropout_always_on import _CALL as _DROPOUT_CALL
from initlint.rules.il502_dropout_probability_out_of_range import _CALL as _DROPOUT_MODULE_CALL
from initlint.rules.triggers import INIT_TRIGGER, ImportedWords, LineTrigger, has_init_reference, word_matches

ROOT = Path(__file__).resolve().parent.parent
_REGEX = re.compile(INIT_TRIGGER)


def _texts() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples").glob("*.py"))]
    texts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "initlint").rglob("*.py"))]
    for rule in ALL_RULES:
        texts += list(rule.VALID) + [example.code for example in rule.INVALID]
    return texts


@pytest.mark.parametrize(
    "text",
    [
        "import torch.nn as nn\nnn.init.normal_(w)\n",
        "nn . init . normal_(w)\n",
        "from torch.nn import init\n",
        "from torch.nn import (\n    Linear,\n    init,\n)\n",
        "from torch.nn.init import trunc_normal_\n",
        "import torch.nn.init as I\n",
        "m.weight.data.normal_(0, 0.02)\n",
        "m.bias.zero_()\n",
        "self.scale.fill_(1.0)\n",
        "m.weight_ih_l0.uniform_(-0.1, 0.1)\n",
        "def __init__(self):\n    super().__init__()\n",
        "x.masked_fill_(mask, 0)\n",
        "noise.normal_()\n",
        "self.post_init()\n",
        "import torch.nn as tnn\ntnn.init.normal_(w)\n",
        "from torch import nn as N\n",
        "from torch import (\n    nn as N,\n)\n",
        "from torch import nn as nn\n",
        "import torch.nn as\tT\n",
    ],
)
def test_fast_init_test_agrees_with_the_regex(text):
    assert has_init_reference(text) == bool(_REGEX.search(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("import torch.nn as tnn\ntnn.init.normal(w)\n", True),  # torch.nn under another name
        ("from torch import nn as N\nN.init.normal(w)\n", True),
        ("from torch import nn as nn\nx = nn.Linear(2, 2)\n", False),
        ("import torch\ny = torch.eye(3)\nz = np.random.normal(0, 1)\n", False),  # no nn.init
    ],
)
def test_il101_needs_an_nn_init_reference(text, expected):
    assert BY_CODE["IL101"].may_match(text) is expected


def test_agrees_on_every_known_text():
    texts = _texts()
    assert len(texts) > 100
    for text in texts:
        assert has_init_reference(text) == bool(_REGEX.search(text))


# -- line-local triggers and word-anchored matches ---------------------------------------------
_BIAS_TRIGGER = BiasTruthTest.triggers[0]
_EDGE_TEXTS = [
    "if m.bias:\n    pass\n",
    "if m.bias is not None:\n    pass\n",
    "x = m.bias or default\n",
    "if (m.bias\n        is not None):\n    pass\n",
    "bias = 1\nif ok and bias:\n    pass\n",
    "assert not self.bias",
    "F.dropout(x, p)\nself.dropout(x)\nalpha_dropout (y)\nnn.Dropout(0.1)\nmy_dropout(z)\n",
    "from torch.nn.functional import dropout as drop\n",
    "xdropout(1)\ndropout2d(x, training=self.training)\n",
]


def test_line_trigger_agrees_with_its_regex():
    assert isinstance(_BIAS_TRIGGER, LineTrigger)
    regex = re.compile(_BIAS_TRIGGER.pattern)
    texts = _texts() + _EDGE_TEXTS
    hits = 0
    for text in texts:
        expected = bool(regex.search(text))
        # A line-local search may say "maybe" more often (a look-ahead cannot see the next line),
        # never less often.
        assert bool(_BIAS_TRIGGER.search(text)) >= expected, text
        hits += expected
    assert hits > 5
    assert _BIAS_TRIGGER.search("if (m.bias\n        is not None):\n") is True
    assert _BIAS_TRIGGER.search("if m.bias is not None:\n") is None


@pytest.mark.parametrize(
    ("pattern", "anchor"),
    [(_DROPOUT_CALL, ("dropout",)), (_DROPOUT_ALIAS, ("dropout",)), (_DROPOUT_MODULE_CALL, ("ropout",))],
)
def test_word_matches_find_what_finditer_finds(pattern, anchor):
    found = 0
    for text in _texts() + _EDGE_TEXTS:
        expected = sorted(m.span() for m in pattern.finditer(text))
        assert sorted(m.span() for m in word_matches(text, anchor, pattern)) == expected, text
        found += len(expected)
    assert found > 3


# The import words as the whole-text regexes read them before ImportedWords was anchored on `import`.
_FROM_IMPORT = re.compile(r"\bfrom\s+[.\w]+\s+import\s*(\([^)]*\)|[^\n]*)")
_PLAIN_IMPORT = re.compile(r"(?<![.\w])import\s+([^\n(]*)")


def _reference_words(text: str) -> tuple[bool, set[str]]:
    star, words = False, set()
    for match in _FROM_IMPORT.finditer(text):
        star |= match.group(1).lstrip("( \t").startswith("*")
        words.update(re.findall(r"\w+", match.group(1)))
    for match in _PLAIN_IMPORT.finditer(text):
        words.update(re.findall(r"\w+", match.group(1)))
    return star, words


@pytest.mark.parametrize(
    "text",
    [
        "from a.b import (c,\n    d)\nimport os, sys as q\n",
        "from . import *\n",
        "from .models import Net, weights_init  # comment\n",
        "x.import_module(y)\nreimport z\nfrom_import w\n",
        "if ok: import torch.nn.init as I\n",
    ],
)
def test_import_words_agree_with_the_regexes(text):
    words = ImportedWords(text)
    assert (words.star, words.words) == _reference_words(text)


def test_import_words_agree_on_every_known_text():
    for text in _texts():
        words = ImportedWords(text)
        assert (words.star, words.words) == _reference_words(text)


# -- IL102: what a `tensor(` argument may be -----------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "import torch\nw = torch.tensor(torch.randn(3))\n",
        "import torch\nw = torch.tensor(m.weight.data)\n",
        "import torch\nw = torch.tensor(m.bias, dtype=torch.half)\n",
        "import torch\nx = torch.zeros(3)\ny = torch.tensor(x)\n",
        "import torch\nx: torch.Tensor = torch.zeros(3)\ny = torch.tensor(x[0])\n",
        "import torch\na = torch.ones(1)\nb = a\nc = b.float()\nd = torch.tensor(c)\n",
        "import torch\nw = torch.tensor((torch.ones(2)))\n",
        "from torch import randn as draw\nimport torch\nw = torch.tensor(draw(3))\n",
        "import torch\nw = torch.tensor(nn.Parameter(v))\n",
        "import torch\nw = torch.tensor(x  # the weights\n)\nx = torch.ones(1)\n",
    ],
)
def test_il102_prefilter_opens_on_what_may_be_a_tensor(text):
    assert BY_CODE["IL102"].may_match(text)


@pytest.mark.parametrize(
    "text",
    [
        "import torch\nw = torch.tensor([1.0, 2.0])\n",
        "import torch\ndef f(values):\n    return torch.tensor(values)\n",  # a parameter
        "import torch\nw = torch.tensor(config.max_value)\n",
        "import torch\nxs = [1, 2]\nw = torch.tensor(xs)\n",
        "import torch\nw = torch.tensor(float(eps), device=d)\n",  # a builtin, not a factory
        "import torch\nw = torch.tensor(a + b)\n",
        "import torch\nw = torch.tensor(x for x in y)\n",
        "import torch\nw = torch.tensor(self.scale.to(d))\n",  # a method on a config value
        "import torch\nlens = torch.tensor(lens, device=d)\n",  # its own value, no earlier binding
        "import torch\nw = torch.as_tensor(torch.ones(2))\n",  # another function
    ],
)
def test_il102_prefilter_skips_what_known_tensor_never_proves(text):
    assert not BY_CODE["IL102"].may_match(text)


def test_il102_prefilter_follows_a_chain_of_names_and_bounds_it():
    chain = "".join(f"a{i} = a{i + 1}\n" for i in range(50))
    assert BY_CODE["IL102"].may_match(f"import torch\n{chain}a50 = torch.ones(1)\ny = torch.tensor(a0)\n")
    assert not BY_CODE["IL102"].may_match(f"import torch\n{chain}a50 = [1.0]\ny = torch.tensor(a0)\n")
    # Past a bound on the names followed the answer is "maybe": never slow, never a hidden finding.
    long_chain = "".join(f"a{i} = a{i + 1}\n" for i in range(5000))
    assert BY_CODE["IL102"].may_match(f"import torch\n{long_chain}y = torch.tensor(a0)\n")


def test_il102_prefilter_follows_a_cycle_of_names_to_its_grounding():
    # `b` is a tensor through `a`, which is one through b's other binding: a cycle with a way out.
    text = "import torch\na = b\nb = a\nb = torch.ones(1)\nc = torch.tensor(b)\nd = torch.tensor(a)\n"
    assert BY_CODE["IL102"].may_match(text)
    assert not BY_CODE["IL102"].may_match("import torch\na = b\nb = a\nc = torch.tensor(a)\n")


# -- the tightened prefilters: what each now skips, and what it must still open --------------------
@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        # IL412: a statement line that computes and drops; not a return or an assignment
        ("IL412", "import torch\ndef f(m):\n    m.weight * 2\n", True),
        ("IL412", "import torch\ndef f(m):\n    m.weight.data.clamp(-1, 1)\n", True),
        ("IL412", "import torch\ndef forward(self, h):\n    return self.weight * h\n", False),
        ("IL412", "import torch\ndef forward(self, h):\n    h = self.weight * h\n    return h\n", False),
        ("IL412", "import torch\ndef forward(self, h):\n    out[0] += self.bias * h\n", False),
        # IL409: what _bias_reads reads (`X.bias`, `getattr(X, "bias")`), not a `bias` argument
        ("IL409", "import torch\ndef f(m):\n    if m.bias:\n        pass\n", True),
        ("IL409", "import torch\ndef f(m):\n    if getattr(m, 'bias', None):\n        pass\n", True),
        ("IL409", "import torch\ndef __init__(self, bias=True):\n    if bias:\n        pass\n", False),
        # IL305: without an nn.init reference only `nn.Parameter(t.uniform_(b))` can fire
        ("IL305", "import torch\nw = nn.Parameter(torch.empty(3).uniform_(b))\n", True),
        ("IL305", "import torch\nimport torch.nn as nn\nnn.init.uniform_(w, b)\n", True),
        ("IL305", "import torch\nimport random\nx = random.uniform(0, 1)\n", False),
        ("IL305", "import torch\nnoise = torch.empty(3).uniform_(0, 1)\n", False),
        # IL408 and IL416 judge init sites: no nn.init reference, no init site
        ("IL416", "import torch\ndef init(m):\n    if type(m) == 'Linear':\n        m.weight.data.normal_()\n", True),
        ("IL416", "import torch\ndef f(m):\n    if type(m) == 'Linear':\n        return m.weight * 2\n", False),
        (
            "IL408",
            "import torch\ndef init(m):\n    if 'Conv' in m.__class__.__name__:\n        m.weight.data.zero_()\n",
            True,
        ),
        ("IL408", "import torch\ndef f(m):\n    if 'Conv' in m.__class__.__name__:\n        print(m)\n", False),
    ],
)
def test_tightened_prefilters(code, text, expected):
    assert BY_CODE[code].may_match(text) is expected
