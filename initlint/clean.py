"""`initlint clean`: remove initlint's cache folders below the given paths, and nothing else.

A folder is removed only when it is named `.initlint_cache` (or is the folder given with
`--cache-dir`) and carries the `.gitignore` that initlint writes into every cache it creates:
a folder that merely has the name, a symbolic link, or anything outside the paths is left alone.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

CACHE_NAME = ".initlint_cache"
_MARKER = "# Created by initlint"
# Folders never walked into: a cache is created at a project root, not inside these.
_PRUNED = frozenset({".git", ".hg", ".svn", ".venv", "venv", "node_modules", "site-packages", "__pycache__", ".tox"})


@dataclass
class CleanResult:
    removed: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why a candidate was left alone


def is_initlint_cache(folder: Path) -> bool:
    """A real folder (not a link) holding initlint's marker .gitignore."""
    try:
        if folder.is_symlink() or not folder.is_dir():
            return False
        marker = folder / ".gitignore"
        return not marker.is_symlink() and marker.read_text(encoding="utf-8").startswith(_MARKER)
    except (OSError, UnicodeDecodeError):
        return False


def find_caches(paths: list[Path], problems: list[str]) -> list[Path]:
    found: dict[str, Path] = {}
    for top in paths:
        if top.name == CACHE_NAME:
            found.setdefault(str(top), top)
            continue
        if top.is_symlink() or not top.is_dir():
            continue

        def unreadable(error: OSError) -> None:
            problems.append(f"cannot read folder {error.filename}: {error.strerror or error}; skipped")

        for dirpath, dirnames, _ in os.walk(top, followlinks=False, onerror=unreadable):
            if CACHE_NAME in dirnames:
                candidate = Path(dirpath) / CACHE_NAME
                found.setdefault(str(candidate), candidate)
            dirnames[:] = sorted(d for d in dirnames if d != CACHE_NAME and d not in _PRUNED)
    return sorted(found.values(), key=str)


def clean(paths: list[Path], extra: list[Path] | None = None) -> CleanResult:
    """Remove the initlint caches below ``paths`` and the folders in ``extra`` (a --cache-dir)."""
    result = CleanResult()
    for candidate in [*find_caches(paths, result.skipped), *(extra or [])]:
        if candidate in result.removed or not candidate.exists():
            continue
        if not is_initlint_cache(candidate):
            result.skipped.append(f"{candidate}: not an initlint cache (no initlint .gitignore, or a link); left alone")
            continue
        problem = _remove(candidate)
        if problem:
            result.skipped.append(f"{candidate}: not entirely removed ({problem})")
        else:
            result.removed.append(candidate)
    return result


def _remove(folder: Path) -> str | None:
    """Delete the folder (links inside it are removed, never followed); the first error."""
    errors: list[str] = []
    if sys.version_info >= (3, 12):
        shutil.rmtree(folder, onexc=lambda _f, p, e: errors.append(f"{p}: {e}"))
    else:
        shutil.rmtree(folder, onerror=lambda _f, p, e: errors.append(f"{p}: {e[1]}"))
    return errors[0] if errors else None
