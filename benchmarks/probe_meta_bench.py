"""``initlint probe --meta`` on a Llama config too large for memory (a benchmark, not a test):
``python benchmarks/probe_meta_bench.py [--size 8b|70b|tiny]``.

Runs ``initlint probe factory.py:build --meta --format json`` in a fresh process and reports its
wall time and peak RSS next to the model's size and its largest module, side by side. transformers
must be installed (built from a config: no download). The default is the 8B shape (hidden 4096,
intermediate 14336, 32 layers, vocabulary 128256; 8.0B parameters, 30 GiB in float32); ``70b`` is
Llama-3-70B's shape (hidden 8192, intermediate 28672, 80 layers; 70.6B parameters, 263 GiB).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

SIZES = {
    "tiny": {"hidden_size": 256, "intermediate_size": 1024, "num_hidden_layers": 4, "num_attention_heads": 8,
             "num_key_value_heads": 2, "vocab_size": 32000},
    "8b": {"hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
           "num_key_value_heads": 8, "vocab_size": 128256},
    "70b": {"hidden_size": 8192, "intermediate_size": 28672, "num_hidden_layers": 80, "num_attention_heads": 64,
            "num_key_value_heads": 8, "vocab_size": 128256},
}  # fmt: skip

FACTORY = textwrap.dedent(
    """
    import torch

    try:  # torchvision's C ops are missing on a CPU-only torch; transformers imports torchvision
        torch.ops.torchvision.nms
    except (AttributeError, RuntimeError):
        _lib = torch.library.Library("torchvision", "DEF")
        _lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    from transformers import LlamaConfig, LlamaForCausalLM

    CONFIG = {config}


    def build():
        return LlamaForCausalLM(LlamaConfig(**CONFIG))
    """
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="8b")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--layers", type=int, help="override the number of decoder layers (same module shapes, so the same peak)"
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        factory = Path(tmp) / "factory.py"
        config = dict(SIZES[options.size])
        if options.layers:
            config["num_hidden_layers"] = options.layers
        factory.write_text(FACTORY.format(config=repr(config)))
        command = [sys.executable, "-m", "initlint", "probe", f"{factory}:build", "--meta", "--format", "json",
                   "--fail-on", "never"]  # fmt: skip
        start = time.perf_counter()
        out = subprocess.run(command, capture_output=True, text=True)
        wall = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"failed ({out.returncode}):\n{out.stderr[-3000:]}")
    peak_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # Linux: KiB
    data = json.loads(out.stdout)
    meta = data["meta"]
    gib = 2**30
    figures = {
        "size": options.size,
        "wall_s": wall,
        "peak_rss_bytes": peak_rss,
        "model_bytes": meta["materialized_bytes_total"],
        "largest_module": meta["largest_module"],
        "largest_module_bytes": meta["largest_module_bytes"],
        "modules": meta["modules"],
        "findings": [f["code"] for f in data["findings"]],
    }
    layers = f" ({options.layers} layers)" if options.layers else ""
    print(
        f"Llama {options.size}{layers}: {meta['materialized_bytes_total'] / gib:.1f} GiB of weights in "
        f"{meta['modules']} "
        f"modules; largest `{meta['largest_module']}` {meta['largest_module_bytes'] / gib:.2f} GiB; "
        f"peak RSS {peak_rss / gib:.2f} GiB ({peak_rss / meta['largest_module_bytes']:.2f}x the largest module, "
        f"{peak_rss / meta['materialized_bytes_total']:.3f}x the model); wall {wall:.0f} s; "
        f"findings {figures['findings'] or 'none'}"
    )
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
