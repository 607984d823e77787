"""`initlint probe --meta`: build on the meta device, then materialize, initialize, measure and
free one module at a time."""

from __future__ import annotations

import json
import textwrap

import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from initlint.cli import main  # noqa: E402
from initlint.probe import ProbeError  # noqa: E402
from initlint.probe.meta import MetaStats, probe_meta  # noqa: E402

WIDTH, DEPTH = 256, 8
LAYER_BYTES = (WIDTH * WIDTH + WIDTH) * 4


def stack():
    return nn.Sequential(*[nn.Linear(WIDTH, WIDTH) for _ in range(DEPTH)])


def test_one_module_at_a_time_under_a_budget_smaller_than_the_model():
    live: list[int] = []
    holder: dict[str, nn.Module] = {}

    def factory():
        holder["model"] = stack()
        return holder["model"]

    def count(module):  # runs while `module` is materialized: how many tensors hold memory now?
        live.append(sum(p.device.type != "meta" for p in holder["model"].parameters()))

    stats = MetaStats()
    budget = int(LAYER_BYTES * 1.2)  # one layer fits, the model (8 layers) does not
    result = probe_meta(factory, init_fn=count, memory_budget=budget, stats=stats)
    assert stats.total == DEPTH * LAYER_BYTES > budget
    assert stats.peak == LAYER_BYTES and stats.current == 0
    assert live == [2] * DEPTH  # weight and bias of the one module being initialized
    assert all(p.device.type == "meta" for p in holder["model"].parameters())  # all freed again
    assert [r.layer for r in result.rows] == [str(i) for i in range(DEPTH)]
    assert {r.init_guess for r in result.rows} == {"default"}  # kaiming_uniform_(a=sqrt(5)) measured
    assert result.findings == []
    assert result.extra["meta"]["materialized_bytes_peak"] == LAYER_BYTES
    assert {p.status for p in result.provenance.params.values()} == {"default"}


def test_a_module_larger_than_the_budget_is_refused():
    with pytest.raises(ProbeError, match="over the memory budget"):
        probe_meta(stack, memory_budget=LAYER_BYTES // 2)


def test_seeded_per_module_independent_of_order():
    def build(order):
        model = nn.Module()
        for name in order:
            setattr(model, name, nn.Linear(32, 32))
        return model

    a = probe_meta(lambda: build(["x", "y"]), seed=3)
    b = probe_meta(lambda: build(["y", "x"]), seed=3)
    stds = {r.layer: r.weight_std for r in a.rows}
    assert [r.layer for r in b.rows] == ["y", "x"] and stds == {r.layer: r.weight_std for r in b.rows}
    assert stds["x"] != stds["y"]


class Gain(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 16)
        self.g = nn.Parameter(torch.empty(16))  # nothing fills it: no reset_parameters

    def forward(self, x):
        return self.fc(x) * self.g


def test_never_written_parameter_on_meta():
    result = probe_meta(Gain)
    (finding,) = [f for f in result.findings if f.code == "IL620"]
    assert finding.extra["parameter"] == "g" and "to_empty()" in finding.message
    assert result.provenance.params["fc.weight"].status == "default"


def test_user_init_runs_per_module():
    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)
            nn.init.normal_(m.weight, std=0.02)
            if m.weight.shape[0] == 16:
                nn.init.ones_(m._parameters.get("bias"))

    result = probe_meta(lambda: nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)), init_fn=init)
    assert [p.writer.op for p in result.provenance.params.values()] == ["normal_", "ones_", "normal_", "zeros_"]
    assert all(abs(r.weight_std - 0.02) < 0.004 for r in result.rows)


def test_cli_meta(tmp_path, monkeypatch):
    (tmp_path / "m.py").write_text(
        textwrap.dedent(
            """
            import torch
            import torch.nn as nn


            class Net(nn.Module):
                def __init__(self, width=64):
                    super().__init__()
                    self.body = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 2))
                    self.scale = nn.Parameter(torch.empty(2))

                def forward(self, x):
                    return self.body(x) * self.scale
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    out = CliRunner().invoke(main, ["probe", "m.py:Net", "--meta", "--kwargs", '{"width": 32}', "--format", "json"])
    assert out.exit_code == 1, out.output
    data = json.loads(out.output)
    assert [f["code"] for f in data["findings"]] == ["IL620"]
    assert {p["parameter"]: p["status"] for p in data["provenance"]["parameters"]}["scale"] == "uninitialized"
    out = CliRunner().invoke(main, ["probe", "m.py:Net", "--meta", "--provenance"])
    assert "NEVER WRITTEN" in out.output and "one module at a time" in out.output


def test_chunked_statistics_match_torch(monkeypatch):
    import initlint.probe.meta as meta

    monkeypatch.setattr(meta, "CHUNK", 1000)  # many chunks on a small tensor
    t = torch.randn(37, 113) * 0.3 + 0.1
    t[0, 0] = 1e-42  # denormal
    std, mean, largest, denormal = meta._chunked_stats(t)
    assert std == pytest.approx(float(t.std()), rel=1e-5) and mean == pytest.approx(float(t.mean()), abs=1e-6)
    assert largest == pytest.approx(float(t.abs().max())) and denormal == 1
    t[5, 5] = float("nan")
    assert meta._chunked_stats(t)[2] == float("inf")


def test_nan_from_the_init_on_meta():
    def init(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, float("nan"))

    result = probe_meta(lambda: nn.Sequential(nn.Linear(8, 8)), init_fn=init)
    assert [f.code for f in result.findings] == ["IL606"]


def test_parametrized_layers_are_not_simulated():
    from torch.nn.utils.parametrizations import weight_norm

    def build():
        return nn.Sequential(weight_norm(nn.Linear(8, 8)), nn.ReLU(), nn.Linear(8, 2))

    result = probe_meta(build)
    assert result.extra["meta"]["not_simulated"] == ["0"]
    assert result.findings == []  # a reset of the wrapped layer would write the computed weight only
    assert [r.layer for r in result.rows] == ["2"]
