"""Safe fixes that corrupted files (issue 8): an added import above a shebang, a coding line, the
docstring or `from __future__`; a latin-1 file that no longer decoded; `device="cuda"` inside a
double-quoted f-string; comments between arguments deleted; IL101 renaming an imported name
other modules import. And the engine's net: a pass whose result does not compile is dropped.

Every fix here is held to the same four checks: the result parses (libcst), compiles under the
running Python as the bytes that would be written, no longer has the finding, and a second
--fix changes nothing."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import libcst
import pytest

from initlint.engine import apply_edits, compile_error, fix_source, lint_source
from initlint.finding import Edit
from initlint.rules import BY_CODE
from initlint.rules.base import FixSpec, Report
from initlint.source import SourceFile
from initlint.testing import options_for


def fixed_and_checked(text: str, codes: set[str], *, encoding: str = "utf-8", path: str = "f.py") -> SourceFile:
    """The file after --fix, checked: it parses, compiles as written, lost the fixed findings,
    and a second --fix changes nothing."""
    options = options_for(codes)
    source = SourceFile(path, text, encoding)
    before = lint_source(source, options)
    outcome = fix_source(source, options, unsafe=False)
    assert not outcome.problems, outcome.problems
    fixed = outcome.source
    libcst.parse_module(fixed.text)
    assert compile_error(fixed) is None, (compile_error(fixed), fixed.text)
    fixed_before = [(f.code, f.message) for f in before if f.fix is not None and f.fix.applicability == "safe"]
    after = [(f.code, f.message) for f in lint_source(fixed, options)]
    assert not set(fixed_before) & set(after), (after, fixed.text)
    again = fix_source(fixed, options, unsafe=False)
    assert again.source.text == fixed.text and again.applied == 0
    return fixed


# -- where an added import goes ------------------------------------------------------------------
# IL104's method form needs no torch import to fire (a comment that says torch passes the
# prefilter), so these files have none: the import goes below everything that must stay on top.
CALL = "m.bias.data.zero_()  # torch\n"
FIXED_CALL = "torch.nn.init.zeros_(m.bias)  # torch\n"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("", "import torch\n", id="nothing"),
        pytest.param("#!/usr/bin/env python\n", "#!/usr/bin/env python\nimport torch\n", id="shebang"),
        pytest.param("# -*- coding: utf-8 -*-\n", "# -*- coding: utf-8 -*-\nimport torch\n", id="coding"),
        pytest.param(
            "#!/usr/bin/env python\n# coding: utf-8\n\n",
            "#!/usr/bin/env python\n# coding: utf-8\n\nimport torch\n",
            id="shebang-coding",
        ),
        pytest.param('"""Doc."""\n', '"""Doc."""\nimport torch\n', id="docstring"),
        pytest.param('"Joined " "docstring."\n', '"Joined " "docstring."\nimport torch\n', id="joined-docstring"),
        pytest.param(
            '"""Two\nlines."""\n\nfrom __future__ import annotations\n',
            '"""Two\nlines."""\n\nfrom __future__ import annotations\nimport torch\n',
            id="docstring-future",
        ),
        pytest.param(
            "#!/usr/bin/env python\n# coding: utf-8\n(\n    'Parenthesized'\n    ' docstring.'\n)\n"
            "from __future__ import annotations\n",
            "#!/usr/bin/env python\n# coding: utf-8\n(\n    'Parenthesized'\n    ' docstring.'\n)\n"
            "from __future__ import annotations\nimport torch\n",
            id="all-of-them",
        ),
    ],
)
def test_added_import_goes_below_the_header(header: str, expected: str) -> None:
    fixed = fixed_and_checked(header + CALL, {"IL104"})
    assert fixed.text == expected + FIXED_CALL
    before, after = ast.parse(header + CALL), ast.parse(fixed.text)
    assert ast.get_docstring(after, clean=False) == ast.get_docstring(before, clean=False)


def test_added_import_goes_above_decorators_of_the_first_statement() -> None:
    text = "# torch\n@decorate\ndef f(m):\n    m.bias.data.zero_()\n"
    fixed = fixed_and_checked(text, {"IL104"})
    assert fixed.text == "# torch\nimport torch\n@decorate\ndef f(m):\n    torch.nn.init.zeros_(m.bias)\n"


def test_added_import_and_a_fix_of_the_first_statement_at_the_same_offset() -> None:
    """The import goes at the start of the first statement, where that statement's fix starts
    too: both orders of the two edits give the import above the fixed statement (the import
    landed inside the call: `torch.nn.init.zeros_as.data.zero_(m.bias)`)."""
    source = SourceFile("f.py", CALL, "utf-8")
    (finding,) = lint_source(source, options_for({"IL104"}))
    edits = list(finding.fix.edits)  # type: ignore[union-attr]
    assert any((e.line, e.column) == (e.end_line, e.end_column) == (1, 1) for e in edits)
    for order in (edits, edits[::-1]):
        assert apply_edits(source, order) == "import torch\n" + FIXED_CALL


def test_latin1_file_stays_latin1_and_compiles() -> None:
    """The coding line is on line 2, below a shebang: an import added above it pushed it to
    line 3, where the interpreter no longer reads it, and the latin-1 bytes no longer decoded."""
    data = "#!/usr/bin/env python\n# -*- coding: latin-1 -*-\n# caf\u00e9 (torch)\nm.bias.data.zero_()\n".encode(
        "latin-1"
    )
    source = SourceFile.from_bytes("l.py", data)
    fixed = fixed_and_checked(source.text, {"IL104"}, encoding=source.encoding)
    written = fixed.encode()
    assert written == (
        "#!/usr/bin/env python\n# -*- coding: latin-1 -*-\n# caf\u00e9 (torch)\nimport torch\n"
        "torch.nn.init.zeros_(m.bias)\n"
    ).encode("latin-1")
    compile(written, "l.py", "exec")


def test_compile_error_reads_the_bytes_through_their_coding_line() -> None:
    text = "#!/usr/bin/env python\nimport torch\n# -*- coding: latin-1 -*-\ns = 'caf\u00e9'\n"
    assert compile_error(SourceFile("l.py", text, "iso-8859-1")) is not None  # cookie on line 3: read as UTF-8
    assert compile_error(SourceFile("l.py", text.replace("import torch\n", ""), "iso-8859-1")) is None
    assert "not encodable" in compile_error(SourceFile("a.py", "s = '\u0394'\n", "ascii"))  # type: ignore[operator]


# -- IL103 inside f-strings -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "fixed_line"),
    [
        (
            's = f"{torch.cuda.FloatTensor(3, 3)}"',
            "s = f\"{torch.empty(3, 3, dtype=torch.float32, device='cuda')}\"",
        ),
        (
            "s = f'{torch.cuda.FloatTensor(3, 3)}'",
            "s = f'{torch.empty(3, 3, dtype=torch.float32, device=\"cuda\")}'",
        ),
        (
            's = f"""{torch.cuda.FloatTensor(3)!r}"""',
            's = f"""{torch.empty(3, dtype=torch.float32, device=\'cuda\')!r}"""',
        ),
        (
            "s = rf'{x}' + f\"{torch.cuda.LongTensor(2)}\"",
            "s = rf'{x}' + f\"{torch.empty(2, dtype=torch.int64, device='cuda')}\"",
        ),
    ],
)
def test_il103_device_string_inside_an_f_string(line: str, fixed_line: str) -> None:
    fixed = fixed_and_checked(f"import torch\n{line}\n", {"IL103"})
    assert fixed.text == f"import torch\n{fixed_line}\n"


