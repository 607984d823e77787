"""The project index: file summaries, found by module name, built on demand and cached.

A summary is built the first time a file is asked about (parse, semantic model, extract) and kept
in memory for the run and on disk by the hash of the file's bytes, so the index of an unchanged
project is read, not rebuilt. Every summary a file's check reads is recorded as a dependency (path
and content hash): the cache key of that file's findings includes them, so a change in ``utils.py``
re-checks the files whose verdicts read it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from initlint.project.summary import FileSummary

if TYPE_CHECKING:
    from initlint.project.text_facts import TextFacts

_MAX_FILE_BYTES = 2_000_000  # a generated file that large holds no init code worth following
WHOLE_PROJECT = "<the whole project>"
_STANDARD_LIBRARY = frozenset(sys.stdlib_module_names) | {"torch", "numpy", "typing_extensions"}
_MAX_PROJECT_FILES = 20_000
_MAX_PROJECT_BYTES = 400_000_000
# Folders that are not the project's own code.
_SKIPPED_FOLDERS = frozenset(
    {"node_modules", "site-packages", "__pycache__", "build", "dist", "venv", "env", ".initlint_cache"}
)
_SOURCE_FOLDERS = ("", "src", "lib")
_PROJECT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")


@dataclass(frozen=True)
class ProjectSpec:
    """What a worker needs to open the index (picklable): the project root and the cache folder."""

    root: str
    cache_dir: str | None = None
    init_aliases: tuple[tuple[str, str], ...] = ()


def find_root(paths: list[str]) -> Path:
    """The folder of the nearest pyproject.toml / setup.cfg / setup.py / .git above the common
    folder of ``paths``; that common folder when there is none."""
    resolved = [_absolute(Path(p)) for p in paths] or [Path.cwd()]
    folders = [p if _is_dir(p) else p.parent for p in resolved]
    common = Path(os.path.commonpath([str(f) for f in folders]))
    for folder in (common, *common.parents):
        if any(_exists(folder / marker) for marker in _PROJECT_MARKERS):
            return folder
    return common


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def _absolute(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a link loop: its own findings say so
        return Path(os.path.abspath(path))


@dataclass
class Loaded:
    path: Path
    digest: str
    summary: FileSummary | None  # None: unreadable or not Python
    stamp: tuple[int, int] | None = None  # (mtime_ns, size) when it was read
    detail: bool = True  # False: an outline (names, imports, classes' bases), see FileSummary.detail

    @cached_property
    def dependency(self) -> str:
        """What a check that read this summary records: the file's bytes, then what it says."""
        return f"{self.digest}:{summary_digest(self.summary, self.digest)}"


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def _read_file(path: Path) -> tuple[tuple[int, int] | None, bytes | None, str]:
    """A project file's stamp, bytes and content digest; no bytes, and a digest that says why, when
    it is too large to follow or cannot be read."""
    from initlint.cache import content_digest
    from initlint.runner import read_regular

    stamp = _stamp(path)
    if stamp is not None and stamp[1] > _MAX_FILE_BYTES:
        return stamp, None, "too-large"
    try:
        data = read_regular(path)
    except OSError:
        return stamp, None, "unreadable"
    return stamp, data, content_digest(data)


