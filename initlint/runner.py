"""Checking many files: cache look-ups, a process pool when it pays off (capped, and tied to
the life of its parent), fixes written atomically, only over the bytes that were read, keeping
the file's owner, group and mode, and never outside the checked paths."""

from __future__ import annotations

import os
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from initlint.cache import Cache, content_digest
from initlint.engine import LintOptions, engine_finding, fix_source, lint_source
from initlint.finding import Finding
from initlint.source import SourceFile, UnreadableSource

if TYPE_CHECKING:
    from initlint.project.index import ProjectSpec

Mode = Literal["check", "fix", "diff"]
# Below this many files to lint, starting worker processes costs more than it saves.
POOL_THRESHOLD = 16


@dataclass(frozen=True)
class Job:
    path: str  # as shown to the user
    mode: Mode
    unsafe: bool
    # A pipe or device named on the command line: read as named, even if that waits for a
    # writer. Any other path must still be a regular file when it is read.
    special: bool = False
    # Resolved paths given on the command line: fixes are written only below one of them
    # (None: anywhere, for callers of the API).
    roots: tuple[str, ...] | None = None


@dataclass
class FileOutcome:
    path: str
    findings: list[Finding]
    digest: str | None = None  # set when the result may be cached
    fixed: int = 0
    diff: str = ""
    messages: list[str] = field(default_factory=list)  # fixes not written, and why
    fixed_codes: dict[str, int] = field(default_factory=dict)  # fixes applied (or diffed), per rule
    deps: dict[str, str] = field(default_factory=dict)  # other files whose summaries it read: path -> digest


@dataclass
class RunResult:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    fixed: int = 0
    diffs: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    fixed_by_file: dict[str, dict[str, int]] = field(default_factory=dict)  # for --show-fixes


class NotRegularFile(OSError):
    """A path that should be a regular file is a pipe, socket, device or folder."""


def _open_nonblocking(path: str, flags: int) -> int:
    # A pipe opened without O_NONBLOCK waits for a writer, maybe forever.
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def read_regular(path: str | Path) -> bytes:
    """The bytes of a regular file. Raises NotRegularFile, without waiting, when the path is a
    pipe, socket or device (a file swapped for one after it was listed), OSError otherwise."""
    with open(path, "rb", opener=_open_nonblocking) as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise NotRegularFile("not a regular file (a pipe, socket or device)")
        return handle.read()


def _read(job: Job) -> tuple[bytes | None, Finding | None]:
    try:
        if job.special:
            with open(job.path, "rb") as handle:
                return handle.read(), None
        return read_regular(job.path), None
    except NotRegularFile as exc:
        return None, engine_finding("IL901", f"cannot read file: {exc}", job.path)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return None, engine_finding("IL901", f"cannot read file: {reason}", job.path)


def _decode(path: str, data: bytes) -> tuple[SourceFile | None, Finding | None]:
    try:
        return SourceFile.from_bytes(path, data), None
    except UnreadableSource as exc:
        return None, engine_finding("IL901", f"unreadable file: {exc}", path)


def run_job(job: Job, options: LintOptions) -> FileOutcome:
    data, problem = _read(job)
    if data is None:
        return FileOutcome(job.path, [problem] if problem and problem.code in options.codes else [])
    return run_on_bytes(job, data, options)


def run_on_bytes(job: Job, data: bytes, options: LintOptions) -> FileOutcome:
    if is_notebook(job.path):
        return _run_notebook(job, data, options)
    source, problem = _decode(job.path, data)
    if source is None:
        findings = [problem] if problem and problem.code in options.codes else []
        return FileOutcome(job.path, findings, digest=content_digest(data))
    if job.mode == "check":
        deps: dict[str, str] = {}
        findings = lint_source(source, options, deps)
        return FileOutcome(
            job.path, findings, digest=cache_digest(data, job.path, options.project is not None), deps=deps
        )
    outcome = fix_source(source, options, job.unsafe)
    result = FileOutcome(job.path, outcome.findings, messages=[f"{job.path}: {m}" for m in outcome.problems])
    if outcome.applied == 0:
        return result
    try:
        # Bytes that do not survive decoding and encoding (unicode_escape, utf-7) would change
        # outside the edits.
        new_bytes = outcome.source.encode() if source.round_trips(data) else None
    except Exception:  # the codec is the file's choice: it may raise anything
        new_bytes = None
    if new_bytes is None:
        result.messages.append(f"{job.path}: fixes not applied: its text cannot be written back as {source.encoding}")
        result.findings = lint_source(source, options)
        return result
    if job.mode == "diff":
        result.diff = unified_diff(job.path, source.text, outcome.source.text)
        result.fixed, result.fixed_codes = outcome.applied, outcome.fixed_codes
        return result
    written = write_if_unchanged(Path(job.path), data, new_bytes, job.roots)
    if written is None:
        result.fixed, result.fixed_codes = outcome.applied, outcome.fixed_codes
    else:
        result.messages.append(f"{job.path}: fixes not written: {written}")
        # The file on disk still has the original findings.
        result.findings = lint_source(source, options)
    return result