def test_il103_no_fix_inside_f_strings_of_both_quotes() -> None:
    text = "import torch\ns = f\"{f'{torch.cuda.FloatTensor(3)}'}\"\n"
    (finding,) = lint_source(SourceFile("f.py", text, "utf-8"), options_for({"IL103"}))
    assert finding.code == "IL103" and finding.fix is None


def test_il103_extras_go_after_a_parenthesized_last_argument() -> None:
    """Found by tests/test_fuzz_fixes.py: `dtype=` went inside the parentheses, `(n, dtype=...)`."""
    fixed = fixed_and_checked("import torch\nw = torch.cuda.FloatTensor(3, (n))\n", {"IL103"})
    assert fixed.text == 'import torch\nw = torch.empty(3, (n), dtype=torch.float32, device="cuda")\n'


# -- comments between arguments ---------------------------------------------------------------------
def test_il104_keeps_comments_between_arguments() -> None:
    text = "import torch\nm.weight.data.normal_(\n    0.0,  # mean\n    0.02,  # std\n)\n"
    fixed = fixed_and_checked(text, {"IL104"})
    assert fixed.text == "import torch\ntorch.nn.init.normal_(\n    m.weight,\n    0.0,  # mean\n    0.02,  # std\n)\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "import torch\nm.weight.data.uniform_(-0.1,  # low\n                       to=0.1)  # high\n",
            "import torch\ntorch.nn.init.uniform_(m.weight, -0.1,  # low\n                       b=0.1)  # high\n",
        ),
        (
            "from torch.nn import init\nm.bias.data.fill_(value=0)  # zero\n",
            "from torch.nn import init\ninit.constant_(m.bias, val=0)  # zero\n",
        ),
        (
            "import torch\nm.bias.data.zero_(  # nothing to pass\n)\n",
            "import torch\ntorch.nn.init.zeros_(  # nothing to pass\nm.bias)\n",
        ),
    ],
    ids=["keyword-renamed", "first-keyword-renamed", "no-arguments"],
)
def test_il104_small_edits_keep_the_arguments_as_written(text: str, expected: str) -> None:
    assert fixed_and_checked(text, {"IL104"}).text == expected


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (
            "IL102",
            "import torch\nx = torch.zeros(3)\ny = torch.tensor(\n    x,  # weights\n    dtype=torch.float16,\n)\n",
        ),
        (
            "IL105",
            "import torch\nw = torch.autograd.Variable(\n    t,  # the tensor\n    requires_grad=True,  # grad\n)\n",
        ),
        ("IL105", "import torch\nw = torch.autograd.Variable(t  # keep me\n)\n"),
        ("IL104", "import torch.nn as nn\nnn.init.zeros_(m.bias  # keep me\n    .data)\n"),
    ],
)
def test_no_fix_where_a_rewrite_would_drop_a_comment(code: str, text: str) -> None:
    (finding,) = lint_source(SourceFile("f.py", text, "utf-8"), options_for({code}))
    assert finding.code == code and finding.fix is None
    assert fix_source(SourceFile("f.py", text, "utf-8"), options_for({code}), unsafe=False).source.text == text


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        (
            "IL105",
            "import torch\nw = torch.autograd.Variable(torch.zeros(3,  # rows\n    ), requires_grad=True)\n",
            "import torch\nw = torch.zeros(3,  # rows\n    ).requires_grad_()\n",
        ),
        (
            "IL102",
            "import torch\ny = torch.tensor(torch.randn(\n    3,  # rows\n))\n",
            "import torch\ny = torch.randn(\n    3,  # rows\n).detach().clone()\n",
        ),
    ],
)
def test_comments_inside_the_kept_code_keep_the_fix(code: str, text: str, expected: str) -> None:
    assert fixed_and_checked(text, {code}).text == expected


