"""Checking many files: cache look-ups, a process pool when it pays off, fixes written
atomically and only over the bytes that were read."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from initlint.cache import Cache, content_digest
from initlint.engine import LintOptions, engine_finding, fix_source, lint_source
from initlint.finding import Finding
from initlint.source import SourceFile, UnreadableSource

Mode = Literal["check", "fix", "diff"]
# Below this many files to lint, starting worker processes costs more than it saves.
POOL_THRESHOLD = 16


@dataclass(frozen=True)
class Job:
    path: str  # as shown to the user
    mode: Mode
    unsafe: bool


@dataclass
class FileOutcome:
    path: str
    findings: list[Finding]
    digest: str | None = None  # set when the result may be cached
    fixed: int = 0
    diff: str = ""
    messages: list[str] = field(default_factory=list)  # fixes not written, and why


@dataclass
class RunResult:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    fixed: int = 0
    diffs: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def _read(path: str) -> tuple[bytes | None, Finding | None]:
    try:
        with open(path, "rb") as handle:
            return handle.read(), None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return None, engine_finding("IL901", f"cannot read file: {reason}", path)


def _decode(path: str, data: bytes) -> tuple[SourceFile | None, Finding | None]:
    try:
        return SourceFile.from_bytes(path, data), None
    except UnreadableSource as exc:
        return None, engine_finding("IL901", f"unreadable file: {exc}", path)


def run_job(job: Job, options: LintOptions) -> FileOutcome:
    data, problem = _read(job.path)
    if data is None:
        return FileOutcome(job.path, [problem] if problem and problem.code in options.codes else [])
    return run_on_bytes(job, data, options)


def run_on_bytes(job: Job, data: bytes, options: LintOptions) -> FileOutcome:
    source, problem = _decode(job.path, data)
    if source is None:
        findings = [problem] if problem and problem.code in options.codes else []
        return FileOutcome(job.path, findings, digest=content_digest(data))
    if job.mode == "check":
        return FileOutcome(job.path, lint_source(source, options), digest=content_digest(data))
    outcome = fix_source(source, options, job.unsafe)
    result = FileOutcome(job.path, outcome.findings, messages=[f"{job.path}: {m}" for m in outcome.problems])
    if outcome.applied == 0:
        return result
    new_bytes = outcome.source.encode()
    if job.mode == "diff":
        result.diff = unified_diff(job.path, source.text, outcome.source.text)
        result.fixed = outcome.applied
        return result
    written = write_if_unchanged(Path(job.path), data, new_bytes)
    if written is None:
        result.fixed = outcome.applied
    else:
        result.messages.append(f"{job.path}: fixes not written: {written}")
        # The file on disk still has the original findings.
        result.findings = lint_source(source, options)
    return result


def unified_diff(path: str, before: str, after: str) -> str:
    import difflib

    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), fromfile=f"a/{path}", tofile=f"b/{path}"
    )
    return "".join(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n" for line in lines)


def write_if_unchanged(path: Path, original: bytes, new: bytes) -> str | None:
    """Replace the file atomically, keeping its mode; refuse (and say why) when the file is
    read-only or changed on disk since it was read. None when written."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a pipe or device: replacing it would destroy it
            return "not a regular file"
        if not info.st_mode & stat.S_IWUSR:
            return "the file is read-only"
        if path.read_bytes() != original:
            return "the file changed on disk since it was read"
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".initlint")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(new)
            os.chmod(temp, stat.S_IMODE(info.st_mode))
            if path.read_bytes() != original:  # last look, as close to the swap as we can
                os.unlink(temp)
                return "the file changed on disk since it was read"
            os.replace(temp, path.resolve())
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


_worker_options: LintOptions | None = None


def _init_worker(options: LintOptions) -> None:
    global _worker_options
    _worker_options = options


def _run_chunk(jobs: list[Job]) -> list[FileOutcome]:
    assert _worker_options is not None
    return [run_job(job, _worker_options) for job in jobs]


def _chunks(items: list[Job], size: int) -> Iterable[list[Job]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run(
    paths: list[str], options: LintOptions, *, mode: Mode = "check", unsafe: bool = False,
    jobs: int = 1, cache: Cache | None = None,
) -> RunResult:  # fmt: skip
    result = RunResult(files=len(paths))
    pending: list[Job] = []
    for path in paths:
        job = Job(path, mode, unsafe)
        if cache is not None and mode == "check":
            data, problem = _read(path)
            if data is None:
                result.findings += [problem] if problem and problem.code in options.codes else []
                continue
            cached = cache.get(content_digest(data), path)
            if cached is not None:
                result.findings += cached
                continue
        pending.append(job)

    outcomes: Iterable[FileOutcome]
    if jobs > 1 and len(pending) >= POOL_THRESHOLD:
        # Big files first so that no worker is left with one long file at the end.
        pending.sort(key=lambda j: _size(j.path), reverse=True)
        size = max(1, min(32, len(pending) // (jobs * 8)))
        # Imported here: a run that needs no pool starts faster without them.
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # Import the parser and the model once, before forking: the workers share them
        # instead of each paying the import.
        import libcst  # noqa: F401

        import initlint.semantic.model  # noqa: F401

        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker, initargs=(options,)) as pool:
            outcomes = [o for chunk in pool.map(_run_chunk, _chunks(pending, size)) for o in chunk]
    else:
        outcomes = (run_job(job, options) for job in pending)

    for outcome in outcomes:
        result.findings += outcome.findings
        result.fixed += outcome.fixed
        result.messages += outcome.messages
        if outcome.diff:
            result.diffs.append(outcome.diff)
        if cache is not None and outcome.digest is not None and mode == "check":
            cache.put(outcome.digest, outcome.findings)
    result.findings.sort(key=lambda f: f.sort_key)
    result.diffs.sort()
    return result


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