def is_notebook(path: str) -> bool:
    return path.lower().endswith(".ipynb")


def _run_notebook(job: Job, data: bytes, options: LintOptions) -> FileOutcome:
    """A Jupyter notebook: its code cells checked, fixes written back into them (initlint.notebook).
    Not cached: a finding's cell is not part of a cache entry."""
    from initlint.notebook import cell_diff, fix_notebook_bytes, lint_notebook_bytes

    if job.mode == "check":
        return FileOutcome(job.path, lint_notebook_bytes(job.path, data, options))
    outcome = fix_notebook_bytes(job.path, data, options, job.unsafe)
    result = FileOutcome(job.path, outcome.findings, messages=[f"{job.path}: {m}" for m in outcome.problems])
    if outcome.applied == 0:
        return result
    if job.mode == "diff":
        result.diff = cell_diff(job.path, outcome.changed_cells)
        result.fixed, result.fixed_codes = outcome.applied, outcome.fixed_codes
        return result
    written = write_if_unchanged(Path(job.path), data, outcome.data, job.roots)
    if written is None:
        result.fixed, result.fixed_codes = outcome.applied, outcome.fixed_codes
    else:
        result.messages.append(f"{job.path}: fixes not written: {written}")
        result.findings = lint_notebook_bytes(job.path, data, options)
    return result


def unified_diff(path: str, before: str, after: str) -> str:
    import difflib

    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), fromfile=f"a/{path}", tofile=f"b/{path}"
    )
    return "".join(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n" for line in lines)


def write_if_unchanged(path: Path, original: bytes, new: bytes, roots: tuple[str, ...] | None = None) -> str | None:
    """Replace the file atomically with a file of the same owner, group and mode; refuse (and
    say why) when it is read-only, changed on disk since it was read, hard-linked, or reached
    through a link to a place outside ``roots``. None when written."""
    try:
        target = path.resolve(strict=True)  # through symbolic links: the file that was read
        if roots is not None and not any(target.is_relative_to(root) for root in roots):
            return f"it links to {target}, outside the checked paths"
        info = target.stat()
        if not stat.S_ISREG(info.st_mode):  # a pipe or device: replacing it would destroy it
            return "not a regular file"
        if info.st_nlink > 1:
            # Replacing would split the links; writing in place would change the file under its
            # other names too, which may lie outside the checked paths. Neither is asked for.
            return f"the file has {info.st_nlink} hard links (fixing one name would split or change the others)"
        if not info.st_mode & stat.S_IWUSR:
            return "the file is read-only"
        if read_regular(target) != original:
            return "the file changed on disk since it was read"
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".initlint")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(new)
            problem = _take_identity(temp, info)
            if problem is not None:
                os.unlink(temp)
                return problem
            if read_regular(target) != original:  # last look, as close to the swap as we can
                os.unlink(temp)
                return "the file changed on disk since it was read"
            os.replace(temp, target)
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        return getattr(exc, "strerror", None) or str(exc)
    return None


def _take_identity(temp: str, info: os.stat_result) -> str | None:
    """Give the replacement the original's owner, group and mode (root's fixes must not hand
    a user's file to root); a message when the owner or group cannot be kept."""
    current = os.stat(temp)
    if hasattr(os, "chown") and (current.st_uid, current.st_gid) != (info.st_uid, info.st_gid):
        try:
            os.chown(temp, info.st_uid, info.st_gid)
        except PermissionError:
            return f"cannot keep the file's owner and group (uid {info.st_uid}, gid {info.st_gid})"
    os.chmod(temp, stat.S_IMODE(info.st_mode))  # after chown, which may clear setuid bits
    return None


_worker_options: LintOptions | None = None


def _init_worker(options: LintOptions, parent: int) -> None:
    global _worker_options
    _worker_options = options
    _exit_with_parent(parent)


# A worker waits on its task queue, whose pipe it holds both ends of: if the parent dies
# (killed, out of memory) nothing ever tells it to stop. It must end with its parent.
_PR_SET_PDEATHSIG = 1
_WATCH_INTERVAL = 0.5  # seconds between two looks at the parent, where prctl is missing