# -- IL101 fixes uses, never the import ------------------------------------------------------------
def test_il101_keeps_an_imported_name_that_all_and_importers_use() -> None:
    text = "from torch.nn.init import normal\n__all__ = ['normal', 'init']\n\ndef init(w):\n    normal(w, 0.0, 0.02)\n"
    fixed = fixed_and_checked(text, {"IL101"})
    assert fixed.text == (
        "from torch.nn.init import normal\n"
        "from torch.nn.init import normal_\n"
        "__all__ = ['normal', 'init']\n\n"
        "def init(w):\n    normal_(w, 0.0, 0.02)\n"
    )


def test_il101_importers_still_find_the_name(tmp_path: Path) -> None:
    """`from lib import normal` in another module still works after the fix of lib. Run in a
    child process with a stand-in torch.nn.init (the static path never needs torch)."""
    init = tmp_path / "torch" / "nn"
    init.mkdir(parents=True)
    (tmp_path / "torch" / "__init__.py").write_text("")
    (init / "__init__.py").write_text("")
    (init / "init.py").write_text("def normal(w):\n    return 'old'\n\n\ndef normal_(w):\n    return 'new'\n")
    lib = "from torch.nn.init import normal\n\n__all__ = ['normal', 'init']\n\ndef init(w):\n    return normal(w)\n"
    (tmp_path / "lib.py").write_text(fixed_and_checked(lib, {"IL101"}).text)
    (tmp_path / "user.py").write_text("from lib import *\nfrom lib import normal\nprint(normal.__name__, init(None))\n")
    run = subprocess.run([sys.executable, "user.py"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert (run.returncode, run.stdout) == (0, "normal new\n"), run.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "from torch.nn.init import normal_\nfrom torch.nn.init import normal\nnormal(w)\n",
            "from torch.nn.init import normal_\nfrom torch.nn.init import normal\nnormal_(w)\n",
            id="new-name-already-imported",
        ),
        pytest.param(
            "from torch.nn.init import xavier_uniform as xu\nxu(w)\nxu(v)\n",
            "from torch.nn.init import xavier_uniform as xu\nfrom torch.nn.init import xavier_uniform_\n"
            "xavier_uniform_(w)\nxavier_uniform_(v)\n",
            id="alias-two-uses",
        ),
        pytest.param(
            "from torch.nn.init import normal\nfrom mylib import *\nnormal(w)\n",
            "from torch.nn.init import normal\nfrom mylib import *\nimport torch\ntorch.nn.init.normal_(w)\n",
            id="star-import-may-bind-normal_",
        ),
        pytest.param(
            "import torch\nfrom torch.nn.init import normal\ndef normal_():\n    pass\nnormal(w)\n",
            "import torch\nfrom torch.nn.init import normal\ndef normal_():\n    pass\ntorch.nn.init.normal_(w)\n",
            id="new-name-taken",
        ),
    ],
)
def test_il101_fixes_the_use(text: str, expected: str) -> None:
    assert fixed_and_checked(text, {"IL101"}).text == expected


