"""Fuzzing: generated Python (hypothesmith) and mutated real files (truncated, random bytes,
mixed line endings, coding cookies that lie, NUL bytes). The engine and the runner never raise,
the JSON output always parses, every location lies inside the file, and a fix of a file that
compiles still compiles. Derandomized with CI-sized example counts (INITLINT_FUZZ_EXAMPLES
raises them for a longer local run)."""

from __future__ import annotations

import ast
import encodings.aliases
import json
import os
import tempfile
from pathlib import Path

import hypothesmith
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from initlint.cli import main
from initlint.docs import doc_path, parse_doc
from initlint.engine import LintOptions, fix_source
from initlint.finding import Finding
from initlint.output import Summary
from initlint.output.formats import render_json
from initlint.rules import ALL_RULES
from initlint.runner import Job, run, run_on_bytes
from initlint.source import SourceFile, UnreadableSource
from initlint.testing import EVERY_CODE

ROOT = Path(__file__).resolve().parent.parent
STATIC = frozenset(c for c in EVERY_CODE if not c.startswith("IL6"))
# Without the prefilter every rule runs on every input, torch or not.
OPTIONS = LintOptions(STATIC, prefilter=False)
FUZZ = settings(
    max_examples=int(os.environ.get("INITLINT_FUZZ_EXAMPLES", "60")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _seeds() -> list[str]:
    seeds = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples").glob("*.py"))]
    for rule in ALL_RULES:
        seeds += [example.code for example in rule.INVALID] + list(rule.VALID)
        try:
            doc = parse_doc(doc_path(rule.code).read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        seeds += [code for code in (doc.example, doc.use_instead) if code]
    return seeds


SEEDS = _seeds()


def assert_well_formed(findings: list[Finding], source: SourceFile | None) -> None:
    codes = {f.code for f in findings}
    assert "IL999" not in codes, [f.message for f in findings if f.code == "IL999"]
    document = json.loads(render_json(Summary(1, findings)))
    assert [Finding.from_dict(d).to_dict() for d in document["findings"]] == document["findings"]
    assert [(d["code"], d["line"], d["column"]) for d in document["findings"]] == [
        (f.code, f.line, f.column) for f in findings
    ]
    for finding in findings:
        if source is None:  # undecodable: reported at the start of the file
            assert (finding.code, finding.line, finding.column) == ("IL901", 1, 1)
            continue
        last = source.line_count + 1
        for line, column in ((finding.line, finding.column), (finding.end_line, finding.end_column)):
            assert 1 <= line <= last, (finding, source.line_count)
            assert 1 <= column <= len(source.line_text(line)) + 1, (finding, source.line_text(line))
        assert (finding.line, finding.column) <= (finding.end_line, finding.end_column), finding
        for related in finding.related:
            assert 1 <= related.line <= last and 1 <= related.column <= len(source.line_text(related.line)) + 1


def _compiles(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def check_everything(data: bytes) -> None:
    """The runner on the bytes (check and diff), then the engine's fix on the decoded text."""
    try:
        source: SourceFile | None = SourceFile.from_bytes("fuzz.py", data)
    except UnreadableSource:
        source = None
    outcome = run_on_bytes(Job("fuzz.py", "check", False), data, OPTIONS)
    assert_well_formed(outcome.findings, source)
    run_on_bytes(Job("fuzz.py", "diff", True), data, OPTIONS)
    if source is None:
        return
    for unsafe in (False, True):
        fixed = fix_source(source, OPTIONS, unsafe)
        assert_well_formed(fixed.findings, fixed.source)
        if _compiles(source.text):
            assert _compiles(fixed.source.text), fixed.source.text


@FUZZ
@given(hypothesmith.from_grammar())
def test_generated_from_the_grammar(code: str) -> None:
    check_everything(code.encode("utf-8"))


@FUZZ
@given(hypothesmith.from_node())
def test_generated_from_libcst_nodes(code: str) -> None:
    check_everything(code.encode("utf-8"))


# -- mutations of real files --------------------------------------------------------------------
COOKIES = [
    b"# -*- coding: latin-1 -*-\n",
    b"# coding: utf-16\n",
    b"# coding: no-such-codec\n",
    b"# vim: set fileencoding=ascii :\n",
    b"#!/usr/bin/env python\n# coding: cp1252\n",
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    text = draw(st.sampled_from(SEEDS))
    if draw(st.booleans()):
        text = text.replace("w", "\u00e9w", draw(st.integers(0, 3)))  # non-ASCII identifiers
    data = text.encode("utf-8")
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "insert", "endings", "cookie", "nul", "bom", "delete"]))
        offset = draw(st.integers(0, len(data)))
        if kind == "truncate":
            data = data[:offset]
        elif kind == "insert":
            data = data[:offset] + draw(st.binary(min_size=1, max_size=8)) + data[offset:]
        elif kind == "delete":
            data = data[:offset] + data[offset + draw(st.integers(1, 20)) :]
        elif kind == "endings":
            lines = data.split(b"\n")
            ends = draw(st.lists(st.sampled_from([b"\n", b"\r\n", b"\r"]), min_size=len(lines), max_size=len(lines)))
            data = b"".join(line + end for line, end in zip(lines, ends, strict=True))
        elif kind == "cookie":
            data = draw(st.sampled_from(COOKIES)) + data
        elif kind == "nul":
            data = data[:offset] + b"\x00" + data[offset:]
        elif kind == "bom":
            data = b"\xef\xbb\xbf" + data
    return data


@FUZZ
@given(mutated())
def test_mutated_real_files(data: bytes) -> None:
    check_everything(data)


@FUZZ
@given(st.sampled_from(SEEDS), st.data())
def test_truncated_at_every_kind_of_offset(text: str, data: st.DataObject) -> None:
    """Truncation alone, which leaves an unclosed bracket, string or block at the end."""
    cut = data.draw(st.integers(0, len(text)))
    check_everything(text[:cut].encode("utf-8"))


def test_the_lying_cookies_are_handled() -> None:
    """The fixed cases the mutator draws from, each once, so a failure names its input."""
    body = "import torch.nn as nn\n# caf\u00e9\nnn.init.normal(w)\n".encode()
    for cookie in COOKIES:
        check_everything(cookie + body)
    latin = run_on_bytes(Job("f.py", "check", False), COOKIES[0] + body, OPTIONS)
    assert [f.code for f in latin.findings] == ["IL101"]  # decodes (as mojibake) and lints
    for cookie in (b"# coding: utf-16\n", b"# coding: no-such-codec\n"):
        outcome = run_on_bytes(Job("f.py", "check", False), cookie + body, OPTIONS)
        assert [f.code for f in outcome.findings] == ["IL901"]
    nul = run_on_bytes(Job("f.py", "check", False), body + b"\x00", OPTIONS)
    assert [f.code for f in nul.findings] == ["IL901"]


# -- coding declarations and .gitignore lines, through the real run ------------------------------
# Every codec name Python knows (text codecs, bytes-to-bytes codecs, odd ones like punycode and
# unicode_escape), and made-up names: one file with any of them is IL901 or linted, never the end
# of the run; a fix is written only when the bytes survive decoding and encoding.
CODEC_NAMES = sorted(
    {*encodings.aliases.aliases, *encodings.aliases.aliases.values()}
    | {"punycode", "undefined", "idna", "unicode_escape", "raw_unicode_escape", "utf-7", "palmos", "rot13", "mbcs"}
)
COOKIE_FORMS = [
    "# coding: {}\n",
    "# -*- coding: {} -*-\n",
    "# vim: set fileencoding={} :\n",
    "#!/bin/python\n# coding={}\n",
]


@st.composite
def declared(draw: st.DrawFn) -> bytes:
    name = draw(st.one_of(st.sampled_from(CODEC_NAMES), st.from_regex(r"[A-Za-z0-9_.\-]{1,12}", fullmatch=True)))
    body = draw(st.sampled_from(SEEDS))
    if draw(st.booleans()):
        body = body.replace("w", "\u00e9w", 2)  # non-ASCII: most codecs cannot carry it
    return draw(st.sampled_from(COOKIE_FORMS)).format(name).encode() + body.encode("utf-8")


@FUZZ
@given(declared())
def test_coding_declarations_through_the_run(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.py"
        path.write_bytes(data)
        checked = run([str(path)], OPTIONS)
        codes = [f.code for f in checked.findings]
        assert "IL999" not in codes, checked.findings
        if "IL901" in codes:
            assert codes == ["IL901"], codes
        fixed = run([str(path)], OPTIONS, mode="fix", unsafe=True)
        assert "IL999" not in [f.code for f in fixed.findings]
        after = path.read_bytes()
        if after != data:  # written: only from text that round-trips, in the same encoding
            source = SourceFile.from_bytes("model.py", data)
            assert source.encode() == data and "IL901" not in codes
            assert SourceFile.from_bytes("model.py", after).encoding == source.encoding


GITIGNORE_LINE = st.text(alphabet="[]!^-*?/\\az.# ", max_size=10)


@FUZZ
@given(st.lists(GITIGNORE_LINE, max_size=6), st.lists(GITIGNORE_LINE, max_size=4))
def test_random_gitignore_lines_through_the_cli(top: list[str], nested: list[str]) -> None:
    """A bad pattern is skipped with a warning; the lines after it still apply."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "pyproject.toml").write_text("[tool.initlint]\n")
        (root / ".gitignore").write_text("\n".join([*top, "ignored.py"]) + "\n")
        (root / "sub").mkdir()
        (root / "sub" / ".gitignore").write_text("\n".join(nested) + "\n")
        for name in ("a.py", "ignored.py", "sub/b.py", "sub/[z].py", "sub/!.py", "sub/a-z.py"):
            (root / name).write_text("import torch.nn as nn\nnn.init.normal(w)\n")
        result = CliRunner().invoke(main, ["check", "--no-cache", "--format", "json", str(root)])
        assert result.exit_code in (0, 1), result.output
        paths = [f["path"] for f in json.loads(result.stdout)["findings"]]
        assert not [p for p in paths if p.endswith("/ignored.py")], paths
        for line in result.stderr.splitlines():
            assert line.startswith("initlint: warning: ") and line.endswith("; line skipped"), line
