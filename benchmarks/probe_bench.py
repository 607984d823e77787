"""The probe's cost (a benchmark, not a test): ``python benchmarks/probe_bench.py``.

Measures, side by side in one run, on a 4-layer GPT-2 built from a config
(``GPT2LMHeadModel(GPT2Config(n_layer=4, n_embd=256, n_head=8))``, GPT-2's 50257-token
vocabulary, a batch of 8 x 128 tokens):

1. end to end: ``initlint probe factory.py:build --input-fn factory.py:tokens`` against a bare
   script that imports torch and transformers, builds the same model and runs one forward and
   one backward pass (both fresh processes; the median of ``--repeat`` runs). Target: <= 1.5x.
2. in process, the model already built: ``probe_model`` against a bare forward + backward.
3. in process, build included: ``initlint.probe.probe(build, ...)`` (records init provenance while it
   builds) against a bare build + forward + backward; and a recorded build against a plain one.
   Target: <= 1.3x.

Options: ``--repeat N`` (default 3), ``--device cpu|cuda``, ``--json FILE``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

FACTORY = textwrap.dedent(
    """
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel


    def build():
        return GPT2LMHeadModel(GPT2Config(n_layer=4, n_embd=256, n_head=8, bos_token_id=0, eos_token_id=0))


    def tokens():
        return (torch.randint(0, 50257, (8, 128)),)
    """
)

BARE = textwrap.dedent(
    """
    import math
    import sys

    import torch

    sys.path.insert(0, sys.argv[1])
    from factory import build, tokens

    torch.manual_seed(0)
    device = torch.device(sys.argv[2])
    model = build().to(device)
    (ids,) = tokens()
    logits = model(ids.to(device)).logits
    direction = torch.randn(logits.shape, device=device)
    loss = (logits * direction).sum() / math.sqrt(logits.numel())
    loss.backward()
    print(float(loss))
    """
)


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if out.returncode not in (0, 1):
        raise SystemExit(f"failed ({out.returncode}): {' '.join(command)}\n{out.stderr[-2000:]}")
    return elapsed


def end_to_end(folder: Path, device: str, repeat: int) -> dict[str, float]:
    factory = folder / "factory.py"
    bare = folder / "bare.py"
    probe = [
        sys.executable, "-m", "initlint", "probe", f"{factory}:build", "--input-fn", f"{factory}:tokens",
        "--device", device, "--fail-on", "never", "--format", "json",
    ]  # fmt: skip
    baseline = [sys.executable, str(bare), str(folder), device]
    timed(baseline)  # warm the file system cache for both
    probe_times, bare_times = [], []
    for _ in range(repeat):  # interleaved, so that drift hits both alike
        bare_times.append(timed(baseline))
        probe_times.append(timed(probe))
    p, b = statistics.median(probe_times), statistics.median(bare_times)
    return {"probe_s": p, "bare_s": b, "ratio": p / b}


def in_process(folder: Path, device: str, repeat: int) -> dict[str, float]:
    import math

    import torch

    sys.path.insert(0, str(folder))
    from factory import build, tokens  # type: ignore[import-not-found]

    from initlint.probe.api import probe_model
    from initlint.probe.inputs import from_value

    torch.manual_seed(0)
    model = build().to(device)
    (ids,) = tokens()

    def bare() -> None:
        logits = model(ids.to(device)).logits
        direction = torch.randn(logits.shape, device=device)
        loss = (logits * direction).sum() / math.sqrt(logits.numel())
        loss.backward()
        model.zero_grad(set_to_none=True)
        if device != "cpu":
            torch.cuda.synchronize()

    def probe() -> None:
        probe_model(model, from_value((ids,), "tokens"), device=device)

    bare()
    probe()  # warm-up
    bare_times, probe_times = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        bare()
        bare_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        probe()
        probe_times.append(time.perf_counter() - start)
    p, b = statistics.median(probe_times), statistics.median(bare_times)
    return {"probe_s": p, "bare_s": b, "ratio": p / b}


def with_build(folder: Path, device: str, repeat: int) -> dict[str, float]:
    """Build included, in process: a bare build+forward+backward against the probe API given the
    factory, which records init provenance while it builds (IL620-IL624); and the recorded build
    alone against a plain build."""
    import math

    import torch

    sys.path.insert(0, str(folder))
    from factory import build, tokens  # type: ignore[import-not-found]

    from initlint.probe import probe
    from initlint.probe.provenance import recording

    (ids,) = tokens()

    def bare() -> None:
        torch.manual_seed(0)
        model = build().to(device)
        logits = model(ids.to(device)).logits
        direction = torch.randn(logits.shape, device=device)
        loss = (logits * direction).sum() / math.sqrt(logits.numel())
        loss.backward()
        if device != "cpu":
            torch.cuda.synchronize()

    def probed() -> None:
        probe(build, (ids,), device=device)

    def plain_build() -> None:
        torch.manual_seed(0)
        build()

    def recorded_build() -> None:
        torch.manual_seed(0)
        with recording() as recorder:
            model = build()
        recorder.finish(model)

    times: dict[str, list[float]] = {"bare": [], "probe": [], "build": [], "recorded": []}
    bare()
    probed()  # warm-up
    for _ in range(repeat):  # interleaved, so that drift hits all alike
        for key, fn in (("bare", bare), ("probe", probed), ("build", plain_build), ("recorded", recorded_build)):
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    m = {k: statistics.median(v) for k, v in times.items()}
    return {
        "probe_s": m["probe"], "bare_s": m["bare"], "ratio": m["probe"] / m["bare"],
        "build_s": m["build"], "recorded_build_s": m["recorded"], "recording_ratio": m["recorded"] / m["build"],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "factory.py").write_text(FACTORY)
        (folder / "bare.py").write_text(BARE)
        e2e = end_to_end(folder, options.device, options.repeat)
        steady = in_process(folder, options.device, options.repeat)
        built = with_build(folder, options.device, options.repeat)
    print(f"GPT-2 (4 layers, n_embd 256, vocab 50257), tokens 8x128, device {options.device}")
    print(
        f"end to end:  initlint probe {e2e['probe_s']:.2f}s   bare build+forward+backward {e2e['bare_s']:.2f}s   "
        f"ratio {e2e['ratio']:.2f}x (target <= 1.5x)"
    )
    print(
        f"in process:  probe_model {steady['probe_s'] * 1000:.0f}ms   bare forward+backward "
        f"{steady['bare_s'] * 1000:.0f}ms   ratio {steady['ratio']:.2f}x"
    )
    print(
        f"with build:  probe(factory) with provenance {built['probe_s']:.2f}s   bare build+forward+backward "
        f"{built['bare_s']:.2f}s   ratio {built['ratio']:.2f}x (target <= 1.3x); recorded build "
        f"{built['recorded_build_s']:.2f}s vs plain build {built['build_s']:.2f}s ({built['recording_ratio']:.2f}x)"
    )
    if options.json:
        options.json.write_text(json.dumps({"end_to_end": e2e, "in_process": steady, "with_build": built}, indent=2))


if __name__ == "__main__":
    main()
