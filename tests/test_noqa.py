"""Suppression through the real command line: only real comments are directives (never text in
a string or docstring), --add-noqa (merging codes, never breaking a multi-line string or a line
continuation, re-lint clean) and IL902 unused-noqa with its safe fix."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from initlint.cli import main
from initlint.noqa import build_index

BAD = "import torch.nn as nn\n\nlayer = nn.Linear(4, 4)\nnn.init.xavier_uniform(layer.weight)\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def codes(project: Path, *args: str) -> list[tuple[int, str]]:
    result = invoke("check", "--no-cache", "--format", "json", *args)
    return [(f["line"], f["code"]) for f in json.loads(result.stdout)["findings"]]


# --- only real comments count -----------------------------------------------------------------


def test_file_noqa_in_a_docstring_silences_nothing(project: Path) -> None:
    (project / "m.py").write_text('"""How to silence a file:\n\n# initlint: noqa\n"""\n' + BAD)
    assert codes(project, "m.py") == [(8, "IL101")]


def test_line_noqa_in_a_string_silences_nothing(project: Path) -> None:
    (project / "m.py").write_text(BAD.replace("(layer.weight)", '(layer.weight, "# noqa: IL101")'))
    assert codes(project, "m.py") == [(4, "IL101")]


def test_real_comments_still_silence(project: Path) -> None:
    (project / "a.py").write_text("# initlint: noqa\n" + BAD)
    (project / "b.py").write_text(BAD.replace("weight)\n", "weight)  # type: ignore  # noqa: IL101\n"))
    (project / "c.py").write_text(BAD.replace("weight)\n", "weight)  # NOQA\n"))
    assert codes(project, "a.py", "b.py", "c.py") == []


def test_noqa_for_a_finding_inside_a_continued_line_goes_where_it_ends(project: Path) -> None:
    text = "import torch.nn as nn\n\nlayer = nn.Linear(4, 4)\nw = nn.init.xavier_uniform \\\n    (layer.weight)  # noqa: IL101\n"
    (project / "m.py").write_text(text)
    assert codes(project, "m.py") == []


def test_index_maps_string_and_continuation_lines_to_their_end() -> None:
    index = build_index("a = '''\nx\n'''  # noqa: IL1\nb = 1 + \\\n  2\nc = 3\n")
    assert [index.noqa_line(n) for n in range(1, 7)] == [3, 3, 3, 5, 5, 6]
    assert [d.codes for d in index.by_line[3]] == [("IL1",)]


def test_index_survives_a_file_the_tokenizer_rejects() -> None:
    index = build_index("def f(:\n    x = (  # noqa: IL101\n")
    assert index.by_line[2][0].codes == ("IL101",)


# --- --add-noqa -----------------------------------------------------------------------------------

MULTI = (
    "import torch.nn as nn\n\n\n"
    "class Net(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.a = nn.Linear(4, 4, bias=False)\n"
    "        self.b = nn.Linear(4, 4)\n"
    "        for m in self.modules():\n"
    "            if isinstance(m, nn.Linear):\n"
    "                nn.init.zeros_(m.bias)  # noqa: E501\n"
    "        w = nn.init.normal(self.b.weight)\n"
    "        doc = '''\n"
    "text''' + str(\\\n"
    "            nn.init.normal(self.b.weight))\n"
    "\n"
    "    def forward(self, x):\n"
    "        return self.b(self.a(x))\n"
)


def test_add_noqa_then_relint_is_clean(project: Path) -> None:
    path = project / "m.py"
    path.write_text(MULTI)
    before = codes(project, "m.py")
    assert {c for _, c in before} == {"IL101", "IL401"} and len(before) == 3
    result = invoke("check", "--no-cache", "--add-noqa", "m.py")
    assert result.exit_code == 0, result.output
    assert "Added 3 noqa directives." in result.stderr
    text = path.read_text()
    ast.parse(text)
    lines = text.splitlines()
    assert lines[10].endswith("nn.init.zeros_(m.bias)  # noqa: E501, IL401")  # merged into the directive
    assert lines[11].endswith("nn.init.normal(self.b.weight)  # noqa: IL101")
    assert lines[12] == "        doc = '''" and lines[13] == "text''' + str(\\"  # string and continuation intact
    assert lines[14].endswith("nn.init.normal(self.b.weight))  # noqa: IL101")
    assert codes(project, "m.py") == []
    again = invoke("check", "--no-cache", "--add-noqa", "m.py")
    assert "Added 0 noqa directives." in again.stderr and path.read_text() == text


def test_add_noqa_keeps_line_endings_and_encoding(project: Path) -> None:
    path = project / "m.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\r\n# caf\xe9\r\n" + BAD.replace("\n", "\r\n").encode())
    assert invoke("check", "--no-cache", "--add-noqa", "m.py").exit_code == 0
    data = path.read_bytes()
    assert data.count(b"\r\n") == 6 and b"\n" not in data.replace(b"\r\n", b"")
    assert b"caf\xe9" in data and b"nn.init.xavier_uniform(layer.weight)  # noqa: IL101\r\n" in data
    assert codes(project, "m.py") == []


def test_add_noqa_is_not_combined_with_fix(project: Path) -> None:
    (project / "m.py").write_text(BAD)
    result = invoke("check", "--add-noqa", "--fix", "m.py")
    assert result.exit_code == 2 and "--add-noqa" in result.stderr
    assert (project / "m.py").read_text() == BAD


# --- IL902 unused-noqa ------------------------------------------------------------------------------


def test_unused_noqa_is_off_by_default_and_reported_on_request(project: Path) -> None:
    text = BAD.replace("weight)\n", "weight)  # noqa: IL101\n") + "x = 1  # noqa: IL401, E501\ny = 2  # noqa: IL777\n"
    (project / "m.py").write_text(text)
    assert codes(project, "m.py") == []
    result = invoke("check", "--no-cache", "--format", "json", "--extend-select", "IL902", "m.py")
    found = [(f["line"], f["code"], f["message"]) for f in json.loads(result.stdout)["findings"]]
    assert found == [
        (5, "IL902", "Unused `noqa` directive (unused: IL401)"),
        (6, "IL902", "Unused `noqa` directive (unknown: IL777)"),
    ]
    legacy = invoke("check", "--no-cache", "--format", "json", "--extend-select", "IL902", "--ignore", "IL101", "m.py")
    messages = [f["message"] for f in json.loads(legacy.stdout)["findings"]]
    assert "Unused `noqa` directive (non-enabled: IL101)" in messages


def test_unused_noqa_fix_removes_only_the_unused_codes(project: Path) -> None:
    text = BAD.replace("weight)\n", "weight)  # noqa: IL101, IL401\n") + "x = 1  # noqa: IL401, E501\n"
    (project / "m.py").write_text(text)
    result = invoke("check", "--no-cache", "--extend-select", "IL902", "--fix", "m.py")
    assert result.exit_code == 0, result.output
    fixed = (project / "m.py").read_text()
    assert fixed.splitlines()[3].endswith("weight)  # noqa: IL101")
    assert fixed.splitlines()[4] == "x = 1  # noqa: E501"
    assert codes(project, "--extend-select", "IL902", "m.py") == []


def test_unused_noqa_ignores_text_in_docstrings(project: Path) -> None:
    (project / "m.py").write_text('def f():\n    """Write `x  # noqa: IL101` to silence it."""\n')
    assert codes(project, "--extend-select", "IL902", "m.py") == []
