"""Which files `initlint check` reads: `*.py` and `*.ipynb` below the given paths, minus excludes and
`.gitignore`d files; a file named explicitly is always checked."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from initlint.config import ConfigError, Settings, SettingsResolver


class _OneSettings:
    """Every path under the same settings (callers that resolved them once)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def for_folder(self, folder: Path) -> Settings:
        return self.settings

    def for_path(self, path: Path) -> Settings:
        return self.settings


class _Matcher(Protocol):
    def match(self, subject: str) -> object: ...


@dataclass(frozen=True)
class _GitignoreRule:
    regex: _Matcher
    negated: bool
    directory_only: bool
    base: str  # posix path of the folder holding the .gitignore, relative to the walk root ("" = root)


@dataclass(frozen=True)
class _Token:
    kind: Literal["one", "star", "any", "dirs"]  # one character, `*`, `**`, `**/`
    regex: str = ""  # for "one": a regex of exactly one character
    slash: bool = False  # for "one": whether it may match "/"
    separator: bool = False  # for "one": a literal "/"


_UNBOUNDED = {"star": "[^/]*", "any": ".*", "dirs": "(?:.*/)?"}
# From this many wildcards left to backtrack in the regex, it may take minutes on one path:
# such a pattern gets the linear matcher.
_BACKTRACK_LIMIT = 3


def _bracket(body: str) -> str:
    """The inside of a bracket as a regex set: ranges kept, every character escaped (a bracket
    is a set of characters, never regex syntax such as `\\d` or set operations like `--`)."""
    out = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            out.append(f"{re.escape(body[i])}-{re.escape(body[i + 2])}")
            i += 3
        else:
            out.append(re.escape(body[i]))
            i += 1
    return "".join(out)


def _tokens(pattern: str) -> list[_Token]:
    tokens = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            tokens.append(_Token("dirs"))
            i += 3
            continue
        if pattern.startswith("**", i):
            tokens.append(_Token("any"))
            i += 2
            continue
        if char == "*":
            tokens.append(_Token("star"))
        elif char == "?":
            tokens.append(_Token("one", "[^/]"))
        elif char == "[" and (end := pattern.find("]", i + 1)) != -1:
            body = pattern[i + 1 : end]
            negated = body[:1] in ("!", "^")
            body = body[1:] if negated else body
            regex = "[" + ("^" if negated else "") + _bracket(body) + "]"
            re.compile(regex)  # alone: `[]` or `[!]` would otherwise merge with a bracket after it
            tokens.append(_Token("one", regex, negated or "/" in body))
            i = end
        else:
            tokens.append(_Token("one", re.escape(char), char == "/", char == "/"))
        i += 1
    return tokens


_LAZY = {"star": "[^/]*?", "any": ".*?", "dirs": "(?:.*?/)??"}


def _leftmost_suffices(first: _Token, piece: list[_Token], then: _Token) -> bool:
    """Whether, in `first piece then` (two wildcards around characters), the leftmost place
    for the piece is always a right one: whatever `then` matched from a later place, it can
    still match from the leftmost one."""
    if then.kind == "any":  # `**` takes whatever is left over
        return True
    if then.kind == "dirs":  # takes it if it ends with "/", which a piece ending with "/" ensures
        return piece[-1].separator
    # `*` takes the left-over only if no "/" is in it: neither the first wildcard nor the piece may match one.
    return first.kind == "star" and not any(t.slash for t in piece)


def _translate(pattern: str, atomic: bool = True) -> str:
    """A gitignore glob as a regex over a path relative to its .gitignore's folder.

    ``atomic``: a wildcard and the characters up to the next wildcard become an atomic group
    that takes the leftmost place for them where that is always a right choice, and `*` before
    "/" is possessive (it ends at that "/" anyway): the same matches, without the polynomial
    backtracking of `*a*a*a*b` or `**/a/**/a/**/b`."""
    anchored = "/" in pattern.rstrip("/")
    tokens = ([] if anchored else [_Token("dirs")]) + _tokens(pattern.strip("/"))
    out = ["^"]
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.kind == "one":
            out.append(token.regex)
            i += 1
            continue
        following = next((j for j in range(i + 1, len(tokens)) if tokens[j].kind != "one"), None)
        piece = tokens[i + 1 : following]
        if atomic and following is not None and piece and _leftmost_suffices(token, piece, tokens[following]):
            out.append("(?>" + _LAZY[token.kind] + "".join(t.regex for t in piece) + ")")
            i = following
            continue
        if atomic and token.kind == "star" and piece and piece[0].separator:
            out.append("[^/]*+")
        else:
            out.append(_UNBOUNDED[token.kind])
        i += 1
    return "".join(out) + "$"


