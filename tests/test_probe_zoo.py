"""The probe on a zoo of healthy models (zero findings) and of real init bugs (the expected code).

Healthy: timm vision nets, torchvision-style patterns written here, transformers models from tiny
configs (no download), torch's own nn.Transformer/LSTM/GRU. Each model is as small as the
pathology it guards allows (a 1000-class head where the class count matters, small inputs).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow  # ~12 s on 2 idle cores, minutes on a loaded one (ResNet-50s dominate)

torch = pytest.importorskip("torch")
nn = torch.nn
F = nn.functional

from initlint.probe.api import probe_model  # noqa: E402


def _stub_torchvision_ops() -> None:
    """torchvision's wheels register their C ops (nms, qnms) at import; on the CPU-only torch they
    are missing and the import fails. Pure-Python models need only the op names to exist."""
    try:
        torch.ops.torchvision.nms  # noqa: B018
        return
    except (AttributeError, RuntimeError):
        pass
    lib = torch.library.Library("torchvision", "DEF")
    lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _LIBS.append(lib)  # a Library deregisters its ops when collected


_LIBS: list[Any] = []


# `make setup` installs timm and torchvision here, out of site-packages (requirements-probe-zoo.txt)
ZOO_PACKAGES = Path(
    os.environ.get("INITLINT_PROBE_ZOO", Path(__file__).resolve().parent.parent / ".venv" / "probe-zoo")
)


def _import_timm() -> Any:
    if ZOO_PACKAGES.is_dir() and str(ZOO_PACKAGES) not in sys.path:
        sys.path.append(str(ZOO_PACKAGES))
    try:
        _stub_torchvision_ops()
        import timm
        import torchvision  # noqa: F401
    except Exception:  # not installed, or a wheel that does not import here
        return None
    return timm


timm = _import_timm()
try:
    import transformers
except Exception:
    transformers = None

needs_timm = pytest.mark.skipif(timm is None, reason="timm/torchvision not importable")
needs_transformers = pytest.mark.skipif(transformers is None, reason="transformers not importable")


def images(batch: int = 8, size: int = 64, channels: int = 3) -> Callable[[], Any]:
    return lambda: torch.randn(batch, channels, size, size)


def tokens(vocab: int, batch: int = 8, length: int = 16, **extra: Callable[[], Any]) -> Callable[[], Any]:
    def make() -> dict[str, Any]:
        data: dict[str, Any] = {"input_ids": torch.randint(0, vocab, (batch, length))}
        data.update({k: v() for k, v in extra.items()})
        return data

    return make


def ids(vocab: int, batch: int = 8, length: int = 16) -> Callable[[], Any]:
    return lambda: torch.randint(0, vocab, (batch, length))


# ---- torchvision-style patterns written here ----------------------------------------------
class SqueezeExcite(nn.Module):
    """torchvision.ops.SqueezeExcitation: 1x1 convs on pooled features, ReLU inside the gate."""

    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.relu = nn.ReLU()

    def forward(self, x: Any) -> Any:
        scale = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.fc2(self.relu(self.fc1(scale))))


class SEBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.se = SqueezeExcite(c, c // 4)
        self.relu = nn.ReLU()

    def forward(self, x: Any) -> Any:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.se(self.bn2(self.conv2(out)))
        return self.relu(out + x)


class SEResNet(nn.Module):
    def __init__(self, width: int = 32, blocks: int = 3, classes: int = 1000) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.layers = nn.Sequential(*(SEBlock(width) for _ in range(blocks)))
        self.fc = nn.Linear(width, classes)
        for m in self.modules():  # torchvision's ResNet init
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Any) -> Any:
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.layers(self.stem(x)), 1), 1))


class MHAClassifier(nn.Module):
    """nn.MultiheadAttention called as a layer (its out_proj runs through F.linear)."""

    def __init__(self, d: int = 64, heads: int = 4, vocab: int = 500, classes: int = 10) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, classes)

    def forward(self, ids: Any) -> Any:
        x = self.embed(ids)
        x = self.norm(x + self.attn(x, x, x, need_weights=False)[0])
        return self.head(x.mean(1))


class UNet(nn.Module):
    def __init__(self, c: int = 16, depth: int = 3) -> None:
        super().__init__()

        def double(i: int, o: int) -> nn.Module:
            return nn.Sequential(
                nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(),
                nn.Conv2d(o, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(),
            )  # fmt: skip

        widths = [c * 2**i for i in range(depth + 1)]
        self.inc = double(3, widths[0])
        self.down = nn.ModuleList(double(widths[i], widths[i + 1]) for i in range(depth))
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in reversed(range(depth))
        )
        self.dec = nn.ModuleList(double(widths[i] * 2, widths[i]) for i in reversed(range(depth)))
        self.out = nn.Conv2d(widths[0], 2, 1)

    def forward(self, x: Any) -> Any:
        skips = [self.inc(x)]
        for down in self.down:
            skips.append(down(F.max_pool2d(skips[-1], 2)))
        x = skips.pop()
        for up, dec in zip(self.up, self.dec, strict=True):
            x = dec(torch.cat([up(x), skips.pop()], 1))
        return self.out(x)


class RNNClassifier(nn.Module):
    def __init__(self, cell: type[nn.Module], vocab: int = 500, d: int = 64, classes: int = 10) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.rnn = cell(d, d, num_layers=2, batch_first=True)
        self.head = nn.Linear(d, classes)

    def forward(self, ids: Any) -> Any:
        out, _ = self.rnn(self.embed(ids))
        return self.head(out[:, -1])


class LoRALinear(nn.Module):
    """A frozen base layer plus a low-rank update whose B starts at zero (deliberate)."""

    def __init__(self, d: int = 64, rank: int = 4) -> None:
        super().__init__()
        self.base = nn.Linear(d, d)
        self.base.requires_grad_(False)
        self.a = nn.Linear(d, rank, bias=False)
        self.b = nn.Linear(rank, d, bias=False)
        nn.init.zeros_(self.b.weight)

    def forward(self, x: Any) -> Any:
        return self.base(x) + self.b(self.a(x))


def lora_mlp() -> nn.Module:
    return nn.Sequential(LoRALinear(), nn.ReLU(), LoRALinear(), nn.ReLU(), nn.Linear(64, 10))


def selu_mlp(init: str, depth: int = 16, width: int = 256) -> nn.Module:
    layers: list[nn.Module] = []
    for _ in range(depth):
        linear = nn.Linear(width, width)
        if init == "lecun":
            nn.init.kaiming_normal_(linear.weight, nonlinearity="linear")
            nn.init.zeros_(linear.bias)
        layers += [linear, nn.SELU()]
    return nn.Sequential(*layers, nn.Linear(width, 10))


def tanh_mlp(std: float | None, depth: int = 8, width: int = 128) -> nn.Module:
    layers: list[nn.Module] = []
    for _ in range(depth):
        linear = nn.Linear(width, width)
        if std is None:
            nn.init.xavier_normal_(linear.weight, gain=nn.init.calculate_gain("tanh"))
        else:
            nn.init.normal_(linear.weight, std=std)
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.Tanh()]
    return nn.Sequential(*layers, nn.Linear(width, 10))


class PostNormLM(nn.Module):
    """A post-norm transformer language model; every weight normal_(std=init_std)."""

    def __init__(self, init_std: float | None, vocab: int = 1000, d: int = 128) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        layer = nn.TransformerEncoderLayer(d, 4, 4 * d, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(d, vocab)
        if init_std is not None:
            for p in self.parameters():
                if p.dim() >= 2:
                    nn.init.normal_(p, std=init_std)
        else:
            nn.init.normal_(self.embed.weight, std=1.0)

    def forward(self, ids: Any) -> Any:
        return self.head(self.encoder(self.embed(ids)))


def plain_cnn(zero: bool, depth: int = 4, c: int = 16) -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(3, c, 3, padding=1), nn.ReLU()]
    for _ in range(depth - 1):
        layers += [nn.Conv2d(c, c, 3, padding=1), nn.ReLU()]
    model = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10))
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            if zero:
                nn.init.zeros_(m.weight)
            else:
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    return model


def resnet18_std(std: float | None) -> nn.Module:
    import torchvision

    model = torchvision.models.resnet18(num_classes=1000)
    if std is not None:
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=std)
    return model


def sigmoid_mlp(depth: int = 10, width: int = 128) -> nn.Module:
    layers: list[nn.Module] = []
    for _ in range(depth):
        linear = nn.Linear(width, width)
        nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
        layers += [linear, nn.Sigmoid()]
    return nn.Sequential(*layers, nn.Linear(width, 10))


class ScaledGate(nn.Module):
    """A custom layer whose Parameter is made with torch.empty and never filled."""

    def __init__(self, d: int = 64) -> None:
        super().__init__()
        self.fc = nn.Linear(d, d)
        self.scale = nn.Parameter(torch.empty(d))

    def forward(self, x: Any) -> Any:
        return self.fc(x) * self.scale


def unfilled_parameter() -> nn.Module:
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), ScaledGate(), nn.ReLU(), nn.Linear(64, 10))
    with torch.no_grad():  # what torch.empty may hold: raw memory (made deterministic here)
        gate = model[2].scale
        gate.copy_(torch.randn(64) * 1e20)
        gate[::7] = 1e-42
    return model


def meta_built_mlp() -> nn.Module:
    """Built on the meta device, then to_empty() and nothing initialized (memory made explicit)."""
    with torch.device("meta"):
        model = nn.Sequential(*(m for _ in range(6) for m in (nn.Linear(64, 64), nn.ReLU())), nn.Linear(64, 10))
    model.to_empty(device="cpu")
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):  # the garbage to_empty leaves, deterministically
            p.copy_(torch.randn(p.shape) * 1e25)
            p.view(-1)[:: 3 + i] = float("nan")
    return model


# ---- timm / torchvision / transformers factories --------------------------------------------
def timm_model(name: str, **kwargs: Any) -> Callable[[], nn.Module]:
    return lambda: timm.create_model(name, pretrained=False, **kwargs)


def tv_model(name: str, **kwargs: Any) -> Callable[[], nn.Module]:
    def make() -> nn.Module:
        import torchvision

        return getattr(torchvision.models, name)(**kwargs)

    return make


def timm_mixer() -> nn.Module:
    """timm's MLP-Mixer (zero-initialized head), 4 small blocks."""
    from timm.models.mlp_mixer import MlpMixer

    return MlpMixer(img_size=32, patch_size=8, num_blocks=4, embed_dim=64)


