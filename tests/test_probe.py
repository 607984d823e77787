"""The runtime probe on real models: verdicts, statistics, hygiene (RNG, hooks), docs."""

from __future__ import annotations

import random
import sys

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from initlint.docs import doc_path, parse_doc  # noqa: E402
from initlint.probe import Thresholds, parse_thresholds  # noqa: E402
from initlint.probe.api import probe_model  # noqa: E402
from initlint.probe.errors import ProbeError  # noqa: E402
from initlint.rules import ALL_RULES  # noqa: E402


def deep_mlp(init, depth=20, width=256):
    torch.manual_seed(0)
    layers = []
    for _ in range(depth):
        linear = nn.Linear(width, width)
        init(linear.weight)
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(width, 10))


INITS = {
    "xavier": nn.init.xavier_normal_,
    "kaiming": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
    "tiny": lambda w: nn.init.normal_(w, std=1e-3),
    "unit": lambda w: nn.init.normal_(w, std=1.0),
}


def codes(result):
    return {f.code for f in result.findings}


@pytest.mark.parametrize(
    ("init", "expected"),
    [("xavier", {"IL601"}), ("kaiming", set()), ("tiny", {"IL601"}), ("unit", {"IL602"})],
)
def test_deep_relu_mlps(init, expected):
    result = probe_model(deep_mlp(INITS[init]))
    found = codes(result)
    assert expected <= found
    if not expected:
        assert found == set(), [f.message for f in result.findings]
    else:
        assert found & {"IL601", "IL602"} == expected  # never both directions at once


def test_xavier_vanishing_measures_the_scale():
    result = probe_model(deep_mlp(INITS["xavier"]))
    finding = next(f for f in result.findings if f.code == "IL601")
    assert finding.value < 1e-2 and finding.threshold == 1e-2
    assert "xavier" in finding.cause
    assert "kaiming" in finding.suggestion
    relus = [r for r in result.rows if r.type == "ReLU"]
    assert relus[-1].cumulative_gain < 3e-3  # about (1/sqrt 2)^20
    assert relus[0].out_std > 0.3
    linears = [r for r in result.rows if r.type == "Linear"]
    assert linears[0].init_guess.startswith("xavier")
    assert linears[0].fan_in == 256 and linears[0].fan_out == 256
    assert linears[0].expected_std["kaiming"] == pytest.approx((2 / 256) ** 0.5)


def test_scheme_guess_default_init():
    torch.manual_seed(0)
    result = probe_model(nn.Sequential(nn.Linear(300, 200), nn.ReLU(), nn.Linear(200, 10)))
    assert [r.init_guess for r in result.rows if r.type == "Linear"] == ["default", "default"]
    assert codes(result) == set()


def test_constant_hidden_layer_is_symmetric():
    model = deep_mlp(INITS["kaiming"], depth=3, width=64)
    nn.init.constant_(model[2].weight, 0.05)
    result = probe_model(model)
    finding = next(f for f in result.findings if f.code == "IL605")
    assert finding.layer == "2" and finding.severity == "error"


def test_zero_init_and_last_layer_are_not_symmetric():
    model = deep_mlp(INITS["kaiming"], depth=3, width=64)
    nn.init.zeros_(model[2].weight)
    nn.init.constant_(model[6].weight, 0.1)  # the output layer
    assert "IL605" not in codes(probe_model(model))


def test_dead_units():
    model = deep_mlp(INITS["kaiming"], depth=2, width=64)
    nn.init.constant_(model[0].bias, -5.0)
    result = probe_model(model)
    finding = next(f for f in result.findings if f.code == "IL604")
    assert finding.layer == "1" and finding.value > 0.5


def test_uninitialized_memory_and_nonfinite():
    model = deep_mlp(INITS["kaiming"], depth=2, width=32)
    with torch.no_grad():
        model[2].weight[0, 0] = 1e30
        model[2].weight[0, 1] = 1e-42  # denormal
    result = probe_model(model)
    assert "IL607" in codes(result)
    raw = next(f for f in result.findings if f.code == "IL607")
    # named by the parameter, not the layer (a Parameter of the root module would be "(model)")
    assert raw.layer == "2.weight" and raw.extra["parameters"] == ["2.weight"]
    assert raw.extra["largest"] == pytest.approx(1e30) and raw.extra["denormal"] == 1
    with torch.no_grad():
        model[2].weight[0, 0] = float("nan")
    result = probe_model(model, codes={"IL606"})
    assert codes(result) == {"IL606"}