def test_il101_silent_where_the_imported_name_is_rebound() -> None:
    text = "from torch.nn.init import normal\ndef f():\n    normal = 1\n    return normal\nnormal(w)\n"
    assert lint_source(SourceFile("f.py", text, "utf-8"), options_for({"IL101"})) == []


# -- the engine's net: a pass that does not compile is never written -------------------------------
def _forced_fix(monkeypatch: pytest.MonkeyPatch, replacement: str) -> None:
    """IL101's fix made to replace the whole call statement with ``replacement``."""
    rule = BY_CODE["IL101"]
    original = rule.check

    def check(self, model):  # type: ignore[no-untyped-def]
        for report in original(self, model):
            statement = model.enclosing(report.node, libcst.SimpleStatementLine)
            yield Report(
                report.node, report.message, FixSpec("safe", "forced", [model.replace(statement, replacement)])
            )

    monkeypatch.setattr(rule, "check", check)


@pytest.mark.parametrize(
    "replacement",
    [
        pytest.param("return nn.init.normal_(w)", id="return-outside-function"),  # parses, does not compile
        pytest.param('s = f"{nn.init.normal_(w, mode="x")}"', id="same-quote-in-f-string"),
        pytest.param("nonlocal w", id="nonlocal-at-module-level"),
    ],
)
def test_a_pass_that_does_not_compile_is_dropped_with_a_note(monkeypatch: pytest.MonkeyPatch, replacement: str) -> None:
    text = "import torch.nn as nn\nnn.init.normal(w)\n"
    _forced_fix(monkeypatch, replacement)
    source = SourceFile("f.py", text, "utf-8")
    outcome = fix_source(source, options_for({"IL101"}), unsafe=False)
    if compile_error(source.with_text(text.replace("nn.init.normal(w)", replacement))) is None:
        pytest.skip("this Python compiles it")  # PEP 701 f-strings, 3.12+
    assert outcome.source.text == text and outcome.applied == 0
    assert len(outcome.problems) == 1 and "does not compile" in outcome.problems[0], outcome.problems
    assert "IL101" in outcome.problems[0]