def tv_convnext() -> nn.Module:
    """torchvision's ConvNeXt (layer scale of shape (C, 1, 1)), two tiny stages."""
    from torchvision.models.convnext import CNBlockConfig, ConvNeXt

    return ConvNeXt([CNBlockConfig(32, 64, 2), CNBlockConfig(64, None, 2)], num_classes=1000)


def hf(config_name: str, model_name: str, **config: Any) -> Callable[[], nn.Module]:
    def make() -> nn.Module:
        cfg = getattr(transformers, config_name)(**config)
        return getattr(transformers, model_name)(cfg)

    return make


SMALL_LM = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, vocab_size=1000)
HEALTHY: dict[str, tuple[Callable[[], nn.Module], Callable[[], Any], Any]] = {
    # name: (factory, input, marker)
    "timm-resnet50-zero-init-last": (timm_model("resnet50", zero_init_last=True), images(4, 64), needs_timm),
    "timm-resnet50-no-zero-init": (timm_model("resnet50", zero_init_last=False), images(4, 64), needs_timm),
    "tv-shufflenet": (tv_model("shufflenet_v2_x0_5"), images(8, 64), needs_timm),
    "timm-efficientnet-b0": (timm_model("efficientnet_b0"), images(8, 32), needs_timm),
    "timm-vit-zero-head": (
        timm_model("vit_tiny_patch16_224", img_size=32, patch_size=8, depth=4, weight_init="jax"),
        images(8, 32),
        needs_timm,
    ),
    "timm-vit": (timm_model("vit_tiny_patch16_224", img_size=32, patch_size=8, depth=4), images(8, 32), needs_timm),
    "timm-mixer": (timm_mixer, images(8, 32), needs_timm),
    "tv-mobilenet-v3": (tv_model("mobilenet_v3_small"), images(8, 64), needs_timm),
    "timm-mobilenet-v3": (timm_model("mobilenetv3_small_050"), images(8, 64), needs_timm),
    "timm-convnext-atto": (timm_model("convnext_atto", ls_init_value=1e-6), images(8, 64), needs_timm),
    "tv-convnext": (tv_convnext, images(8, 32), needs_timm),
    "tv-resnet18": (lambda: resnet18_std(None), images(8, 64), needs_timm),
    "se-resnet": (SEResNet, images(16, 16), None),
    "mha-classifier": (MHAClassifier, ids(500, 16)),
    "unet": (UNet, images(4, 32)),
    "lstm": (lambda: RNNClassifier(nn.LSTM), ids(500, 16)),
    "gru": (lambda: RNNClassifier(nn.GRU), ids(500, 16)),
    "nn-transformer": (
        lambda: nn.Transformer(d_model=32, nhead=4, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=64),
        lambda: (torch.randn(10, 16, 32), torch.randn(9, 16, 32)),
    ),
    "lora-mlp": (lora_mlp, lambda: torch.randn(64, 64)),
    "selu-lecun": (lambda: selu_mlp("lecun"), lambda: torch.randn(64, 256)),
    "tanh-xavier": (lambda: tanh_mlp(None), lambda: torch.randn(64, 128)),
    "postnorm-lm": (lambda: PostNormLM(None), ids(1000, 16)),
    "plain-cnn-kaiming": (lambda: plain_cnn(False), images(16, 16)),
    "hf-gpt2": (
        hf(
            "GPT2Config",
            "GPT2LMHeadModel",
            n_layer=2,
            n_embd=64,
            n_head=4,
            vocab_size=1000,
            n_positions=64,
            bos_token_id=0,
            eos_token_id=0,
        ),
        tokens(1000),
        needs_transformers,
    ),
    "hf-bert": (
        hf("BertConfig", "BertForMaskedLM", **SMALL_LM, max_position_embeddings=64),
        tokens(1000),
        needs_transformers,
    ),
    "hf-llama": (
        hf("LlamaConfig", "LlamaForCausalLM", **SMALL_LM, num_key_value_heads=2, max_position_embeddings=64),
        tokens(1000),
        needs_transformers,
    ),
    "hf-mistral": (
        hf("MistralConfig", "MistralForCausalLM", **SMALL_LM, num_key_value_heads=2, max_position_embeddings=64),
        tokens(1000),
        needs_transformers,
    ),
    "hf-qwen2": (
        hf("Qwen2Config", "Qwen2ForCausalLM", **SMALL_LM, num_key_value_heads=2, max_position_embeddings=64),
        tokens(1000),
        needs_transformers,
    ),
    "hf-t5": (
        hf(
            "T5Config",
            "T5ForConditionalGeneration",
            d_model=64,
            d_ff=128,
            d_kv=16,
            num_layers=2,
            num_heads=4,
            vocab_size=1000,
            decoder_start_token_id=0,
        ),
        tokens(1000, decoder_input_ids=lambda: torch.randint(0, 1000, (8, 8))),
        needs_transformers,
    ),
    "hf-vit": (
        hf(
            "ViTConfig",
            "ViTForImageClassification",
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=128,
            image_size=32,
            patch_size=8,
            num_labels=10,
        ),
        lambda: {"pixel_values": torch.randn(8, 3, 32, 32)},
        needs_transformers,
    ),
    "hf-whisper": (
        hf(
            "WhisperConfig",
            "WhisperForConditionalGeneration",
            d_model=64,
            encoder_layers=2,
            decoder_layers=2,
            encoder_attention_heads=4,
            decoder_attention_heads=4,
            encoder_ffn_dim=128,
            decoder_ffn_dim=128,
            num_mel_bins=16,
            max_source_positions=32,
            max_target_positions=32,
            vocab_size=1000,
            pad_token_id=0,
            bos_token_id=0,
            eos_token_id=0,
            decoder_start_token_id=0,
        ),
        lambda: {
            "input_features": torch.randn(4, 16, 64),
            "decoder_input_ids": torch.randint(0, 1000, (4, 8)),
        },
        needs_transformers,
    ),
}