def _parent_death_signal() -> bool:
    """Ask Linux to kill this process when its parent dies; False where that is not possible."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        # SIGKILL: a SIGTERM ignored by the parent would be ignored here too (inherited).
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_WATCH_INTERVAL)
    os._exit(1)


def _exit_with_parent(parent: int) -> None:
    armed = _parent_death_signal()
    if os.getppid() != parent:  # it died before the signal was armed
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent,), name="initlint-parent-watch", daemon=True).start()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may run on (containers, taskset)
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worker_count(requested: int, files: int) -> int:
    """Workers for ``files`` files: never more than asked, than files, or than twice the cores
    (more only adds processes and memory: `-j 10000` must not fork ten thousand)."""
    return max(1, min(requested, files, 2 * _cores()))


def _run_chunk(jobs: list[Job]) -> list[FileOutcome]:
    assert _worker_options is not None
    return [run_job(job, _worker_options) for job in jobs]


def _chunks(items: list[Job], size: int) -> Iterable[list[Job]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run(
    paths: list[str], options: LintOptions, *, mode: Mode = "check", unsafe: bool = False,
    jobs: int = 1, cache: Cache | None = None, special: frozenset[str] = frozenset(),
    roots: tuple[str, ...] | None = None,
) -> RunResult:  # fmt: skip
    """Check ``paths``. ``special``: the pipes and devices named on the command line (read as
    named); ``roots``: the resolved checked paths, outside which no fix is written."""
    result = RunResult(files=len(paths))
    pending: list[Job] = []
    current = _Digests(options.project)
    for path in paths:
        job = Job(path, mode, unsafe, path in special, roots)
        if cache is not None and mode == "check" and not is_notebook(path):
            data, problem = _read(job)
            if data is None:
                result.findings += [problem] if problem and problem.code in options.codes else []
                continue
            cached = cache.get(cache_digest(data, path, options.project is not None), path, current.matches)
            if cached is not None:
                result.findings += cached
                continue
        pending.append(job)

    outcomes: Iterable[FileOutcome]
    workers = worker_count(jobs, len(pending))
    if workers > 1 and len(pending) >= POOL_THRESHOLD:
        # Big files first so that no worker is left with one long file at the end.
        pending.sort(key=lambda j: _size(j.path), reverse=True)
        size = max(1, min(32, len(pending) // (workers * 8)))
        # Imported here: a run that needs no pool starts faster without them.
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # Import the parser and the model once, before forking: the workers share them
        # instead of each paying the import.
        import libcst  # noqa: F401

        import initlint.semantic.model  # noqa: F401

        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker, initargs=(options, os.getpid())
        ) as pool:
            outcomes = [o for chunk in pool.map(_run_chunk, _chunks(pending, size)) for o in chunk]
    else:
        outcomes = (run_job(job, options) for job in pending)

    for outcome in outcomes:
        result.findings += outcome.findings
        result.fixed += outcome.fixed
        result.messages += outcome.messages
        if outcome.fixed_codes:
            result.fixed_by_file[outcome.path] = outcome.fixed_codes
        if outcome.diff:
            result.diffs.append(outcome.diff)
        if cache is not None and outcome.digest is not None and mode == "check":
            cache.put(outcome.digest, outcome.findings, outcome.deps)
    result.findings.sort(key=lambda f: f.sort_key)
    result.diffs.sort()
    return result


def cache_digest(data: bytes, path: str, project: bool) -> str:
    """The cache key of a file's findings: its bytes; with project analysis also its place (its
    imports resolve from there), the summaries it read being checked separately (``_Digests``)."""
    if not project:
        return content_digest(data)
    return content_digest(data + b"\0" + os.path.abspath(path).encode("utf-8", "surrogateescape"))


class _Digests:
    """Whether what a cached result read of other files reads the same now, asked once per run:
    their text facts or summaries, computed anew (project.index.dependency_holds)."""

    def __init__(self, project: ProjectSpec | None) -> None:
        self.project = project
        self._known: dict[tuple[str, str], bool] = {}

    def matches(self, key: str, digest: str) -> bool:
        if (key, digest) not in self._known:
            if self.project is None:
                holds = False
            else:
                from initlint.project.index import dependency_holds

                try:
                    holds = dependency_holds(self.project, key, digest)
                except Exception:  # a neighbour that cannot be read again: check this file again
                    holds = False
            self._known[(key, digest)] = holds
        return self._known[(key, digest)]


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
