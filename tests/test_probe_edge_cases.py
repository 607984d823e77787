"""`initlint probe` on the models that break naive probes: structured outputs (dict, nested
tuples, dataclasses, transformers' ModelOutput), no parameters, frozen and tied parameters, lazy
layers, parametrized weights, models that cast themselves, integer and multi-tensor inputs,
forwards that raise or return no tensor, factory and package targets. Each either probes
(exit 0/1, a sensible report) or fails with one line on stderr (exit 2, no traceback); hooks
and the caller's RNG state are put back either way."""

from __future__ import annotations

import json
import random
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from initlint.cli import main  # noqa: E402
from initlint.probe.target import load_file  # noqa: E402

try:
    import transformers  # noqa: F401

    HAVE_TRANSFORMERS = True
except Exception:  # ImportError, or a broken optional dependency of transformers
    HAVE_TRANSFORMERS = False

needs_transformers = pytest.mark.skipif(not HAVE_TRANSFORMERS, reason="transformers is not installed")

MODELS = textwrap.dedent(
    """
    import dataclasses

    import torch
    import torch.nn as nn
    from torch.nn.utils import parametrizations

    BUILT = []  # every model a factory here built, for the tests to inspect afterwards


    def keep(model):
        BUILT.append(model)
        return model


    class TwoHeads(nn.Module):
        '''Two branches whose outputs come back separately: both must get a gradient.'''

        def __init__(self):
            super().__init__()
            self.trunk = nn.Linear(16, 16)
            self.a = nn.Linear(16, 4)
            self.b = nn.Linear(16, 3)

        def heads(self, x):
            h = torch.relu(self.trunk(x))
            return self.a(h), self.b(h)


    class DictOut(TwoHeads):
        def forward(self, x):
            a, b = self.heads(x)
            return {"a": a, "b": b, "count": 3, "none": None, "ids": a.argmax(-1)}


    class NestedTupleOut(TwoHeads):
        def forward(self, x):
            a, b = self.heads(x)
            return (a.argmax(-1), [(a,), {"deep": [b]}], "text")


    @dataclasses.dataclass
    class Output:
        a: torch.Tensor
        b: torch.Tensor
        note: str = "x"


    class DataclassOut(TwoHeads):
        def forward(self, x):
            return Output(*self.heads(x))


    class NoParams(nn.Module):
        def __init__(self):
            super().__init__()
            self.act = nn.ReLU()

        def forward(self, x):
            return self.act(x)


    def no_params():
        return keep(nn.Sequential(nn.ReLU()))


    def mlp():
        return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4))


    def frozen_first():
        model = mlp()
        model[0].requires_grad_(False)
        return keep(model)


    def frozen_all():
        return keep(mlp().requires_grad_(False))


    def frozen_all_input():
        return torch.randn(8, 16, requires_grad=True)


    class TiedLinears(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(16, 16, bias=False)
            self.dec = nn.Linear(16, 16, bias=False)
            self.dec.weight = self.enc.weight

        def forward(self, x):
            return self.dec(torch.tanh(self.enc(x)))


    class LazyMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.LazyLinear(32), nn.ReLU(), nn.LazyLinear(4))

        def forward(self, x):
            return self.body(x)


    class LazyTail(nn.Module):
        '''A known first layer, then a lazy one: the input is inferred, the tail materialized.'''

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)
            self.head = nn.LazyLinear(10)

        def forward(self, x):
            return self.head(torch.relu(self.conv(x)).flatten(1))


    class LazyConv(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.LazyConv2d(8, 3)
            self.head = nn.LazyLinear(4)

        def forward(self, x):
            return self.head(torch.relu(self.conv(x)).flatten(1))


    def weight_norm_new():
        model = mlp()
        parametrizations.weight_norm(model[0])
        parametrizations.weight_norm(model[2])
        return keep(model)


    def orthogonal():
        model = nn.Sequential(nn.Linear(16, 16, bias=False), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 4))
        parametrizations.orthogonal(model[0])
        parametrizations.orthogonal(model[2])
        return keep(model)


    def weight_norm_legacy():
        import warnings

        model = mlp()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nn.utils.weight_norm(model[0])
            nn.utils.weight_norm(model[2])
        return keep(model)


    class SelfMoving(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(16, 16)
            self.fc2 = nn.Linear(16, 4)
            self.register_buffer("scale", torch.ones(16))
            self.to("cpu")
            self.double()

        def forward(self, x):
            assert x.dtype == self.fc1.weight.dtype, (x.dtype, self.fc1.weight.dtype)
            return self.fc2(torch.relu(self.fc1(x) * self.scale))


    class HardCodedDouble(nn.Module):
        '''Its forward makes a float64 tensor whatever the probe's dtype: a dtype clash.'''

        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(16, 4)

        def forward(self, x):
            return self.fc(x) @ torch.eye(4, dtype=torch.float64)


    class Tokens(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 16)
            self.out = nn.Linear(16, 50)

        def forward(self, ids):
            assert ids.dtype == torch.long
            return self.out(self.emb(ids))


    def tokens():
        return torch.randint(0, 50, (4, 12))


    class Multi(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 16)
            self.fc = nn.Linear(8, 16)
            self.out = nn.Linear(16, 4)

        def forward(self, ids, feats, mask=None, scale=1.0):
            h = self.emb(ids) + self.fc(feats)
            if mask is not None:
                h = h * mask.unsqueeze(-1)
            return self.out(h) * scale


    def multi_args():
        return (torch.randint(0, 50, (4, 6)), torch.randn(4, 6, 8))


    def multi_kwargs():
        return {"ids": torch.randint(0, 50, (4, 6)), "feats": torch.randn(4, 6, 8),
                "mask": torch.ones(4, 6, dtype=torch.long), "scale": 0.5}


    class CustomFailure(Exception):
        pass


    class Raises(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(16, 4)

        def forward(self, x):
            raise CustomFailure("the forward cannot run\\nsecond line")


    def raises():
        return keep(Raises())


    class ReturnsNone(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(16, 4)

        def forward(self, x):
            self.fc(x)


    class ReturnsString(ReturnsNone):
        def forward(self, x):
            self.fc(x)
            return "done"


    class ReturnsInts(ReturnsNone):
        def forward(self, x):
            return self.fc(x).argmax(-1)
    """
)