# name: (factory, input, expected code, marker)
BUGS: dict[str, tuple[Callable[[], nn.Module], Callable[[], Any], str, Any]] = {
    "selu-default-init": (lambda: selu_mlp("default"), lambda: torch.randn(64, 256), "IL609", None),
    "postnorm-std1": (lambda: PostNormLM(1.0), ids(1000, 16), "IL608", None),
    "resnet18-std1-under-bn": (lambda: resnet18_std(1.0), images(4, 64), "IL610", needs_timm),
    "cnn-zeroed-convs": (lambda: plain_cnn(True), images(16, 16), "IL611", None),
    "tanh-std1": (lambda: tanh_mlp(1.0), lambda: torch.randn(64, 128), "IL612", None),
    "unfilled-parameter": (unfilled_parameter, lambda: torch.randn(64, 64), "IL607", None),
    "meta-to-empty": (meta_built_mlp, lambda: torch.randn(64, 64), "IL607", None),
}


def _params(table: dict[str, tuple], expect: bool) -> list[Any]:
    out = []
    for name, entry in table.items():
        marker = entry[-1] if len(entry) == (4 if expect else 3) else None
        marks = [marker] if marker is not None else []
        out.append(pytest.param(name, marks=marks, id=name))
    return out


def run(factory: Callable[[], nn.Module], make_input: Callable[[], Any], **kw: Any) -> Any:
    torch.manual_seed(0)
    model = factory()
    return probe_model(model, input_fn=make_input, **kw)


