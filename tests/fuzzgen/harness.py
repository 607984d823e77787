"""Runs generated programs through the real command line, ``initlint check --select ALL --fix
--unsafe-fixes --no-cache`` on a folder, and checks what issue 8 asks of every program: no
traceback, no IL999, every file that compiled still compiles after the fix, and a second
``--fix`` changes no byte. Shared by ``benchmarks/fuzz_campaign.py`` (thousands of programs)
and ``tests/test_fuzz_idioms.py`` (a few dozen)."""

from __future__ import annotations

import ast
import difflib
import json
import re
import shutil
import subprocess
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

# Text that satisfies every rule's prefilter, appended to programs that do not mention torch
# (hypothesmith's): without it the engine would skip their parse, and the rules and the semantic
# model would never see the odd grammar. It sits inside one string literal, so it adds no code
# to check; rules whose prefilter the base text misses (new rules) add one of their own
# examples, so the trailer keeps up with the rule set (tests/test_fuzz_idioms.py checks it).
_TRAILER_BASE = """\
import torch; import torch.nn as nn; import torch.nn.functional as F
nn.init.normal(w); nn.init.ones_(m.weight); nn.init.trunc_normal_(w, std=0.02); m.weight.data.normal_(0, 1)
m.bias.data.fill_(0); init.zeros_(m.bias.data); torch.tensor(x); torch.Tensor(3); Variable(x)
F.dropout(x, 1.5); nn.Dropout(2.0); type(m) == nn.Linear; m.__class__.__name__; if m.bias:
nn.Parameter(torch.empty(3)); self.apply(f()); self.reset_parameters(); def forward(self, x):
relu selu tanh sigmoid LayerNorm BatchNorm constant_ fill_ weight_norm xavier_uniform_ eye_ dirac_
"""


def _trailer() -> str:
    from initlint.rules import ALL_RULES, ENGINE_CODES

    text = _TRAILER_BASE
    for rule in ALL_RULES:
        if rule.runtime or rule.code in ENGINE_CODES or rule.may_match(text):
            continue
        for example in [invalid.code for invalid in rule.INVALID] + list(rule.VALID):
            candidate = text + example.rstrip("\\") + "\n"
            if rule.may_match(candidate) and compiles(f"r'''{candidate}'''".encode()):
                text = candidate
                break
    return f"\n_initlint_fuzz_trailer = r'''\n{text}'''\n"


TRACEBACK = "Traceback (most recent call last)"
_REFUSED = re.compile(r"^initlint: (?P<path>.+?): (?P<message>.*(?:not applied|not written).*)$", re.M)


@dataclass(frozen=True)
class Case:
    name: str  # unique file stem
    source: str  # where it comes from: hypothesmith, hypothesmith+idiom, idiom
    data: bytes


@dataclass
class Failure:
    case: Case
    kind: str  # traceback, exit, timeout, IL999, compile, second-pass, refused
    detail: str
    fixed: bytes | None = None  # the file after the first --fix, when there is one


@dataclass
class Tally:
    programs: int = 0
    invalid_input: int = 0  # programs that did not compile before any fix (not held to compile after)
    changed: int = 0
    fixes: int = 0
    il999: int = 0
    tracebacks: int = 0  # also exit status 2 and timeouts: the run did not finish normally
    compile_failures: int = 0
    second_pass: int = 0
    refused: int = 0  # fixes the engine itself refused (they would not have parsed)
    unreadable: int = 0  # IL900/IL901 on a program Python compiles (initlint cannot read what Python runs)

    def add(self, other: Tally) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class BatchResult:
    tally: Tally = field(default_factory=Tally)
    failures: list[Failure] = field(default_factory=list)


