"""``initlint check --probe``: probe every nn.Module class of the checked files that builds
without arguments, and report the runtime findings as ordinary Findings (path = the file,
line = the class definition, related = the layer). Static IL201/IL203 findings inside a class
that the probe finds vanishing/exploding are marked as confirmed at runtime."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from initlint.finding import Finding, Related
from initlint.probe.errors import ProbeError
from initlint.probe.thresholds import Thresholds

CONFIRMABLE = {"IL201": ("IL601", "IL602"), "IL203": ("IL601", "IL602")}


@dataclass
class ClassSpan:
    path: str
    name: str
    line: int
    end_line: int
    runtime: list[Finding] = field(default_factory=list)


def module_classes(path: str) -> list[tuple[str, int, int]]:
    """Top-level classes of a file (name, first line, last line), read without importing it."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return []
    return [
        (node.name, node.lineno, node.end_lineno or node.lineno) for node in tree.body if isinstance(node, ast.ClassDef)
    ]


def _buildable(cls: type) -> bool:
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return False
    return all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in signature.parameters.values()
    )


def probe_files(
    paths: list[str], codes: frozenset[str], thresholds: Thresholds, verbose: bool = False
) -> tuple[list[Finding], list[ClassSpan], list[str]]:
    """Runtime findings, the probed classes, and one message per class that could not be probed."""
    import torch.nn as nn

    from initlint.probe.api import preserved_rng, probe_model
    from initlint.probe.target import load_file

    findings: list[Finding] = []
    spans: list[ClassSpan] = []
    messages: list[str] = []
    for path in paths:
        if not path.endswith(".py"):
            continue
        classes = module_classes(path)
        text = Path(path).read_text(encoding="utf-8", errors="replace") if classes else ""
        if not classes or "torch" not in text:
            continue
        try:
            module = load_file(Path(path), verbose)
        except ProbeError as exc:
            messages.append(f"probe: {path}: {exc}")
            continue
        for name, line, end_line in classes:
            cls = getattr(module, name, None)
            if not (isinstance(cls, type) and issubclass(cls, nn.Module)) or not _buildable(cls):
                continue
            span = ClassSpan(path, name, line, end_line)
            try:
                with preserved_rng(0):
                    model = cls()
                    result = probe_model(model, name=f"{path}:{name}", thresholds=thresholds, codes=codes, seeded=True)
            except ProbeError as exc:
                messages.append(f"probe: {path}:{name} skipped: {exc}")
                continue
            except Exception as exc:
                messages.append(f"probe: {path}:{name} skipped: building it raised {type(exc).__name__}: {exc}")
                continue
            for f in result.findings:
                extra = {k: v for k, v in f.to_dict().items() if k not in ("code", "name", "severity", "message")}
                extra["runtime"] = True
                extra["class"] = name
                span.runtime.append(
                    Finding(
                        f.code,
                        f.name,
                        f.severity,  # type: ignore[arg-type]
                        f"{name}: {f.message}",
                        path,
                        line,
                        1,
                        line,
                        1 + len("class"),
                        related=(Related(f"layer `{f.layer}`", line, 1, line, 1 + len("class")),),
                        extra=extra,
                    )
                )
            findings.extend(span.runtime)
            spans.append(span)
    return findings, spans, messages


def confirm(static: list[Finding], spans: list[ClassSpan]) -> list[Finding]:
    """Static IL201/IL203 findings inside a class where the probe found IL601/IL602 say so."""
    out = []
    for finding in static:
        runtime_codes = CONFIRMABLE.get(finding.code)
        match = None
        if runtime_codes:
            for span in spans:
                if _same_file(span.path, finding.path) and span.line <= finding.line <= span.end_line:
                    match = next((r for r in span.runtime if r.code in runtime_codes), None)
                    if match:
                        break
        if match is None:
            out.append(finding)
            continue
        extra: dict[str, Any] = dict(finding.extra)
        extra["confirmed_at_runtime"] = match.code
        out.append(
            dataclasses.replace(
                finding,
                message=f"{finding.message} (confirmed at runtime: {match.code} {match.name})",
                extra=extra,
            )
        )
    return out


def _same_file(a: str, b: str) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return a == b