def test_gradient_imbalance():
    # the output head is left out of IL603: in an exploding ReLU MLP the hidden layers' weight
    # gradients are balanced (forward growth and backward growth cancel); IL602 reports it
    assert "IL602" in codes(probe_model(deep_mlp(INITS["unit"], depth=6)))
    # sigmoid shrinks the backward signal >= 4x per layer while the forward stays in range
    torch.manual_seed(0)
    layers = [m for _ in range(10) for m in (nn.Linear(128, 128), nn.Sigmoid())]
    result = probe_model(nn.Sequential(*layers, nn.Linear(128, 10)))
    assert codes(result) == {"IL603"}, [f.message for f in result.findings]
    finding = result.findings[0]
    assert finding.extra["first_layer"] == "0" and finding.extra["last_layer"] == "18"  # not the head "20"
    assert "sigmoid" in finding.suggestion and "kaiming" not in finding.suggestion


def test_layer_followed_by_norm_is_judged_after_the_norm():
    torch.manual_seed(0)
    layers = []
    for _ in range(12):
        linear = nn.Linear(128, 128)
        nn.init.normal_(linear.weight, std=1.0)  # would explode without the norms
        layers += [linear, nn.BatchNorm1d(128), nn.ReLU()]
    result = probe_model(nn.Sequential(*layers, nn.Linear(128, 10)))
    assert codes(result) == set(), [f.message for f in result.findings]
    assert all(r.normalized for r in result.rows if r.type == "Linear" and r.layer != "36")


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(x + self.bn2(self.conv2(out)))


class TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(inplace=True))
        self.layers = nn.Sequential(*(ResBlock(16) for _ in range(4)))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        return self.fc(self.pool(self.layers(self.stem(x))).flatten(1))


def test_resnet_style_model_is_clean_and_shared_relu_is_recorded_per_call():
    result = probe_model(TinyResNet(), batch=16)
    assert result.findings == [], [f.message for f in result.findings]
    assert any(r.layer.endswith("relu#2") for r in result.rows)
    assert result.input == "float32[16,3,32,32]"


