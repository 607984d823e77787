"""Which files `initlint check` reads: `*.py` below the given paths, minus excludes and
`.gitignore`d files; a file named explicitly is always checked."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from initlint.config import ConfigError, Settings


@dataclass(frozen=True)
class _GitignoreRule:
    regex: re.Pattern[str]
    negated: bool
    directory_only: bool
    base: str  # posix path of the folder holding the .gitignore, relative to the walk root ("" = root)


def _translate(pattern: str) -> str:
    """A gitignore glob as a regex over a path relative to its .gitignore's folder."""
    anchored = "/" in pattern.rstrip("/")
    pattern = pattern.strip("/")
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                negated = body[:1] in ("!", "^")
                body = body[1:] if negated else body
                # Escaped but for ranges: a bracket is a set of characters, never regex syntax.
                out.append(
                    "[" + ("^" if negated else "") + "".join(c if c == "-" else re.escape(c) for c in body) + "]"
                )
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    body = "".join(out)
    return ("^" if anchored else "^(?:.*/)?") + body + "$"


def _read_gitignore(folder: Path, base: str, problems: list[str]) -> list[_GitignoreRule]:
    path = folder / ".gitignore"
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    rules = []
    for number, line in enumerate(lines, start=1):
        line = line.rstrip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        if line.startswith("\\"):
            line = line[1:]
        try:
            regex = re.compile(_translate(line))
        except re.error as exc:  # `[z-a]`, `[]`: git matches nothing with it; neither do we
            _add(problems, f"{path}:{number}: invalid pattern {line!r} ({exc.msg}); line skipped")
            continue
        rules.append(_GitignoreRule(regex, negated, line.endswith("/"), base))
    return rules


def _add(problems: list[str], message: str) -> None:
    if message not in problems:  # a .gitignore above several given folders is read for each
        problems.append(message)


def _gitignored(relative: str, is_dir: bool, rules: list[_GitignoreRule]) -> bool:
    ignored = False
    for rule in rules:
        if rule.directory_only and not is_dir:
            continue
        if rule.base:
            if not relative.startswith(rule.base + "/"):
                continue
            subject = relative[len(rule.base) + 1 :]
        else:
            subject = relative
        if rule.regex.match(subject):
            ignored = not rule.negated
    return ignored


def _relative(path: Path, root: Path) -> str:
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: RuntimeError before Python 3.13, OSError after
        resolved = Path(os.path.abspath(path))
    try:
        return resolved.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def discover(
    paths: list[Path], settings: Settings, problems: list[str] | None = None, special: set[Path] | None = None
) -> list[Path]:
    """Files to check, in a stable order. Raises ConfigError for a path that does not exist.
    Folders that cannot be listed and bad .gitignore lines are skipped, each with a message
    added to ``problems``; pipes and devices named explicitly are added to ``special``."""
    found: dict[str, Path] = {}
    root = settings.root.resolve()
    problems = problems if problems is not None else []
    for given in paths:
        try:
            mode: int | None = given.stat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            if not given.is_symlink():
                raise ConfigError(f"path does not exist: {given}") from None
            mode = None  # a broken link: reported as unreadable
        except (OSError, RuntimeError):  # no permission to look, a link loop: reported as unreadable
            mode = None
        if mode is None or not stat.S_ISDIR(mode):  # a file, link, pipe (`<(...)`) or device: read as named
            found.setdefault(str(given), given)  # named explicitly: always checked
            if mode is not None and not stat.S_ISREG(mode) and special is not None:
                special.add(given)
            continue
        for file in _walk(given, root, settings, problems):
            found.setdefault(str(file), file)
    return sorted(found.values(), key=lambda p: str(p))


def _regular_or_unknown(path: Path) -> bool:
    """False for a pipe, socket or device (through links); a broken link or loop is kept, to
    be reported as unreadable."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True


def _walk(top: Path, root: Path, settings: Settings, problems: list[str]) -> list[Path]:
    files: list[Path] = []
    # .gitignore files from the project root down to the walk's start apply too.
    top_relative = _relative(top, root)
    rules: list[_GitignoreRule] = []
    if not top_relative.startswith(("/", "..")):
        folder = root
        rules += _read_gitignore(folder, "", problems)
        for part in [p for p in top_relative.split("/") if p and p != "."]:
            folder = folder / part
            base = _relative(folder, root)
            rules += _read_gitignore(folder, base, problems)
    rules_by_dir: dict[str, list[_GitignoreRule]] = {str(top): rules}

    def unreadable(error: OSError) -> None:
        _add(problems, f"cannot read folder {error.filename}: {error.strerror or error}; skipped")

    # followlinks=False: a symlink loop cannot make the walk run forever.
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False, onerror=unreadable):
        active = rules_by_dir.pop(dirpath, rules)
        current = Path(dirpath)
        relative_dir = _relative(current, root)
        if current != top:
            active = active + _read_gitignore(current, relative_dir, problems)
        kept = []
        for name in sorted(dirnames):
            relative = f"{relative_dir}/{name}" if relative_dir not in ("", ".") else name
            if settings.excluded(relative) or _gitignored(relative, True, active):
                continue
            kept.append(name)
            rules_by_dir[os.path.join(dirpath, name)] = active
        dirnames[:] = kept
        for name in filenames:
            if not name.endswith(".py"):
                continue
            relative = f"{relative_dir}/{name}" if relative_dir not in ("", ".") else name
            if settings.excluded(relative) or _gitignored(relative, False, active):
                continue
            if not _regular_or_unknown(current / name):
                # Reading a named pipe would wait forever for a writer; a device may never end.
                problems.append(f"{current / name}: not a regular file; skipped")
                continue
            files.append(current / name)
    return files
