"""Fuzz campaign for issue 8: generated programs through the real command line.

    python benchmarks/fuzz_campaign.py [--programs 3000] [--idioms 1000] [--seed 0] [--out DIR]

N hypothesmith programs (2/3 from the grammar, 1/3 from libcst nodes; every other one with an
init-idiom module appended, the rest with a string literal that lets every rule past the
prefilter)
and M programs of the init-idiom generator (tests/fuzzgen/init_idioms.py) are written into
temporary folders in batches, and each batch goes through

    initlint check --select ALL --fix --unsafe-fixes --no-cache --format json -v <folder>

twice. Counted per program: a traceback or abnormal exit (a crashed batch is redone file by
file), IL999, a file that compiled before the fix and does not after it, a byte changed by the
second --fix, a fix the engine refused. Prints one table; every failing program is saved under
``<out>/failures/<kind>/`` (the original, the file after the first fix, and what went wrong),
and ``<out>/classes.txt`` groups the failures by rule, exception and place in the code.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fuzzgen.harness import TRAILER, BatchResult, Case, Failure, Tally, breaking_fixes, fixable_codes, run_batch  # noqa: E402
from fuzzgen.init_idioms import generate, generate_body  # noqa: E402

SOURCES = ("hypothesmith", "hypothesmith+idiom", "idiom")


def hypothesmith_programs(count: int, seed: int, cache: Path | None = None) -> list[str]:
    """``count`` programs, two thirds from hypothesmith's grammar strategy and one third from
    its libcst node strategy (six times slower: about 0.6 s a program), reproducible from
    ``seed``. Kept in ``cache`` (JSON) for the next campaign with the same count and seed."""
    if cache is not None and cache.exists():
        return json.loads(cache.read_text(encoding="utf-8"))
    import warnings

    import hypothesmith
    from hypothesis import HealthCheck, Phase, given, settings

    warnings.filterwarnings("ignore", category=SyntaxWarning)  # hypothesmith compiles odd literals
    from hypothesis import seed as seed_hypothesis

    programs: list[str] = []
    for index, strategy in enumerate((hypothesmith.from_grammar(), hypothesmith.from_node())):
        wanted = count - count // 3 if index == 0 else count // 3
        collected: list[str] = []
        round_seed = seed * 1000 + index
        while len(collected) < wanted:

            @seed_hypothesis(round_seed)
            @settings(
                max_examples=wanted - len(collected),
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(strategy)
            def collect(code: str) -> None:
                collected.append(code)  # noqa: B023 - called below, in this iteration

            before = len(collected)
            collect()
            round_seed += 2
            if len(collected) == before:
                break
        programs += collected[:wanted]
    if cache is not None:
        cache.write_text(json.dumps(programs), encoding="utf-8")
    return programs


def idiom_cases(count: int, seed: int) -> list[Case]:
    cases = []
    for index in range(count):
        program = generate(seed * 1_000_003 + 500_000 + index)
        cases.append(Case(f"g{index:05d}_s{program.seed}", "idiom", program.data))
    return cases


def hypothesmith_cases(count: int, seed: int, cache_dir: Path | None = None) -> list[Case]:
    if not count:
        return []
    started = time.perf_counter()
    cache = cache_dir / f"hypothesmith-{count}-seed{seed}.json" if cache_dir else None
    generated = hypothesmith_programs(count, seed, cache)
    print(f"{len(generated)} hypothesmith programs ready in {time.perf_counter() - started:.0f} s", flush=True)
    cases = []
    for index, code in enumerate(generated):
        if index % 2:
            source, text = "hypothesmith+idiom", f"{code}\n{generate_body(seed * 1_000_003 + index)}"
        else:
            source, text = "hypothesmith", code + TRAILER
        cases.append(Case(f"h{index:05d}", source, text.encode("utf-8", "surrogatepass")))
    return cases


def batches(cases: list[Case], size: int) -> Iterable[list[Case]]:
    by_source: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        by_source[case.source].append(case)
    for source in SOURCES:
        group = by_source.get(source, [])
        for start in range(0, len(group), size):
            yield group[start : start + size]


_FRAME = re.compile(
    r'File "(?P<file>[^"]*initlint[/\\](?!.*site-packages)[^"]+)", line (?P<line>\d+), in (?P<func>\S+)'
)


def _exception_place(text: str) -> str:
    """The last exception line and the innermost initlint frame of a traceback text."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    exception = next(
        (line for line in reversed(lines) if re.match(r"^[\w.]+(Error|Exception|Warning|Exit|Interrupt)\b", line)),
        lines[-1] if lines else "?",
    )
    frames = [m for m in _FRAME.finditer(text) if "site-packages" not in m["file"]]
    places = []
    for frame in frames[-2:]:  # the innermost two: the rule and what it called
        path = frame["file"].rsplit("initlint/", 1)[-1]
        places.append(f"{path}:{frame['func']}")
    where = f" at {' -> '.join(places)}" if places else ""
    return exception.split(":")[0] + where


