"""The probe's text table at 80 and 120 columns (COLUMNS honoured) and the plot's artists."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from click.testing import CliRunner  # noqa: E402

from initlint.cli import main  # noqa: E402
from initlint.probe.api import probe_model  # noqa: E402
from initlint.probe.report import render_table, render_text  # noqa: E402


class Deep(nn.Module):
    """Long dotted layer names, a constant layer (flag 'symmetric') and Xavier under ReLU (vanishing)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder_stage_with_a_long_name = nn.ModuleDict(
            {"blocks": nn.Sequential(*(m for _ in range(14) for m in (nn.Linear(128, 128), nn.ReLU())))}
        )
        self.classifier_head = nn.Linear(128, 10)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.constant_(self.encoder_stage_with_a_long_name["blocks"][4].weight, 0.01)

    def forward(self, x):
        return self.classifier_head(self.encoder_stage_with_a_long_name["blocks"](x))


@pytest.fixture(scope="module")
def result():
    torch.manual_seed(0)
    return probe_model(Deep())


@pytest.mark.parametrize("width", [80, 120])
def test_table_fits_the_width(result, width):
    table = render_table(result, width)
    lines = table.splitlines()
    assert max(len(line) for line in lines) <= width
    header = lines[0].split()
    assert header[0] == "layer" and "guess" in header and header[-1] == "flags" and "std" in header
    body = lines[2:]
    # every flag survives, and each layer keeps the tail of its name
    flagged = [r for r in result.rows if r.flags]
    assert any("symmetric" in line for line in body) and sum("vanishing" in line for line in body) >= 3
    for row, line in zip(result.rows, body, strict=True):
        tail = row.layer[-10:]
        assert tail in line, (tail, line)
    assert flagged


def test_wide_table_keeps_every_column(result):
    wide = render_table(result, 200).splitlines()[0]
    for column in ("type", "shape", "weight std (expected)", "gain", "grad std"):
        assert column in wide
    narrow = render_table(result, 80).splitlines()[0]
    assert "weight std (expected)" not in narrow and "type" not in narrow.split()


def test_findings_wrap_only_to_a_known_width(result, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    text = render_text(result)
    assert max(len(line) for line in text.splitlines()) <= 80
    monkeypatch.delenv("COLUMNS")
    piped = render_text(result)  # stdout is not a terminal under pytest: one line per finding, for grep
    f = next(f for f in result.findings if f.code == "IL601")
    assert f"IL601 [error] activation-vanishing: {f.message}" in piped.splitlines()


@pytest.mark.parametrize("columns", ["80", "120"])
def test_cli_honours_columns(tmp_path, columns):
    path = tmp_path / "deep.py"
    path.write_text(
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.a_rather_long_container_name = nn.Sequential(*(m for _ in range(12) for m in (nn.Linear(64, 64), nn.ReLU())))\n"
        "        for m in self.modules():\n"
        "            if isinstance(m, nn.Linear):\n"
        "                nn.init.xavier_normal_(m.weight)\n"
        "    def forward(self, x):\n"
        "        return self.a_rather_long_container_name(x)\n"
    )
    out = CliRunner().invoke(main, ["probe", f"{path}:Net", "--fail-on", "never"], env={"COLUMNS": columns})
    assert out.exit_code == 0, out.output
    assert max(len(line) for line in out.output.splitlines()) <= int(columns)
    assert "ontainer_name.23" in out.output  # the tail of the last layer's name


def test_json_is_unaffected_by_columns(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    path = tmp_path / "m.py"
    path.write_text(
        "import torch.nn as nn\nclass M(nn.Sequential):\n    def __init__(self):\n"
        "        super().__init__(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))\n"
    )
    out = CliRunner().invoke(main, ["probe", f"{path}:M", "--format", "json", "--fail-on", "never"])
    assert json.loads(out.output)["layers"]


# ---- the plot ------------------------------------------------------------------------------
def test_plot_marks_flagged_layers_and_keeps_gradients_out_of_the_zones(result):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Polygon, Rectangle

    from initlint.probe.plot import build_figure

    fig = build_figure(result)
    try:
        act_ax, grad_ax = fig.axes[:2]
        # the IL601/IL602 zones are drawn on the activation axes only
        zones = [p for p in act_ax.patches if isinstance(p, Polygon | Rectangle)]
        assert len(zones) == 2
        assert not [p for p in grad_ax.patches if isinstance(p, Polygon | Rectangle)]
        # the gradient curve lives on its own axes, not over the zones
        assert [line.get_gid() for line in act_ax.get_lines()] == ["activation"]
        assert [line.get_gid() for line in grad_ax.get_lines()] == ["gradient"]
        # one red cross per flagged layer, at its position along depth
        rows = sorted((r for r in result.rows if r.out_std is not None), key=lambda r: r.finished)
        expected = [i for i, r in enumerate(rows) if r.flags and r.flags != ["unused"]]
        marks = next(c for c in act_ax.collections if c.get_gid() == "flagged")
        assert [int(x) for x, _ in marks.get_offsets()] == expected and expected
        texts = {t.get_text() for t in act_ax.texts}
        assert "symmetric" in texts and any("vanishing" in t for t in texts)
        red = {label.get_text() for label in grad_ax.get_xticklabels() if label.get_color() == "tab:red"}
        assert rows[expected[0]].layer in red
    finally:
        plt.close(fig)


def test_plot_is_written(tmp_path, result):
    pytest.importorskip("matplotlib")
    from initlint.probe.plot import write_plot

    write_plot(result, tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