class ProjectIndex:
    def __init__(self, spec: ProjectSpec) -> None:
        self.spec = spec
        self.root = Path(spec.root)
        self._loaded: dict[Path, Loaded] = {}
        self._texts_read: dict[Path, tuple[tuple[int, int] | None, str | None, str]] = {}
        self._facts: dict[Path, tuple[tuple[int, int] | None, TextFacts]] = {}
        self._building: set[Path] = set()
        # What the current check read of other files (its dependencies): dependency_key -> digest.
        self.read: dict[str, str] = {}
        # (module, importer's folder) -> its file; answered from the disk once per process.
        self._modules: dict[tuple[str, Path | None], Path | None] = {}
        self._all_texts: dict[Path, tuple[tuple[int, int] | None, str]] | None = None

    # -- finding files ------------------------------------------------------------------------------
    def module_file(self, module: str, importer: Path | None) -> Path | None:
        """The file of module ``module`` ("a.b", or ".b" / "..a.b" relative to ``importer``)."""
        key = (module, None if importer is None else importer.parent)
        if key not in self._modules:
            self._modules[key] = self._module_file(module, importer)
        return self._modules[key]

    def _module_file(self, module: str, importer: Path | None) -> Path | None:
        level = len(module) - len(module.lstrip("."))
        if not level and module.partition(".")[0] in _STANDARD_LIBRARY:
            return None
        parts = [p for p in module.lstrip(".").split(".") if p]
        if level:
            if importer is None:
                return None
            base = importer.parent
            for _ in range(level - 1):
                base = base.parent
            return self._file_at(base, parts)
        if not parts:
            return None
        for base in self._search_folders(importer):
            found = self._file_at(base, parts)
            if found is not None:
                return found
        return None

    def _search_folders(self, importer: Path | None) -> list[Path]:
        """Where an absolute import may be found, as Python's path would have it: the folder that
        holds the importer's top-level package (for a script, its own folder: `sys.path[0]`),
        never a package's own folder (inside a package, `import accelerate` is not the sibling
        `accelerate.py`); then the project root, src/ and lib/."""
        folders: list[Path] = []
        if importer is not None:
            folder = importer.parent
            while (folder / "__init__.py").is_file() and folder != self.root and self.root in folder.parents:
                folder = folder.parent
            if not (folder / "__init__.py").is_file():
                folders.append(folder)
        for name in _SOURCE_FOLDERS:
            candidate = self.root / name if name else self.root
            if candidate not in folders:
                folders.append(candidate)
        return folders

    def _file_at(self, base: Path, parts: list[str]) -> Path | None:
        if not parts:
            init = base / "__init__.py"
            return init if init.is_file() else None
        module = base.joinpath(*parts)
        for candidate in (module.with_name(module.name + ".py"), module / "__init__.py"):
            if candidate.is_file() and self._inside(candidate):
                return candidate
        return None

    def _inside(self, path: Path) -> bool:
        try:
            path.resolve().relative_to(self.root)
        except (ValueError, OSError):
            return False
        return True

    # -- summaries ------------------------------------------------------------------------------------
    def summary(self, path: Path, detail: bool = True) -> FileSummary | None:
        """The summary of ``path``; with ``detail=False`` an outline may do (names, imports, classes
        and their bases, functions and their parameters: what following a name needs), which costs a
        parse but no analysis of the file's init code and layers."""
        path = Path(os.path.abspath(path))
        loaded = self._loaded.get(path)
        if loaded is not None and loaded.stamp != _stamp(path):
            loaded = None  # changed since it was read (a long-lived process: the server, the API)
        if loaded is None or (detail and not loaded.detail):
            if path in self._building:
                return None  # an import cycle: the file being summarized asks about itself
            self._building.add(path)
            try:
                loaded = self._load(path, detail)
            finally:
                self._building.discard(path)
            self._loaded[path] = loaded
        self.read[dependency_key(path, "detail" if loaded.detail else "outline")] = loaded.dependency
        return loaded.summary

    def summary_as_is(self, path: Path, detail: bool) -> tuple[FileSummary | None, str]:
        """The summary of exactly that level (an outline is not answered by a detailed one) of the
        file as it is now, and the digest of its bytes; from the disk cache when it is there."""
        path = Path(os.path.abspath(path))
        loaded = self._loaded.get(path)
        if loaded is not None and loaded.stamp == _stamp(path) and loaded.detail == detail:
            return loaded.summary, loaded.digest
        loaded = self._load(path, detail, exact=True)
        return loaded.summary, loaded.digest

    def text(self, path: Path) -> str | None:
        """The text of a project file (decoded leniently), read once per change of the file. What a
        check reads of it goes through ``text_facts``, which records the dependency."""
        path = Path(os.path.abspath(path))
        known = self._texts_read.get(path)
        if known is None or known[0] != _stamp(path):
            stamp, data, digest = _read_file(path)
            known = self._texts_read[path] = (stamp, None if data is None else data.decode("utf-8", "replace"), digest)
        return known[1]

    def text_facts(self, path: Path) -> TextFacts | None:
        """The facts of a file's text other files' checks read (project.text_facts), computed once
        per version of the file; the reading check depends on their digest."""
        from initlint.project.text_facts import TextFacts

        path = Path(os.path.abspath(path))
        text = self.text(path)
        if text is None:
            self.read[dependency_key(path, "text")] = "unreadable"
            return None
        stamp = self._texts_read[path][0]
        known = self._facts.get(path)
        if known is None or known[0] != stamp:
            known = self._facts[path] = (stamp, TextFacts(text, self.spec.init_aliases))
        self.read[dependency_key(path, "text")] = f"{self._texts_read[path][2]}:{known[1].digest}"
        return known[1]

    def _load(self, path: Path, detail: bool, exact: bool = False) -> Loaded:
        stamp, data, digest = _read_file(path)
        if data is None:
            return Loaded(path, digest, None, stamp)
        # A detailed summary answers an outline's questions too (unless that exact level is asked).
        for level in (detail,) if detail or exact else (False, True):
            cached = self._cached(digest, level)
            if cached is not None:
                return Loaded(path, digest, cached, stamp, level)
        summary = self._build(path, data, detail)
        if summary is not None:
            self._store(digest, summary, detail)
        return Loaded(path, digest, summary, stamp, detail)

    def _build(self, path: Path, data: bytes, detail: bool) -> FileSummary | None:
        from initlint._lazy import cst
        from initlint.engine import ANALYSIS_RECURSION_LIMIT, _recursion_limit
        from initlint.project.summary import summarize
        from initlint.semantic.model import SemanticModel
        from initlint.source import SourceFile

        try:
            source = SourceFile.from_bytes(str(path), data)
            module = cst.parse_module(source.text)
            with _recursion_limit(ANALYSIS_RECURSION_LIMIT):
                # Without the project: a summary holds facts of its own file only (its cache key is
                # its bytes); what other files add is followed when the summary is read.
                model = SemanticModel(source, module, dict(self.spec.init_aliases))
                return summarize(model, detail)
        except Exception:  # an unreadable or unparsable neighbour only means less is known
            return None

    # -- the whole project's text ---------------------------------------------------------------------
    def mentions(self, name: str, besides: Path) -> bool | None:
        """Whether any Python file or notebook of the project other than ``besides`` has the word
        ``name``; None when the project is too large to read whole."""
        # The answer depends on every file of the project: a result that read it is never served
        # from the cache (this key names no file, so it never matches).
        self.read[WHOLE_PROJECT] = "read"
        texts = self._texts()
        if texts is None:
            return None
        pattern = re.compile(rf"(?<![\w]){re.escape(name)}(?![\w])")
        besides = Path(os.path.abspath(besides))
        return any(path != besides and pattern.search(text) for path, text in texts.items())

    def _texts(self) -> dict[Path, str] | None:
        """Every project file's text, re-read when its size or time changed (a long-lived process
        asks again after edits); None when the project is too large to read whole."""
        previous = self._all_texts or {}
        texts: dict[Path, tuple[tuple[int, int] | None, str]] = {}
        total = 0
        for path in _project_files(self.root):
            stamp = _stamp(path)
            known = previous.get(path)
            if known is not None and known[0] == stamp and stamp is not None:
                texts[path] = known
                total += stamp[1]
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            total += len(data)
            if len(texts) >= _MAX_PROJECT_FILES or total > _MAX_PROJECT_BYTES:
                return None
            texts[path] = (stamp, data.decode("utf-8", "replace"))
        self._all_texts = texts
        return {path: text for path, (_, text) in texts.items()}

    # -- the disk cache ---------------------------------------------------------------------------------
    def _cache_file(self, digest: str, detail: bool) -> Path | None:
        if self.spec.cache_dir is None:
            return None
        from initlint.cache import configuration_key

        key = configuration_key(["summary", *(f"{a}={b}" for a, b in self.spec.init_aliases)])
        name = f"{digest}.json" if detail else f"{digest}.outline.json"
        return Path(self.spec.cache_dir) / "summaries" / key / name

    def _cached(self, digest: str, detail: bool) -> FileSummary | None:
        target = self._cache_file(digest, detail)
        if target is None:
            return None
        try:
            summary = FileSummary.from_json(json.loads(target.read_bytes()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            with contextlib.suppress(OSError):
                target.unlink()
            return None
        return summary if summary.detail == detail else None

    def _store(self, digest: str, summary: FileSummary, detail: bool) -> None:
        target = self._cache_file(digest, detail)
        if target is None:
            return
        from initlint.cache import _atomic_write

        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(target, json.dumps(summary.to_json(), separators=(",", ":")).encode())
        except OSError:
            pass  # a cache that cannot be written only costs time


def dependency_key(path: Path, level: str) -> str:
    """How a check records what it read of another file: its path and what was read of it (the
    text facts, its outline or its detailed summary)."""
    return f"{path}\0{level}"


def summary_digest(summary: FileSummary | None, file_digest: str) -> str:
    """The digest of what a summary says (not of the file's bytes): an edit that leaves the summary
    as it was re-checks nothing that read it."""
    if summary is None:
        return f"none:{file_digest}"
    from initlint.cache import content_digest

    return content_digest(json.dumps(summary.to_json(), sort_keys=True, separators=(",", ":")).encode())


def dependency_holds(spec: ProjectSpec, key: str, digest: str) -> bool:
    """Whether what a check read of another file (``key`` from ``dependency_key``) still reads the
    same: the text facts or summary are computed anew from the file as it is now."""
    path_text, _, level = key.partition("\0")
    file_digest, _, derived = digest.partition(":")
    if not level or not derived:
        return False  # the whole project, or a key of another version: check again
    path = Path(path_text)
    _, _, now = _read_file(path)
    if now == "unreadable":
        return False
    if now == file_digest:
        return True  # the same bytes (or a file still too large to follow): the same facts and summaries
    project = open_index(spec)
    if level == "text":
        facts = project.text_facts(path)
        return facts is not None and facts.digest == derived
    summary, now = project.summary_as_is(path, detail=level == "detail")
    return summary_digest(summary, now) == derived


_OPEN: dict[ProjectSpec, ProjectIndex] = {}


def open_index(spec: ProjectSpec) -> ProjectIndex:
    """The index of ``spec`` for this process (workers keep theirs across files)."""
    index = _OPEN.get(spec)
    if index is None:
        index = _OPEN[spec] = ProjectIndex(spec)
    return index


def _project_files(root: Path) -> list[Path]:
    """The project's .py files and notebooks: hidden folders, virtual environments and build
    output left out, links not followed."""
    found: list[Path] = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [
            d for d in subfolders if not d.startswith(".") and d not in _SKIPPED_FOLDERS and not d.endswith(".egg-info")
        ]
        found.extend(Path(folder) / f for f in files if f.endswith((".py", ".ipynb")))
        if len(found) > _MAX_PROJECT_FILES:
            break
    return found