def classify(failure: Failure, workdir: Path, cli: list[str]) -> str:
    if failure.kind == "IL999":
        code = re.search(r"rule (IL\d+)", failure.detail)
        return f"IL999 {code[1] if code else '?'}: {_exception_place(failure.detail)}"
    if failure.kind in ("traceback", "exit", "timeout"):
        return f"{failure.kind}: {_exception_place(failure.detail)}"
    if failure.kind == "unreadable":
        return f"unreadable: {failure.detail.splitlines()[0][:100] if failure.detail else '?'}"
    if failure.kind == "second-pass":
        codes = fixable_codes(failure.fixed or b"", workdir, cli)
        return f"second-pass: fixes still applicable after the first --fix: {','.join(codes) or '-'}"
    first = failure.detail.splitlines()[0] if failure.detail else ""
    error = re.sub(r"\s*[(].*", "", first)[:80]
    if failure.kind == "compile":
        breaking = breaking_fixes(failure.case.data, workdir, cli)
        if breaking:
            return f"compile: the fix of {','.join(breaking)} alone breaks compile(); {error}"
        return f"compile: fixes {','.join(fixable_codes(failure.case.data, workdir, cli)) or '-'} together; {error}"
    return f"{failure.kind}: fixes {','.join(fixable_codes(failure.case.data, workdir, cli)) or '-'}; {error}"


def save(failure: Failure, out: Path, key: str) -> None:
    folder = out / "failures" / failure.kind
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / failure.case.name
    stem.with_suffix(".py").write_bytes(failure.case.data)
    if failure.fixed is not None:
        (folder / f"{failure.case.name}.fixed.py").write_bytes(failure.fixed)
    (folder / f"{failure.case.name}.txt").write_text(
        f"source: {failure.case.source}\nclass: {key}\n\n{failure.detail}\n", encoding="utf-8"
    )


COLUMNS = (
    ("programs", "programs"),
    ("invalid_input", "not compiling before"),
    ("changed", "files changed by fix"),
    ("fixes", "fixes applied"),
    ("il999", "IL999"),
    ("tracebacks", "tracebacks"),
    ("compile_failures", "compile failures"),
    ("second_pass", "second-pass changes"),
    ("refused", "fixes refused"),
    ("unreadable", "IL900/IL901 on valid code"),
)


def table(tallies: dict[str, Tally]) -> str:
    total = Tally()
    for tally in tallies.values():
        total.add(tally)
    rows = [("source", *(title for _, title in COLUMNS))]
    for source in [*SOURCES, "total"]:
        tally = total if source == "total" else tallies.get(source)
        if tally is None:
            continue
        rows.append((source, *(f"{getattr(tally, name):,}" for name, _ in COLUMNS)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=3000, help="hypothesmith programs (default 3000)")
    parser.add_argument("--idioms", type=int, default=1000, help="init-idiom programs (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=100, help="programs per initlint run")
    parser.add_argument("--jobs", type=int, default=1, help="initlint -j")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "initlint-fuzz")
    parser.add_argument("--initlint", default=None, help="the command to run (default: this python -m initlint)")
    options = parser.parse_args(argv)

    cli = options.initlint.split() if options.initlint else [sys.executable, "-m", "initlint"]
    out: Path = options.out
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / "failures", ignore_errors=True)  # a previous campaign's
    started = time.perf_counter()
    tallies: dict[str, Tally] = {}
    classes: dict[str, list[str]] = defaultdict(list)
    done = 0
    total = options.programs + options.idioms
    with tempfile.TemporaryDirectory(prefix="initlint-fuzz-") as temp:
        workdir = Path(temp)
        # The idioms first: they need no generation time, so their results come early.
        for make_cases in (
            lambda: idiom_cases(options.idioms, options.seed),
            lambda: hypothesmith_cases(options.programs, options.seed, out),
        ):
            for batch in batches(make_cases(), options.batch):
                result: BatchResult = run_batch(batch, workdir, cli, jobs=options.jobs)
                tallies.setdefault(batch[0].source, Tally()).add(result.tally)
                for failure in result.failures:
                    key = classify(failure, workdir, cli)
                    classes[key].append(failure.case.name)
                    save(failure, out, key)
                done += len(batch)
                print(
                    f"[{time.perf_counter() - started:6.0f} s] {done}/{total} programs, "
                    f"{sum(len(v) for v in classes.values())} failures in {len(classes)} classes",
                    flush=True,
                )
    report = table(tallies)
    listing = "\n".join(
        f"{len(names):5d}  {key}\n       {' '.join(sorted(names)[:12])}{' ...' if len(names) > 12 else ''}"
        for key, names in sorted(classes.items(), key=lambda item: (-len(item[1]), item[0]))
    )
    elapsed = time.perf_counter() - started
    text = f"{report}\n\nfailure classes ({len(classes)}):\n{listing or '  none'}\n\nelapsed: {elapsed:.0f} s\n"
    (out / "summary.txt").write_text(text, encoding="utf-8")
    (out / "classes.txt").write_text(listing + "\n", encoding="utf-8")
    print()
    print(text)
    print(f"failing programs saved under {out / 'failures'}")
    return 1 if classes else 0


if __name__ == "__main__":
    sys.exit(main())