HF_MODELS = textwrap.dedent(
    """
    import torch
    import torch.nn as nn
    from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel
    from transformers.modeling_outputs import BaseModelOutput

    BUILT = []


    def gpt2():
        config = GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=100, n_positions=32,
                            bos_token_id=0, eos_token_id=0)
        model = GPT2LMHeadModel(config)
        BUILT.append(model)
        return model


    def gpt2_tokens():
        return torch.randint(0, 100, (4, 16))


    def bert():
        config = BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                            vocab_size=100, max_position_embeddings=32)
        return BertModel(config)


    class CustomOutput(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(16, 16)
            self.extra = nn.Linear(16, 8)

        def forward(self, x):
            h = self.fc(x)
            return BaseModelOutput(last_hidden_state=h, hidden_states=(x, self.extra(h)))
    """
)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("edge") / "edge_models.py"
    path.write_text(MODELS)
    return str(path)


@pytest.fixture(scope="module")
def hf_models(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("edge_hf") / "hf_models.py"
    path.write_text(HF_MODELS)
    return str(path)


def run(*args: str):
    return CliRunner().invoke(main, ["probe", *args])


def probe_json(*args: str) -> dict:
    result = run(*args, "--format", "json", "--fail-on", "never", "--batch", "8")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def one_line_error(result, *needles: str) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("initlint: error: ")
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def rows(data: dict) -> dict[str, dict]:
    return {row["layer"]: row for row in data["layers"]}


def built(path: str) -> list:
    """The models the factories of PATH built (the module is the one the probe imported)."""
    return load_file(Path(path)).BUILT


def assert_clean(model) -> None:
    """No hook of the probe left (the legacy weight_norm's own pre-hook is the model's), no .grad."""
    from torch.nn.utils.weight_norm import WeightNorm

    for module in model.modules():
        assert not module._forward_hooks, module
        assert all(isinstance(h, WeightNorm) for h in module._forward_pre_hooks.values()), module
    assert all(p.grad is None for p in model.parameters())


class RngGuard:
    """The caller's torch and random states, compared afterwards."""

    def __init__(self) -> None:
        torch.manual_seed(4321)
        random.seed(17)
        self.torch = torch.get_rng_state()
        self.random = random.getstate()

    def check(self) -> None:
        assert torch.equal(torch.get_rng_state(), self.torch)
        assert random.getstate() == self.random


# ---- structured outputs ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["DictOut", "NestedTupleOut", "DataclassOut"])
def test_every_float_output_gets_a_gradient(models, name):
    data = probe_json(f"{models}:{name}")
    layers = rows(data)
    # the loss is built from both heads: each head's weight and the shared trunk get a gradient
    for layer in ("trunk", "a", "b"):
        assert layer in layers, data["layers"]
        assert layers[layer]["weight_grad_std"] is not None, (name, layer, layers[layer])
        assert layers[layer]["weight_grad_std"] > 0
    assert data["input"] == "float32[8,16]"


@needs_transformers
def test_model_output_of_transformers(models, hf_models):
    guard = RngGuard()
    data = probe_json(f"{hf_models}:CustomOutput")
    layers = rows(data)
    assert layers["fc"]["weight_grad_std"] > 0
    assert layers["extra"]["weight_grad_std"] > 0  # only reachable through hidden_states
    data = probe_json(f"{hf_models}:bert")  # BaseModelOutputWithPoolingAndCrossAttentions
    assert data["input"] == "int64[8,32]"
    assert any(r["weight_grad_std"] for r in data["layers"] if r["layer"].endswith("pooler.dense"))
    guard.check()


@needs_transformers
def test_gpt2_tied_embedding_and_head(hf_models):
    data = probe_json(f"{hf_models}:gpt2", "--input-fn", f"{hf_models}:gpt2_tokens")
    layers = rows(data)
    assert data["input"] == "int64[4,16]"
    wte, head = layers["transformer.wte"], layers["lm_head"]
    # one Parameter, measured once: both rows show the same weight and the same (summed) gradient
    assert wte["weight_std"] == head["weight_std"] and wte["shape"] == head["shape"] == [100, 32]
    assert wte["weight_grad_std"] == head["weight_grad_std"] is not None
    assert data["findings"] == []
    model = built(hf_models)[-1]
    assert model.lm_head.weight is model.transformer.wte.weight
    assert_clean(model)


def test_tied_linears(models):
    data = probe_json(f"{models}:TiedLinears")
    layers = rows(data)
    assert layers["enc"]["weight_std"] == layers["dec"]["weight_std"]
    assert layers["enc"]["weight_grad_std"] == layers["dec"]["weight_grad_std"] is not None
    assert not any(f["code"] == "IL605" for f in data["findings"])


# ---- parameters: none, frozen ---------------------------------------------------------------


def test_model_without_parameters(models):
    guard = RngGuard()
    for target in (f"{models}:no_params", f"{models}:NoParams"):
        data = probe_json(target, "--input-shape", "8,16")
        assert data["input"] == "float32[8,16]"
        relu = next(r for r in data["layers"] if r["type"] == "ReLU")
        assert relu["out_std"] > 0 and relu["weight_std"] is None
        assert data["findings"] == []
    assert_clean(built(models)[-1])
    one_line_error(run(f"{models}:no_params"), "cannot infer the input", "no parametric layer", "--input-shape")
    guard.check()


def test_frozen_parameters(models):
    data = probe_json(f"{models}:frozen_first")
    layers = rows(data)
    assert layers["0"]["weight_grad_std"] is None  # frozen: no gradient, no crash
    assert layers["2"]["weight_grad_std"] > 0 and layers["4"]["weight_grad_std"] > 0
    assert_clean(built(models)[-1])
    assert all(p.requires_grad is False for p in built(models)[-1][0].parameters())


def test_all_parameters_frozen(models):
    data = probe_json(f"{models}:frozen_all")
    assert all(r["weight_grad_std"] is None for r in data["layers"])
    assert {r["layer"] for r in data["layers"]} >= {"0", "2", "4"}
    model = built(models)[-1]
    assert not any(p.requires_grad for p in model.parameters())
    assert_clean(model)
    # an input that requires grad makes the output require grad with nothing trainable
    data = probe_json(f"{models}:frozen_all", "--input-fn", f"{models}:frozen_all_input")
    assert all(r["weight_grad_std"] is None for r in data["layers"])


# ---- lazy layers ----------------------------------------------------------------------------


def test_lazy_layers_are_materialized_from_the_given_input(models):
    data = probe_json(f"{models}:LazyMLP", "--input-shape", "8,24")
    layers = rows(data)
    assert layers["body.0"]["shape"] == [32, 24] and layers["body.0"]["fan_in"] == 24
    assert layers["body.2"]["shape"] == [4, 32]
    assert layers["body.0"]["init_guess"] == "default"
    data = probe_json(f"{models}:LazyConv", "--input-shape", "2,3,10,10")
    assert rows(data)["conv"]["shape"] == [8, 3, 3, 3] and rows(data)["head"]["shape"] == [4, 512]


def test_lazy_layers_need_an_input_unless_the_first_layer_tells(models):
    guard = RngGuard()
    # the dry run that would materialize them fails: one line naming the input and the exception
    one_line_error(run(f"{models}:LazyConv", "--input-shape", "8,16"), "float32[8,16]", "RuntimeError")
    guard.check()
    one_line_error(run(f"{models}:LazyMLP"), "LazyLinear", "--input-shape", "--input-fn")
    one_line_error(run(f"{models}:LazyConv"), "LazyConv2d", "--input-shape")
    data = probe_json(f"{models}:LazyTail")  # Conv2d(3, ...) first: (B, 3, 32, 32), head materialized
    assert data["input"] == "float32[8,3,32,32]"
    assert rows(data)["head"]["shape"] == [10, 8 * 30 * 30]


# ---- parametrized weights -------------------------------------------------------------------


@pytest.mark.parametrize("factory", ["weight_norm_new", "weight_norm_legacy"])
def test_weight_norm(models, factory):
    guard = RngGuard()
    data = probe_json(f"{models}:{factory}")
    layers = rows(data)
    # the computed weight is measured, with the layer's own fans (not weight_g's (out, 1))
    assert layers["0"]["shape"] == [32, 16] and layers["0"]["fan_in"] == 16
    assert layers["2"]["shape"] == [32, 32] and layers["2"]["fan_in"] == 32
    assert layers["0"]["init_guess"] == "default", layers["0"]
    assert not any("parametrizations" in name for name in layers)  # no rows for the internals
    # the gradient of the computed weight (the one the forward used) is measured
    assert layers["0"]["weight_grad_std"] > 0 and layers["2"]["weight_grad_std"] > 0
    assert data["findings"] == [], data["findings"]
    assert_clean(built(models)[-1])
    guard.check()


def test_orthogonal(models):
    data = probe_json(f"{models}:orthogonal")
    layers = rows(data)
    assert layers["0"]["shape"] == [16, 16]
    assert layers["0"]["weight_std"] == pytest.approx(0.25, rel=0.05)  # orthogonal 16x16: 1/sqrt(16)
    assert not any("parametrizations" in name for name in layers)
    assert layers["0"]["weight_grad_std"] > 0 and layers["2"]["weight_grad_std"] > 0
    assert_clean(built(models)[-1])


# ---- device and dtype -----------------------------------------------------------------------


def test_model_casting_itself_ends_on_the_probe_dtype(models):
    data = probe_json(f"{models}:SelfMoving")  # .double() in __init__: probed in float32
    assert data["dtype"] == "float32" and data["device"] == "cpu" and data["input"] == "float32[8,16]"
    data = probe_json(f"{models}:SelfMoving", "--dtype", "bfloat16", "--device", "cpu")
    assert data["dtype"] == "bfloat16"
    one_line_error(run(f"{models}:HardCodedDouble"), "RuntimeError", "--input-shape")


# ---- inputs ---------------------------------------------------------------------------------


def test_integer_inputs(models):
    data = probe_json(f"{models}:Tokens")
    assert data["input"] == "int64[8,32]"
    assert rows(data)["out"]["weight_grad_std"] > 0
    data = probe_json(f"{models}:Tokens", "--input-fn", f"{models}:tokens", "--dtype", "bfloat16")
    assert data["input"] == "int64[4,12]" and data["dtype"] == "bfloat16"


def test_multi_tensor_inputs(models):
    data = probe_json(f"{models}:Multi", "--input-fn", f"{models}:multi_args")
    assert data["input"] == "int64[4,6], float32[4,6,8]"
    assert rows(data)["fc"]["weight_grad_std"] > 0 and rows(data)["emb"]["weight_grad_std"] > 0
    data = probe_json(f"{models}:Multi", "--input-fn", f"{models}:multi_kwargs")
    assert data["input"] == "ids=int64[4,6], feats=float32[4,6,8], mask=int64[4,6], scale=float"


# ---- failures -------------------------------------------------------------------------------


def test_forward_that_raises(models):
    guard = RngGuard()
    line = one_line_error(
        run(f"{models}:raises"), "CustomFailure", "the forward cannot run", "--input-shape", "--input-fn"
    )
    assert "second line" not in line
    assert_clean(built(models)[-1])
    guard.check()
    result = run(f"{models}:raises", "--verbose")
    assert result.exit_code == 2 and "Traceback" in result.output


@pytest.mark.parametrize(
    ("name", "what"), [("ReturnsNone", "NoneType"), ("ReturnsString", "str"), ("ReturnsInts", "no floating")]
)
def test_forward_returning_no_float_tensor(models, name, what):
    guard = RngGuard()
    one_line_error(run(f"{models}:{name}"), what)
    guard.check()


# ---- targets --------------------------------------------------------------------------------


def test_factory_and_package_targets(models, tmp_path, monkeypatch):
    package = tmp_path / "edgepkg_initlint"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "nets.py").write_text(MODELS)
    monkeypatch.syspath_prepend(str(tmp_path))
    data = probe_json("edgepkg_initlint.sub.nets:TiedLinears")
    assert data["model"] == "edgepkg_initlint.sub.nets:TiedLinears"
    data = probe_json("edgepkg_initlint.sub.nets:frozen_first")  # a factory function in a package
    assert rows(data)["2"]["weight_grad_std"] > 0
    one_line_error(run("edgepkg_initlint.sub.nets:Missing"), "'Missing' not found")
    one_line_error(run("edgepkg_initlint.sub.nope:Net"), "module not found")
