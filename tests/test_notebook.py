"""Jupyter notebooks through the real command line: code cells checked with IPython syntax
masked, positions per cell, fixes written back into the cells with the JSON layout kept."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import initlint
from initlint.cli import main

KERNEL = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python", "version": "3.11.7"},
}


def code(source: str | list[str], count: int | None = None) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": count, "metadata": {}, "outputs": [], "source": source}


def markdown(source: list[str]) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


CELLS = [
    markdown(["# Init study \u00e9\u00e8\n", "Xavier vs Kaiming"]),
    code(["%matplotlib inline\n", "import torch.nn as nn\n", "!pip list | grep torch"], 1),
    code(["layer = nn.Linear(4, 4)\n", "files = !ls\n", "layer?\n", "nn.init.xavier_uniform(layer.weight)"], 2),
    code("%%bash\necho nn.init.normal(x)\n"),
    code(["%%time\n", "nn.init.zeros_(layer.bias)"]),
]


def notebook(cells: list[dict[str, Any]], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"cells": cells, "metadata": KERNEL if metadata is None else metadata, "nbformat": 4, "nbformat_minor": 5}


def jupyter_text(data: dict[str, Any]) -> str:
    """As Jupyter writes it: indent 1, non-ASCII kept, a final newline."""
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_findings_are_reported_per_cell(project: Path) -> None:
    (project / "nb.ipynb").write_text(jupyter_text(notebook(CELLS)), encoding="utf-8")
    result = invoke("check", "--no-cache", ".")
    assert result.exit_code == 1
    # Cell 3 (markdown counted), line 4 of the cell: the magics and shell lines before it kept
    # their lines; the %%bash cell is not Python and is not read.
    assert result.stdout.splitlines()[0].startswith("nb.ipynb:cell 3:4:9: IL101 [*]")
    assert "Found 1 finding in 1 file." in result.stdout
    data = json.loads(invoke("check", "--no-cache", "--format", "json", "nb.ipynb").stdout)
    (finding,) = data["findings"]
    assert (finding["cell"], finding["line"], finding["column"]) == (3, 4, 9)
    assert finding["fix"]["edits"][0]["line"] == 4  # edits are per cell too
    # Code lines before cell 3 (cell 2's three): line + offset is the line in the joined cells.
    assert finding["cell_line_offset"] == 3


def test_fix_round_trip_changes_only_the_fixed_cell(project: Path) -> None:
    path = project / "nb.ipynb"
    original = jupyter_text(notebook(CELLS))
    path.write_text(original, encoding="utf-8")
    os.chmod(path, 0o640)
    result = invoke("check", "--no-cache", "--fix", ".")
    assert result.exit_code == 0, result.stdout
    assert "Fixed 1 finding." in result.stdout
    after = path.read_text(encoding="utf-8")
    before_data, after_data = json.loads(original), json.loads(after)
    changed = [i for i, (a, b) in enumerate(zip(before_data["cells"], after_data["cells"], strict=True)) if a != b]
    assert changed == [2]
    fixed_cell = after_data["cells"][2]
    assert fixed_cell["source"] == [
        "layer = nn.Linear(4, 4)\n", "files = !ls\n", "layer?\n", "nn.init.xavier_uniform_(layer.weight)",
    ]  # fmt: skip
    assert {k: v for k, v in fixed_cell.items() if k != "source"} == {
        k: v for k, v in before_data["cells"][2].items() if k != "source"
    }
    assert after_data["metadata"] == before_data["metadata"]
    # The layout is Jupyter's: the file is what Jupyter itself would write for the new content.
    assert after == jupyter_text(after_data)
    assert list(after_data) == ["cells", "metadata", "nbformat", "nbformat_minor"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert not [p for p in project.iterdir() if p.name.startswith(".nb.ipynb")]  # no temporary left
    assert invoke("check", "--no-cache", ".").exit_code == 0


def test_layout_kept_string_sources_indent_2_no_final_newline_escaped_ascii(project: Path) -> None:
    cells = [code("import torch.nn as nn\nw = nn.Linear(2, 2)  # \u00e9\nnn.init.normal(w.weight)\n")]
    text = json.dumps(notebook(cells), indent=2, ensure_ascii=True)  # no final newline
    path = project / "nb.ipynb"
    path.write_text(text, encoding="utf-8")
    assert invoke("check", "--no-cache", "--fix", "nb.ipynb").exit_code == 0
    after = path.read_text(encoding="utf-8")
    expected = notebook([code("import torch.nn as nn\nw = nn.Linear(2, 2)  # \u00e9\nnn.init.normal_(w.weight)\n")])
    assert after == json.dumps(expected, indent=2, ensure_ascii=True)


def test_a_layout_that_cannot_be_reproduced_is_not_rewritten(project: Path) -> None:
    text = jupyter_text(notebook([code("import torch.nn as nn\nnn.init.normal(nn.Linear(2, 2).weight)\n")]))
    text = text.replace('"nbformat": 4', '"nbformat":    4')  # hand-edited spacing
    path = project / "nb.ipynb"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["check", "--no-cache", "--fix", "nb.ipynb"])
    assert result.exit_code == 1
    assert "could not be written back in its own layout" in result.stderr
    assert path.read_text(encoding="utf-8") == text
    assert "nb.ipynb:cell 1:2:9: IL101" in result.stdout


def test_diff_shows_cells_and_writes_nothing(project: Path) -> None:
    path = project / "nb.ipynb"
    path.write_text(jupyter_text(notebook(CELLS)), encoding="utf-8")
    before = path.read_bytes()
    result = invoke("check", "--diff", "nb.ipynb")
    assert result.exit_code == 1
    assert "--- a/nb.ipynb:cell 3\n+++ b/nb.ipynb:cell 3\n" in result.stdout
    assert "+nn.init.xavier_uniform_(layer.weight)" in result.stdout
    assert path.read_bytes() == before


def test_imports_of_one_cell_serve_the_next(project: Path) -> None:
    cells = [code("import torch.nn as nn"), code("nn.init.normal(nn.Linear(2, 2).weight)")]
    (project / "nb.ipynb").write_text(jupyter_text(notebook(cells)))
    result = invoke("check", "--no-cache", "nb.ipynb")
    assert "nb.ipynb:cell 2:1:9: IL101" in result.stdout


def test_noqa_in_a_cell(project: Path) -> None:
    cells = [code("import torch.nn as nn\nnn.init.normal(nn.Linear(2, 2).weight)  # noqa: IL101")]
    (project / "nb.ipynb").write_text(jupyter_text(notebook(cells)))
    assert invoke("check", "--no-cache", "nb.ipynb").exit_code == 0


def test_ipython_lines_inside_a_triple_quoted_string_are_text(project: Path) -> None:
    cells = [code('import torch.nn as nn\nDOC = """\n%d layers\n!\n"""\nnn.init.normal(nn.Linear(2, 2).weight)\n')]
    path = project / "nb.ipynb"
    path.write_text(jupyter_text(notebook(cells)))
    assert invoke("check", "--no-cache", "--fix", "nb.ipynb").exit_code == 0
    source = json.loads(path.read_text())["cells"][0]["source"]
    assert source == 'import torch.nn as nn\nDOC = """\n%d layers\n!\n"""\nnn.init.normal_(nn.Linear(2, 2).weight)\n'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"metadata": {}, "nbformat": 4}', "no `cells` list"),
        ("[1, 2]", "no `cells` list"),
        ('{"cells": [{"cell_type": "code", "source": 3}]}', "neither a string nor a list"),
        ('{"cells": ["x"]}', "not a JSON object"),
    ],
)
def test_malformed_notebooks_are_il901_and_never_written(project: Path, content: str, message: str) -> None:
    path = project / "bad.ipynb"
    path.write_text(content)
    for args in (["check", "--no-cache", "."], ["check", "--fix", "."]):
        result = invoke(*args)
        assert result.exit_code == 1
        assert "bad.ipynb:1:1: IL901" in result.stdout and message in result.stdout
    assert path.read_text() == content


def test_undecodable_notebook_is_il901(project: Path) -> None:
    (project / "bad.ipynb").write_bytes(b'{"cells": ["\xff"]}')
    result = invoke("check", "--no-cache", "bad.ipynb")
    assert result.exit_code == 1 and "IL901" in result.stdout and "not UTF-8" in result.stdout


def test_other_kernels_and_empty_notebooks_are_skipped(project: Path) -> None:
    r_kernel = {"kernelspec": {"language": "R", "name": "ir"}, "language_info": {"name": "R"}}
    cells = [code("import torch.nn as nn\nnn.init.normal(nn.Linear(2, 2).weight)\n")]
    (project / "r.ipynb").write_text(jupyter_text(notebook(cells, r_kernel)))
    (project / "empty.ipynb").write_text(jupyter_text(notebook([])))
    result = invoke("check", "--no-cache", "--fix", ".")
    assert result.exit_code == 0
    assert "All checks passed (2 files checked)." in result.stdout
    assert json.loads((project / "r.ipynb").read_text())["cells"] == cells


def test_syntax_error_in_a_cell(project: Path) -> None:
    (project / "nb.ipynb").write_text(jupyter_text(notebook([code("x = 1"), code("import torch\ndef (:")])))
    result = invoke("check", "--no-cache", "nb.ipynb")
    assert "nb.ipynb:cell 2:2:" in result.stdout and "IL900" in result.stdout


def test_discovery_includes_notebooks_and_extend_exclude_turns_them_off(project: Path) -> None:
    sub = project / "notebooks"
    sub.mkdir()
    (sub / "nb.ipynb").write_text(jupyter_text(notebook(CELLS)))
    assert "notebooks/nb.ipynb:cell 3:4:9: IL101" in invoke("check", "--no-cache", ".").stdout
    (project / "pyproject.toml").write_text('[tool.initlint]\nextend-exclude = ["*.ipynb"]\n')
    result = invoke("check", "--no-cache", ".")
    assert result.exit_code == 0 and "nb.ipynb" not in result.stdout


def test_api_lint_and_fix_a_notebook() -> None:
    text = jupyter_text(notebook(CELLS))
    (finding,) = initlint.lint(text, "nb.ipynb")
    assert (finding.code, finding.extra["cell"], finding.line) == ("IL101", 3, 4)
    fixed = initlint.fix(text, "nb.ipynb")
    assert fixed.applied == 1 and fixed.findings == []
    assert json.loads(fixed.source)["cells"][2]["source"][-1] == "nn.init.xavier_uniform_(layer.weight)"
    assert [f.code for f in initlint.lint("{", "nb.ipynb")] == ["IL901"]


def test_notebook_positions_in_every_format(project: Path) -> None:
    (project / "nb.ipynb").write_text(jupyter_text(notebook(CELLS)), encoding="utf-8")

    def run(fmt: str) -> str:
        return invoke("check", "--no-cache", "--output-format", fmt, "nb.ipynb").stdout

    # SARIF, as ruff: the line in the code cells joined (cell 2's three lines, then line 4 of
    # cell 3); the cell and the line within it as properties.
    (result,) = json.loads(run("sarif"))["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 7
    assert result["properties"] == {"cell": 3, "cellLine": 4, "cellColumn": 9}
    # GitHub and GitLab place findings on lines of the file, which for a notebook are JSON:
    # line 1 (ruff's fallback), the cell position in the text.
    assert run("github").startswith(
        "::warning file=nb.ipynb,line=1,col=1,endLine=1,endColumn=1,title=IL101::cell 3:4:9: "
    )
    (issue,) = json.loads(run("gitlab"))
    assert issue["location"]["lines"] == {"begin": 1, "end": 1}
    assert issue["description"].startswith("IL101 cell 3:4:9: ")
    assert json.loads(run("json-lines"))["cell"] == 3
    assert "cell 3, line 4, col 9, IL101" in run("junit")
    assert "  cell 3:4:9 IL101 [*]" in run("grouped")
    full = run("full")
    assert full.startswith("nb.ipynb:cell 3:4:9: IL101")
    assert "4 | nn.init.xavier_uniform(layer.weight)" in full  # the frame is the cell's own lines
    assert "3 | layer?" in full


def test_related_locations_in_other_cells(project: Path) -> None:
    # The Xavier init is defined in cell 1; the layers it reaches (and the ReLU after them) are
    # built in cell 3: IL201's related locations point into cell 3.
    init = "import torch.nn as nn\n\n\ndef init(m):\n    if isinstance(m, nn.Linear):\n        nn.init.xavier_normal_(m.weight)\n"
    model = (
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.body = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU())\n\n"
        "    def forward(self, x):\n        return self.body(x)\n\n\nNet().apply(init)\n"
    )
    cells = [code(init), markdown(["notes"]), code(model)]
    (project / "nb.ipynb").write_text(jupyter_text(notebook(cells)))
    data = json.loads(invoke("check", "--no-cache", "--format", "json", "--select", "IL201", "nb.ipynb").stdout)
    (finding,) = data["findings"]
    assert (finding["cell"], finding["line"]) == (1, 6)
    assert finding["related"] and finding["related_cells"] == [3] * len(finding["related"])
    assert all(r["line"] == 4 for r in finding["related"])  # line 4 of cell 3
    text = invoke("check", "--no-cache", "--select", "IL201", "nb.ipynb").stdout
    assert "    nb.ipynb:cell 3:4:" in text
    sarif = json.loads(invoke("check", "--no-cache", "--format", "sarif", "--select", "IL201", "nb.ipynb").stdout)
    (result,) = sarif["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 6
    # In the joined cells: cell 1's six lines, then line 4 of cell 3.
    assert {r["physicalLocation"]["region"]["startLine"] for r in result["relatedLocations"]} == {6 + 4}


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_SOURCE = st.lists(
    st.sampled_from(
        ["import torch.nn as nn\n", "nn.init.normal(w)\n", "%time x\n", "!ls\n", "x = !ls\n", "x?\n", "%%time\n",
         "%%bash\n", '"""\n', "def f(:\n", "    pass\n", "\r\n", "é = 1\n", "# initlint: cell boundary\n"]
    ),
    max_size=6,
).map("".join)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    document=_JSON | st.builds(
        lambda sources, kernel: {"cells": [code(s) for s in sources], "metadata": kernel},
        st.lists(_SOURCE | st.lists(_SOURCE, max_size=3), max_size=4),
        _JSON,
    ),
    indent=st.sampled_from([None, 1, 2, "\t"]),
)  # fmt: skip
def test_any_json_never_crashes_and_fixes_keep_the_other_cells(document: Any, indent: Any) -> None:
    from initlint.api import _options, _settings
    from initlint.notebook import fix_notebook_bytes, lint_notebook_bytes

    options = _options(_settings("nb.ipynb", None, None, None, None, False, None))
    data = json.dumps(document, indent=indent).encode()
    lint_notebook_bytes("nb.ipynb", data, options)
    outcome = fix_notebook_bytes("nb.ipynb", data, options, True)
    if outcome.applied:
        before, after = json.loads(data), json.loads(outcome.data)
        assert len(before["cells"]) == len(after["cells"])
        for old, new in zip(before["cells"], after["cells"], strict=True):
            assert {k: v for k, v in old.items() if k != "source"} == {k: v for k, v in new.items() if k != "source"}
        assert outcome.data == json.dumps(after, indent=indent).encode()  # the layout kept
    else:
        assert outcome.data == data


