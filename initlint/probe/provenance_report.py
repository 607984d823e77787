"""The `--provenance` section of the probe's text report: who wrote each parameter."""

from __future__ import annotations

from typing import Any

STATUS_NOTE = {
    "default": "PyTorch default",
    "custom": "custom",
    "uninitialized": "NEVER WRITTEN",
    "unknown": "not seen",
    "lazy": "lazy",
    "meta": "meta",
}


def render_provenance(result: Any) -> str:
    prov = result.provenance
    if prov is None:
        return "init provenance: not recorded (the model was built before the probe ran)"
    rows = [
        (p.name, STATUS_NOTE.get(p.status, p.status), p.source() if p.writer is not None else "-")
        for p in prov.params.values()
    ]
    header = ("parameter", "init", "written last by")
    widths = [min(max(len(h), *(len(r[i]) for r in rows)) if rows else len(h), 60) for i, h in enumerate(header)]

    def fmt(cells: tuple[str, ...]) -> str:
        return "  ".join(c[:w].ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = ["init provenance (who wrote each parameter while the model was built and initialized):"]
    out += [fmt(header), fmt(tuple("-" * w for w in widths))]
    out += [fmt(r) for r in rows]
    for w in prov.lost:
        target = ", ".join(f"`{n}`" for n in w.layers) or "a computed weight"
        out.append(f"lost write: `{w.event.op}` at {w.event.location or '?'} wrote {target}, not a parameter")
    counts: dict[str, int] = {}
    for p in prov.params.values():
        counts[p.status] = counts.get(p.status, 0) + 1
    out.append(
        "parameters: " + ", ".join(f"{n} {STATUS_NOTE.get(k, k)}" for k, n in sorted(counts.items()))
        if counts
        else "parameters: none"
    )
    meta = result.extra.get("meta")
    if meta:
        out.append(
            f"meta mode: {meta['modules']} module(s) materialized one at a time, "
            f"{meta['materialized_bytes_total'] / 2**20:.1f} MiB in all, at most "
            f"{meta['materialized_bytes_peak'] / 2**20:.1f} MiB at once (largest `{meta['largest_module']}`)"
        )
        if meta.get("not_simulated"):
            out.append(
                "meta mode: not simulated (parametrized: their init after wrapping is not the model's): "
                + ", ".join(f"`{n}`" for n in meta["not_simulated"])
            )
    for c in result.confirmed:
        out.append(
            f"confirmed at runtime: {c['path']}:{c['line']}:{c['column']}: {c['static']} {c['name']} "
            f"(runtime {c['runtime']} on `{c['layer']}`)"
        )
    return "\n".join(out)