def describe(result: Any) -> list[str]:
    return [f"{f.code} {f.layer}: {f.message}" for f in result.findings]


@pytest.mark.parametrize("name", _params(HEALTHY, expect=False))
def test_healthy_model_is_clean(name: str) -> None:
    factory, make_input = HEALTHY[name][:2]
    result = run(factory, make_input)
    assert result.findings == [], describe(result)


@pytest.mark.parametrize("name", _params(BUGS, expect=True))
def test_bug_is_detected(name: str) -> None:
    factory, make_input, code = BUGS[name][:3]
    result = run(factory, make_input)
    assert code in {f.code for f in result.findings}, describe(result)


# ---- the root causes of the zoo's false alarms, one by one (torch only) ----------------------
class MBConvSE(nn.Module):
    """EfficientNet/MobileNetV3-style: squeeze-excite after the activation (pooled positive features)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)
        self.bn = nn.BatchNorm2d(c)
        self.act = nn.ReLU()
        self.se = SqueezeExcite(c, c // 4)

    def forward(self, x: Any) -> Any:
        return x + self.se(self.act(self.bn(self.conv(x))))


def test_relu_inside_squeeze_excite_gates_is_not_dead_units() -> None:
    torch.manual_seed(1)  # with this seed 75% of the first gate's units are negative for all 8 images
    blocks = [MBConvSE(32) for _ in range(3)]
    model = nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), *blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10)
    )
    result = probe_model(model, input_fn=images(8, 16))
    assert result.findings == [], describe(result)
    gates = [r for r in result.rows if r.layer.endswith("se.relu")]
    assert len(gates) == 3 and all(r.dead_fraction is None for r in gates)
    # a ReLU on per-position features is still measured
    assert all(r.dead_fraction is not None for r in result.rows if r.layer.endswith(".act"))


def test_multihead_attention_out_proj_is_not_unused() -> None:
    torch.manual_seed(0)
    model = MHAClassifier()
    model.spare = nn.Linear(4, 4)  # never called: still unused
    result = probe_model(model, input_fn=ids(500, 16))
    rows = {r.layer: r for r in result.rows}
    assert "unused" not in rows["attn.out_proj"].flags and rows["attn.out_proj"].weight_grad_std
    assert "unused" in rows["spare"].flags


class TokenBlock(nn.Module):
    """A ConvNeXt block of torchvision: its own layer scale of shape (C, 1, 1) beside its children."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)
        self.layer_scale = nn.Parameter(torch.full((c, 1, 1), 1e-6))

    def forward(self, x: Any) -> Any:
        return x + self.layer_scale * self.conv(x)