def test_a_cell_holding_initlint_comments_is_still_fixed(project: Path) -> None:
    source = "import torch.nn as nn\n# initlint: cell boundary\n# initlint: ipython\nnn.init.normal(nn.Linear(2, 2).weight)\n"
    cells = [code(source), code("x = 1")]
    path = project / "nb.ipynb"
    path.write_text(jupyter_text(notebook(cells)))
    result = invoke("check", "--no-cache", "--fix", "nb.ipynb")
    assert result.exit_code == 0, result.output
    after = json.loads(path.read_text())["cells"]
    assert after[0]["source"] == source.replace("normal(", "normal_(") and after[1]["source"] == "x = 1"


def test_notebook_from_stdin(project: Path) -> None:
    text = jupyter_text(notebook(CELLS))
    checked = CliRunner().invoke(main, ["check", "--stdin-filename", "nb.ipynb"], input=text)
    assert checked.exit_code == 1 and "nb.ipynb:cell 3:4:9: IL101" in checked.stdout
    fixed = CliRunner().invoke(main, ["check", "--fix", "--stdin-filename", "nb.ipynb"], input=text)
    assert fixed.exit_code == 0
    after = json.loads(fixed.stdout)
    assert after["cells"][2]["source"][-1] == "nn.init.xavier_uniform_(layer.weight)"
    assert fixed.stdout == jupyter_text(after)