def test_a_pass_that_does_not_compile_is_not_written_by_the_cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from initlint.cli import main

    _forced_fix(monkeypatch, "return nn.init.normal_(w)")
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\n")
    target = tmp_path / "a.py"
    target.write_text("import torch.nn as nn\nnn.init.normal(w)\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", "--fix", "--no-cache", "-j", "1", "a.py"])
    assert target.read_text() == "import torch.nn as nn\nnn.init.normal(w)\n"
    assert "does not compile" in result.output, result.output
    assert "IL101" in result.output


def test_newer_grammar_than_this_python_is_held_to_parsing_only() -> None:
    """A file this Python cannot compile before the fix (PEP 695 on 3.11) keeps its fixes:
    compile() cannot judge it, the parse does."""
    text = "import torch.nn as nn\ntype Init = int\nnn.init.normal(w)\n"
    outcome = fix_source(SourceFile("f.py", text, "utf-8"), options_for({"IL101"}), unsafe=False)
    assert outcome.problems == [] and outcome.source.text == text.replace("normal(", "normal_(")


def test_apply_edits_puts_an_insertion_before_a_replacement_at_the_same_point() -> None:
    source = SourceFile("f.py", "abc\n", "utf-8")
    insert, replace = Edit(1, 1, 1, 1, "X"), Edit(1, 1, 1, 3, "Y")
    assert apply_edits(source, [insert, replace]) == apply_edits(source, [replace, insert]) == "XYc\n"


# -- the added `import torch` must not clash with a name bound any other way -------------------------
BINDERS = [
    pytest.param("match x:\n    case torch:\n        pass\n", id="match-capture"),
    pytest.param("match x:\n    case [1, *torch]:\n        pass\n", id="match-star"),
    pytest.param("match x:\n    case {'a': 1, **torch}:\n        pass\n", id="match-mapping-rest"),
    pytest.param("match x:\n    case Point(x=0) as torch:\n        pass\n", id="match-as"),
    pytest.param("match x:\n    case Point(x=torch) | Point(y=torch):\n        pass\n", id="match-class-or"),
    pytest.param("try:\n    pass\nexcept* ValueError as torch:\n    pass\n", id="except-star"),
    pytest.param("del torch\n", id="del"),
    pytest.param("del (a, torch)\n", id="del-tuple"),
    pytest.param("type torch = int\n", id="type-alias"),  # 3.12 grammar: libcst reads it on 3.11
    pytest.param("def f[torch](x):\n    pass\n", id="type-parameter"),
    pytest.param("class C[*torch]:\n    pass\n", id="type-var-tuple"),
]


@pytest.mark.parametrize("binder", BINDERS)
def test_no_import_torch_added_where_torch_is_bound_otherwise(binder: str) -> None:
    text = "from torch import Tensor\nw = Tensor(n, m)\n" + binder
    (finding,) = lint_source(SourceFile("f.py", text, "utf-8"), options_for({"IL103"}))
    assert finding.code == "IL103" and finding.fix is None
    assert fix_source(SourceFile("f.py", text, "utf-8"), options_for({"IL103"}), unsafe=False).source.text == text


@pytest.mark.parametrize("binder", BINDERS)
def test_a_name_bound_otherwise_does_not_resolve_to_the_import(binder: str) -> None:
    """`import torch` then `case torch:` (or `del torch`...): later `torch.` may not be torch."""
    text = "import torch\nw = torch.Tensor(n, m)\n" + binder
    assert lint_source(SourceFile("f.py", text, "utf-8"), options_for({"IL103"})) == []


def test_warnings_of_the_checked_file_are_not_shown() -> None:
    """An invalid escape or `1[2]` in the checked file is its own business: neither the check's
    parse nor the fix's compile() shows the interpreter's warnings (SyntaxWarning on stderr from
    Python 3.12 on), and under `-W error` they raise nothing."""
    import warnings

    text = "import torch.nn as nn\ns = '\\d'\nx = 1[2]\nnn.init.normal(w)\n"
    for action in ("always", "error"):
        with warnings.catch_warnings(record=True) as shown:
            warnings.simplefilter(action)
            assert [f.code for f in lint_source(SourceFile("f.py", text, "utf-8"), options_for({"IL101"}))] == ["IL101"]
            assert fixed_and_checked(text, {"IL101"}).text == text.replace("normal(", "normal_(")
        assert [str(w.message) for w in shown] == []
