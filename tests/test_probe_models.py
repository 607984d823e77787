"""Standard architectures must come out of the probe clean: GPT-2 and BERT from small
transformers configs, and torch's own nn.Transformer."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from initlint.cli import main  # noqa: E402
from initlint.probe.api import probe_model  # noqa: E402

try:
    import transformers  # noqa: F401

    HAVE_TRANSFORMERS = True
except Exception:  # ImportError, or a broken optional dependency of transformers
    HAVE_TRANSFORMERS = False

needs_transformers = pytest.mark.skipif(not HAVE_TRANSFORMERS, reason="transformers is not installed")

FACTORIES = textwrap.dedent(
    """
    import torch
    from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel


    def gpt2():
        config = GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=1000, n_positions=128,
                            bos_token_id=0, eos_token_id=0)
        return GPT2LMHeadModel(config)


    def bert():
        config = BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=256,
                            vocab_size=1000, max_position_embeddings=128)
        return BertModel(config)


    def bert_inputs():
        ids = torch.randint(0, 1000, (64, 32))
        mask = torch.ones(64, 32, dtype=torch.long)
        mask[:, 24:] = 0  # padded tail
        return {"input_ids": ids, "attention_mask": mask}


    def transformer():
        return torch.nn.Transformer(d_model=32, nhead=4, num_encoder_layers=2, num_decoder_layers=2,
                                    dim_feedforward=64)


    def transformer_inputs():
        return (torch.randn(10, 64, 32), torch.randn(9, 64, 32))
    """
)


@pytest.fixture(scope="module")
def factories(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("models") / "factories.py"
    path.write_text(FACTORIES)
    return str(path)


def probe_json(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["probe", *args, "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.output)


@needs_transformers
def test_gpt2_is_clean(factories):
    code, data = probe_json(f"{factories}:gpt2")
    assert data["findings"] == [], data["findings"]
    assert code == 0
    assert data["input"] == "int64[64,32]"  # tokens below the vocabulary size, inferred
    judged = [row["layer"] for row in data["layers"] if row["judged"]]
    assert "transformer.h.0" in judged and "transformer.h.0.attn.c_attn" not in judged
    c_attn = next(row for row in data["layers"] if row["layer"] == "transformer.h.0.attn.c_attn")
    assert (c_attn["fan_in"], c_attn["fan_out"]) == (64, 192)  # Conv1D stores its weight transposed


@needs_transformers
def test_bert_is_clean(factories):
    code, data = probe_json(f"{factories}:bert", "--input-fn", f"{factories}:bert_inputs")
    assert data["findings"] == [], data["findings"]
    assert code == 0
    assert data["input"] == "input_ids=int64[64,32], attention_mask=int64[64,32]"


def test_nn_transformer_is_clean(factories):
    code, data = probe_json(f"{factories}:transformer", "--input-fn", f"{factories}:transformer_inputs")
    assert data["findings"] == [], data["findings"]
    assert code == 0


def test_nn_transformer_pre_norm_in_eval_is_clean():
    torch.manual_seed(0)
    model = torch.nn.Transformer(d_model=32, nhead=4, num_encoder_layers=3, num_decoder_layers=3,
                                 dim_feedforward=64, norm_first=True)  # fmt: skip
    result = probe_model(model, input_fn=lambda: (torch.randn(10, 16, 32), torch.randn(9, 16, 32)), mode="eval")
    assert result.findings == [], [f.message for f in result.findings]


@needs_transformers
def test_gpt2_with_a_broken_init_is_flagged(factories, tmp_path):
    init = tmp_path / "bad_init.py"
    init.write_text(
        "import torch.nn as nn\n"
        "def big(m):\n"
        "    if type(m).__name__ == 'Conv1D':\n"
        "        nn.init.normal_(m.weight, std=1.0)\n"
    )
    code, data = probe_json(f"{factories}:gpt2", "--init", f"{init}:big")
    assert code == 1
    assert "IL602" in {f["code"] for f in data["findings"]}


def test_probe_of_examples_resnet(root: Path):
    _, data = probe_json(f"{root / 'examples' / 'resnet_block.py'}:TinyResNet", "--batch", "8")
    assert not [f for f in data["findings"] if f["code"] in ("IL601", "IL602")], data["findings"]
