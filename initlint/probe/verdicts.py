"""From measured numbers to rows and findings (host side only, no torch needed)."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from initlint.probe.measure import (
    A_BATCH_SPREAD,
    A_DEAD,
    A_IN_STD,
    A_MEAN,
    A_NONFINITE,
    A_SATURATED,
    A_STD,
    P_BIAS_MEAN,
    P_DENORMAL,
    P_LARGEST,
    P_MEAN,
    P_NONFINITE,
    P_STD,
    P_SYMMETRIC,
    CallRecord,
    Measurement,
)  # fmt: skip
from initlint.probe.thresholds import Thresholds

SCHEMES = ("default", "kaiming", "xavier", "lecun", "kaiming-fan-out", "normal(0.02)")
# Query/key projections: at init their gradient passes through a near-uniform softmax and is tiny
# by design, so IL603 compares the first and last of the other weight layers.
_QUERY_KEY = re.compile(r"^(q|k|query|key|q_proj|k_proj|to_q|to_k|wq|wk|q_lin|k_lin|query_proj|key_proj)$")


def expected_stds(fan_in: int, fan_out: int) -> dict[str, float]:
    """The weight std each known scheme gives at this fan."""
    return {
        "default": math.sqrt(1.0 / (3 * fan_in)),  # kaiming_uniform_(a=sqrt(5)): nn.Linear/ConvNd default
        "kaiming": math.sqrt(2.0 / fan_in),  # kaiming_*(nonlinearity="relu")
        "xavier": math.sqrt(2.0 / (fan_in + fan_out)),
        "lecun": math.sqrt(1.0 / fan_in),
        "kaiming-fan-out": math.sqrt(2.0 / fan_out),  # kaiming_*(mode="fan_out"): torchvision's CNNs
        "normal(0.02)": 0.02,  # normal_/trunc_normal_(std=0.02): GPT-2, BERT, ViT
    }


def guess_scheme(std: float, mean: float, fan_in: int | None, fan_out: int | None, tolerance: float) -> str:
    if not math.isfinite(std):
        return "non-finite"
    if std == 0:
        return "zeros" if mean == 0 else "constant"
    if fan_in is None or fan_out is None or fan_in == 0:
        return "custom"
    matches = [name for name, e in expected_stds(fan_in, fan_out).items() if abs(std - e) <= tolerance * e]
    return "/".join(matches) if matches else "custom"


@dataclass
class Row:
    layer: str
    type: str
    kind: str
    shape: tuple[int, ...]
    order: int
    finished: int
    judged: bool = False
    normalized: bool = False
    fan_in: int | None = None
    fan_out: int | None = None
    weight_mean: float | None = None
    weight_std: float | None = None
    expected_std: dict[str, float] = field(default_factory=dict)
    init_guess: str | None = None
    in_std: float | None = None
    out_mean: float | None = None
    out_std: float | None = None
    gain: float | None = None
    cumulative_gain: float | None = None
    dead_fraction: float | None = None
    weight_grad_std: float | None = None
    out_grad_std: float | None = None
    nonfinite: int = 0
    flags: list[str] = field(default_factory=list)
    relu_family: bool = False
    symmetric: bool = False
    head: bool = False  # the last weight layer to run: the model's output layer
    saturated: float | None = None  # fraction of a tanh/sigmoid's outputs in its flat tails
    batch_spread: float | None = None  # 0: every sample gets the same output
    bias_mean: float | None = None
    positions: int = 1  # output values per unit (batch x positions) its weight gradient sums over
    param_nonfinite: int = 0
    param_largest: float = 0.0
    param_denormal: int = 0
    grad_nonfinite: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = {
            k: v
            for k, v in self.__dict__.items()
            if k
            not in ("relu_family", "symmetric", "finished", "order", "normalized", "batch_spread", "head", "positions")
        }
        data["shape"] = list(self.shape)
        data["normalized_after"] = self.normalized
        return {k: _json_number(v) for k, v in data.items()}


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _json_number(v) for k, v in value.items()}
    return value


@dataclass
class RuntimeFinding:
    code: str
    name: str
    severity: str
    message: str
    layer: str
    value: float | None = None
    threshold: float | None = None
    cause: str = ""
    suggestion: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "message": self.message,
            "layer": self.layer,
            "value": self.value,
            "threshold": self.threshold,
            "cause": self.cause,
            "suggestion": self.suggestion,
            **self.extra,
        }
        return {k: _json_number(v) for k, v in data.items()}


def _num(value: float) -> float | None:
    return None if value is None or math.isnan(value) else value


def build_rows(m: Measurement, t: Thresholds) -> tuple[list[Row], float]:
    """One row per module call (pre-order), plus parametric layers that never ran; and the
    reference std (the input's, or the first embedding's output for token inputs)."""
    rows: list[Row] = []
    seen_layers: set[int] = set()
    for record, act, grad in zip(m.calls, m.activation, m.out_grad, strict=True):
        info = record.layer
        name = info.name if record.call == 0 else f"{info.name}#{record.call + 1}"
        row = Row(name, info.type, info.kind, info.shape, record.order, record.finished)
        row.relu_family = info.relu_family
        row.normalized = record.normalized
        if record.float_out:
            row.in_std = _num(act[A_IN_STD])
            row.out_mean = _num(act[A_MEAN])
            row.out_std = act[A_STD] if not math.isnan(act[A_STD]) else None
            row.nonfinite = int(act[A_NONFINITE]) if math.isfinite(act[A_NONFINITE]) else 0
            row.dead_fraction = _num(act[A_DEAD])
            row.out_grad_std = _num(grad[0])
            row.grad_nonfinite = int(grad[1]) if math.isfinite(grad[1]) else 0
            row.saturated = _num(act[A_SATURATED])
            row.batch_spread = _num(act[A_BATCH_SPREAD])
            if row.in_std and row.out_std is not None:
                row.gain = row.out_std / row.in_std
        row.positions = record.positions
        if id(info) not in seen_layers:
            seen_layers.add(id(info))
            _param_columns(row, record, m, t)
        rows.append(row)
    for info in m.layers:  # parametric layers the forward pass never called
        if id(info) not in seen_layers and info.param_row is not None:
            row = Row(info.name, info.type, info.kind, info.shape, len(rows) + 10**6, 10**9)
            _param_columns(row, CallRecord(info, 0, row.order), m, t)
            # a layer whose weights got a gradient ran, called through its parent (MultiheadAttention
            # passes out_proj.weight to F.linear): only a layer with no gradient is unused
            if row.weight_grad_std is None:
                row.flags.append("unused")
            rows.append(row)
    reference = m.input_std if m.input_std and math.isfinite(m.input_std) and m.input_std > 0 else None
    if reference is None:
        ran = sorted((r for r in rows if r.out_std and math.isfinite(r.out_std)), key=lambda r: r.finished)
        embeddings = [r for r in ran if r.kind == "embedding"]
        reference = (embeddings or ran)[0].out_std if ran else 1.0
    ran_weights = [r for r in rows if r.kind == "weight" and r.finished < 10**9 and r.out_std is not None]
    if ran_weights:
        max(ran_weights, key=lambda r: r.finished).head = True
    for row in rows:
        if row.out_std is not None and reference:
            row.cumulative_gain = row.out_std / reference
        row.judged = (
            (row.kind == "activation" or _is_trunk(row, m))
            and row.kind not in ("norm", "embedding")
            and not row.normalized
            and row.out_std is not None
        )
    return rows, reference or 1.0


def _is_trunk(row: Row, m: Measurement) -> bool:
    base = row.layer.split("#", 1)[0]
    return any(info.trunk for info in m.layers if info.name == base)


def _param_columns(row: Row, record: CallRecord, m: Measurement, t: Thresholds) -> None:
    info = record.layer
    if info.param_row is None:
        return
    p = m.params[info.param_row]
    g = m.weight_grad[info.param_row]
    row.weight_mean, row.weight_std = _num(p[P_MEAN]), p[P_STD]
    row.fan_in, row.fan_out = info.fan_in, info.fan_out
    row.param_nonfinite, row.param_largest, row.param_denormal = int(p[P_NONFINITE]), p[P_LARGEST], int(p[P_DENORMAL])
    row.symmetric = p[P_SYMMETRIC] > 0
    row.bias_mean = _num(p[P_BIAS_MEAN])
    row.weight_grad_std = _num(g[0]) if info.has_grad else None
    row.grad_nonfinite += int(g[1]) if math.isfinite(g[1]) else 0
    if info.kind == "weight" and info.fan_in and info.fan_out:
        row.expected_std = expected_stds(info.fan_in, info.fan_out)
        row.init_guess = guess_scheme(p[P_STD], p[P_MEAN], info.fan_in, info.fan_out, t.scheme_tolerance)
    elif info.kind in ("weight", "embedding", "other"):
        row.init_guess = guess_scheme(p[P_STD], p[P_MEAN], None, None, t.scheme_tolerance)


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3g}"


RULE_INFO = {
    "IL601": ("activation-vanishing", "error"),
    "IL602": ("activation-exploding", "error"),
    "IL603": ("gradient-imbalance", "warning"),
    "IL604": ("dead-units", "warning"),
    "IL605": ("symmetric-weights", "error"),
    "IL606": ("non-finite", "error"),
    "IL607": ("uninitialized-memory", "error"),
    "IL608": ("output-scale", "warning"),
    "IL609": ("selu-drift", "warning"),
    "IL610": ("weight-scale-under-norm", "warning"),
    "IL611": ("input-independent-output", "error"),
    "IL612": ("saturated-activations", "warning"),
}
MEASURED_CODES = frozenset(RULE_INFO)
# Scheme guesses that are a fan-dependent init (the weight scale follows the layer's width).
_FAN_SCHEMES = ("default", "kaiming", "xavier", "lecun", "kaiming-fan-out")
_BATCH_CONSTANT = 1e-6  # relative spread below which two samples' outputs count as identical


def _finding(code: str, message: str, layer: str, **kw: Any) -> RuntimeFinding:
    name, severity = RULE_INFO[code]
    return RuntimeFinding(code, name, severity, message, layer, **kw)


def _weights_before(rows: list[Row], row: Row) -> str:
    guesses = Counter(r.init_guess for r in rows if r.kind == "weight" and r.init_guess and r.finished <= row.finished)
    if not guesses:
        return "no weight layer before it"
    (guess, count), total = guesses.most_common(1)[0], sum(guesses.values())
    return f"{count} of the {total} weight layers before it look like `{guess}` init"


def _scheme_fraction(rows: list[Row], row: Row) -> float:
    """The fraction of weight layers before ``row`` whose std matches a fan-dependent scheme."""
    guesses = [r.init_guess for r in rows if r.kind == "weight" and r.init_guess and r.finished <= row.finished]
    if not guesses:
        return 0.0
    return sum(1 for g in guesses if any(s in g.split("/") for s in _FAN_SCHEMES)) / len(guesses)


def _activations_before(rows: list[Row], row: Row) -> str | None:
    """The most common activation type that ran before ``row`` (None without any)."""
    kinds = Counter(r.type for r in rows if r.kind == "activation" and r.finished <= row.finished)
    return kinds.most_common(1)[0][0] if kinds else None


def _init_for(activation: str | None) -> str:
    """The init that keeps the signal's scale under this activation."""
    name = (activation or "").lower()
    if "tanh" in name:
        return "xavier_normal_(w, gain=nn.init.calculate_gain('tanh')) before tanh"
    if "sigmoid" in name:
        return "xavier_normal_(w) (gain 1) before sigmoid"
    if "selu" in name:
        return "LeCun normal, kaiming_normal_(w, nonlinearity='linear'), before SELU"
    if "relu" in name or "leaky" in name:
        return "kaiming_normal_(w, nonlinearity='relu') before ReLU-family activations"
    if name:
        return f"an init with the gain of {activation} (kaiming for ReLU-like, xavier for tanh/sigmoid)"
    return "kaiming_normal_ for ReLU layers, xavier_ for tanh/linear layers"


