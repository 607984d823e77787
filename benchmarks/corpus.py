"""The real-code corpus for benchmarks and corpus tests.

The pinned list lives in ``../shared/corpus.txt`` relative to the repository root, one
``name==version`` a line; lines after a comment that mentions the peer tool name tools
measured side by side, not corpus packages. Each wheel is fetched with
``pip download --no-deps`` and only its ``.py`` files are unpacked into
``<cache>/src/<name>/``; nothing is ever installed.

Tests use :func:`ensure_corpus`, which returns ``None`` (and sets :data:`last_reason`)
when the corpus cannot be prepared, e.g. with no registry to reach::

    src = ensure_corpus()
    if src is None:
        pytest.skip(corpus.last_reason)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS_LIST = ROOT.parent / "shared" / "corpus.txt"
DEFAULT_CACHE = Path("~/.cache/initlint-corpus")
MARKER = ".initlint-corpus-version"

# Why the last ensure_corpus() call returned None ("" when it did not).
last_reason = ""


@dataclass(frozen=True)
class Entry:
    requirement: str  # the line as written, e.g. "timm==1.0.31"
    name: str  # normalized distribution name, e.g. "timm"
    version: str
    peer: bool  # a peer tool, not part of the corpus


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def read_list(path: Path = CORPUS_LIST) -> list[Entry]:
    entries: list[Entry] = []
    peer = False
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if "peer" in line.lower():
                peer = True
            continue
        line = line.split("#", 1)[0].strip()
        name, _, version = line.partition("==")
        entries.append(Entry(line, _normalize(name), version.strip(), peer))
    return entries


def cache_dir(override: str | Path | None = None) -> Path:
    chosen = override or os.environ.get("INITLINT_CORPUS_DIR") or DEFAULT_CACHE
    return Path(chosen).expanduser()


def _find_wheel(wheels: Path, entry: Entry) -> Path | None:
    if not wheels.is_dir():
        return None
    for wheel in sorted(wheels.glob("*.whl")):
        name, _, rest = wheel.name.partition("-")
        if _normalize(name) == entry.name and rest.split("-", 1)[0] == entry.version:
            return wheel
    return None


def _unpack(wheel: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.endswith(".py") and ".." not in Path(member).parts:
                archive.extract(member, target)
    (target / MARKER).write_text(entry_version_line(wheel))


def entry_version_line(wheel: Path) -> str:
    return wheel.name + "\n"


def prepare(entry: Entry, cache: Path, *, timeout: float = 600) -> tuple[Path | None, str]:
    """Source folder of one entry, downloading and unpacking it when missing."""
    src = cache / "src" / entry.name
    wheels = cache / "wheels"
    wheel = _find_wheel(wheels, entry)
    marker = src / MARKER
    if wheel is not None and src.is_dir():
        if not marker.exists():  # prepared by hand or by an older harness: adopt it
            marker.write_text(entry_version_line(wheel))
        if marker.read_text() == entry_version_line(wheel):
            return src, ""
    if wheel is None:
        wheels.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", entry.requirement, "-d", str(wheels)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            if proc.returncode != 0 and "ResolutionImpossible" in proc.stderr:
                # A machine-wide pip constraint file (e.g. one capping torchvision for installs)
                # also binds `pip download`; the corpus is source to read, not an install, so the
                # pinned wheel is fetched again without the site configuration.
                env = {**os.environ, "PIP_CONFIG_FILE": os.devnull}
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"pip download {entry.requirement} failed: {exc}"
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return None, f"pip download {entry.requirement} failed (registry unreachable?): {tail}"
        wheel = _find_wheel(wheels, entry)
        if wheel is None:
            return None, f"pip download {entry.requirement} produced no wheel in {wheels}"
    if src.exists():
        shutil.rmtree(src)
    _unpack(wheel, src)
    return src, ""


def ensure_corpus(override: str | Path | None = None, *, include_peers: bool = False) -> Path | None:
    """Prepare every corpus package and return ``<cache>/src``; None, with the reason in
    :data:`last_reason`, when the list is missing or a package cannot be fetched."""
    global last_reason
    last_reason = ""
    if not CORPUS_LIST.exists():
        last_reason = f"corpus list not found: {CORPUS_LIST}"
        return None
    cache = cache_dir(override)
    for entry in read_list():
        if entry.peer and not include_peers:
            continue
        src, reason = prepare(entry, cache)
        if src is None:
            last_reason = reason
            return None
    return cache / "src"


def corpus_roots(src: Path, names: list[str] | None = None) -> list[Path]:
    """The source folders of the corpus packages (peers left out), in list order."""
    wanted = None if names is None else {_normalize(n) for n in names}
    return [
        src / e.name
        for e in read_list()
        if not e.peer and (wanted is None or e.name in wanted) and (src / e.name).is_dir()
    ]


def python_files(roots: list[Path]) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*.py") if p.is_file())


if __name__ == "__main__":
    found = ensure_corpus(sys.argv[1] if len(sys.argv) > 1 else None, include_peers=True)
    print(found if found is not None else f"corpus unavailable: {last_reason}")
    sys.exit(0 if found is not None else 1)
