"""initlint benchmark harness (a benchmark, not a test): ``python benchmarks/run.py``.

Measures, side by side in one run, against the pinned real-code corpus (see corpus.py):

1. initlint cold on the whole corpus (``--no-cache``, default ``-j`` = cores);
2. initlint warm (a cache folder in a temp dir, filled once, then timed);
3. the libcst parse-only floor on one core (parse_only.py);
4. TorchFix ``--select ALL -j 2`` on ``timm/layers`` vs initlint cold on it;
5. one-file check vs ``python -c "import libcst"`` (median of several runs);
6. scaling: one generated 10k-line module vs a 100k-line one (linear: ~10x);
7. ``initlint probe`` on a 4-layer GPT-2 vs a bare build + forward + backward script
   (from probe_bench.py; "not available" when it or torch/transformers is missing).

Wall times are ``time.perf_counter`` around each subprocess; peak memory is the peak RSS of
the largest single process of the command (``/usr/bin/time -f %M``, else a
``RUSAGE_CHILDREN`` delta), for every row. Options: ``--quick`` (first two corpus packages
only), ``--json FILE``, ``--corpus-dir DIR`` (or ``INITLINT_CORPUS_DIR``), ``--no-torchfix``,
``--no-probe``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TIME_BIN = "/usr/bin/time" if Path("/usr/bin/time").exists() else None


@dataclass
class Measure:
    seconds: float
    rss_mib: float | None
    returncode: int
    stdout: str = ""


@dataclass
class Row:
    name: str
    seconds: float | None = None
    rss_mib: float | None = None
    ratio: float | None = None  # against the reference named in `target`
    target: str = ""  # e.g. "<= 0.5x parse-only (aim 0.3x)"
    ok: bool | None = None
    note: str = ""


@dataclass
class Context:
    """What an extra row needs: the tools, the corpus and the rows measured so far."""

    args: argparse.Namespace
    src: Path
    roots: list[Path]
    initlint: list[str]
    workdir: Path
    rows: list[Row] = field(default_factory=list)

    def row(self, name: str) -> Row | None:
        return next((r for r in self.rows if r.name == name), None)


def measure(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> Measure:
    """Run ``cmd`` once; wall time and peak RSS of its largest process."""
    rss_file = None
    full = cmd
    if TIME_BIN:
        handle, rss_file = tempfile.mkstemp(prefix="initlint-bench-rss-")
        os.close(handle)
        full = [TIME_BIN, "-f", "%M", "-o", rss_file, *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(full, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    seconds = time.perf_counter() - start
    rss: float | None = None
    if rss_file:
        try:
            rss = int(Path(rss_file).read_text().strip().splitlines()[-1]) / 1024
        except (OSError, ValueError, IndexError):
            rss = None
        os.unlink(rss_file)
    else:
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        rss = after / 1024 if after > before else None  # only a new maximum is this command's
    return Measure(seconds, rss, proc.returncode, proc.stdout)


def median_of(cmd: list[str], repeat: int, **kwargs) -> Measure:
    runs = [measure(cmd, **kwargs) for _ in range(repeat)]
    rss = [m.rss_mib for m in runs if m.rss_mib is not None]
    return Measure(
        statistics.median(m.seconds for m in runs), max(rss) if rss else None, runs[-1].returncode, runs[-1].stdout
    )


def count(files: list[Path]) -> tuple[int, int]:
    return len(files), sum(p.read_bytes().count(b"\n") for p in files)


def torchfix_venv(cache: Path, requirement: str) -> Path | None:
    """``<cache>/torchfix-venv`` with the peer tool, installed without torch."""
    venv = cache / "torchfix-venv"
    exe = venv / "bin" / "torchfix"
    if exe.exists():
        return exe
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps"]
        subprocess.run([*pip, requirement, "libcst", "pyyaml"], check=True, capture_output=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"warning: cannot install {requirement}: {exc}", file=sys.stderr)
        return None
    return exe if exe.exists() else None


def find_initlint() -> list[str]:
    script = Path(sys.executable).parent / "initlint"
    return [str(script)] if script.exists() else [sys.executable, "-m", "initlint"]


def ratio_row(name: str, m: Measure, ratio: float | None, target: str, ok: bool | None, note: str = "") -> Row:
    if m.returncode != 0:
        note = (note + f"; exit {m.returncode}").lstrip("; ")
    return Row(name, m.seconds, m.rss_mib, ratio, target, ok, note)


# ---------------------------------------------------------------------------------------
# The measurements.
# ---------------------------------------------------------------------------------------


def bench_core(ctx: Context) -> None:
    roots = [str(r) for r in ctx.roots]
    files, lines = count(corpus.python_files(ctx.roots))
    names = ", ".join(r.name for r in ctx.roots)
    ctx.rows.append(Row("corpus", note=f"{files:,} files, {lines:,} lines ({names})"))

    print("parse-only floor (1 core) ...", file=sys.stderr, flush=True)
    parse = measure([sys.executable, str(HERE / "parse_only.py"), *roots], cwd=ctx.workdir)
    inner = json.loads(parse.stdout) if parse.returncode == 0 else {}
    ctx.rows.append(
        ratio_row(
            "libcst parse-only, 1 core",
            parse,
            None,
            "reference",
            None,
            f"{inner.get('seconds', 0):.1f}s parsing, {inner.get('errors', '?')} parse errors",
        )
    )

    print("initlint cold ...", file=sys.stderr, flush=True)
    check = [*ctx.initlint, "check", "--exit-zero", "-q"]
    cold = measure([*check, "--no-cache", *roots], cwd=ctx.workdir)
    r = cold.seconds / parse.seconds
    ctx.rows.append(
        ratio_row(
            f"initlint cold, -j {os.cpu_count()}",
            cold,
            r,
            "<= 0.5x parse-only (aim 0.3x)",
            r <= 0.5,
            f"{cold.stdout.count(chr(10)):,} findings",
        )
    )

    cache_dir = ctx.workdir / "cache"
    print("initlint cache fill ...", file=sys.stderr, flush=True)
    fill = measure([*check, "--cache-dir", str(cache_dir), *roots], cwd=ctx.workdir)
    ctx.rows.append(ratio_row("initlint cache fill", fill, fill.seconds / cold.seconds, "info: vs cold", None))
    print("initlint warm ...", file=sys.stderr, flush=True)
    warm = median_of([*check, "--cache-dir", str(cache_dir), *roots], ctx.args.repeat_warm, cwd=ctx.workdir)
    r = warm.seconds / cold.seconds
    ctx.rows.append(ratio_row("initlint warm", warm, r, "<= 0.05x cold", r <= 0.05))


def bench_torchfix(ctx: Context) -> None:
    peers = [e for e in corpus.read_list() if e.peer]
    layers = ctx.src / "timm" / "timm" / "layers"
    if not layers.is_dir():
        ctx.rows.append(Row("TorchFix vs initlint on timm/layers", note="skipped: timm/layers not in the corpus"))
        return
    files, lines = count(corpus.python_files([layers]))
    print("initlint cold on timm/layers ...", file=sys.stderr, flush=True)
    ours = median_of(
        [*ctx.initlint, "check", "--no-cache", "--exit-zero", "-q", str(layers)], ctx.args.repeat_small, cwd=ctx.workdir
    )
    ctx.rows.append(
        ratio_row("initlint cold, timm/layers", ours, None, "reference", None, f"{files} files, {lines:,} lines")
    )
    exe = None
    if peers and not ctx.args.no_torchfix:
        exe = torchfix_venv(corpus.cache_dir(ctx.args.corpus_dir), peers[0].requirement)
    if exe is None:
        ctx.rows.append(Row("TorchFix --select ALL -j 2, timm/layers", note="skipped"))
        return
    print("TorchFix on timm/layers ...", file=sys.stderr, flush=True)
    theirs = measure([str(exe), "--select", "ALL", "-j", "2", str(layers)], cwd=ctx.workdir)
    r = theirs.seconds / ours.seconds
    ctx.rows.append(
        ratio_row(
            f"TorchFix {peers[0].version} --select ALL -j 2, timm/layers",
            theirs,
            r,
            ">= 20x initlint's time",
            r >= 20,
        )
    )


def one_file(ctx: Context) -> Path:
    for root in ctx.roots:
        candidate = root / root.name / "models" / "alexnet.py"  # torchvision: small, plain model file
        if candidate.exists():
            return candidate
    for path in corpus.python_files(ctx.roots):
        if "models" in path.parts and 50 <= path.read_bytes().count(b"\n") <= 200:
            return path
    return sorted((ROOT / "examples").glob("*.py"))[0]


def bench_one_file(ctx: Context) -> None:
    target = one_file(ctx)
    n = ctx.args.repeat_small
    print(f"one-file check x{n} ...", file=sys.stderr, flush=True)
    base = median_of([sys.executable, "-c", "import libcst"], n, cwd=ctx.workdir)
    ctx.rows.append(ratio_row('python -c "import libcst"', base, None, "reference", None, f"median of {n}"))
    ours = median_of([*ctx.initlint, "check", "--no-cache", "--exit-zero", str(target)], n, cwd=ctx.workdir)
    r = ours.seconds / base.seconds
    rel = target.relative_to(ctx.src) if target.is_relative_to(ctx.src) else target
    ctx.rows.append(
        ratio_row("initlint one file", ours, r, '<= 1.5x "import libcst"', r <= 1.5, f"{rel}, median of {n}")
    )


# ---------------------------------------------------------------------------------------
# EXTENSION POINT: later rows (10k vs 100k-line scaling, runtime probe vs bare step, ...).
# Write a function `def bench_x(ctx: Context) -> None` that appends Rows to ctx.rows (use
# `measure`/`median_of`, and `ctx.row(name)` to compare with rows measured before it), then
# decorate it with @extra_row, or append it to EXTRA_ROWS. They run after the core rows,
# in order, and land in the same table and JSON.
# ---------------------------------------------------------------------------------------
EXTRA_ROWS: list[Callable[[Context], None]] = []


def extra_row(fn: Callable[[Context], None]) -> Callable[[Context], None]:
    EXTRA_ROWS.append(fn)
    return fn


# --- project index: one changed file in a 1,000-file project --------------------------------
PROJECT_FILES = 1_000


@extra_row
def bench_project_change(ctx: Context) -> None:
    """A 1,000-file project (the corpus packages' first 1,000 files, folders kept so that relative
    imports resolve) checked once to fill the cache; then one model file changes and the whole project is
    checked again: only that file and the files whose verdicts read its summary are re-checked."""
    import shutil

    files = [p for p in corpus.python_files(ctx.roots)][:PROJECT_FILES]
    if len(files) < 100:
        ctx.rows.append(Row("project: one changed file", note="not enough corpus files"))
        return
    project = ctx.workdir / "project"
    shutil.rmtree(project, ignore_errors=True)
    base = ctx.src
    for path in files:
        target = project / path.relative_to(base)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    (project / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
    changed = next((p for p in sorted(project.rglob("*.py")) if "models" in p.parts and "init" in p.read_text()), None)
    changed = changed or sorted(project.rglob("*.py"))[0]
    cache_dir = ctx.workdir / "project-cache"
    shutil.rmtree(cache_dir, ignore_errors=True)
    check = [*ctx.initlint, "check", "--exit-zero", "-q", "--cache-dir", str(cache_dir)]
    print(f"project index: {len(files)} files, cache fill ...", file=sys.stderr, flush=True)
    measure([*check, str(project)], cwd=ctx.workdir)
    original = changed.read_text()
    runs = []
    for n in range(ctx.args.repeat_small):
        changed.write_text(original + f"\n# edit {n}\n")
        runs.append(measure([*check, str(project)], cwd=ctx.workdir))
    changed.write_text(original)
    again = sorted(runs, key=lambda m: m.seconds)[len(runs) // 2]
    one = median_of([*ctx.initlint, "check", "--no-cache", "--exit-zero", "-q", str(changed)], ctx.args.repeat_small,
                    cwd=ctx.workdir)  # fmt: skip
    r = again.seconds / one.seconds
    rel = changed.relative_to(project)
    ctx.rows.append(ratio_row("project: one file of 1,000 changed", again, r, "<= 2x one-file check", r <= 2.0,
                              f"{len(files)} files, {rel} edited, median of {len(runs)}"))  # fmt: skip
    ctx.rows.append(ratio_row("project: that file alone, no cache", one, None, "reference", None))


# --- 10k vs 100k-line scaling ------------------------------------------------------------

_BLOCK = """\