def _is_residual_growth(rows: list[Row], row: Row) -> bool:
    """Explosion reached through blocks whose weights already follow a fan-scaled scheme: the
    residual additions, not the per-layer gain, make the signal grow."""
    return row.kind == "block" and _scheme_fraction(rows, row) >= 0.75


def judge(rows: list[Row], m: Measurement, t: Thresholds, reference: float, codes: set[str]) -> list[RuntimeFinding]:
    findings: list[RuntimeFinding] = []
    by_end = sorted(rows, key=lambda r: r.finished)
    by_order = sorted(rows, key=lambda r: r.order)
    weight_rows = [r for r in by_order if r.kind == "weight" and r.finished < 10**9]
    head = next((r for r in weight_rows if r.head), None)

    # ---- raw memory first: when parameters hold garbage every other statistic is its symptom
    raw = _raw_parameters(m, t)
    if raw and "IL607" in codes:
        findings.append(_uninitialized(rows, raw, m, t))
        for r in rows:
            if r.param_largest > t.huge_value or r.param_denormal or r.param_nonfinite:
                r.flags.append("raw-memory")
        return findings

    # ---- the model ignores its input: zeroed weights upstream (one finding for the cause)
    constant = _input_independent(rows, weight_rows, head, m) if "IL611" in codes else None
    if constant is not None:
        findings.append(constant)

    # ---- SELU self-normalization
    selu = _selu_drift(by_end, t) if "IL609" in codes else None
    if selu is not None:
        findings.append(selu)

    judged = [r for r in by_end if r.judged and r.cumulative_gain is not None]
    # A deliberately zero or small output head (ViT/Mixer zero head, normal_(0, 0.01)) does not
    # make the network's signal vanish: the head is judged only when its input already vanished.
    # A head drawn like the hidden layers (the same init guess) is part of the chain and judged.
    if head is not None and head.in_std is not None and reference and head.in_std / reference >= t.vanishing_ratio:
        hidden = Counter(r.init_guess for r in weight_rows if r is not head and r.init_guess)
        usual = hidden.most_common(1)[0][0] if hidden else None
        if head.weight_std == 0 or head.init_guess != usual:
            judged = [r for r in judged if r is not head]
    symptoms = constant is not None or selu is not None  # the root cause is already reported

    vanishing = [r for r in judged if math.isfinite(r.cumulative_gain) and r.cumulative_gain < t.vanishing_ratio]
    if vanishing and "IL601" in codes and not symptoms:
        first, worst = vanishing[0], min(vanishing, key=lambda r: r.cumulative_gain)
        for r in vanishing:
            r.flags.append("vanishing")
        findings.append(
            _finding(
                "IL601",
                f"activations vanish: `{first.layer}` output std {_fmt(first.out_std)} is "
                f"{_fmt(first.cumulative_gain)}x "
                f"the input's {_fmt(reference)} (threshold {t.vanishing_ratio:g}x); {len(vanishing)} judged layer(s) "
                f"below, down to {_fmt(worst.cumulative_gain)}x at `{worst.layer}`",
                first.layer,
                value=first.cumulative_gain,
                threshold=t.vanishing_ratio,
                cause=f"the init's gain is too small for what follows ({_weights_before(rows, first)})",
                suggestion=f"use {_init_for(_activations_before(rows, first))}, or add normalization",
                extra={"out_std": first.out_std, "reference_std": reference, "layers_below": len(vanishing)},
            )
        )
    exploding = [r for r in judged if r.cumulative_gain > t.exploding_ratio]
    if exploding and "IL602" in codes and not symptoms:
        first = exploding[0]
        worst = max(exploding, key=lambda r: r.cumulative_gain)
        for r in exploding:
            r.flags.append("exploding")
        if _is_residual_growth(rows, first):
            cause = (
                f"each residual addition adds the branch's variance to the stream ({_weights_before(rows, first)}: "
                "the per-layer init is fan-scaled already)"
            )
            suggestion = (
                "zero-init or scale down the last layer of each residual branch (zero_init_last / SkipInit / "
                "Fixup, or std / sqrt(2 * n_blocks) as GPT-2 does), or put a norm in each block"
            )
        else:
            cause = f"the weights are too large for their fan-in ({_weights_before(rows, first)})"
            suggestion = (
                f"scale the init to the fan-in: {_init_for(_activations_before(rows, first))}, instead of a fixed "
                "std such as normal_(std=1)"
            )
        findings.append(
            _finding(
                "IL602",
                f"activations explode: `{first.layer}` output std {_fmt(first.out_std)} is "
                f"{_fmt(first.cumulative_gain)}x "
                f"the input's {_fmt(reference)} (threshold {t.exploding_ratio:g}x); {len(exploding)} judged layer(s) "
                f"above, up to {_fmt(worst.cumulative_gain)}x at `{worst.layer}`",
                first.layer,
                value=first.cumulative_gain,
                threshold=t.exploding_ratio,
                cause=cause,
                suggestion=suggestion,
                extra={"out_std": first.out_std, "reference_std": reference, "layers_above": len(exploding)},
            )
        )

    # IL603: first and last hidden weight layers. The output head is left out (its gradient is
    # that of the loss directly and says nothing about depth), and so are layers inside a branch
    # scaled by a near-zero layer scale (ConvNeXt, CaiT: small by design, like a zero-init branch).
    # A weight's gradient sums over every output value it made (batch x positions), so layers are
    # compared only with layers of the same geometry: in a CNN the stage with the most weight
    # layers (a stem at 32x32 and a last conv at 2x2 differ by 100x-1000x for that alone).
    gated = _layer_scaled_prefixes(rows)
    weights = [
        r
        for r in by_order
        if r.kind == "weight"
        and not r.head
        and r.weight_grad_std is not None
        and r.weight_grad_std > 0
        and "#" not in r.layer
        and not _QUERY_KEY.match(r.layer.rsplit(".", 1)[-1])
        and not any(r.layer.startswith(prefix) for prefix in gated)
    ]
    if weights:
        geometry = Counter(r.positions for r in weights).most_common(1)[0][0]
        weights = [r for r in weights if r.positions == geometry]
    # saturated tanh/sigmoid layers are the cause of their own gradient collapse: reported once, as IL612
    saturated = [
        r for r in by_end if r.saturated is not None and r.saturated > t.saturated_fraction and not r.nonfinite
    ]
    if len(weights) >= 2 and "IL603" in codes and constant is None and not ("IL612" in codes and saturated):
        first, last = weights[0], weights[-1]
        g_first, g_last = first.weight_grad_std, last.weight_grad_std
        if math.isfinite(g_first) and math.isfinite(g_last):
            ratio = max(g_first, g_last) / min(g_first, g_last)
            if ratio > t.gradient_ratio:
                smaller = first if g_first < g_last else last
                first.flags.append("grad-imbalance")
                last.flags.append("grad-imbalance")
                activation = _activations_before(rows, last)
                suggestion = f"use {_init_for(activation)}, or add normalization/residual connections"
                if activation and "sigmoid" in activation.lower():
                    suggestion = (
                        "sigmoid's derivative is at most 1/4, so the gradient shrinks at least 4x per layer "
                        "whatever the init: use tanh or a ReLU-family activation in hidden layers, or add "
                        "normalization/residual connections"
                    )
                findings.append(
                    _finding(
                        "IL603",
                        f"weight gradients differ by {ratio:.3g}x between the first layer `{first.layer}` "
                        f"({_fmt(g_first)}) and the last hidden layer `{last.layer}` ({_fmt(g_last)}) "
                        f"(threshold {t.gradient_ratio:g}x)",
                        smaller.layer,
                        value=ratio,
                        threshold=t.gradient_ratio,
                        cause="the per-layer gain is not 1, so the backward signal shrinks or grows with depth",
                        suggestion=suggestion,
                        extra={"first_layer": first.layer, "last_layer": last.layer},
                    )
                )

    if "IL604" in codes and constant is None:
        dead = [
            r
            for r in by_end
            if r.relu_family and r.dead_fraction is not None and r.dead_fraction > t.dead_fraction and not r.nonfinite
        ]
        for r in dead:
            r.flags.append("dead")
        if dead:
            findings.append(_dead_units(dead, by_end, t))

    if "IL605" in codes:
        last_weight = weight_rows[-1].layer if weight_rows else None
        symmetric = [r for r in weight_rows if r.symmetric and r.layer != last_weight]
        for r in symmetric:
            r.flags.append("symmetric")
        if symmetric:
            first = symmetric[0]
            more = f"; {len(symmetric) - 1} more hidden layer(s) like it" if len(symmetric) > 1 else ""
            findings.append(
                _finding(
                    "IL605",
                    f"every output unit of `{first.layer}` has the same weights (std {_fmt(first.weight_std)}): "
                    f"they compute the same value and receive the same gradient{more}",
                    first.layer,
                    value=first.weight_std,
                    threshold=0.0,
                    cause="a constant init (constant_, fill_, ones_) of a hidden weight matrix",
                    suggestion="initialize hidden weights randomly (kaiming_normal_/xavier_normal_); "
                    "only biases and norm weights are meant to be constant",
                    extra={"layers": [r.layer for r in symmetric]},
                )
            )

    if "IL606" in codes:
        for r in rows:
            if r.param_nonfinite:
                findings.append(_nonfinite(r.layer, "parameters", r.param_nonfinite, "a parameter filled with NaN/Inf"))
        # a NaN parameter makes every activation after it NaN: one cause, reported at the parameter
        first_act = next((r for r in by_end if r.nonfinite), None) if not findings_nonfinite(findings) else None
        if first_act is not None:
            first_act.flags.append("non-finite")
            findings.append(
                _nonfinite(
                    first_act.layer,
                    "the output",
                    first_act.nonfinite,
                    "an overflow (exploding activations, float16 range) or NaN parameters",
                )
            )
        param_nan = findings_nonfinite(findings)
        first_grad = next((r for r in by_end if r.grad_nonfinite), None) if not param_nan else None
        if first_grad is not None and first_act is None:
            findings.append(
                _nonfinite(first_grad.layer, "the gradients", first_grad.grad_nonfinite, "an overflow in backward")
            )
        if not param_nan and first_act is None and first_grad is None and (m.output_nonfinite or m.loss_nonfinite):
            findings.append(_nonfinite("(model)", "the model output", int(m.output_nonfinite), "an overflow"))

    exploded = any(f.code in ("IL602", "IL606") for f in findings)
    if "IL608" in codes and not exploded and not symptoms:
        scale = _output_scale(head, m, reference, t)
        if scale is not None:
            findings.append(scale)
    if "IL610" in codes:
        large = _large_under_norm(weight_rows, t)
        if large is not None:
            findings.append(large)
    if "IL612" in codes and not exploded:
        for r in saturated:
            r.flags.append("saturated")
        if saturated:
            findings.append(_saturation(saturated, rows, t))
    order = list(RULE_INFO)
    return sorted(findings, key=lambda f: order.index(f.code) if f.code in order else len(order))