def compiles(data: bytes) -> bool:
    """``compile()`` as the interpreter runs a file: bytes, so the coding line is honoured."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(data, "<fuzz>", "exec", dont_inherit=True, flags=ast.PyCF_ONLY_AST)
        except (SyntaxError, ValueError, RecursionError, MemoryError, UnicodeError):
            return False
    return True


def compile_error(data: bytes) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(data, "<fuzz>", "exec", dont_inherit=True, flags=ast.PyCF_ONLY_AST)
        except Exception as exc:  # any reason is the answer
            return f"{type(exc).__name__}: {exc}"
    return ""


TRAILER = _trailer()


def default_cli() -> list[str]:
    return [sys.executable, "-m", "initlint"]


FIX_ARGS = (
    "check",
    "--select",
    "ALL",
    "--fix",
    "--unsafe-fixes",
    "--no-cache",
    "--format",
    "json",
    "--exit-zero",
    "-v",
)


@dataclass
class _Run:
    rc: int | None  # None: timed out
    stdout: str
    stderr: str
    document: dict | None  # the parsed JSON output


def _run(cli: Sequence[str], args: Sequence[str], timeout: float) -> _Run:
    try:
        done = subprocess.run([*cli, *args], capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        return _Run(
            None, (exc.stdout or b"").decode("utf-8", "replace"), (exc.stderr or b"").decode("utf-8", "replace"), None
        )
    stdout = done.stdout.decode("utf-8", "replace")
    stderr = done.stderr.decode("utf-8", "replace")
    try:
        document = json.loads(stdout)
    except ValueError:
        document = None
    return _Run(done.returncode, stdout, stderr, document)


def _abnormal(run: _Run) -> tuple[str, str] | None:
    """(kind, detail) when the run itself did not end normally."""
    if run.rc is None:
        return "timeout", run.stderr[-4000:]
    if TRACEBACK in run.stderr:
        return "traceback", run.stderr[-6000:]
    if run.rc != 0 or run.document is None:
        return "exit", f"exit status {run.rc}\n{run.stderr[-4000:]}\n{run.stdout[-2000:]}"
    return None


def _messages(document: dict, names: dict[str, str], codes: tuple[str, ...] = ("IL999",)) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in document.get("findings", []):
        if finding.get("code") in codes:
            stem = names.get(Path(finding["path"]).name, finding["path"])
            found.setdefault(stem, []).append(finding["message"])
    return found


def _refused(stderr: str, names: dict[str, str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for match in _REFUSED.finditer(stderr):
        stem = names.get(Path(match["path"]).name, match["path"])
        found.setdefault(stem, []).append(match["message"])
    return found


def diff(before: bytes, after: bytes, name: str) -> str:
    a = before.decode("latin-1").splitlines(keepends=True)
    b = after.decode("latin-1").splitlines(keepends=True)
    return "".join(difflib.unified_diff(a, b, f"a/{name}", f"b/{name}"))


def run_batch(
    cases: Sequence[Case], workdir: Path, cli: Sequence[str] | None = None, *, jobs: int = 1, timeout: float = 900
) -> BatchResult:
    """Both --fix passes over one folder holding ``cases``; a run that crashes as a whole is
    redone file by file, so that every failure names its program."""
    cli = list(cli or default_cli())
    folder = workdir / "batch"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    names = {f"{case.name}.py": case.name for case in cases}
    for case in cases:
        (folder / f"{case.name}.py").write_bytes(case.data)
    args = [*FIX_ARGS, "-j", str(jobs), str(folder)]

    first = _run(cli, args, timeout)
    problem = _abnormal(first)
    if problem is not None and len(cases) > 1:
        return _one_by_one(cases, workdir, cli, timeout)
    after = {case.name: (folder / f"{case.name}.py").read_bytes() for case in cases}
    second = _run(cli, args, timeout) if problem is None else None
    if second is not None and _abnormal(second) is not None and len(cases) > 1:
        return _one_by_one(cases, workdir, cli, timeout)

    result = BatchResult()
    tally = result.tally
    tally.programs = len(cases)
    if problem is not None:  # one program, and the first run crashed on it
        kind, detail = problem
        tally.tracebacks += 1
        result.failures.append(Failure(cases[0], kind, detail))
        return result
    assert first.document is not None and second is not None
    tally.fixes += int(first.document.get("summary", {}).get("fixed", 0))
    il999 = _messages(first.document, names)
    unreadable = _messages(first.document, names, ("IL900", "IL901"))
    refused = _refused(first.stderr, names)
    second_problem = _abnormal(second)
    if second_problem is not None:  # one program: the second run crashed on the fixed file
        tally.tracebacks += 1
        result.failures.append(
            Failure(cases[0], second_problem[0], "second run: " + second_problem[1], after[cases[0].name])
        )
    else:
        for stem, messages in _messages(second.document or {}, names).items():
            il999.setdefault(stem, []).extend(m for m in messages if m not in il999.get(stem, []))
        for stem, messages in _refused(second.stderr, names).items():
            refused.setdefault(stem, []).extend(messages)
    for case in cases:
        fixed = after[case.name]
        final = (folder / f"{case.name}.py").read_bytes()
        valid = compiles(case.data)
        tally.invalid_input += not valid
        tally.changed += fixed != case.data
        if case.name in il999:
            tally.il999 += 1
            result.failures.append(Failure(case, "IL999", "\n\n".join(il999[case.name]), fixed))
        if valid and case.name in unreadable:
            tally.unreadable += 1
            result.failures.append(Failure(case, "unreadable", "\n".join(unreadable[case.name]), fixed))
        if case.name in refused:
            tally.refused += 1
            result.failures.append(Failure(case, "refused", "\n".join(refused[case.name]), fixed))
        if valid and not compiles(fixed):
            tally.compile_failures += 1
            detail = compile_error(fixed) + "\n\n" + diff(case.data, fixed, case.name)
            result.failures.append(Failure(case, "compile", detail, fixed))
        if final != fixed and second_problem is None:
            tally.second_pass += 1
            result.failures.append(Failure(case, "second-pass", diff(fixed, final, case.name), fixed))
    return result


def _one_by_one(cases: Sequence[Case], workdir: Path, cli: list[str], timeout: float) -> BatchResult:
    result = BatchResult()
    for case in cases:
        single = run_batch([case], workdir, cli, timeout=min(timeout, 300))
        result.tally.add(single.tally)
        result.failures += single.failures
    return result


def fixable_findings(data: bytes, workdir: Path, cli: Sequence[str] | None = None) -> list[dict]:
    """The findings with a fix that ``--fix --unsafe-fixes`` would apply to ``data`` (triage)."""
    folder = workdir / "probe"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    path = folder / "case.py"
    path.write_bytes(data)
    run = _run(
        list(cli or default_cli()),
        ["check", "--select", "ALL", "--unsafe-fixes", "--no-cache", "--format", "json", "--exit-zero", str(path)],
        300,
    )
    if run.document is None:
        return []
    return [f for f in run.document.get("findings", []) if f.get("fix")]


def fixable_codes(data: bytes, workdir: Path, cli: Sequence[str] | None = None) -> list[str]:
    return sorted({f["code"] for f in fixable_findings(data, workdir, cli)})


_LINE_END = re.compile(r"\r\n|\r|\n")


def _apply_edits(text: str, edits: list[dict]) -> str:
    """Edits as the JSON output gives them (1-based lines, columns in characters, end exclusive)."""
    starts = [0] + [m.end() for m in _LINE_END.finditer(text)]

    def offset(line: int, column: int) -> int:
        return (starts[line - 1] if line - 1 < len(starts) else len(text)) + column - 1

    spans = sorted(
        ((offset(e["line"], e["column"]), offset(e["end_line"], e["end_column"]), e["content"]) for e in edits),
        reverse=True,
    )
    for start, end, content in spans:
        text = text[:start] + content + text[end:]
    return text


def breaking_fixes(data: bytes, workdir: Path, cli: Sequence[str] | None = None) -> list[str]:
    """The codes whose fix, applied alone to ``data``, leaves code that does not compile."""
    import codecs
    import io
    import tokenize

    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        return []
    encoding = "utf-8" if codecs.lookup(encoding).name == "utf-8" and data.startswith(codecs.BOM_UTF8) else encoding
    broken = set()
    for finding in fixable_findings(data, workdir, cli):
        try:
            fixed = _apply_edits(text, finding["fix"]["edits"])
            encoded = fixed.encode(encoding)
        except (IndexError, KeyError, UnicodeEncodeError):
            broken.add(finding["code"])
            continue
        if data.startswith(codecs.BOM_UTF8) and not encoded.startswith(codecs.BOM_UTF8):
            encoded = codecs.BOM_UTF8 + encoded
        if not compiles(encoded):
            broken.add(finding["code"])
    return sorted(broken)
