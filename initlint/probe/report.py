"""The probe's report: a table of layers then the findings (text), or one JSON object."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from initlint.probe.api import ProbeResult
    from initlint.probe.verdicts import Row


def _g(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def _shape(row: Row) -> str:
    return "x".join(map(str, row.shape)) if row.shape else "-"


def _weight(row: Row) -> str:
    if row.weight_std is None:
        return "-"
    guess = (row.init_guess or "").split("/")[0]
    expected = row.expected_std.get(guess) if guess in row.expected_std else None
    if expected is None and row.expected_std:
        expected = row.expected_std.get("default")
        return f"{_g(row.weight_std)} (default {_g(expected)})"
    return f"{_g(row.weight_std)}" + (f" ({guess} {_g(expected)})" if expected is not None else "")


HEADER = ("layer", "type", "shape", "init guess", "weight std (expected)", "out std", "gain", "grad std", "flags")


def render_table(result: ProbeResult) -> str:
    lines = []
    for row in result.rows:
        flags = list(row.flags)
        if row.normalized:
            flags.append("->norm")
        if row.dead_fraction is not None and row.dead_fraction > 0:
            flags = [f for f in flags if f != "dead"]
            flags.append(f"dead {row.dead_fraction:.0%}")
        grad = row.weight_grad_std if row.weight_grad_std is not None else row.out_grad_std
        lines.append(
            (
                row.layer + (" *" if row.judged else ""),
                row.type,
                _shape(row),
                row.init_guess or "-",
                _weight(row),
                _g(row.out_std),
                _g(row.gain),
                _g(grad),
                ",".join(flags),
            )
        )
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(HEADER)]
    widths = [min(w, 48) for w in widths]

    def fmt(cells: tuple[str, ...]) -> str:
        return "  ".join(c[:w].ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [fmt(HEADER), fmt(tuple("-" * w for w in widths))]
    out.extend(fmt(line) for line in lines)
    return "\n".join(out)


def render_text(result: ProbeResult, verbose_table: bool = True) -> str:
    parts = [
        f"model: {result.model}   device: {result.device}   dtype: {result.dtype}   input: {result.input}   "
        f"reference std: {result.reference_std:.3g}",
        "",
    ]
    if verbose_table:
        parts += [render_table(result), "(* judged for IL601/IL602: the main path and activations)", ""]
    if result.findings:
        for f in result.findings:
            parts.append(f"{f.code} [{f.severity}] {f.name}: {f.message}")
            if f.cause:
                parts.append(f"    probable cause: {f.cause}")
            if f.suggestion:
                parts.append(f"    suggestion: {f.suggestion}")
    summary = result.summary()
    parts.append(
        f"Probed {summary['layers']} layer call(s): {summary['by_severity']['error']} error(s), "
        f"{summary['by_severity']['warning']} warning(s)."
    )
    return "\n".join(parts)


def render_json(result: ProbeResult) -> str:
    return json.dumps(result.to_dict(), indent=2, allow_nan=False)