def _layer_scaled_prefixes(rows: list[Row]) -> list[str]:
    """Name prefixes of the modules whose output is multiplied by a near-zero layer scale: a
    constant vector parameter (std 0, |mean| < 1e-3) of a block (its own) or of a leaf LayerScale
    module (then its parent block's)."""
    prefixes = []
    for r in rows:
        if r.kind != "other" or r.weight_std is None or r.weight_mean is None or len(r.shape) < 1:
            continue
        vector = r.shape[0] > 1 and all(d == 1 for d in r.shape[1:])
        if vector and r.weight_std == 0 and 0 < abs(r.weight_mean) < 1e-3:
            name = r.layer.split("#", 1)[0]
            block = name if r.type not in ("LayerScale", "LayerScale2d") else name.rpartition(".")[0]
            prefixes.append(block + "." if block and block != "(model)" else "")
    return prefixes


def findings_nonfinite(findings: list[RuntimeFinding]) -> bool:
    return any(f.code == "IL606" for f in findings)


def _raw_parameters(m: Measurement, t: Thresholds) -> list[tuple[str, list[float]]]:
    """(qualified name, [nonfinite, largest, denormals]) of each parameter that looks like raw memory."""
    return [
        (name, raw) for name, raw in zip(m.param_names, m.param_raw, strict=False) if raw[1] > t.huge_value or raw[2]
    ]