class _LinearMatcher:
    """What the regex of `_translate` matches, decided by dynamic programming over (token,
    position): time linear in the pattern times the path, whatever the pattern."""

    def __init__(self, pattern: str) -> None:
        anchored = "/" in pattern.rstrip("/")
        self.tokens = ([] if anchored else [_Token("dirs")]) + _tokens(pattern.strip("/"))
        self.chars = [re.compile(t.regex) for t in self.tokens]

    def match(self, subject: str) -> bool:
        n = len(subject)
        after = [False] * n + [True]  # after[k]: the tokens already seen match subject[k:]
        for token, char in zip(reversed(self.tokens), reversed(self.chars), strict=True):
            here = [False] * (n + 1)
            if token.kind == "one":
                for k in range(n):
                    here[k] = after[k + 1] and char.fullmatch(subject[k]) is not None
            elif token.kind == "dirs":  # nothing, or anything that ends with "/"
                later = False  # some j > k with subject[j - 1] == "/" and after[j]
                for k in range(n, -1, -1):
                    here[k] = after[k] or later
                    later = later or (k > 0 and subject[k - 1] == "/" and after[k])
            else:  # "star" stays inside one component, "any" crosses them
                here[n] = after[n]
                for k in range(n - 1, -1, -1):
                    here[k] = after[k] or ((token.kind == "any" or subject[k] != "/") and here[k + 1])
            after = here
        return after[0]


def _compile(pattern: str) -> _Matcher:
    """Raises re.error for a pattern git cannot use either (`[z-a]`, `[]`)."""
    regex = _translate(pattern)
    compiled = re.compile(regex)  # validates the character sets in every case
    if regex.count("*") - regex.count("*?") - regex.count("*+") >= _BACKTRACK_LIMIT:  # wildcards left to backtrack
        return _LinearMatcher(pattern)
    return compiled


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
            regex = _compile(line)
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
    paths: list[Path],
    settings: Settings | SettingsResolver,
    problems: list[str] | None = None,
    special: set[Path] | None = None,
) -> list[Path]:
    """Files to check, in a stable order. Raises ConfigError for a path that does not exist.
    Folders that cannot be listed and bad .gitignore lines are skipped, each with a message
    added to ``problems``; pipes and devices named explicitly are added to ``special``.
    ``settings``: one for every path, or a resolver giving each folder its own (excludes are
    read from the settings of the folder being listed). A path named explicitly is checked even
    when excluded, unless its settings say ``force_exclude``."""
    found: dict[str, Path] = {}
    resolver = _OneSettings(settings) if isinstance(settings, Settings) else settings
    problems = problems if problems is not None else []
    for given in paths:
        own = resolver.for_path(given)
        if own.force_exclude and own.excluded(_relative(given, own.root.resolve())):
            continue  # ruff's --force-exclude: pre-commit names vendored files one by one
        root = own.root.resolve()
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
        for file in _walk(given, root, resolver, problems):
            found.setdefault(str(file), file)
    return sorted(found.values(), key=lambda p: str(p))


def _regular_or_unknown(path: Path) -> bool:
    """False for a pipe, socket or device (through links); a broken link or loop is kept, to
    be reported as unreadable."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True


def _walk(top: Path, root: Path, resolver: _OneSettings | SettingsResolver, problems: list[str]) -> list[Path]:
    """``root``: the project root the .gitignore files are read from (down to ``top``)."""
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
        # Excludes are the folder's own settings' (the nearest config), relative to their root.
        settings = resolver.for_folder(current)
        own_dir = relative_dir if settings.root == root else _relative(current, settings.root.resolve())
        kept = []
        for name in sorted(dirnames):
            relative = f"{relative_dir}/{name}" if relative_dir not in ("", ".") else name
            own = f"{own_dir}/{name}" if own_dir not in ("", ".") else name
            if settings.excluded(own) or _gitignored(relative, True, active):
                continue
            kept.append(name)
            rules_by_dir[os.path.join(dirpath, name)] = active
        dirnames[:] = kept
        for name in filenames:
            if not name.endswith((".py", ".ipynb")):  # notebooks too (off: extend-exclude = ["*.ipynb"])
                continue
            relative = f"{relative_dir}/{name}" if relative_dir not in ("", ".") else name
            own = f"{own_dir}/{name}" if own_dir not in ("", ".") else name
            if settings.excluded(own) or _gitignored(relative, False, active):
                continue
            if not _regular_or_unknown(current / name):
                # Reading a named pipe would wait forever for a writer; a device may never end.
                problems.append(f"{current / name}: not a regular file; skipped")
                continue
            files.append(current / name)
    return files