class {name}(nn.Module):
    \"\"\"Block {i}: a small residual MLP with its own init.\"\"\"

    def __init__(self, dim: int = {dim}, hidden: int = {hidden}, dropout: float = 0.1) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim, bias={bias})
        self.drop = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.{first}(self.fc1.weight{first_args})
        nn.init.zeros_(self.fc1.bias)
        nn.init.{second}(self.fc2.weight)
        if self.fc2.bias is not None:
            nn.init.zeros_(self.fc2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.{act}(self.fc1(self.norm(x)))
        return x + self.drop(self.fc2(h))
"""

_CONV = """\

class {name}(nn.Module):
    def __init__(self, channels: int = {dim}) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(channels)
        self.act = nn.ReLU(inplace=True)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.{conv_init}(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))
"""


def write_module(path: Path, lines: int) -> int:
    """A realistic ``lines``-line model file: small nn.Module classes with init code (residual
    MLP blocks and conv blocks), a few of them with init bugs initlint reports (Xavier before
    ReLU, a deprecated alias). Returns the number of lines written."""
    parts = ['"""Generated benchmark module."""', "", "import torch", "import torch.nn as nn",
             "import torch.nn.functional as F", ""]  # fmt: skip
    total = len(parts)
    i = 0
    while total < lines:
        if i % 3 == 2:
            text = _CONV.format(
                name=f"ConvBlock{i}", dim=16 + i % 48, conv_init="kaiming_normal" if i % 13 == 2 else "kaiming_normal_"
            )
        else:
            bug = i % 7 == 0
            text = _BLOCK.format(
                name=f"Block{i}", i=i, dim=32 + i % 96, hidden=128 + i % 256, bias=i % 2 == 0,
                first="xavier_uniform_" if bug else "kaiming_normal_",
                first_args="" if bug else ', nonlinearity="relu"',
                second="xavier_uniform_", act="relu" if i % 5 else "gelu",
            )  # fmt: skip
        parts.append(text)
        total += text.count("\n") + 1
        i += 1
    source = "\n".join(parts) + "\n"
    path.write_text(source)
    return source.count("\n")


def _external_generator() -> Callable[[Path, int], object] | None:
    """benchmarks/gen_module.py when another engineer's generator is there (a function writing
    an N-line module to a path); None otherwise."""
    try:
        import gen_module  # type: ignore[import-not-found]
    except Exception:
        return None
    for name in ("write_module", "generate", "gen_module", "write", "make_module"):
        fn = getattr(gen_module, name, None)
        if callable(fn):
            return fn
    return None


def generated_module(folder: Path, lines: int) -> tuple[Path, int, str, int | None]:
    """An N-line module: (path, real line count, which generator, expected findings or None).
    The external generator is used only when its output is within 20% of N lines and parses."""
    import ast

    path = folder / f"gen_{lines // 1000}k.py"
    fn = _external_generator()
    if fn is not None:
        try:
            info = fn(path, lines)
            text = path.read_text()
            written = text.count("\n")
            ast.parse(text)
            if abs(written - lines) <= lines * 0.2:
                expected = getattr(info, "expected", None)
                return path, written, "gen_module.py", sum(expected.values()) if isinstance(expected, dict) else None
        except Exception as exc:  # a different signature, or a bug: fall back
            print(f"warning: gen_module.py not usable ({type(exc).__name__}: {exc}); own generator", file=sys.stderr)
    return path, write_module(path, lines), "run.py generator", None


@extra_row
def bench_scaling(ctx: Context) -> None:
    folder = ctx.workdir / "scaling"
    folder.mkdir(exist_ok=True)
    small, small_lines, how, small_expected = generated_module(folder, 10_000)
    big, big_lines, _, big_expected = generated_module(folder, 100_000)
    # The generator plants IL101 and IL104 (legacy tier, off by default): count both.
    check = [*ctx.initlint, "check", "--no-cache", "--exit-zero", "-q", "--extend-select", "legacy"]

    def found(m: Measure, expected: int | None) -> str:
        n = m.stdout.count("\n")
        return f"{n:,} findings" + (
            "" if expected is None else f" ({'as expected' if n == expected else f'expected {expected:,}'})"
        )

    print("scaling: 10k lines ...", file=sys.stderr, flush=True)
    ten = median_of([*check, str(small)], 3, cwd=ctx.workdir)
    note = f"{small_lines:,} lines, {how}, {found(ten, small_expected)}, median of 3"
    ctx.rows.append(ratio_row("initlint one 10k-line module", ten, None, "reference", None, note))
    print("scaling: 100k lines ...", file=sys.stderr, flush=True)
    hundred = measure([*check, str(big)], cwd=ctx.workdir)
    r = hundred.seconds / ten.seconds
    # Interpreter start-up is in both; linear in the lines means about 10x (a bit less).
    ctx.rows.append(
        ratio_row(
            "initlint one 100k-line module", hundred, r, "<= 12x the 10k module (linear: ~10x)", r <= 12,
            f"{big_lines:,} lines, {found(hundred, big_expected)}",
        )
    )  # fmt: skip


# --- runtime probe vs a bare build + forward + backward --------------------------------------


@extra_row
def bench_probe(ctx: Context) -> None:
    name = "initlint probe, GPT-2 4 layers (cpu)"
    if ctx.args.no_probe:
        ctx.rows.append(Row(name, note="skipped (--no-probe)"))
        return
    try:
        import probe_bench  # type: ignore[import-not-found]

        factory, bare = probe_bench.FACTORY, probe_bench.BARE
    except Exception as exc:
        ctx.rows.append(Row(name, note=f"not available: benchmarks/probe_bench.py ({type(exc).__name__})"))
        return
    env_check = subprocess.run(
        [sys.executable, "-c", "import torch, transformers"], capture_output=True, text=True
    )  # fmt: skip
    if env_check.returncode != 0:
        ctx.rows.append(Row(name, note="not available: needs torch and transformers in this venv"))
        return
    folder = ctx.workdir / "probe"
    folder.mkdir(exist_ok=True)
    (folder / "factory.py").write_text(factory)
    (folder / "bare.py").write_text(bare)
    target = folder / "factory.py"
    probe_cmd = [
        sys.executable, "-m", "initlint", "probe", f"{target}:build", "--input-fn", f"{target}:tokens",
        "--device", "cpu", "--fail-on", "never", "--format", "json",
    ]  # fmt: skip
    bare_cmd = [sys.executable, str(folder / "bare.py"), str(folder), "cpu"]
    n = 1 if ctx.args.quick else 3
    print(f"probe vs bare step x{n} ...", file=sys.stderr, flush=True)
    measure(bare_cmd, cwd=ctx.workdir)  # warm the file system cache for both
    bare_runs, probe_runs = [], []
    for _ in range(n):  # interleaved, so that drift hits both alike
        bare_runs.append(measure(bare_cmd, cwd=ctx.workdir))
        probe_runs.append(measure(probe_cmd, cwd=ctx.workdir))

    def median_measure(runs: list[Measure]) -> Measure:
        rss = [m.rss_mib for m in runs if m.rss_mib is not None]
        bad = next((m.returncode for m in runs if m.returncode not in (0, 1)), 0)
        return Measure(statistics.median(m.seconds for m in runs), max(rss) if rss else None, bad)

    b, p = median_measure(bare_runs), median_measure(probe_runs)
    ctx.rows.append(
        ratio_row("bare build+forward+backward, GPT-2 4 layers", b, None, "reference", None, f"cpu, median of {n}")
    )
    ok = p.returncode == 0 and b.returncode == 0
    r = p.seconds / b.seconds
    ctx.rows.append(ratio_row(name, p, r, "<= 1.5x bare step", (r <= 1.5) if ok else None, f"median of {n}"))


CORE_ROWS: list[Callable[[Context], None]] = [bench_core, bench_torchfix, bench_one_file]


# ---------------------------------------------------------------------------------------


def machine() -> dict[str, object]:
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "mem_gib": mem,
        "python": platform.python_version(),
        "libcst": _version("libcst"),
        "commit": commit,
    }


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "-" if value is None else f"{value:{spec}}{suffix}"


def table(rows: list[Row], info: dict[str, object]) -> str:
    header = ["measurement", "wall", "peak RSS", "ratio", "target", "ok", "note"]
    body = [
        [
            r.name,
            fmt(r.seconds, ".2f", " s"),
            fmt(r.rss_mib, ".0f", " MiB"),
            fmt(r.ratio, ".3g", "x"),
            r.target,
            {True: "yes", False: "MISSED", None: ""}[r.ok],
            r.note,
        ]
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    out = [
        f"initlint benchmark, {info['date']}, {info['cores']} cores, {info['mem_gib']} GiB, "
        f"Python {info['python']}, libcst {info['libcst']}, commit {info['commit']}",
        "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in body]
    return "\n".join(out)


def compile_bytecode() -> None:
    """Byte-compile the package as `pip install` does. The editable checkout measured here has no
    `.pyc` files when PYTHONDONTWRITEBYTECODE is set (as on this workplace's machines), and then
    every run compiles ~90 modules again: 0.1 s that an installed initlint never pays, and that
    libcst (installed, compiled) does not pay in the "import libcst" row it is compared with."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "initlint")], check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="only the first two corpus packages")
    parser.add_argument("--json", type=Path, help="also save the results to this file")
    parser.add_argument("--corpus-dir", help="corpus cache (default: $INITLINT_CORPUS_DIR or ~/.cache/initlint-corpus)")
    parser.add_argument("--repeat-small", type=int, default=5, help="runs of the small measurements (median)")
    parser.add_argument("--repeat-warm", type=int, default=3, help="runs of the warm measurement (median)")
    parser.add_argument("--no-torchfix", action="store_true", help="skip the TorchFix comparison")
    parser.add_argument("--no-probe", action="store_true", help="skip the runtime probe row (needs torch)")
    args = parser.parse_args(argv)

    src = corpus.ensure_corpus(args.corpus_dir)
    if src is None:
        print(f"corpus unavailable: {corpus.last_reason}", file=sys.stderr)
        return 2
    names = [e.name for e in corpus.read_list() if not e.peer]
    roots = corpus.corpus_roots(src, names[:2] if args.quick else None)
    info = machine()
    compile_bytecode()
    with tempfile.TemporaryDirectory(prefix="initlint-bench-") as work:
        ctx = Context(args, src, roots, find_initlint(), Path(work))
        for bench in [*CORE_ROWS, *EXTRA_ROWS]:
            bench(ctx)
    print(table(ctx.rows, info))
    if args.json:
        args.json.write_text(
            json.dumps({"machine": info, "quick": args.quick, "rows": [asdict(r) for r in ctx.rows]}, indent=2) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
