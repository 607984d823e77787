"""``--plot FILE.png``: activation and gradient std per layer along depth (matplotlib, optional).

Two panels sharing the layer axis: activations (relative to the input) with the IL601/IL602
zones, and output gradients (relative to the last layer's) on their own axis, so a gradient
curve is never read against the activation thresholds. Flagged layers are marked on both."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from initlint.probe.errors import ProbeError

if TYPE_CHECKING:
    from initlint.probe.api import ProbeResult

FLAG_COLOR = "tab:red"


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ProbeError("--plot needs matplotlib", hint="pip install initlint[plot]") from None
    return plt


def build_figure(result: ProbeResult) -> Any:
    """The figure (not saved): axes[0] activations with the zones, axes[1] gradients."""
    plt = _pyplot()
    rows = sorted((r for r in result.rows if r.out_std is not None), key=lambda r: r.finished)
    ref = result.reference_std or 1.0
    t = result.thresholds
    fig, (ax, gax) = plt.subplots(
        2, 1, sharex=True, figsize=(max(6.0, min(0.25 * len(rows), 24.0)), 6.5), height_ratios=(3, 2)
    )
    xs = list(range(len(rows)))
    act = [max(r.out_std, 1e-30) / ref for r in rows]
    ax.plot(xs, act, marker="o", ms=3, label="activation std / input std", gid="activation")
    judged = [(x, a) for x, a, r in zip(xs, act, rows, strict=True) if r.judged]
    if judged:
        ax.scatter(*zip(*judged, strict=True), s=18, color="black", zorder=3, label="judged (main path)", gid="judged")
    flagged = [(x, a, r) for x, a, r in zip(xs, act, rows, strict=True) if r.flags and r.flags != ["unused"]]
    if flagged:
        ax.scatter(
            [x for x, _, _ in flagged],
            [a for _, a, _ in flagged],
            s=60,
            marker="x",
            color=FLAG_COLOR,
            zorder=4,
            label="flagged",
            gid="flagged",
        )
        named: set[str] = set()
        for x, a, r in flagged:  # name each kind of flag where it first appears; more would cover the curve
            text = ",".join(r.flags)
            if text in named:
                continue
            named.add(text)
            ax.annotate(text, (x, a), fontsize=6, color=FLAG_COLOR, xytext=(3, 3), textcoords="offset points")
    ax.set_yscale("log")
    low, high = ax.get_ylim()
    ax.axhspan(min(low, t.vanishing_ratio / 10), t.vanishing_ratio, color="tab:blue", alpha=0.12, label="IL601 zone")
    ax.axhspan(t.exploding_ratio, max(high, t.exploding_ratio * 10), color="tab:red", alpha=0.12, label="IL602 zone")
    ax.set_ylabel("activation std (log)")
    ax.set_title(f"initlint probe: {result.model}")
    ax.legend(fontsize=7, loc="best")

    grads = [(x, r.out_grad_std, r) for x, r in zip(xs, rows, strict=True) if r.out_grad_std]
    if grads:
        scale = grads[-1][1] or 1.0
        gx = [x for x, _, _ in grads]
        gy = [g / scale for _, g, _ in grads]
        label = "output-gradient std / last layer's"
        gax.plot(gx, gy, marker=".", ms=3, color="tab:green", label=label, gid="gradient")
        marked = [(x, g / scale) for x, g, r in grads if r.flags and r.flags != ["unused"]]
        if marked:
            points = list(zip(*marked, strict=True))
            gax.scatter(*points, s=40, marker="x", color=FLAG_COLOR, zorder=4, gid="flagged-gradient")
        gax.set_yscale("log")
        gax.legend(fontsize=7, loc="best")
    gax.set_ylabel("gradient std (log)")
    gax.set_xlabel("layer (execution order)")
    step = max(1, len(rows) // 30)
    gax.set_xticks(xs[::step], [rows[i].layer for i in xs[::step]], rotation=90, fontsize=6)
    for label, r in zip(gax.get_xticklabels(), rows[::step], strict=False):
        if r.flags and r.flags != ["unused"]:
            label.set_color(FLAG_COLOR)
    fig.tight_layout()
    return fig


def write_plot(result: ProbeResult, path: Path) -> None:
    plt = _pyplot()
    fig = build_figure(result)
    try:
        fig.savefig(path, dpi=110)
    except OSError as exc:
        raise ProbeError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        plt.close(fig)
