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
DEFAULT_WIDTH = 120  # when neither COLUMNS nor a terminal says
MIN_LAYER = 14  # a layer name is never cut shorter (its tail: "...blocks.3.mlp.fc2")
# Narrowing steps, in order, until the table fits: the compact weight column (its number only),
# then dropping the columns the others imply or the flags explain.
_DROP_ORDER = ("type", "gain", "shape")


def known_width() -> int | None:
    """COLUMNS when set to a number, else the width of the terminal stdout is, else None."""
    import os
    import sys

    columns = os.environ.get("COLUMNS", "")
    if columns.strip().isdigit() and int(columns) > 0:
        return max(40, int(columns))
    try:
        if sys.stdout.isatty():
            return max(40, os.get_terminal_size(sys.stdout.fileno()).columns)
    except (OSError, ValueError, AttributeError):
        pass
    return None


def table_width() -> int:
    return known_width() or DEFAULT_WIDTH


def _cut_left(text: str, width: int) -> str:
    """Keep the tail of a dotted layer name, where its identity is."""
    return text if len(text) <= width else "…" + text[len(text) - width + 1 :]


def _cut_right(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def render_table(result: ProbeResult, width: int | None = None) -> str:
    """The per-layer table, no line longer than ``width`` (default: table_width())."""
    width = width or table_width()
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
            {
                "layer": row.layer + (" *" if row.judged else ""),
                "type": row.type,
                "shape": _shape(row),
                "init guess": row.init_guess or "-",
                "weight std (expected)": _weight(row),
                "weight std": _g(row.weight_std),
                "out std": _g(row.out_std),
                "gain": _g(row.gain),
                "grad std": _g(grad),
                "flags": ",".join(flags),
            }
        )
    columns = list(HEADER)

    def natural(name: str) -> int:
        return min(max([len(name), *(len(line[name]) for line in lines)]), 48)

    def total(cols: list[str], widths: dict[str, int]) -> int:
        return sum(widths[c] for c in cols) + 2 * (len(cols) - 1)

    widths = {c: natural(c) for c in (*columns, "weight std")}
    steps = [("compact", None), *(("drop", c) for c in _DROP_ORDER)]
    for action, column in steps:
        if total(columns, widths) <= width:
            break
        if action == "compact":
            columns[columns.index("weight std (expected)")] = "weight std"
        else:
            columns.remove(column)
    excess = total(columns, widths) - width
    if excess > 0:  # then the layer names give way, down to their last MIN_LAYER characters
        widths["layer"] -= min(excess, max(0, widths["layer"] - MIN_LAYER))
        excess = total(columns, widths) - width
    if excess > 0:  # and finally the init guess and the flags (cut on the right, marked …)
        for name, floor in (("init guess", 8), ("flags", 10)):
            cut = min(excess, max(0, widths[name] - floor))
            widths[name] -= cut
            excess -= cut

    def fmt(cells: dict[str, str]) -> str:
        out = []
        for c in columns:
            cell = _cut_left(cells[c], widths[c]) if c == "layer" else _cut_right(cells[c], widths[c])
            out.append(cell.ljust(widths[c]))
        return "  ".join(out).rstrip()[:width]

    out = [fmt({c: c for c in columns}), fmt({c: "-" * widths[c] for c in columns})]
    out.extend(fmt(line) for line in lines)
    return "\n".join(out)


def render_text(result: ProbeResult, verbose_table: bool = True, width: int | None = None) -> str:
    """The header, the table fitted to ``width`` (default: COLUMNS, the terminal, else 120) and the
    findings, wrapped to a width that is known (given, COLUMNS or a terminal); written to a pipe
    or a file, each finding stays on one line for grep."""
    wrap_at = width or known_width()
    width = width or table_width()
    fields = [
        f"model: {result.model}",
        f"device: {result.device}",
        f"dtype: {result.dtype}",
        f"input: {result.input}",
        f"reference std: {result.reference_std:.3g}",
    ]
    head = "   ".join(fields)
    if len(head) > width:  # one field per line rather than a line the terminal breaks mid-word
        head = "\n".join(fields)
    parts = [head, ""]
    if verbose_table:
        parts += [render_table(result, width), "(* judged for IL601/IL602: the main path and activations)", ""]
    if result.findings:
        for f in result.findings:
            parts.append(_wrap(f"{f.code} [{f.severity}] {f.name}: {f.message}", wrap_at, "    "))
            if f.cause:
                parts.append(_wrap(f"    probable cause: {f.cause}", wrap_at, "        "))
            if f.suggestion:
                parts.append(_wrap(f"    suggestion: {f.suggestion}", wrap_at, "        "))
    summary = result.summary()
    parts.append(
        f"Probed {summary['layers']} layer call(s): {summary['by_severity']['error']} error(s), "
        f"{summary['by_severity']['warning']} warning(s)."
    )
    return "\n".join(parts)


def _wrap(text: str, width: int | None, indent: str) -> str:
    if width is None or len(text) <= width:
        return text
    import textwrap

    return textwrap.fill(text, width, subsequent_indent=indent, break_on_hyphens=False, break_long_words=False)


def render_json(result: ProbeResult) -> str:
    return json.dumps(result.to_dict(), indent=2, allow_nan=False)