class WithTokens(nn.Module):
    """A root module owning a cls token and position embeddings (ViT): not a weight layer."""

    def __init__(self, c: int = 16) -> None:
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c))
        self.pos = nn.Parameter(torch.zeros(1, 5, c))
        self.stem = nn.Conv2d(3, c, 4, stride=4)
        self.blocks = nn.Sequential(TokenBlock(c), TokenBlock(c))
        self.head = nn.Linear(c, 10)

    def forward(self, x: Any) -> Any:
        x = self.blocks(self.stem(x)).flatten(2).transpose(1, 2)[:, :4]
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos
        return self.head(x[:, 0] + x[:, 1:].mean(1))


def test_layer_scales_and_tokens_are_not_weight_matrices() -> None:
    torch.manual_seed(0)
    result = probe_model(WithTokens(), input_fn=images(8, 8))
    assert result.findings == [], describe(result)
    kinds = {r.layer: r.kind for r in result.rows}
    assert kinds["(model)"] == "other" and kinds["blocks.0"] == "other" and kinds["stem"] == "weight"


def test_zero_and_small_heads_are_deliberate() -> None:
    for std in (0.0, 0.001):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1000))
        nn.init.normal_(model[4].weight, std=std) if std else nn.init.zeros_(model[4].weight)
        nn.init.zeros_(model[4].bias)
        result = probe_model(model)
        assert result.findings == [], describe(result)
    # a vanished signal before the head is still reported
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    nn.init.normal_(model[0].weight, std=1e-4)
    for i in (0, 2):
        nn.init.zeros_(model[i].bias)
    assert "IL601" in {f.code for f in probe_model(model).findings}


