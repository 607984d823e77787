"""From measured numbers to rows and findings (host side only, no torch needed)."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from initlint.probe.measure import (
    A_DEAD,
    A_IN_STD,
    A_MEAN,
    A_NONFINITE,
    A_STD,
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

SCHEMES = ("default", "kaiming", "xavier", "lecun")
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
    param_nonfinite: int = 0
    param_largest: float = 0.0
    param_denormal: int = 0
    grad_nonfinite: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = {
            k: v
            for k, v in self.__dict__.items()
            if k not in ("relu_family", "symmetric", "finished", "order", "normalized")
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
            if row.in_std and row.out_std is not None:
                row.gain = row.out_std / row.in_std
        if id(info) not in seen_layers:
            seen_layers.add(id(info))
            _param_columns(row, record, m, t)
        rows.append(row)
    for info in m.layers:  # parametric layers the forward pass never called
        if id(info) not in seen_layers and info.param_row is not None:
            row = Row(info.name, info.type, info.kind, info.shape, len(rows) + 10**6, 10**9)
            row.flags.append("unused")
            _param_columns(row, CallRecord(info, 0, row.order), m, t)
            rows.append(row)
    reference = m.input_std if m.input_std and math.isfinite(m.input_std) and m.input_std > 0 else None
    if reference is None:
        ran = sorted((r for r in rows if r.out_std and math.isfinite(r.out_std)), key=lambda r: r.finished)
        embeddings = [r for r in ran if r.kind == "embedding"]
        reference = (embeddings or ran)[0].out_std if ran else 1.0
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
}


def _finding(code: str, message: str, layer: str, **kw: Any) -> RuntimeFinding:
    name, severity = RULE_INFO[code]
    return RuntimeFinding(code, name, severity, message, layer, **kw)


def _weights_before(rows: list[Row], row: Row) -> str:
    guesses = Counter(r.init_guess for r in rows if r.kind == "weight" and r.init_guess and r.finished <= row.finished)
    if not guesses:
        return "no weight layer before it"
    (guess, count), total = guesses.most_common(1)[0], sum(guesses.values())
    return f"{count} of the {total} weight layers before it look like `{guess}` init"


def judge(rows: list[Row], m: Measurement, t: Thresholds, reference: float, codes: set[str]) -> list[RuntimeFinding]:
    findings: list[RuntimeFinding] = []
    by_end = sorted(rows, key=lambda r: r.finished)
    judged = [r for r in by_end if r.judged and r.cumulative_gain is not None]

    vanishing = [r for r in judged if math.isfinite(r.cumulative_gain) and r.cumulative_gain < t.vanishing_ratio]
    if vanishing and "IL601" in codes:
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
                suggestion="use kaiming_normal_(w, nonlinearity='relu') before ReLU-family activations "
                "(xavier for tanh), or add normalization",
                extra={"out_std": first.out_std, "reference_std": reference, "layers_below": len(vanishing)},
            )
        )
    exploding = [r for r in judged if r.cumulative_gain > t.exploding_ratio]
    if exploding and "IL602" in codes:
        first = exploding[0]
        worst = max(exploding, key=lambda r: r.cumulative_gain)
        for r in exploding:
            r.flags.append("exploding")
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
                cause=f"the weights are too large for their fan-in ({_weights_before(rows, first)})",
                suggestion="scale the init to the fan-in: kaiming_normal_ for ReLU layers, xavier_ for tanh/linear, "
                "instead of a fixed std such as normal_(std=1)",
                extra={"out_std": first.out_std, "reference_std": reference, "layers_above": len(exploding)},
            )
        )

    weights = [
        r
        for r in sorted(rows, key=lambda r: r.order)
        if r.kind == "weight"
        and r.weight_grad_std is not None
        and r.weight_grad_std > 0
        and "#" not in r.layer
        and not _QUERY_KEY.match(r.layer.rsplit(".", 1)[-1])
    ]
    if len(weights) >= 2 and "IL603" in codes:
        first, last = weights[0], weights[-1]
        if math.isfinite(first.weight_grad_std) and math.isfinite(last.weight_grad_std):
            ratio = max(first.weight_grad_std, last.weight_grad_std) / min(first.weight_grad_std, last.weight_grad_std)
            if ratio > t.gradient_ratio:
                smaller = first if first.weight_grad_std < last.weight_grad_std else last
                first.flags.append("grad-imbalance")
                last.flags.append("grad-imbalance")
                findings.append(
                    _finding(
                        "IL603",
                        f"weight gradients differ by {ratio:.3g}x between the first layer `{first.layer}` "
                        f"({_fmt(first.weight_grad_std)}) and the last `{last.layer}` ({_fmt(last.weight_grad_std)}) "
                        f"(threshold {t.gradient_ratio:g}x)",
                        smaller.layer,
                        value=ratio,
                        threshold=t.gradient_ratio,
                        cause="the per-layer gain is not 1, so the backward signal shrinks or grows with depth",
                        suggestion="pick the init whose gain matches the activation (kaiming for ReLU), or add "
                        "normalization/residual connections",
                        extra={"first_layer": first.layer, "last_layer": last.layer},
                    )
                )

    if "IL604" in codes:
        dead = [
            r
            for r in by_end
            if r.relu_family and r.dead_fraction is not None and r.dead_fraction > t.dead_fraction and not r.nonfinite
        ]
        for r in dead:
            r.flags.append("dead")
        if dead:
            first = dead[0]
            more = f"; {len(dead) - 1} more layer(s) like it" if len(dead) > 1 else ""
            findings.append(
                _finding(
                    "IL604",
                    f"{first.dead_fraction:.0%} of the units of `{first.layer}` are never active over the batch "
                    f"(threshold {t.dead_fraction:.0%}){more}",
                    first.layer,
                    value=first.dead_fraction,
                    threshold=t.dead_fraction,
                    cause="pre-activations mostly negative: a large negative bias, a shifted input, or collapsed "
                    "activations from an init with the wrong scale",
                    suggestion="zero-init the biases and use kaiming init; check the input normalization",
                    extra={"layers": [r.layer for r in dead]},
                )
            )

    weight_rows = [r for r in sorted(rows, key=lambda r: r.order) if r.kind == "weight" and r.finished < 10**9]
    last_weight = weight_rows[-1].layer if weight_rows else None
    if "IL605" in codes:
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

    raw = [r for r in rows if r.param_largest > t.huge_value or r.param_denormal or r.param_nonfinite]
    if "IL607" in codes:
        for r in raw:
            r.flags.append("raw-memory")
            findings.append(
                _finding(
                    "IL607",
                    f"parameters of `{r.layer}` look like uninitialized memory: largest |x| {r.param_largest:.3g} "
                    f"(threshold {t.huge_value:g}), {r.param_denormal} denormal(s)"
                    + (", NaN/Inf present" if r.param_nonfinite else ""),
                    r.layer,
                    value=r.param_largest,
                    threshold=t.huge_value,
                    cause="a parameter made with torch.empty / torch.Tensor(n) / FloatTensor(n) and never filled",
                    suggestion="fill it in __init__ or reset_parameters (nn.init.zeros_, normal_, kaiming_uniform_...)",
                    extra={
                        "largest": r.param_largest,
                        "denormal": r.param_denormal,
                        "nonfinite": bool(r.param_nonfinite),
                    },
                )
            )
    if "IL606" in codes:
        for r in rows:
            if r.param_nonfinite and not ("IL607" in codes and r in raw):
                findings.append(_nonfinite(r.layer, "parameters", r.param_nonfinite, "a parameter filled with NaN/Inf"))
        first_act = next((r for r in by_end if r.nonfinite), None)
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
        first_grad = next((r for r in by_end if r.grad_nonfinite), None)
        if first_grad is not None and first_act is None:
            findings.append(
                _nonfinite(first_grad.layer, "the gradients", first_grad.grad_nonfinite, "an overflow in backward")
            )
        if first_act is None and first_grad is None and (m.output_nonfinite or m.loss_nonfinite):
            findings.append(_nonfinite("(model)", "the model output", int(m.output_nonfinite), "an overflow"))
    order = list(RULE_INFO)
    return sorted(findings, key=lambda f: order.index(f.code))


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
