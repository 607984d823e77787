"""The Python API for tests: initlint.probe.probe(), report.assert_healthy(), the pytest plugin.
The caller's model comes back as it was, or the probe works on a copy and says so."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn  # noqa: E402

from initlint.probe import ProbeError, probe  # noqa: E402


class Net(nn.Module):
    def __init__(self, width: int = 32):
        super().__init__()
        self.fc1 = nn.Linear(16, width)
        self.bn = nn.BatchNorm1d(width)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(width, 4)
        for fc in (self.fc1, self.fc2):
            nn.init.kaiming_normal_(fc.weight, nonlinearity="relu")

    def forward(self, x, scale=None):
        y = self.fc2(self.drop(torch.relu(self.bn(self.fc1(x)))))
        return y if scale is None else y * scale


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize(
    "inputs",
    [torch.randn(32, 16), (torch.randn(32, 16),), {"x": torch.randn(32, 16), "scale": torch.tensor(2.0)}, None],
    ids=["tensor", "tuple", "dict", "inferred"],
)
def test_inputs_of_every_kind(inputs):
    report = probe(Net(), inputs, device="cpu")
    assert report.findings == [] and report.healthy
    assert [r.layer for r in report.layers if r.kind == "weight"] == ["fc1", "fc2"]
    report.assert_healthy()


def test_assert_healthy_lists_the_findings():
    class Dead(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.Sequential(*[m for _ in range(12) for m in (nn.Linear(64, 64), nn.Tanh())])
            for m in self.layers:
                if isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, std=0.01)

        def forward(self, x):
            return self.layers(x)

    report = probe(Dead(), torch.randn(64, 64), device="cpu")
    assert report.findings and not report.healthy  # std 0.01 at fan 64: the signal vanishes
    with pytest.raises(AssertionError) as raised:
        report.assert_healthy()
    assert all(f.code in str(raised.value) and f.message in str(raised.value) for f in report.findings)
    with pytest.raises(ValueError):
        report.assert_healthy("never")
    assert probe(Dead(), torch.randn(64, 64), device="cpu", ignore=["IL6"]).healthy
    with pytest.raises(ProbeError, match="IL699"):
        probe(Dead(), torch.randn(64, 64), device="cpu", select=["IL699"])


def test_no_side_effects_in_place():
    model = Net()
    model.eval()
    model.fc2.train()  # a mixed mode must come back mixed
    with torch.no_grad():
        model.bn.running_mean.fill_(0.25)
    model.fc1.weight.grad = torch.full_like(model.fc1.weight, 3.0)
    grad_object = model.fc1.weight.grad
    model.fc2.bias.requires_grad_(False)
    calls = []
    handle = model.fc1.register_forward_hook(lambda *a: calls.append(1))
    state = _state(model)
    modes = {n: m.training for n, m in model.named_modules()}
    x, later = torch.randn(32, 16), torch.randn(4, 16)
    torch.manual_seed(123)
    random.seed(5)
    rng_torch, rng_py = torch.get_rng_state(), random.getstate()
    np = pytest.importorskip("numpy")
    np.random.seed(7)
    rng_np = np.random.get_state()

    report = probe(model, x, device="cpu", mode="train")

    assert torch.equal(torch.get_rng_state(), rng_torch) and random.getstate() == rng_py
    assert all(
        (a == b).all() if hasattr(a, "all") else a == b for a, b in zip(np.random.get_state(), rng_np, strict=True)
    )
    assert report.copied is False
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())  # running stats, counter, weights
    assert int(model.bn.num_batches_tracked) == 0
    assert {n: m.training for n, m in model.named_modules()} == modes
    assert model.drop.p == 0.5
    assert model.fc1.weight.grad is grad_object and torch.equal(grad_object, torch.full_like(grad_object, 3.0))
    assert model.fc2.weight.grad is None and model.fc2.bias.requires_grad is False
    assert len(model.fc1._forward_hooks) == 1 and not model.fc1._forward_pre_hooks and not model._forward_hooks
    calls.clear()
    model(later)
    assert calls == [1]  # the caller's hook still runs, the probe's do not
    handle.remove()
    assert model.fc1.weight.dtype == torch.float32 and model.fc1.weight.device.type == "cpu"


def test_other_dtype_runs_on_a_copy_and_says_so():
    model = Net().double()
    state = _state(model)
    report = probe(model, torch.randn(32, 16), device="cpu")
    assert report.copied is True and report.to_dict()["copied"] is True
    assert model.fc1.weight.dtype == torch.float64  # the caller's model is not cast
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    with pytest.raises(ProbeError, match="needs a copy"):
        probe(model, torch.randn(32, 16), device="cpu", copy=False)


def test_lazy_layers_are_materialized_on_a_copy():
    model = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.Linear(8, 2))
    report = probe(model, torch.randn(16, 5), device="cpu")
    assert report.copied is True
    assert isinstance(model[0].weight, nn.parameter.UninitializedParameter)


def test_copy_true_leaves_the_model_alone():
    model = Net()
    state = _state(model)
    report = probe(model, torch.randn(32, 16), device="cpu", copy=True)
    assert report.copied is True and all(torch.equal(state[k], v) for k, v in model.state_dict().items())


def test_a_factory_is_built_with_provenance():
    report = probe(Net, torch.randn(32, 16), device="cpu")
    assert report.provenance is not None
    assert report.provenance.params["fc1.weight"].writer.op == "kaiming_normal_"
    assert report.provenance.params["bn.weight"].status == "default"
    assert "provenance" in report.to_dict()


def test_device_default_is_the_clis():
    import inspect

    from initlint.cli import probe as cli_probe
    from initlint.probe.api import probe as api_probe

    default = next(p.default for p in cli_probe.params if p.name == "device")
    assert inspect.signature(api_probe).parameters["device"].default == default == "auto"


def test_not_a_model():
    with pytest.raises(ProbeError, match=r"nn\.Module"):
        probe(42)


def test_pytest_plugin_fixture(tmp_path):
    test_file = tmp_path / "test_user_model.py"
    test_file.write_text(
        textwrap.dedent(
            """
            import torch
            import torch.nn as nn


            class Late(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.a = nn.Linear(8, 8)
                    self.apply(self._init)
                    self.b = nn.Linear(8, 2)

                def _init(self, m):
                    if isinstance(m, nn.Linear):
                        nn.init.xavier_uniform_(m.weight)

                def forward(self, x):
                    return self.b(self.a(x))


            def test_healthy(initlint_probe):
                initlint_probe(nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2)), torch.randn(16, 8), device="cpu")


            def test_late(initlint_probe):
                initlint_probe(Late, torch.randn(16, 8), device="cpu")
            """
        )
    )
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert "1 failed, 1 passed" in out.stdout, out.stdout[-3000:] + out.stderr[-2000:]
    assert "IL623" in out.stdout