def _uninitialized(
    rows: list[Row], raw: list[tuple[str, list[float]]], m: Measurement, t: Thresholds
) -> RuntimeFinding:
    names = [name for name, _ in raw]
    largest = max(v[1] for _, v in raw)
    denormal = int(sum(v[2] for _, v in raw))
    nonfinite = any(v[0] for _, v in raw)
    total = len(m.param_names)
    shown = ", ".join(f"`{n}`" for n in names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    whole = total > 1 and len(names) >= 0.8 * total
    first = names[0]
    return _finding(
        "IL607",
        f"{len(names)} of {total} parameter(s) look like uninitialized memory: {shown}; largest finite |x| "
        f"{largest:.3g} (threshold {t.huge_value:g}), {denormal} denormal(s)"
        + (", NaN/Inf present" if nonfinite else "")
        + "; the activation and gradient statistics are not judged (they only repeat this)",
        first,
        value=largest,
        threshold=t.huge_value,
        cause=(
            "the model was moved off the meta device with to_empty() and never initialized"
            if whole
            else "a parameter made with torch.empty / torch.Tensor(n) / FloatTensor(n) and never filled"
        ),
        suggestion=(
            "after to_empty(), call reset_parameters() on every module (or your init) before training"
            if whole
            else f"fill `{first}` in __init__ or reset_parameters (nn.init.zeros_, ones_, normal_, kaiming_uniform_...)"
        ),
        extra={"parameters": names, "largest": largest, "denormal": denormal, "nonfinite": nonfinite},
    )


def _input_independent(
    rows: list[Row], weight_rows: list[Row], head: Row | None, m: Measurement
) -> RuntimeFinding | None:
    """The output is the same for every sample while the head is not zero: a layer upstream lost
    the input (all-zero weights), and the layers before it get no gradient either."""
    if m.output_spread is None or m.output_spread > _BATCH_CONSTANT or head is None:
        return None
    if not head.weight_std:  # a zero head (ViT, Mixer) makes the output constant on purpose
        return None
    zero = [r.layer for r in weight_rows if r.weight_std == 0 and (r.weight_mean or 0) == 0]
    root = next(
        (
            r
            for r in sorted(weight_rows, key=lambda r: r.finished)
            if r.batch_spread is not None and r.batch_spread <= _BATCH_CONSTANT
        ),
        None,
    )
    # only zeroed weights are this cause; a signal that underflowed to 0 is IL601's
    if root is None or root.layer not in zero:
        return None
    starved = [r.layer for r in weight_rows if r.weight_grad_std == 0 and r.weight_std]
    root.flags.append("input-independent")
    why = "its weights are all zero, so it outputs its bias"
    more = f"; {len(zero)} weight layer(s) are all zero ({', '.join(f'`{z}`' for z in zero[:4])})" if zero else ""
    grads = f"; {len(starved)} weight layer(s) get exactly zero gradient" if starved else ""
    return _finding(
        "IL611",
        f"the model's output is the same for every sample of the batch: from `{root.layer}` on, the signal no longer "
        f"depends on the input ({why}){more}{grads}",
        root.layer,
        value=m.output_spread,
        threshold=_BATCH_CONSTANT,
        cause="hidden weights initialized to zero (zeros_/constant_(0)) without a residual path around them",
        suggestion="initialize hidden weights randomly (kaiming_normal_ for ReLU); zero-init is for the last layer "
        "of a residual branch or a LoRA B only",
        extra={"zero_layers": zero, "zero_gradient_layers": starved},
    )


def _selu_drift(by_end: list[Row], t: Thresholds) -> RuntimeFinding | None:
    """SELU keeps mean 0 / variance 1 only with LeCun-normal weights; judge the std of the last
    SELU output of the main path against its fixed point (the input's std)."""
    selus = [r for r in by_end if r.type == "SELU" and r.judged and r.cumulative_gain is not None]
    if len(selus) < 3:
        return None
    last = selus[-1]
    gain = last.cumulative_gain
    if not math.isfinite(gain) or 1 / t.selu_drift <= gain <= t.selu_drift:
        return None
    last.flags.append("selu-drift")
    return _finding(
        "IL609",
        f"SELU activations drift from their fixed point: after {len(selus)} SELU layers `{last.layer}` has "
        f"{_fmt(gain)}x the input's std (self-normalizing keeps 1x; threshold {t.selu_drift:g}x either way)",
        last.layer,
        value=gain,
        threshold=t.selu_drift,
        cause="SELU's fixed point (mean 0, variance 1) needs weights of variance 1/fan_in; PyTorch's default "
        "Linear init gives 1/(3 fan_in)",
        suggestion="use LeCun normal: kaiming_normal_(w, nonlinearity='linear') and zero biases (and AlphaDropout)",
        extra={"selu_layers": len(selus)},
    )


def _output_scale(head: Row | None, m: Measurement, reference: float, t: Thresholds) -> RuntimeFinding | None:
    """Logits far above unit scale at init: a softmax over them starts saturated (one-hot)."""
    std = m.output_std
    if std is None or not math.isfinite(std) or std <= t.logit_scale:
        return None
    layer = head.layer if head is not None else "(model)"
    if head is not None:
        head.flags.append("output-scale")
    fixed = (
        head is not None
        and head.init_guess is not None
        and not any(s in head.init_guess.split("/") for s in _FAN_SCHEMES)
    )
    return _finding(
        "IL608",
        f"the model's output std is {_fmt(std)} at init (threshold {t.logit_scale:g}): logits this large make a "
        "softmax start saturated, with near one-hot probabilities and a large initial loss",
        layer,
        value=std,
        threshold=t.logit_scale,
        cause=(
            f"the weights of `{layer}` and the layers before it ({head.init_guess} std {_fmt(head.weight_std)}) "
            "are too large for their fan-in; a norm before the head hides it from the hidden activations"
            if fixed and head is not None
            else "weights too large for their fan-in before the output"
        ),
        suggestion="scale the init to the fan-in (xavier_/kaiming_ or normal_(std=0.02) for transformers), and "
        "keep the output layer small",
        extra={"output_std": std, "reference_std": reference},
    )


def _large_under_norm(weight_rows: list[Row], t: Thresholds) -> RuntimeFinding | None:
    """Weights many times larger than any init scheme, right before a norm: the forward is rescaled,
    but the update of such a weight is 1/std^2 times smaller (its effective learning rate)."""
    large = [
        (r, r.weight_std / max(r.expected_std.values()))
        for r in weight_rows
        if r.normalized
        and r.expected_std
        and r.weight_std is not None
        and math.isfinite(r.weight_std)
        and r.weight_std > t.weight_scale_ratio * max(r.expected_std.values())
    ]
    if not large:
        return None
    for r, _ in large:
        r.flags.append("weight-scale")
    first, ratio = large[0]
    worst = max(large, key=lambda item: item[1])
    more = f"; {len(large) - 1} more layer(s), up to {worst[1]:.3g}x at `{worst[0].layer}`" if len(large) > 1 else ""
    return _finding(
        "IL610",
        f"`{first.layer}` weights have std {_fmt(first.weight_std)}, {ratio:.3g}x the largest init scheme at its "
        f"fan (threshold {t.weight_scale_ratio:g}x); the norm after it hides this from the forward pass{more}",
        first.layer,
        value=ratio,
        threshold=t.weight_scale_ratio,
        cause="a fixed std (normal_(std=1)) on layers followed by BatchNorm/LayerNorm: the norm divides the "
        "gradient by the same factor, so these weights barely train (effective learning rate / std^2)",
        suggestion="use kaiming_normal_(w, mode='fan_out', nonlinearity='relu') for convs before BatchNorm",
        extra={"layers": [r.layer for r, _ in large]},
    )


def _saturation(saturated: list[Row], rows: list[Row], t: Thresholds) -> RuntimeFinding:
    first = saturated[0]
    more = f"; {len(saturated) - 1} more layer(s) like it" if len(saturated) > 1 else ""
    return _finding(
        "IL612",
        f"{first.saturated:.0%} of the outputs of `{first.layer}` ({first.type}) are in its flat tails "
        f"(threshold {t.saturated_fraction:.0%}){more}: their gradient is near zero",
        first.layer,
        value=first.saturated,
        threshold=t.saturated_fraction,
        cause=f"pre-activations too large for a bounded activation ({_weights_before(rows, first)})",
        suggestion=f"use {_init_for(first.type)}",
        extra={"layers": [r.layer for r in saturated]},
    )


def _dead_units(dead: list[Row], by_end: list[Row], t: Thresholds) -> RuntimeFinding:
    first = dead[0]
    more = f"; {len(dead) - 1} more layer(s) like it" if len(dead) > 1 else ""
    before = [r for r in by_end if r.kind == "weight" and r.finished < first.finished]
    feeding = before[-1] if before else None
    cause = (
        "pre-activations mostly negative: a large negative bias, a shifted input, or collapsed "
        "activations from an init with the wrong scale"
    )
    suggestion = "zero-init the biases and use kaiming init; check the input normalization"
    if (
        feeding is not None
        and feeding.bias_mean is not None
        and feeding.bias_mean < 0
        and feeding.out_mean is not None
        and feeding.out_std
        and feeding.out_mean < -0.5 * feeding.out_std
    ):
        cause = (
            f"the bias of `{feeding.layer}` has mean {_fmt(feeding.bias_mean)}, which pushes its outputs "
            f"(mean {_fmt(feeding.out_mean)}, std {_fmt(feeding.out_std)}) below zero"
        )
        suggestion = f"initialize the bias of `{feeding.layer}` to zero (nn.init.zeros_) or a small positive value"
    return _finding(
        "IL604",
        f"{first.dead_fraction:.0%} of the units of `{first.layer}` are never active over the batch "
        f"(threshold {t.dead_fraction:.0%}){more}",
        first.layer,
        value=first.dead_fraction,
        threshold=t.dead_fraction,
        cause=cause,
        suggestion=suggestion,
        extra={"layers": [r.layer for r in dead]},
    )


def _nonfinite(layer: str, where: str, count: int, cause: str) -> RuntimeFinding:
    return _finding(
        "IL606",
        f"NaN/Inf in {where} of `{layer}`",
        layer,
        value=float(count),
        threshold=0.0,
        cause=cause,
        suggestion="find the first layer with NaN/Inf (this one) and check its init and its input",
    )