def test_large_head_does_not_unbalance_gradients() -> None:
    """The old loss divided by sqrt(numel): a 1000-class head's gradient looked 30x smaller."""
    torch.manual_seed(0)
    body = [m for _ in range(4) for m in (nn.Linear(128, 128), nn.ReLU())]
    model = nn.Sequential(*body, nn.Linear(128, 1000))
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    result = probe_model(model)
    assert result.findings == [], describe(result)
    head = next(r for r in result.rows if r.layer == "8")
    first = next(r for r in result.rows if r.layer == "0")
    assert head.head and 0.1 < head.weight_grad_std / first.weight_grad_std < 10


def test_scheme_guesses_of_real_models() -> None:
    from initlint.probe.verdicts import guess_scheme

    assert guess_scheme(math.sqrt(2 / (256 * 9)), 0.0, 64 * 9, 256 * 9, 0.1) == "kaiming-fan-out"
    assert guess_scheme(0.02, 0.0, 8192, 8192, 0.1) == "normal(0.02)"
    assert guess_scheme(math.sqrt(2 / 512), 0.0, 512, 512, 0.1).split("/")[:2] == ["kaiming", "kaiming-fan-out"]


# ---- messages and one finding per cause ---------------------------------------------------
def test_residual_growth_is_told_to_scale_the_branches() -> None:
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(128, 128), nn.Linear(128, 128)
            for fc in (self.fc1, self.fc2):
                nn.init.kaiming_normal_(fc.weight, nonlinearity="relu")
                nn.init.zeros_(fc.bias)

        def forward(self, x: Any) -> Any:
            return x + self.fc2(torch.relu(self.fc1(x)))

    torch.manual_seed(0)
    model = nn.Sequential(*(Block() for _ in range(12)), nn.Linear(128, 10))
    finding = next(f for f in probe_model(model).findings if f.code == "IL602")
    assert "residual branch" in finding.suggestion and "kaiming" not in finding.suggestion


