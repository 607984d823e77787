"""``--plot FILE.png``: activation and gradient std per layer along depth (matplotlib, optional)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from initlint.probe.errors import ProbeError

if TYPE_CHECKING:
    from initlint.probe.api import ProbeResult


def write_plot(result: ProbeResult, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ProbeError("--plot needs matplotlib", hint="pip install initlint[plot]") from None
    rows = sorted((r for r in result.rows if r.out_std is not None), key=lambda r: r.finished)
    ref = result.reference_std or 1.0
    t = result.thresholds
    fig, ax = plt.subplots(figsize=(max(6.0, min(0.25 * len(rows), 24.0)), 4.5))
    xs = list(range(len(rows)))
    act = [max(r.out_std, 1e-30) / ref for r in rows]
    ax.plot(xs, act, marker="o", ms=3, label="activation std / input std")
    judged = [(x, a) for x, a, r in zip(xs, act, rows, strict=True) if r.judged]
    if judged:
        ax.scatter(*zip(*judged, strict=True), s=18, color="black", zorder=3, label="judged (main path)")
    grads = [(x, r.out_grad_std) for x, r in zip(xs, rows, strict=True) if r.out_grad_std]
    if grads:
        gx, gy = zip(*grads, strict=True)
        scale = gy[-1] or 1.0
        ax.plot(gx, [g / scale for g in gy], marker=".", ms=3, label="output-gradient std (relative to the last)")
    ax.set_yscale("log")
    low, high = ax.get_ylim()
    ax.axhspan(min(low, t.vanishing_ratio / 10), t.vanishing_ratio, color="tab:blue", alpha=0.12, label="IL601 zone")
    ax.axhspan(t.exploding_ratio, max(high, t.exploding_ratio * 10), color="tab:red", alpha=0.12, label="IL602 zone")
    ax.set_xlabel("layer (execution order)")
    ax.set_ylabel("std (log)")
    ax.set_title(f"initlint probe: {result.model}")
    step = max(1, len(rows) // 30)
    ax.set_xticks(xs[::step], [rows[i].layer for i in xs[::step]], rotation=90, fontsize=6)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=110)
    except OSError as exc:
        raise ProbeError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        plt.close(fig)
