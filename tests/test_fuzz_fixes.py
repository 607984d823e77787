"""Fuzzing the fixes (issue 8): programs composed of the legacy idioms the safe fixes rewrite,
under every kind of file header (shebang, coding line, docstrings, `from __future__`), with
comments between arguments, inside f-strings, with hostile numbers and with names bound by
`match`, `except*` and `del`; utf-8 or latin-1. Every fixed file must compile as the bytes that
would be written, keep its header, docstring and every comment, add imports only of names the
file leaves free, and a second --fix must change nothing. Derandomized, CI-sized
(INITLINT_FUZZ_EXAMPLES raises the count)."""

from __future__ import annotations

import ast
import builtins
import io
import os
import tokenize
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from initlint.engine import LintOptions, compile_error, fix_source, is_applicable, lint_source
from initlint.source import SourceFile
from initlint.testing import EVERY_CODE

OPTIONS = LintOptions(frozenset(c for c in EVERY_CODE if not c.startswith("IL6")), prefilter=False)
FUZZ = settings(
    max_examples=int(os.environ.get("INITLINT_FUZZ_EXAMPLES", "80")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

HEADERS = [
    "",
    "#!/usr/bin/env python\n",
    "# -*- coding: utf-8 -*-\n",
    "#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\n\n",
    '"""Module docstring."""\n',
    '"Joined " "docstring."\n\n',
    "(\n    'Parenthesized'\n    ' docstring.'\n)\n",
    '"""Docstring."""\n\nfrom __future__ import annotations\n',
    "from __future__ import annotations\n",
    "#!/usr/bin/env python\n'''Doc.'''\nfrom __future__ import annotations, division\n",
]
IMPORTS = [
    "import torch",
    "import torch.nn as nn",
    "from torch import Tensor, nn",
    "from torch.nn import init",
    "from torch.nn.init import normal",
    "from torch.nn.init import xavier_uniform as xu",
    "from torch.autograd import Variable",
    "from mylib import *",
]
NUMBERS = ["0", "1", "0.02", "-0.1", "3", "16", "1e999", "9" * 400, "(1e999 - 1e999)", "(((2**64)**64)**64)", "2**64"]
# {a}, {b}: numbers; each idiom in one or more layouts, some with comments between arguments.
IDIOMS = [
    "m.weight.data.normal_({a}, {b})",
    "m.weight.data.normal_(\n    {a},  # mean\n    {b},  # std\n)",
    "m.weight.data.uniform_(-{a},  # low\n    to={b})  # high",
    "m.bias.data.fill_(value={a})  # bias",
    "m.bias.data.zero_()",
    "nn.init.zeros_(m.bias.data)",
    "init.xavier_uniform_(m.weight.data, gain={a})",
    "w = torch.Tensor({a}, {b})",
    "w = Tensor({a}, {b})",
    "w = torch.cuda.FloatTensor({a})",
    's = f"{{torch.cuda.LongTensor({a})}}"',
    "s = f'{{torch.cuda.FloatTensor({a}, {b})!r}}'",
    "s = f\"{{f'{{torch.cuda.FloatTensor({a})}}'}}\"",
    "y = torch.tensor(torch.randn({a}), dtype=torch.float16)",
    "y = torch.tensor(\n    torch.randn({a}),  # data\n    requires_grad=True,\n)",
    "v = Variable(torch.zeros({a}), requires_grad=True)",
    "v = torch.autograd.Variable(\n    torch.zeros({a}),  # the tensor\n    volatile=True,\n)",
    "nn.init.normal(w, {a}, {b})",
    "init.kaiming_normal(w)  # legacy",
    "normal(w, {a}, {b})",
    "xu(w)",
    "nn.init.uniform_(w, {a}, {b})",
    "nn.init.trunc_normal_(w, mean={a}, std={b}, a=-{b}, b={b})",
    "d = nn.Dropout({a})",
]
TRAILERS = [
    "",
    "del torch\n",
    "match x:\n    case torch:\n        pass\n",
    "match x:\n    case {'k': 1, **normal_}:\n        pass\n",
    "try:\n    pass\nexcept* ValueError as torch:\n    pass\n",
    "normal_ = None\n",
    "def zeros_(t):\n    return t\n",
]


@st.composite
def programs(draw: st.DrawFn) -> tuple[str, str]:
    """(text, encoding) of a program that compiles."""
    header = draw(st.sampled_from(HEADERS))
    imports = draw(st.lists(st.sampled_from(IMPORTS[1:]), max_size=3, unique=True))
    if draw(st.booleans()):
        imports.insert(0, IMPORTS[0])  # `import torch`: most idioms resolve only through it
    statements = []
    for idiom in draw(st.lists(st.sampled_from(IDIOMS), min_size=1, max_size=4)):
        numbers = {"a": draw(st.sampled_from(NUMBERS)), "b": draw(st.sampled_from(NUMBERS))}
        statements.append(idiom.format(**numbers))
    body = "\n".join(statements) + "\n"
    if draw(st.booleans()):
        body = "def init(m, w, x):\n" + "".join(f"    {line}\n" if line else "\n" for line in body.splitlines())
    # Imports after the header, or none at all (the fix then adds them below the header).
    text = header + "".join(f"{line}\n" for line in imports) + "\n# torch\n" + body + draw(st.sampled_from(TRAILERS))
    encoding = "utf-8"
    if draw(st.booleans()) and not header.startswith(("#!", "# -*-")):
        text = "# -*- coding: latin-1 -*-\n# caf\u00e9\n" + text
        encoding = "iso-8859-1"
    return text, encoding


def _comments(text: str) -> Counter[str]:
    return Counter(t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT)


def _bound_names(tree: ast.Module) -> set[str]:
    """Every name the file binds anywhere, by Python's own parser (the oracle for the model)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
    return names


def _new_loads(before: ast.Module, after: ast.Module) -> set[str]:
    """Names the fixed file reads that the original did not."""

    def loads(tree: ast.Module) -> set[str]:
        return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}

    return loads(after) - loads(before)


def _added_imports(before: ast.Module, after: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """The top-level imports of ``after`` that ``before`` does not have."""
    old = Counter(ast.dump(s) for s in before.body if isinstance(s, (ast.Import, ast.ImportFrom)))
    added = []
    for statement in after.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            if old[ast.dump(statement)]:
                old[ast.dump(statement)] -= 1
            else:
                added.append(statement)
    return added


def _header(text: str) -> list[str]:
    """The comment lines the file opens with (shebang, coding line)."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return lines


@FUZZ
@given(programs(), st.booleans())
def test_fixes_keep_every_file_intact(program: tuple[str, str], unsafe: bool) -> None:
    text, encoding = program
    source = SourceFile("fuzz.py", text, encoding)
    assert compile_error(source) is None, text  # the generator writes valid programs
    findings = lint_source(source, OPTIONS)
    assert [f.message for f in findings if f.code == "IL999"] == []
    outcome = fix_source(source, OPTIONS, unsafe)
    fixed = outcome.source
    assert outcome.problems == [], (outcome.problems, text)  # no rule's fix needed the engine's net
    assert [f.message for f in outcome.findings if f.code == "IL999"] == []
    assert compile_error(fixed) is None, fixed.text
    assert _comments(fixed.text) == _comments(text), fixed.text
    assert _header(fixed.text)[: len(_header(text))] == _header(text), fixed.text
    before, after = ast.parse(text), ast.parse(fixed.text)
    assert ast.get_docstring(after, clean=False) == ast.get_docstring(before, clean=False)
    bound = _bound_names(before)
    for added in _added_imports(before, after):
        names = {alias.asname or alias.name.split(".")[0] for alias in added.names}
        assert not names & bound, (ast.unparse(added), fixed.text)
    # A name a fix starts to use is bound by the file (an import it added), or a builtin.
    unbound = _new_loads(before, after) - _bound_names(after) - set(dir(builtins))
    assert not unbound, (unbound, fixed.text)
    # The loop ran until no fix applied: what is left has no applicable fix.
    assert not [f for f in outcome.findings if is_applicable(f, unsafe)], fixed.text
    again = fix_source(fixed, OPTIONS, unsafe)
    assert again.source.text == fixed.text and again.applied == 0, again.source.text