@pytest.mark.parametrize("newline", ["\r", "\r\n"])
def test_cells_with_other_line_endings_and_form_feeds(project: Path, newline: str) -> None:
    lines = [
        "import torch.nn as nn",
        "%matplotlib inline",
        "x = 1  # \x0c page",
        "nn.init.normal(nn.Linear(2, 2).weight)",
    ]
    cells = [code(newline.join(lines) + newline), code(newline.join(["%time y = 2", "nn.init.uniform(w)"]))]
    path = project / "nb.ipynb"
    path.write_text(jupyter_text(notebook(cells)), newline="")
    data = json.loads(invoke("check", "--no-cache", "--format", "json", "nb.ipynb").stdout)
    assert [(f["cell"], f["line"], f["column"]) for f in data["findings"]] == [(1, 4, 9), (2, 2, 9)]
    sarif = json.loads(invoke("check", "--no-cache", "--format", "sarif", "nb.ipynb").stdout)
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in sarif["runs"][0]["results"]] == [4, 6]
    assert invoke("check", "--no-cache", "--fix", "nb.ipynb").exit_code == 0
    after = json.loads(path.read_bytes().decode())["cells"]
    assert after[0]["source"] == newline.join(lines).replace("normal(", "normal_(") + newline
    assert after[1]["source"] == newline.join(["%time y = 2", "nn.init.uniform_(w)"])


def test_full_frame_of_a_cell_with_a_form_feed(project: Path) -> None:
    cells = [code("import torch.nn as nn\nx = 1  # \x0c\nnn.init.normal(nn.Linear(2, 2).weight)\ny = 2")]
    (project / "nb.ipynb").write_text(jupyter_text(notebook(cells)))
    full = invoke("check", "--no-cache", "--output-format", "full", "nb.ipynb").stdout
    assert "3 | nn.init.normal(nn.Linear(2, 2).weight)" in full and "4 | y = 2" in full