class Net(nn.Module):
    """The classic 3-layer conv/fc net of the PyTorch tutorial."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


def test_seed_net_default_init_is_clean_and_input_is_inferred():
    result = probe_model(Net())
    assert result.input == "float32[64,3,32,32]"
    assert codes(result) == set()
    assert {r.layer: r.init_guess for r in result.rows}["conv1"] == "default"


def test_rng_state_restored_and_hooks_removed():
    model = deep_mlp(INITS["kaiming"], depth=2, width=16)
    torch.manual_seed(1234)
    random.seed(99)
    np = pytest.importorskip("numpy")
    np.random.seed(7)
    cpu_before = torch.get_rng_state()
    py_before = random.getstate()
    np_before = np.random.get_state()[1].copy()
    first = probe_model(model)
    assert torch.equal(torch.get_rng_state(), cpu_before)
    assert random.getstate() == py_before
    assert (np.random.get_state()[1] == np_before).all()
    for module in model.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks
        assert module.training
    second = probe_model(model)  # deterministic: same seed, same numbers
    assert [r.out_std for r in first.rows] == [r.out_std for r in second.rows]
    assert all(p.grad is None for p in model.parameters())


def test_hooks_removed_and_rng_restored_when_forward_fails():
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 8)

        def forward(self, x):
            raise RuntimeError("boom")

    model = Broken()
    state = torch.get_rng_state()
    with pytest.raises(ProbeError, match=r"float32\[64,8\].*boom"):
        probe_model(model)
    assert not model.fc._forward_hooks and not model._forward_pre_hooks
    assert torch.equal(torch.get_rng_state(), state)


def test_dropout_disabled_and_restored():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, 32), nn.Dropout(0.5), nn.ReLU(), nn.Linear(32, 4))
    a = probe_model(model)
    b = probe_model(model, seed=5)
    assert model[1].p == 0.5 and model[1].training
    relu_a = next(r for r in a.rows if r.type == "ReLU")
    assert relu_a.dead_fraction is not None
    assert a.rows and b.rows


def test_eval_mode_and_bfloat16():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4))
    result = probe_model(model, mode="eval", dtype="bfloat16")
    assert result.dtype == "bfloat16" and codes(result) == set()
    assert model.training


def test_input_fn_dict_and_tuple():
    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(8, 4), nn.Linear(6, 4)

        def forward(self, x, y=None):
            return self.a(x) + self.b(y)

    result = probe_model(TwoInputs(), input_fn=lambda: {"x": torch.randn(16, 8), "y": torch.randn(16, 6)})
    assert result.input == "x=float32[16,8], y=float32[16,6]"
    result = probe_model(TwoInputs(), input_fn=lambda: (torch.randn(16, 8), torch.randn(16, 6)))
    assert result.input == "float32[16,8], float32[16,6]"


def test_embedding_input_is_inferred_as_tokens():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(100, 32), nn.Linear(32, 32), nn.GELU(), nn.Linear(32, 100))
    result = probe_model(model, batch=8)
    assert result.input == "int64[8,32]"
    assert result.reference_std == pytest.approx(1.0, rel=0.2)  # the embedding's output


def test_thresholds_config():
    t = parse_thresholds({"vanishing-ratio": 0.5, "batch": 8})
    assert t == Thresholds(vanishing_ratio=0.5, batch=8)
    from initlint.config import ConfigError

    with pytest.raises(ConfigError, match="unknown key `vanishing`"):
        parse_thresholds({"vanishing": 1})
    with pytest.raises(ConfigError, match="positive"):
        parse_thresholds({"dead-fraction": "high"})
    # a stricter threshold turns a clean model into a finding
    result = probe_model(deep_mlp(INITS["xavier"], depth=4), thresholds=Thresholds(vanishing_ratio=0.5))
    assert "IL601" in codes(result)


def test_json_schema():
    result = probe_model(deep_mlp(INITS["xavier"]))
    data = result.to_dict()
    assert set(data) == {"model", "device", "dtype", "input", "layers", "findings", "summary"}
    layer = data["layers"][0]
    for key in (
        "layer", "type", "shape", "fan_in", "fan_out", "weight_mean", "weight_std", "expected_std", "init_guess",
        "out_mean", "out_std", "gain", "cumulative_gain", "dead_fraction", "weight_grad_std", "out_grad_std",
        "nonfinite", "flags",
    ):  # fmt: skip
        assert key in layer
    finding = data["findings"][0]
    for key in ("code", "name", "severity", "message", "layer", "value", "threshold", "cause", "suggestion"):
        assert key in finding
    assert data["summary"]["by_code"] == {"IL601": 1}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_probe_matches_cpu_verdicts():
    cpu = probe_model(deep_mlp(INITS["xavier"]), device="cpu")
    gpu = probe_model(deep_mlp(INITS["xavier"]), device="cuda")
    assert codes(cpu) == codes(gpu)
    assert gpu.device.startswith("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_rng_restored():
    torch.cuda.init()
    before = torch.cuda.get_rng_state()
    probe_model(deep_mlp(INITS["kaiming"], depth=2, width=16), device="cuda")
    assert torch.equal(torch.cuda.get_rng_state(), before)


# ---- the runtime rules' docs: their examples are probed, not linted -------------------------
# IL620-IL624 need the build recorded (init provenance): tests/test_probe_provenance.py probes their docs.
RUNTIME = [pytest.param(rule, id=rule.code) for rule in ALL_RULES if rule.runtime and not rule.code.startswith("IL62")]


def _build_doc_model(code: str):
    namespace: dict[str, object] = {"__name__": "doc_example"}
    exec(compile(code, "<doc>", "exec"), namespace)
    classes = [
        v
        for v in namespace.values()
        if isinstance(v, type) and issubclass(v, nn.Module) and v.__module__ == "doc_example"
    ]
    assert len(classes) == 1
    torch.manual_seed(0)
    return classes[0]()


@pytest.mark.parametrize("rule", RUNTIME)
def test_runtime_doc_examples_probe(rule):
    doc = parse_doc(doc_path(rule.code).read_text(encoding="utf-8"))
    assert doc.example and doc.use_instead
    assert "Thresholds" in doc.sections
    found = probe_model(_build_doc_model(doc.example))
    assert rule.code in codes(found), [f.message for f in found.findings]
    clean = probe_model(_build_doc_model(doc.use_instead))
    assert clean.findings == [], [f.message for f in clean.findings]


def test_runtime_rules_are_registered_and_never_run_statically():
    from initlint.engine import LintOptions
    from initlint.rules import BY_CODE

    runtime = {r.code for r in ALL_RULES if r.runtime}
    assert {f"IL60{i}" for i in range(1, 8)} <= runtime and {f"IL62{i}" for i in range(5)} <= runtime
    assert not any(r.runtime for r in LintOptions(frozenset(BY_CODE)).rules)
    for code in runtime:
        warnings = ("IL603", "IL604", "IL608", "IL609", "IL610", "IL612", "IL624")
        assert BY_CODE[code].severity == ("warning" if code in warnings else "error")


def test_static_check_never_imports_torch(tmp_path):
    import subprocess

    (tmp_path / "m.py").write_text(
        "import torch.nn as nn\nclass M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 4)\n        nn.init.xavier_normal(self.fc.weight)\n"
    )
    code = (
        "import sys, initlint.cli, initlint.engine, initlint.runner\n"
        "from click.testing import CliRunner\n"
        "r = CliRunner().invoke(initlint.cli.main, ['check', '--no-cache', '-j', '1', sys.argv[1]])\n"
        "assert r.exit_code == 1, r.output\n"
        "assert 'IL101' in r.output, r.output\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "m.py")], capture_output=True, text=True)
    assert out.returncode == 0 and "ok" in out.stdout, out.stdout + out.stderr