def test_dead_units_behind_a_negative_bias_name_the_bias() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    nn.init.constant_(model[0].bias, -2.0)
    finding = next(f for f in probe_model(model).findings if f.code == "IL604")
    assert "bias of `0`" in finding.cause and "bias of `0`" in finding.suggestion


def test_tanh_saturation_is_told_xavier() -> None:
    result = run(lambda: tanh_mlp(1.0), lambda: torch.randn(64, 128))
    assert [f.code for f in result.findings] == ["IL612"], describe(result)  # not also IL603
    assert "xavier" in result.findings[0].suggestion and "tanh" in result.findings[0].suggestion


class RootScale(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(32, 32)
        self.scale = nn.Parameter(torch.empty(32))
        with torch.no_grad():
            self.scale.copy_(torch.tensor([1e30, 1e-42] * 16))  # what torch.empty may hand back

    def forward(self, x: Any) -> Any:
        return self.fc(x) * self.scale


def test_unfilled_parameter_is_named_not_model() -> None:
    result = probe_model(RootScale())
    assert [(f.code, f.layer) for f in result.findings] == [("IL607", "scale")], describe(result)
    assert "`scale`" in result.findings[0].message


def test_meta_device_mistake_is_one_finding() -> None:
    result = run(meta_built_mlp, lambda: torch.randn(64, 64))
    assert [f.code for f in result.findings] == ["IL607"], describe(result)
    finding = result.findings[0]
    assert len(finding.extra["parameters"]) == 14 and "to_empty" in finding.cause


def test_zeroed_convs_are_one_finding_at_the_first_zero_layer() -> None:
    result = run(lambda: plain_cnn(True), images(16, 16))
    assert [(f.code, f.layer) for f in result.findings] == [("IL611", "0")], describe(result)
    assert result.findings[0].extra["zero_layers"] == ["0", "2", "4", "6"]
    # a zero-init last layer of a residual branch keeps the output input-dependent
    assert run(lora_mlp, lambda: torch.randn(64, 64)).findings == []


def test_meta_device_build_with_provenance_is_one_finding() -> None:
    """Built through the API (init provenance recorded): one IL620 for the to_empty() call, not one
    per parameter, and no measured finding on whatever the memory held."""
    from initlint.probe import probe

    def build() -> nn.Module:
        with torch.device("meta"):
            model = nn.Sequential(*(m for _ in range(6) for m in (nn.Linear(64, 64), nn.ReLU())), nn.Linear(64, 10))
        return model.to_empty(device="cpu")

    report = probe(build, torch.randn(16, 64), device="cpu")
    assert [f.code for f in report.findings] == ["IL620"], describe(report)
    assert len(report.findings[0].extra["parameters"]) == 14 and "14 parameters" in report.findings[0].message
